"""JUnit XML: one test case per checked object, failed when it has findings at or above --fail-on."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from webhook.findings import Finding
from webhook.model import ObjectRef
from webhook.output.report import Report
from webhook.output.text import format_finding


def render(report: Report) -> str:
    by_object: dict[ObjectRef, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_object[finding.object].append(finding)
    suite = ET.Element("testsuite", name="meshwarden")
    if report.unread or report.dropped:
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="dropped", value=str(report.dropped))
    failures = 0
    for ref, file, line in report.objects:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=ref.kind,
            name=f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name,
        )
        if file:
            case.set("file", file)
            if line:
                case.set("line", str(line))
        failing = [f for f in by_object.get(ref, []) if report.fails(f)]
        if failing:
            failures += 1
            failure = ET.SubElement(
                case,
                "failure",
                type=str(failing[0].action),
                message="; ".join(f"{f.code} {f.path}: {f.message}" for f in failing),
            )
            failure.text = "\n".join(
                format_finding(f, notes=report.finding_notes.get(f, ())) for f in failing
            )
    for error in report.errors:
        case = ET.SubElement(suite, "testcase", classname="input", name=error.location)
        ET.SubElement(case, "error", message=error.message).text = str(error)
    for unread in report.unread:
        case = ET.SubElement(suite, "testcase", classname="unread", name=unread.resource)
        ET.SubElement(case, "skipped", message=unread.reason)
    suite.set("tests", str(len(report.objects) + len(report.errors) + len(report.unread)))
    suite.set("failures", str(failures))
    suite.set("errors", str(len(report.errors)))
    suite.set("skipped", str(len(report.unread)))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
