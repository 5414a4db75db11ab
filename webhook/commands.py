"""The `meshwarden` command: check, fix, audit, rules, explain, serve, certs."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from typing import TYPE_CHECKING, TextIO, TypeVar

from webhook import __version__
from webhook.engine import Engine, RunSuppression
from webhook.findings import Finding
from webhook.inputs import DEFAULT_MAX_INPUT_SIZE, STDIN, format_size, parse_size, read_inputs, shown_path
from webhook.inventory import Inventory, World
from webhook.inventory.kept import compactor
from webhook.loader import LoadOptions, Note
from webhook.model import ObjectRef, Resource
from webhook.output import FORMATS, PASSING_FORMATS, Report, render
from webhook.output.report import FailOn, Unread
from webhook.policy import Policy, PolicyError, Profile, load_policy
from webhook.replace import Replacement, changed_findings, latest
from webhook.rules import CATALOGUE, Rule

if TYPE_CHECKING:
    from webhook.cluster import KubeApi, Progress, Unreadable
    from webhook.cluster.resources import ApiResource

T = TypeVar("T")

PROGRESS_EVERY = 1000


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; `serve` and `certs` get their arguments only when `command` is theirs,
    so that the other commands never import the server, TLS and certificate modules."""
    parser = argparse.ArgumentParser(
        prog="meshwarden",
        description="Istio conventions, enforced at kubectl apply and in CI.",
    )
    parser.add_argument("--version", action="version", version=f"meshwarden {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="check manifests offline",
        description="Check Kubernetes and Istio manifests against Istio's conventions.",
    )
    check.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or directories (.yaml, .yml, .json; recursive); '-' reads standard input",
    )
    add_report_arguments(check)
    add_input_arguments(check)
    check.add_argument(
        "--skip-non-manifests",
        action="store_true",
        help="files named on the command line are a repository's files too (from pre-commit or "
        "git): those that are not Kubernetes objects by design (CI workflows, tool configurations, "
        "kustomizations and their patches, Helm charts) are skipped with a note, as in a directory walk",
    )
    check.add_argument(
        "--cluster",
        action="store_true",
        help="the live cluster is the world for cross-object rules (what would applying these files "
        "do?); the files replace their namesakes in it",
    )
    add_cluster_arguments(check)

    add_fix_parser(commands)

    audit = commands.add_parser(
        "audit",
        help="check every covered object already in the cluster",
        description="Check every object in the cluster that a rule covers, with all rules and the "
        "cluster as the world for cross-object rules. Progress goes to standard error.",
    )
    add_report_arguments(audit)
    add_cluster_arguments(audit)
    audit.add_argument(
        "--apply",
        action="store_true",
        help="also write the results to the cluster as PolicyReports (wgpolicyk8s.io/v1alpha2), "
        "deleting the ones an earlier audit wrote that this one does not",
    )

    rules = commands.add_parser("rules", help="list every rule")
    rules.add_argument("--format", choices=("text", "json"), default="text")

    explain = commands.add_parser("explain", help="explain a rule: what, why, how to fix, examples")
    explain.add_argument("rule", metavar="CODE|NAME")

    serve = commands.add_parser(
        "serve",
        help="run the admission webhook server",
        description="Run the admission webhook server (TLS).",
    )
    certs = commands.add_parser(
        "certs",
        help="create a CA and a serving certificate for the webhook Service",
        description="Write ca.crt, tls.crt and tls.key for the webhook Service; print the base64 caBundle.",
    )
    if command == "serve":
        from webhook.server.serve import add_serve_arguments

        add_serve_arguments(serve)
    elif command == "certs":
        from webhook.certs import add_certs_arguments

        add_certs_arguments(certs)
    return parser


