"""Building the exact edits of a rule's autofix from the dotted paths its violations name."""

from __future__ import annotations

import re

from webhook.findings import FieldPath
from webhook.kube import PodTemplate

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_path(path: str) -> FieldPath:
    """The keys and indices of a dotted path whose keys hold no dots (`spec.http[0].timeout`)."""
    return tuple(key or int(index) for key, index in _STEP.findall(path))


def template_field(template: PodTemplate, *keys: str | int) -> FieldPath:
    """A field of a pod or pod template, `("metadata", "labels", "version")`, from the object's root."""
    return (*field_path(template.path), *keys)
