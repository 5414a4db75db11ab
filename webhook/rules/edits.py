"""Building the exact edits of a rule's autofix from the dotted paths its violations name."""

from __future__ import annotations

import re

from webhook.findings import FieldPath

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_path(path: str) -> FieldPath:
    """The keys and indices of a dotted path whose keys hold no dots (`spec.http[0].timeout`)."""
    return tuple(key or int(index) for key, index in _STEP.findall(path))