def add_fix_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fix = commands.add_parser(
        "fix",
        help="apply the exact fixes of findings to the files",
        description="Apply the fixes that findings carry to the files in place, keeping everything "
        "else in them byte for byte, then report the findings that remain. Safe fixes state what is "
        "already true; unsafe ones change behaviour on purpose and need --unsafe-fixes. Suppressed "
        "findings are not fixed. Files that are not Kubernetes objects by design (kustomizations and "
        "their patches, Helm charts, CI workflows) are never edited.",
    )
    fix.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or directories (.yaml, .yml, .json; recursive); '-' reads standard input and "
        "writes the fixed stream to standard output",
    )
    fix.add_argument("--diff", action="store_true", help="print a unified diff of the fixes; change nothing")
    fix.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when a fix is available (for CI)"
    )
    fix.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply fixes that change behaviour on purpose"
    )
    fix.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="RULE",
        help="fix only these rules, by code or name (repeatable; comma-separated)",
    )
    fix.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="RULE",
        help="do not fix these rules, by code or name (repeatable; comma-separated)",
    )
    add_report_arguments(fix)
    add_input_arguments(fix)


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by the commands that read manifests: check and fix."""
    parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="PATH",
        help="objects that are part of the world for cross-object rules but are not "
        "reported themselves, e.g. a cluster dump (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out matching paths when walking a directory (gitignore syntax, relative to the "
        "directory; repeatable); a .meshwardenignore file at the directory does the same",
    )
    parser.add_argument(
        "--max-input-size",
        type=_size,
        default=DEFAULT_MAX_INPUT_SIZE,
        metavar="SIZE",
        help=f"refuse any one input (file, pipe, standard input) larger than this "
        f"(default: {format_size(DEFAULT_MAX_INPUT_SIZE)})",
    )
    parser.add_argument(
        "--namespace",
        default="default",
        metavar="NS",
        help="namespace for objects without one (default: %(default)s)",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="the inputs are not the whole world: skip cross-object rules instead of "
        "reporting missing objects",
    )


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every command that checks objects and reports findings."""
    parser.add_argument("--config", metavar="FILE", help="policy file (YAML)")
    parser.add_argument(
        "--profile", choices=[p.value for p in Profile], help="override the policy file's profile"
    )
    parser.add_argument(
        "--format", choices=sorted(FORMATS), default="text", help="output format (default: %(default)s)"
    )
    parser.add_argument(
        "--fail-on",
        choices=FailOn.CHOICES,
        default=FailOn.DENY,
        help="exit 1 when a finding is at or above this action (default: %(default)s)",
    )
    parser.add_argument(
        "--suppress",
        action="append",
        default=[],
        metavar="RULE[=Kind/ns/name]",
        help="drop a rule run-wide or for matching objects ('*' wildcards; repeatable)",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour in text output (default: auto, on a terminal)",
    )


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config; in a pod, its service account)",
    )
    parser.add_argument(
        "--kube-context", metavar="NAME", help="kubeconfig context (default: the current one)"
    )


