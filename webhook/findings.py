"""What a rule reports (Violation) and what the engine hands to adapters (Finding)."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from enum import StrEnum

from webhook.model import GroupKind, ObjectRef

INTERNAL_ERROR_CODE = "MW000"
"""The code of the finding the engine reports when a rule's check raises."""
INTERNAL_ERROR_NAME = "internal-error"
INTERNAL_ERROR_MESSAGE = "rule-failed"


class Action(StrEnum):
    DENY = "deny"
    WARN = "warn"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class Lookup:
    """An inventory question whose empty answer caused a violation (`name` None: any name).

    The admission server re-asks the Kubernetes API before denying, since its cache can lag
    behind a `kubectl apply -f dir/` that creates the missing object a moment earlier.
    """

    kind: GroupKind
    namespace: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    """One offending occurrence, as a rule's check yields it.

    `message_id` names which of the rule's declared messages this is (`not-a-duration`): what was
    said, for tests, filters and dashboards, whatever the concrete values in the text.
    `weak` marks the lesser variant a rule's text describes (MW102 without STRICT mTLS, MW302's
    dotted form, MW309's retry budget): `warn` under the default profile even when the rule denies.
    """

    path: str
    message: str
    fix: str
    _: KW_ONLY
    message_id: str
    weak: bool = False
    missing: tuple[Lookup, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """`message_id` is the rule's code and the message's id, `MW309/not-a-duration`: stable, and
    unique across rules."""

    code: str
    message_id: str
    rule: str
    action: Action
    object: ObjectRef
    path: str
    message: str
    fix: str
    docs: str
    file: str | None = None
    line: int | None = None
    suppressed: bool = False
    suppress_reason: str = ""
    missing: tuple[Lookup, ...] = ()

    @property
    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file or "", self.line or 0, self.code, self.path)
