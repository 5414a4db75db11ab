"""`meshwarden fix`: checks the inputs, applies the exact fixes their findings carry to the files'
text (webhook/editor.py), and checks again, until no fix is left or a pass changes nothing.

A pass applies the fixes of a file that do not overlap; one that overlaps a fix applied in the same
pass waits for the next pass, which sees the file as fixed so far. A file that does not parse, or
whose fixed text would not load back as objects, is left as it is and reported.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from webhook.documents import read_text
from webhook.editor import EditError, Region, Replacement, Source, SourceError, Target, apply, region
from webhook.engine import Engine
from webhook.findings import Autofix, Finding, Safety
from webhook.inputs import STDIN, read_inputs, shown_path, stdin_problem
from webhook.inventory import Inventory, World
from webhook.loader import InputError, LoadOptions, Note, load
from webhook.model import ObjectRef, Resource
from webhook.replace import latest

MAX_PASSES = 10
"""Passes before giving up on fixes that keep overlapping or keep being offered."""


@dataclass(frozen=True)
class Choice:
    """Which fixes to apply: `select` (all when empty) and `ignore` hold rule codes."""

    unsafe: bool = False
    select: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()

    def takes(self, finding: Finding) -> bool:
        """Whether the fix of `finding` is applied: a finding that is suppressed is not fixed."""
        autofix = finding.autofix
        if autofix is None or finding.suppressed:
            return False
        if (self.select and finding.code not in self.select) or finding.code in self.ignore:
            return False
        return self.unsafe or autofix.safety is Safety.SAFE


@dataclass
class FixedFile:
    path: str
    original: str
    text: str
    fixed: Counter[str] = field(default_factory=Counter)
    """Fixes applied, by rule code."""

    @property
    def changed(self) -> bool:
        return self.text != self.original


@dataclass
class Outcome:
    files: dict[str, FixedFile]
    resources: list[Resource]
    """Every object as the fixed files hold them, for the final check."""
    errors: list[InputError]
    notes: list[Note]
    before: set[tuple[object, str, str]]
    """The findings before any fix, as (object, message id, path)."""
    skipped_files: int = 0

    def revealed(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings after the fixes that were not there before them: a reference that now
        resolves may reveal what was hidden behind it."""
        return [f for f in findings if (f.object.key, f.message_id, f.path) not in self.before]


def fix(
    paths: Sequence[str],
    engine: Engine,
    options: LoadOptions,
    choice: Choice,
    *,
    context: Sequence[Resource] = (),
    exclude: tuple[str, ...] = (),
    max_size: int,
) -> Outcome:
    # a named pipe's objects may name other files (Helm's `# Source:`): they are checked, never edited
    streams = [
        p
        for p in paths
        if p != STDIN and os.path.exists(p) and not os.path.isdir(p) and not os.path.isfile(p)
    ]
    files_and_directories = [p for p in paths if p != STDIN and p not in streams]
    inputs = read_inputs(
        files_and_directories, options, exclude=exclude, max_size=max_size, skip_non_manifests=True
    )
    piped = read_inputs(streams, options, max_size=max_size)
    errors = [*inputs.errors, *piped.errors]
    notes = [*inputs.notes, *piped.notes]
    notes += [
        Note(p, None, "a stream, not a file: not fixed (fix it with `meshwarden fix -`)") for p in streams
    ]
    files: dict[str, FixedFile] = {}
    by_file: dict[str, list[Resource]] = {}
    for resource in inputs.resources:
        file = resource.origin.file if resource.origin else STDIN
        by_file.setdefault(file, []).append(resource)
    fixed_objects = piped.resources
    for file in by_file:
        with open(file, encoding="utf-8", newline="") as handle:
            text = handle.read()
        files[file] = FixedFile(file, text, text)
    stdin = _read_stdin(max_size, errors) if STDIN in paths else None
    if stdin is not None:
        loaded = load(read_text(stdin), STDIN, options)
        errors += loaded.errors
        errors += [
            InputError(STDIN, n.line, f"not a Kubernetes object: {n.message}") for n in loaded.by_design
        ]
        if not (loaded.resources or loaded.errors or loaded.by_design):
            errors.append(InputError(STDIN, None, "standard input holds no Kubernetes object"))
        by_file[STDIN] = loaded.resources
        files[STDIN] = FixedFile(STDIN, stdin, stdin)
    broken = Counter(e.file for e in errors)
    """Documents of each file that are no objects: a fix must not add any."""
    before: set[tuple[object, str, str]] = set()
    failed: set[str] = set()
    frozen: set[str] = set()
    """Files whose text stops changing: it does not parse, or a fix would break it."""
    for number in range(MAX_PASSES):
        resources = [*fixed_objects, *(r for group in by_file.values() for r in group)]
        found = _check(engine, context, resources)
        if number == 0:
            before = {(f.object.key, f.message_id, f.path) for _, f in found}
        wanted: dict[str, list[tuple[Target, Autofix, Finding]]] = {}
        for resource, finding in found:
            origin = resource.origin
            if origin and origin.file in files and origin.file not in frozen and choice.takes(finding):
                target = Target(origin.line, resource.ref.kind, resource.ref.name)
                assert finding.autofix is not None
                wanted.setdefault(origin.file, []).append((target, finding.autofix, finding))
        changed = False
        for file, fixes in wanted.items():
            result = _fix_text(files[file], fixes, failed, notes)
            if result is None:
                frozen.add(file)
                continue
            text, codes = result
            if not codes:
                continue
            reloaded = load(read_text(text), file, options)
            if len(reloaded.errors) > broken[file]:
                notes.append(Note(file, None, "not fixed further: the fixed text would not load"))
                frozen.add(file)
                continue
            files[file].text = text
            files[file].fixed += codes
            by_file[file] = reloaded.resources
            changed = True
        if not changed:
            break
    resources = [*fixed_objects, *(r for group in by_file.values() for r in group)]
    return Outcome(files, resources, errors, notes, before, inputs.skipped_files)


