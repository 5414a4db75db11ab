"""Warning lines and denial messages within the API server's rules."""

from __future__ import annotations

import unicodedata

from webhook.findings import Action, Autofix, Edit, Finding, Safety
from webhook.model import ObjectRef
from webhook.server.messages import Reported, denial_message, one_line, warning_lines

REF = ObjectRef.of("v1", "Pod", "shop", "web")


def finding(
    message: str, fix: str = "rename it", code: str = "MW201", action: Action = Action.WARN
) -> Finding:
    return Finding(
        code=code,
        message_id=f"{code}/port-unnamed",
        rule="service-port-protocol",
        action=action,
        object=REF,
        path="spec.ports[0]",
        message=message,
        fix=fix,
        docs="https://example.com/rules#mw201",
    )


def test_one_line_turns_control_characters_and_lone_surrogates_into_single_spaces() -> None:
    assert one_line("a\tb\n\nc\r\x00d\x85e\ud800f\u2028g") == "a b c d e f g"


def test_a_warning_keeps_its_fix_when_it_fits() -> None:
    [line] = warning_lines([], [Reported(finding("port 80 has no name"), Action.WARN)])
    assert line == "MW201 spec.ports[0]: port 80 has no name; fix: rename it"


def test_a_warning_drops_the_fix_before_it_would_pass_256_characters() -> None:
    [line] = warning_lines([], [Reported(finding("m" * 200, fix="f" * 100), Action.WARN)])
    assert line == "MW201 spec.ports[0]: " + "m" * 200


def test_a_warning_longer_than_256_characters_is_cut() -> None:
    [line] = warning_lines([], [Reported(finding("m\n" * 300), Action.WARN)])
    assert len(line) == 256 and line.endswith("…")
    assert not any(unicodedata.category(c) == "Cc" for c in line)


def test_identical_warnings_count_once() -> None:
    same = Reported(finding("port 80 has no name"), Action.WARN)
    assert len(warning_lines(["note"], [same, same])) == 2


def test_deny_findings_are_not_warnings_and_the_denial_lists_them_with_fix_and_docs() -> None:
    denied = Reported(finding("port 80 has\nno name", action=Action.DENY), Action.DENY)
    assert warning_lines([], [denied]) == []
    assert denial_message(REF, [denied]).splitlines() == [
        "Pod shop/web breaks 1 Istio convention enforced by Meshwarden:",
        "- MW201 service-port-protocol at spec.ports[0]: port 80 has no name",
        "  fix: rename it",
        "  docs: https://example.com/rules#mw201",
        'To exempt this object on purpose, annotate it meshwarden.io/suppress: "MW201" '
        "with a meshwarden.io/suppress-reason.",
    ]


def test_a_denial_names_the_corrected_fields_of_a_finding_with_a_fix() -> None:
    autofix = Autofix(
        "use the Gateway in istio-system",
        (
            Edit(("spec", "gateways", 0), "public-gateway", "istio-system/public-gateway"),
            Edit(("spec", "gateways", 1), None, "mesh"),
            Edit(("metadata", "annotations", "sidecar.istio.io/inject"), "false", None),
        ),
        Safety.SAFE,
    )
    denied = finding("not found", action=Action.DENY)._replace(autofix=autofix)
    lines = denial_message(REF, [Reported(denied, Action.DENY)]).splitlines()
    assert lines[4] == (
        '  corrected: set spec.gateways[0] to "istio-system/public-gateway"; add "mesh" to spec.gateways; '
        'remove metadata.annotations["sidecar.istio.io/inject"]'
    )
    unsafe = denied._replace(autofix=autofix._replace(safety=Safety.UNSAFE))
    lines = denial_message(REF, [Reported(unsafe, Action.DENY)]).splitlines()
    assert lines[4].startswith("  corrected (changes behaviour on purpose): set spec.gateways[0]")