class UsageError(Exception):
    pass


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_engine(args: argparse.Namespace) -> Engine:
    try:
        policy = load_policy(args.config, CATALOGUE) if args.config else Policy()
        suppressions = [RunSuppression.parse(s) for s in args.suppress]
    except (PolicyError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.profile:
        policy = policy.with_profile(Profile(args.profile))
    return Engine(policy, suppressions=suppressions)


def _use_color(choice: str) -> bool:
    """`auto`: on a terminal, unless NO_COLOR is set (no-color.org); a flag overrides it."""
    if choice == "auto":
        return sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return choice == "always"


@contextlib.contextmanager
def _uncollected() -> Iterator[None]:
    """What is made inside (the objects read, the inventory's indexes: millions of dictionaries,
    lists and tuples, no reference cycle) lives to the end of the run: collections need not walk
    it, then or later."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


WHOLE_FIRST = 20_000
"""Objects `check` keeps as read before it keeps of each only what the inventory reads (and of a
checked one its whole body packed, webhook.inventory.kept). Packing and unpacking cost about 25 µs
an object: worth it where memory is at stake, past 20,000 objects (70 MB as read), not below."""


def _context_options(options: LoadOptions) -> LoadOptions:
    """`--context` files: objects never reported, kept as the inventory keeps them."""
    return dataclasses.replace(options, world=True, compact=compactor(CATALOGUE.inputs))


def run_check(args: argparse.Namespace) -> int:
    engine = build_engine(args)
    if not args.paths:
        raise UsageError("no input: give files, directories or '-' for standard input")
    if not args.cluster and (args.kubeconfig or args.kube_context):
        raise UsageError("--kubeconfig and --kube-context read the cluster: add --cluster")
    reading = _ReadCount() if sys.stderr.isatty() else None
    options = LoadOptions(
        namespace=args.namespace,
        checked=lambda r: engine.covers(r.group_kind),
        counted=reading.add if reading else None,
        compact=compactor(CATALOGUE.inputs, whole_first=WHOLE_FIRST),
    )
    world_options = _context_options(options)
    exclude, max_size = tuple(args.exclude), args.max_input_size
    try:
        with _uncollected():
            inputs = read_inputs(
                args.paths,
                options,
                exclude=exclude,
                max_size=max_size,
                skip_non_manifests=args.skip_non_manifests,
                parallel=True,
            )
            context = read_inputs(
                args.context, world_options, exclude=exclude, max_size=max_size, parallel=True
            )
    finally:
        if reading:
            reading.done()
    resources, replacements = latest(inputs.resources)
    context_resources, context_replacements = latest(context.resources)
    unreadable: list[Unreadable] = []
    inventory = (
        read_cluster(args, lambda api: _load_inventory(api, unreadable)) if args.cluster else Inventory()
    )
    with _uncollected():
        for resource in [*context_resources, *resources]:
            inventory.add(resource)
    report = check_resources(engine, resources, World(inventory), args, replacements)
    report.errors = inputs.errors + context.errors
    report.notes = [
        *inputs.notes,
        *context.notes,
        *(r.note() for r in [*context_replacements, *replacements]),
    ]
    report.skipped_files = inputs.skipped_files + context.skipped_files
    report.replaced = len(replacements)
    if args.partial:
        report = _leave_out_absences(report)
    if args.format == "sarif":
        from webhook.fixing import fix_regions

        lines = {(ref, file): line for ref, file, line in report.objects if file and line}
        report.fix_regions = fix_regions(report.findings, lines)
    code = emit(_leave_out_unread(report, unreadable, "check"), args)
    if args.exit_when_done:
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """Ends the process without freeing what the run read: freeing millions of dictionaries one by
    one takes longer than all the work after checking (0.4 s for 100,000 objects), and the
    operating system takes the memory back at once. Output is flushed first; if that fails (a
    closed pipe), the process ends the usual way, which reports it."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        return
    os._exit(code)


def run_fix(args: argparse.Namespace) -> int:
    from webhook import fixing

    engine = build_engine(args)
    if not args.paths:
        raise UsageError("no input: give files, directories or '-' for standard input")
    choice = fixing.Choice(
        unsafe=args.unsafe_fixes,
        select=_rule_names(args.select, "--select"),
        ignore=_rule_names(args.ignore, "--ignore"),
    )
    options = LoadOptions(namespace=args.namespace, checked=lambda r: engine.covers(r.group_kind))
    exclude, max_size = tuple(args.exclude), args.max_input_size
    context = read_inputs(args.context, _context_options(options), max_size=max_size)
    outcome = fixing.fix(
        args.paths, engine, options, choice, context=context.resources, exclude=exclude, max_size=max_size
    )
    files = [f for f in outcome.files.values() if f.changed]
    fixed = sum(f.fixed.total() for f in files)
    if args.diff:
        sys.stdout.write("".join(fixing.unified_diff(f) for f in files))
    elif STDIN in outcome.files:
        sys.stdout.write(outcome.files[STDIN].text)
    apply = not (args.diff or args.check)
    errors = [*context.errors, *outcome.errors, *(fixing.write(files) if apply else [])]
    verb = "fixed" if apply else "would fix"
    for file in files:
        codes = ", ".join(f"{code} ×{count}" for code, count in sorted(file.fixed.items()))
        fixed_here = _count(file.fixed.total(), "finding")
        print(f"{shown_path(file.path)}: {verb} {fixed_here} ({codes})", file=sys.stderr)
    done = "applied" if apply else "available"
    print(f"fix: {_count(fixed, 'fix', 'fixes')} {done} in {_count(len(files), 'file')}", file=sys.stderr)
    if not apply:
        for notice in [*context.notes, *outcome.notes, *errors]:
            print(notice, file=sys.stderr)
        return 2 if errors else int(fixed > 0)
    resources, replacements = latest(outcome.resources)
    inventory = Inventory()
    for resource in [*context.resources, *resources]:
        inventory.add(resource)
    report = check_resources(engine, resources, World(inventory), args, replacements)
    report.errors = errors
    report.notes = [*context.notes, *outcome.notes]
    report.skipped_files = outcome.skipped_files
    report.finding_notes = {
        f: [Note(f.file or "", f.line, "revealed by the fixes: not found before them")]
        for f in outcome.revealed(report.findings)
    }
    if args.partial:
        report = _leave_out_absences(report)
    return emit(report, args, sys.stderr if STDIN in outcome.files else sys.stdout)


def _rule_names(values: list[str], flag: str) -> frozenset[str]:
    names = set()
    for value in values:
        for name in filter(None, (n.strip() for n in value.split(","))):
            found = CATALOGUE.find(name)
            if found is None:
                raise UsageError(f"{flag}: no rule has the code or name {name!r} (see `meshwarden rules`)")
            names.add(found.code)
    return frozenset(names)


def _count(number: int, noun: str, plural: str = "") -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def run_audit(args: argparse.Namespace) -> int:
    engine = build_engine(args)

    def audit(api: KubeApi) -> Report:
        from webhook.cluster import audit_objects, audit_resources

        unreadable: list[Unreadable] = []
        inventory = _load_inventory(api, unreadable)
        resources, unserved = audit_resources(api, engine.catalogue.kinds)
        for kind in unserved:
            print(f"audit: the cluster serves no {kind}", file=sys.stderr)
        objects = audit_objects(api, resources, unreadable=unreadable, progress=_progress("audit"))
        report = _leave_out_unread(
            check_resources(engine, objects, World(inventory), args), unreadable, "audit"
        )
        if args.apply:
            _apply_reports(api, report)
        return report

    return emit(read_cluster(args, audit), args)


def _apply_reports(api: KubeApi, report: Report) -> None:
    from webhook.cluster import ApiError
    from webhook.cluster.reports import apply_reports
    from webhook.output import policyreport

    try:
        done = apply_reports(api, policyreport.reports(report), policyreport.LABELS)
    except ApiError as exc:
        hint = " (is the PolicyReport CRD, wgpolicyk8s.io/v1alpha2, installed?)" if exc.code == 404 else ""
        raise UsageError(f"cannot write the PolicyReports: {exc}{hint}") from None
    print(f"audit: {done.applied} PolicyReports applied, {done.deleted} stale ones deleted", file=sys.stderr)


def read_cluster(args: argparse.Namespace, read: Callable[[KubeApi], T]) -> T:
    """`read` with the API of --kubeconfig/--kube-context; a cluster that cannot be read is exit 2."""
    from webhook.cluster import ClusterError, open_api  # the Kubernetes client takes ~0.25 s to import

    try:
        with open_api(args.kubeconfig, args.kube_context) as api:
            return read(api)
    except ClusterError as exc:
        raise UsageError(f"cannot read the cluster: {exc}") from None


def _load_inventory(api: KubeApi, unreadable: list[Unreadable]) -> Inventory:
    from webhook.cluster import load_inventory

    return load_inventory(api, unreadable=unreadable, progress=_progress("context"))


def _leave_out_absences(report: Report) -> Report:
    """--partial: the findings that rest on the absence of an object are dropped (the object may
    exist outside the inputs); findings about objects that are present stay."""
    kept = [f for f in report.findings if not f.missing]
    report.findings, report.dropped = kept, report.dropped + len(report.findings) - len(kept)
    if report.dropped:
        print(
            f"check: {report.dropped} finding(s) left out (--partial): they rest on the absence of "
            "objects the inputs may lack",
            file=sys.stderr,
        )
    return report


def _leave_out_unread(report: Report, unreadable: list[Unreadable], command: str) -> Report:
    """Kinds the credentials may not list: named on stderr and in the report, and the findings that
    rest on the absence of their objects dropped (as with --partial); the rest is reported."""
    if not unreadable:
        return report
    from webhook.cluster import unproven

    kept = [f for f in report.findings if not unproven(f, unreadable)]
    report.findings, report.dropped = kept, report.dropped + len(report.findings) - len(kept)
    by_name = {u.resource.name: u.reason for u in sorted(unreadable, key=lambda u: u.resource.name)}
    report.unread = [Unread(name, reason) for name, reason in by_name.items()]
    for name, reason in by_name.items():
        print(f"{command}: cannot read {name}, skipped: {reason}", file=sys.stderr)
    if report.dropped:
        print(
            f"{command}: {report.dropped} finding(s) left out: they rest on the absence of objects "
            "of kinds not read",
            file=sys.stderr,
        )
    return report


def _progress(label: str) -> Progress:
    """A line on standard error per kind read and, on a terminal, a running count while reading."""
    terminal = sys.stderr.isatty()
    start = "\r" if terminal else ""

    def show(resource: ApiResource, done: int, total: int | None) -> None:
        if done == total:
            print(f"{start}{label}: {done} {resource.plural}", file=sys.stderr)
        elif terminal:
            print(f"\r{label}: {done}/{total or '?'} {resource.plural}", end="", file=sys.stderr, flush=True)

    return show


class _ReadCount:
    """`read N objects` on a terminal's standard error while a large input is read."""

    def __init__(self) -> None:
        self.count = 0

    def add(self) -> None:
        self.count += 1
        if self.count % PROGRESS_EVERY == 0:
            print(f"\rread {self.count} objects", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.count >= PROGRESS_EVERY:
            print(f"\rread {self.count} objects", file=sys.stderr)


def check_resources(
    engine: Engine,
    resources: Iterable[Resource],
    world: World,
    args: argparse.Namespace,
    replacements: Sequence[Replacement] = (),
) -> Report:
    findings: list[Finding] = []
    objects: list[tuple[ObjectRef, str | None, int | None]] = []
    found: list[tuple[Resource, list[Finding]]] = []
    skipped: Counter[str] = Counter()
    rules_run: dict[ObjectRef, list[Rule]] = {}
    keep_rules_run = args.format in PASSING_FORMATS or getattr(args, "apply", False)
    total = len(resources) if isinstance(resources, Sized) else 0
    progress = sys.stderr.isatty() and total > PROGRESS_EVERY
    for count, resource in enumerate(resources, 1):
        kind = resource.group_kind
        if not engine.covers(kind):
            skipped[engine.catalogue.name_of(kind)] += 1
            continue
        origin = resource.origin
        objects.append((resource.ref, origin.file if origin else None, origin.line if origin else None))
        whole = resource.whole()
        own = engine.check(whole, world)
        if keep_rules_run:
            rules_run[resource.ref] = engine.rules_run(whole, world)
        findings.extend(own)
        if replacements:
            found.append((resource, own))
        if progress and count % PROGRESS_EVERY == 0:
            print(f"\rchecked {count}/{total} objects", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    findings.sort(key=lambda f: f.sort_key)
    report = Report(findings, [], objects, skipped, fail_on=args.fail_on, color=_use_color(args.color))
    report.rules_run = rules_run
    if replacements and isinstance(world.inventory, Inventory):

        def recheck(resource: Resource) -> list[Finding]:
            return engine.check(resource.whole(), world)

        report.finding_notes = changed_findings(recheck, world.inventory, found, replacements)
    return report


def emit(report: Report, args: argparse.Namespace, out: TextIO | None = None) -> int:
    for notice in [*report.notes, *report.errors]:
        print(notice, file=sys.stderr)
    stream = out or sys.stdout
    rendered = render(args.format, report)
    binary = getattr(stream, "buffer", None)  # a StringIO has none
    if isinstance(rendered, str):
        stream.write(rendered)
        return report.exit_code()
    if binary is not None:
        stream.flush()
    for piece in [rendered] if isinstance(rendered, bytes) else rendered:
        if binary is None:
            stream.write(piece.decode())
        else:
            binary.write(piece)
    return report.exit_code()


def run_rules(args: argparse.Namespace) -> int:
    if args.format == "json":
        import orjson

        rows = [
            {
                "code": r.code,
                "name": r.name,
                "default": str(r.default),
                "cross": r.cross,
                "kinds": sorted(map(str, r.kinds)),
                "inputs": [
                    {"kind": str(i.kind), "detail": str(i.detail), "optional": i.optional} for i in r.inputs
                ],
                "messages": [
                    {"id": r.message_id(m), "description": description, "fix": r.fixes.get(m)}
                    for m, description in r.messages.items()
                ],
                "docs": r.docs,
            }
            for r in CATALOGUE
        ]
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode())
        return 0
    print(f"{'CODE':<5}  {'NAME':<32} {'DEFAULT':<7} {'CROSS':<5} KINDS")
    for r in CATALOGUE:
        cross = "yes" if r.cross else "no"
        print(f"{r.code:<5}  {r.name:<32} {r.default!s:<7} {cross:<5} {', '.join(sorted(map(str, r.kinds)))}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from webhook.docs import plain_text, rule_section

    found = CATALOGUE.find(args.rule)
    if found is None:
        raise UsageError(f"no rule has the code or name {args.rule!r} (see `meshwarden rules`)")
    section = rule_section(found, heading="#")
    sys.stdout.write(plain_text(section) if sys.stdout.isatty() else section)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from webhook.server.serve import run_serve

    return run_serve(args)


def run_certs(args: argparse.Namespace) -> int:
    from webhook.certs import run_certs

    return run_certs(args)


COMMANDS = {
    "check": run_check,
    "fix": run_fix,
    "audit": run_audit,
    "rules": run_rules,
    "explain": run_explain,
    "serve": run_serve,
    "certs": run_certs,
}


def main(argv: Sequence[str] | None = None, *, exit_when_done: bool = False) -> int:
    """The command line; `exit_when_done` as the program (`meshwarden`, `python -m webhook`), where
    `check` ends the process once its report is written (_exit_now)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser(next((arg for arg in argv if not arg.startswith("-")), None))
    args = parser.parse_args(argv)
    args.exit_when_done = exit_when_done
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"meshwarden {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def program() -> None:
    """The `meshwarden` command."""
    sys.exit(main(exit_when_done=True))
