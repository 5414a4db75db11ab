"""Turns documents into Kubernetes objects (multi-document YAML, `kind: List`, JSON), each with
where it came from, and says why any other document is not one.

Objects are kept slim: managedFields and kubectl's last-applied annotation (copies of the object
itself) are dropped, label and annotation strings interned, and only objects that can be reported
keep the lines of their fields. With `compact`, an object keeps only what the inventory reads of
it, as the live inventory keeps it (webhook.inventory.kept).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from webhook.documents import EMPTY_LINES, Document, DocumentError, ForeignTag, LineMap, read_text
from webhook.model import Body, Origin, Resource, as_dict

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUSTOMIZE_GROUP = "kustomize.config.k8s.io"
KUSTOMIZATION_FILES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
"""What kustomize's `buildMetadata: [originAnnotations]` writes: the file an object came from."""
_ORIGIN_FIELD = re.compile(r"^(path|repo|configuredIn): *['\"]?(.*?)['\"]? *$", re.MULTILINE)


class _Located(NamedTuple):
    file: str
    line: int | None
    message: str

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class InputError(_Located):
    """An input that could not be used: `line` is None when the problem is the whole file."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class Note(_Located):
    """Something the user should know that is not an error: a file skipped, an object replaced."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self.location}: note: {self.message}"


@dataclass(frozen=True)
class LoadOptions:
    namespace: str = "default"
    """For objects without one, as `kubectl apply -n` would place them."""
    world: bool = False
    """The objects are only the world of cross rules (`--context`), never reported."""
    checked: Callable[[Resource], bool] = lambda resource: True
    """Whether rules check an object's kind: only such objects keep their fields' lines, and a
    document of such a kind without a name is a broken object, not another tool's file."""
    counted: Callable[[], None] | None = None
    """Called once per object read: the CLI's running count on a terminal."""
    compact: Callable[[Resource, bool], None] | None = None
    """Keeps of each object only what the inventory reads of it, given whether rules check it
    (webhook.inventory.kept): a large input's memory."""


@dataclass
class Loaded:
    """What one input held."""

    resources: list[Resource] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    by_design: list[Note] = field(default_factory=list)
    """Documents that are not Kubernetes objects by design (a CI workflow, a kustomization)."""
    foreign_tag: ForeignTag | None = None


def load(
    documents: Iterable[Document | DocumentError], file: str, options: LoadOptions, *, stream: bool = False
) -> Loaded:
    """The objects in `documents` read from `file`. From a `stream` (standard input, a pipe), an
    object's place is the file that Helm's `# Source:` comment or kustomize's origin annotation
    names, when there is one."""
    loaded = Loaded()
    for document in documents:
        if isinstance(document, ForeignTag):
            loaded.foreign_tag = loaded.foreign_tag or document
            loaded.errors.append(InputError(file, document.line, document.message))
        elif isinstance(document, DocumentError) and not document.manifest_like:
            message = f"{document.message} in a file without apiVersion or kind: not a manifest"
            loaded.by_design.append(Note(file, document.line, message))
        elif isinstance(document, DocumentError):
            loaded.errors.append(InputError(file, document.line, document.message))
        elif document.value is not None:
            _collect(document, file, options, stream, loaded)
    return loaded


def load_text(
    text: str, file: str, default_namespace: str = "default"
) -> tuple[list[Resource], list[InputError]]:
    """Every Kubernetes object in `text`, and an error for each document that is not one."""
    loaded = load(read_text(text), file, LoadOptions(namespace=default_namespace))
    errors = loaded.errors + [
        InputError(n.file, n.line, f"not a Kubernetes object: {n.message}") for n in loaded.by_design
    ]
    return loaded.resources, sorted(errors, key=lambda e: e.line or 0)


