"""The `meshwarden` command: check, rules, explain, serve, certs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from webhook import __version__
from webhook.docs import rule_section
from webhook.engine import Engine, RunSuppression
from webhook.findings import Finding
from webhook.inputs import read_paths
from webhook.inventory import Inventory
from webhook.model import ObjectRef, Resource
from webhook.output import FORMATS, Report
from webhook.output.report import FailOn
from webhook.policy import Policy, PolicyError, Profile, load_policy
from webhook.rules import CATALOGUE

PROGRESS_EVERY = 1000


def _parser() -> argparse.ArgumentParser:
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
    check.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="PATH",
        help="objects that are part of the world for cross-object rules but are not "
        "reported themselves, e.g. a cluster dump (repeatable)",
    )
    check.add_argument(
        "--namespace",
        default="default",
        metavar="NS",
        help="namespace for objects without one (default: %(default)s)",
    )
    check.add_argument(
        "--partial",
        action="store_true",
        help="the inputs are not the whole world: skip cross-object rules instead of "
        "reporting missing objects",
    )

    rules = commands.add_parser("rules", help="list every rule")
    rules.add_argument("--format", choices=("text", "json"), default="text")

    explain = commands.add_parser("explain", help="explain a rule: what, why, how to fix, examples")
    explain.add_argument("rule", metavar="CODE|NAME")
    return parser


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


class UsageError(Exception):
    pass


def build_engine(args: argparse.Namespace) -> Engine:
    try:
        policy = load_policy(args.config) if args.config else Policy()
        suppressions = [RunSuppression.parse(s) for s in args.suppress]
    except (PolicyError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.profile:
        policy = policy.with_profile(Profile(args.profile))
    return Engine(policy, suppressions=suppressions)


def _use_color(choice: str) -> bool:
    return choice == "always" or (choice == "auto" and sys.stdout.isatty())


def run_check(args: argparse.Namespace) -> int:
    engine = build_engine(args)
    if not args.paths:
        raise UsageError("no input: give files, directories or '-' for standard input")
    resources, errors = read_paths(args.paths, args.namespace)
    world, context_errors = read_paths(args.context, args.namespace)
    errors.extend(context_errors)
    inventory = Inventory([*world, *resources], complete=not args.partial)
    report = check_resources(engine, resources, inventory, args)
    report.errors = errors
    return emit(report, args)


def check_resources(
    engine: Engine, resources: Sequence[Resource], inventory: Inventory, args: argparse.Namespace
) -> Report:
    findings: list[Finding] = []
    objects: list[tuple[ObjectRef, str | None, int | None]] = []
    skipped = 0
    progress = sys.stderr.isatty() and len(resources) > PROGRESS_EVERY
    for count, resource in enumerate(resources, 1):
        if not engine.covers(resource.kind):
            skipped += 1
            continue
        origin = resource.origin
        objects.append((resource.ref, origin.file if origin else None, origin.line if origin else None))
        findings.extend(engine.check(resource, inventory))
        if progress and count % PROGRESS_EVERY == 0:
            print(f"\rchecked {count}/{len(resources)} objects", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    findings.sort(key=lambda f: f.sort_key)
    return Report(findings, [], objects, skipped=skipped, fail_on=args.fail_on, color=_use_color(args.color))


def emit(report: Report, args: argparse.Namespace) -> int:
    for error in report.errors:
        print(f"{error}", file=sys.stderr)
    sys.stdout.write(FORMATS[args.format](report))
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
                "kinds": sorted(r.kinds),
                "docs": r.docs,
            }
            for r in CATALOGUE
        ]
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    for r in CATALOGUE:
        cross = "cross" if r.cross else ""
        print(f"{r.code}  {r.name:<32} {r.default!s:<5} {cross:<5} {', '.join(sorted(r.kinds))}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    found = CATALOGUE.find(args.rule)
    if found is None:
        raise UsageError(f"no rule has the code or name {args.rule!r} (see `meshwarden rules`)")
    sys.stdout.write(rule_section(found, heading="#"))
    return 0


COMMANDS = {"check": run_check, "rules": run_rules, "explain": run_explain}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"meshwarden {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