def _editable(file: str) -> bool:
    return file != STDIN and os.path.isfile(file)


def _read_stdin(max_size: int, errors: list[InputError]) -> str | None:
    problem = stdin_problem()
    if problem is not None:
        errors.append(InputError(STDIN, None, problem))
        return None
    data = sys.stdin.buffer.read(max_size + 1)
    if len(data) > max_size:
        errors.append(InputError(STDIN, None, "larger than the --max-input-size limit: not read"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        errors.append(InputError(STDIN, None, f"not UTF-8 text: {exc.reason}"))
        return None


def _check(
    engine: Engine, context: Iterable[Resource], resources: list[Resource]
) -> list[tuple[Resource, Finding]]:
    kept, _ = latest(resources)
    inventory = Inventory()
    for resource in [*context, *kept]:
        inventory.add(resource)
    world = World(inventory)
    return [(r, f) for r in kept if engine.covers(r.group_kind) for f in engine.check(r, world)]


def _fix_text(
    file: FixedFile, fixes: list[tuple[Target, Autofix, Finding]], failed: set[str], notes: list[Note]
) -> tuple[str, Counter[str]] | None:
    """The file's text with the fixes that fit made, and their count by rule; None when the text
    does not parse."""
    try:
        source = Source(file.text)
    except SourceError as exc:
        notes.append(Note(file.path, exc.line, f"not fixed: {exc.message}"))
        return None
    accepted: list[Replacement] = []
    codes: Counter[str] = Counter()
    for target, autofix, finding in fixes:
        try:
            replacements = source.replacements(target, autofix)
        except EditError as exc:
            message = f"{finding.code} {finding.object} {finding.path}: fix not applied: {exc}"
            if message not in failed:
                failed.add(message)
                notes.append(Note(file.path, finding.line, message))
            continue
        if any(r.overlaps(a) for r in replacements for a in accepted):
            continue  # the next pass, on the text as fixed so far
        accepted += replacements
        codes[finding.code] += 1
    return apply(file.text, accepted), codes


def fix_regions(
    findings: Iterable[Finding], lines: Mapping[tuple[ObjectRef, str], int]
) -> dict[Finding, tuple[Region, ...]]:
    """Where the fix of each finding changes its file; `lines` holds each object's line in its
    file. Findings whose file cannot be read or parsed, or whose fix cannot be placed, have none."""
    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.autofix is not None and finding.file and _editable(finding.file):
            by_file.setdefault(finding.file, []).append(finding)
    regions: dict[Finding, tuple[Region, ...]] = {}
    for file, fixable in by_file.items():
        try:
            with open(file, encoding="utf-8", newline="") as handle:
                text = handle.read()
            source = Source(text)
        except (OSError, ValueError, SourceError):
            continue
        for finding in fixable:
            ref = finding.object
            target = Target(lines.get((ref, file), 0), ref.kind, ref.name)
            assert finding.autofix is not None
            try:
                replacements = source.replacements(target, finding.autofix)
            except EditError:
                continue
            regions[finding] = tuple(region(text, r) for r in replacements)
    return regions


def unified_diff(file: FixedFile) -> str:
    name = shown_path(file.path)
    lines = difflib.unified_diff(
        file.original.splitlines(keepends=True),
        file.text.splitlines(keepends=True),
        fromfile=f"a/{name}" if not os.path.isabs(name) else name,
        tofile=f"b/{name}" if not os.path.isabs(name) else name,
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def write(files: Iterable[FixedFile]) -> list[InputError]:
    """Writes the changed files in place; what could not be written."""
    errors = []
    for file in files:
        if not file.changed or file.path == STDIN:
            continue
        try:
            with open(file.path, "w", encoding="utf-8", newline="") as handle:
                handle.write(file.text)
        except OSError as exc:
            errors.append(InputError(file.path, None, f"cannot write: {(exc.strerror or str(exc)).lower()}"))
    return errors