def _collect(document: Document, file: str, options: LoadOptions, stream: bool, loaded: Loaded) -> None:
    value = document.value
    by_design = _by_design(value, file, options)
    if by_design:
        loaded.by_design.append(Note(file, document.line, by_design))
        return
    members = document.items if document.items is not None else [document]
    for member in members:
        problem = _not_an_object(member.value, in_list=document.items is not None)
        if problem:
            loaded.errors.append(InputError(file, member.line, f"not a Kubernetes object: {problem}"))
            continue
        resource = Resource(_slim(member.value), options.namespace)
        checked = not options.world and options.checked(resource)
        if options.compact is not None:
            options.compact(resource, checked)
        lines = member.lines if checked else EMPTY_LINES
        resource.origin = _origin(resource, file, member.line, lines, document if stream else None)
        loaded.resources.append(resource)
        if options.counted is not None:
            options.counted()


def _by_design(value: Any, file: str, options: LoadOptions) -> str:
    """Why a document is not a Kubernetes object by design, or "" when it is meant to be one."""
    if not isinstance(value, dict):
        return f"expected a mapping with apiVersion and kind, found a {type(value).__name__}"
    api_version, kind = value.get("apiVersion"), value.get("kind")
    kustomize = isinstance(api_version, str) and api_version.partition("/")[0] == KUSTOMIZE_GROUP
    if kustomize or os.path.basename(file) in KUSTOMIZATION_FILES:
        return kustomize_note(file, kind)
    if api_version is None and kind is None:
        return "no apiVersion and kind"
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return ""
    if not kind.endswith("List") and not _named(value) and not options.checked(Resource(value)):
        return f"{kind} ({api_version}) without a name: a tool's configuration, not an object"
    return ""


def _named(value: Body) -> bool:
    meta = value.get("metadata")
    return isinstance(meta, dict) and bool(meta.get("name") or meta.get("generateName"))


def kustomize_note(kustomization: str, kind: object) -> str:
    """What a kustomization is (a Component is built only into the kustomizations using it)."""
    if kind == "Component":
        return "a kustomize Component, built into the kustomizations that use it"
    return f"a kustomization; {kustomize_hint(kustomization)}"


def kustomize_hint(kustomization: str) -> str:
    directory = os.path.dirname(kustomization) or "."
    return f"to check what it builds: kubectl kustomize {directory} | meshwarden check -"


def _not_an_object(value: Any, in_list: bool) -> str:
    if not isinstance(value, dict):
        return f"expected a mapping with apiVersion and kind, found a {type(value).__name__}"
    for key in ("apiVersion", "kind"):
        if not isinstance(value.get(key), str) or not value[key]:
            return f"missing {key!r}" + (" in a List's item" if in_list else "")
    if not _named(value):
        return f"{value['kind']} has no metadata.name"
    return ""


def _slim(body: Body) -> Body:
    """What rules and reports read of `body`."""
    body["metadata"] = slim_metadata(as_dict(body.get("metadata")))
    return body


def slim_metadata(metadata: Body) -> Body:
    """managedFields and kubectl's last-applied annotation repeat the object itself: dropped.
    Label and annotation strings repeat across objects: interned, each is stored once."""
    metadata.pop("managedFields", None)
    for key in ("labels", "annotations"):
        if key in metadata:
            metadata[key] = {
                sys.intern(str(name)): sys.intern(value) if isinstance(value, str) else value
                for name, value in as_dict(metadata[key]).items()
                if name != LAST_APPLIED
            }
    return metadata


def _origin(resource: Resource, file: str, line: int, lines: LineMap, stream: Document | None) -> Origin:
    if stream is not None and stream.source:
        base = stream.source_line
        return Origin(stream.source, line - base, lines.rebased(line - base))
    if stream is not None:
        origin = resource.annotations.get(ORIGIN_ANNOTATION)
        fields = dict(_ORIGIN_FIELD.findall(origin)) if origin else {}
        path = fields.get("path") or fields.get("configuredIn")
        if path:
            repo = fields.get("repo")
            return Origin(f"{repo}//{path}" if repo else path, 0, EMPTY_LINES)
    return Origin(file, line, lines)
