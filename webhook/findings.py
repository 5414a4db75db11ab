"""What a rule reports (Violation) and what the engine hands to adapters (Finding)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from webhook.model import GroupKind, ObjectRef

INTERNAL_ERROR_CODE = "MW000"
"""The code of the finding the engine reports when a rule's check raises."""
INTERNAL_ERROR_NAME = "internal-error"
INTERNAL_ERROR_MESSAGE = "rule-failed"


class Action(StrEnum):
    DENY = "deny"
    WARN = "warn"
    OFF = "off"


class Safety(StrEnum):
    """A safe fix changes nothing about traffic that the author intended (it states what is already
    true); an unsafe fix changes behaviour on purpose and is applied only with `--unsafe-fixes`."""

    SAFE = "safe"
    UNSAFE = "unsafe"


FieldPath = tuple[str | int, ...]
"""A field of an object as keys and list indices: `("metadata", "annotations", "sidecar.istio.io/inject")`.
Unlike a Violation's dotted path, it stays exact when keys hold dots."""


def field_text(path: FieldPath) -> str:
    """A field path as a person writes it: `spec.ports[0].name`, and a key with dots or slashes
    quoted in brackets, `metadata.annotations["sidecar.istio.io/inject"]`."""
    text = ""
    for key in path:
        if isinstance(key, int):
            text += f"[{key}]"
        elif "." in key or "/" in key:
            text += f"[{json.dumps(key, ensure_ascii=False)}]"
        else:
            text += f".{key}" if text else key
    return text


@dataclass(frozen=True, slots=True)
class Edit:
    """One change to one field of the object.

    `old` is the value there now, `new` the value the fix writes; None on either side means the
    field is absent (`old` None: the fix adds it, and the maps on its path that are missing too;
    `new` None: the fix removes it). A list or a map as `new` replaces the whole node.
    """

    path: FieldPath
    old: object = field(hash=False)  # a map or list is no key; the path tells edits apart
    new: object = field(hash=False)


class Autofix(NamedTuple):
    """The exact change that resolves a violation: `title` says it in one line
    (`rename port "web" to "http-web"`), `edits` do it, in any order (they never overlap)."""

    title: str
    edits: tuple[Edit, ...]
    safety: Safety


class Lookup(NamedTuple):
    """An inventory question whose empty answer caused a violation (`name` None: any name).

    The admission server re-asks the Kubernetes API before denying, since its cache can lag
    behind a `kubectl apply -f dir/` that creates the missing object a moment earlier.
    """

    kind: GroupKind
    namespace: str
    name: str | None = None


class Violation(NamedTuple):
    """One offending occurrence, as a rule's check yields it.

    `message_id` names which of the rule's declared messages this is (`not-a-duration`): what was
    said, for tests, filters and dashboards, whatever the concrete values in the text.
    `weak` marks the lesser variant a rule's text describes (MW102 without STRICT mTLS, MW302's
    dotted form, MW309's retry budget): `warn` under the default profile even when the rule denies.
    `autofix` is the exact change when there is one; the rule declares which messages may carry
    one and how safe it is (`fixes=` of `@rule`).
    """

    path: str
    message: str
    fix: str
    message_id: str
    weak: bool = False
    missing: tuple[Lookup, ...] = ()
    autofix: Autofix | None = None


class Finding(NamedTuple):
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
    autofix: Autofix | None = None

    @property
    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file or "", self.line or 0, self.code, self.path)
