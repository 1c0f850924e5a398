"""Sigma coverage: per log source, the rules, how many compiled, run and fired; a rule that cannot run is
listed with its reason. Four rules written here, the answer for each worked out by hand."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sekimori.cli import app
from sekimori.detect.sigma.coverage import coverage_of
from sekimori.detect.sigma.rules import compile_rules

RULE = """title: {title}
id: {id}
status: test
logsource:
    product: {product}
    {kind}: {value}
detection:
    selection:
        {field}: {needle}
    condition: selection
level: high
"""


def write_rules(folder):
    rules = folder / "rules"
    specs = [
        (
            "windows/process_creation",
            "Whoami",
            "00000000-0000-0000-0000-000000000001",
            "windows",
            "category",
            "process_creation",
            "Image|endswith",
            "'\\\\whoami.exe'",
        ),
        (
            "linux/auditd",
            "Passwd read",
            "00000000-0000-0000-0000-000000000002",
            "linux",
            "service",
            "auditd",
            "name",
            "/etc/passwd",
        ),
        (
            "linux/process_access",
            "No source",
            "00000000-0000-0000-0000-000000000004",
            "linux",
            "category",
            "process_access",
            "TargetImage",
            "/bin/sh",
        ),
        (
            "linux/process_creation",
            "Parent",
            "00000000-0000-0000-0000-000000000005",
            "linux",
            "category",
            "process_creation",
            "ParentImage",
            "/bin/sh",
        ),
        (
            "acme/application",
            "Acme",
            "00000000-0000-0000-0000-000000000003",
            "acme",
            "category",
            "application",
            "msg",
            "boom",
        ),
    ]
    for where, title, rid, product, kind, value, field, needle in specs:
        (rules / where).mkdir(parents=True, exist_ok=True)
        (rules / where / f"{rid[-1]}.yml").write_text(
            RULE.format(
                title=title, id=rid, product=product, kind=kind, value=value, field=field, needle=needle
            )
        )
    (rules / "windows/process_creation/broken.yml").write_text("title: Broken\nlogsource: [\n")
    return rules


def test_each_rule_is_counted_where_it_belongs_with_why_it_cannot_run(tmp_path):
    ruleset = compile_rules([write_rules(tmp_path)])
    found = coverage_of(ruleset, {"00000000-0000-0000-0000-000000000001"})
    rows = {r.logsource: r for r in found.rows}
    assert set(rows) == {
        "windows/process_creation",
        "linux/auditd",
        "linux/process_access",
        "linux/process_creation",
        "acme/application",
    }
    win = rows["windows/process_creation"]
    assert (win.rules, win.compiled, win.runnable, win.fired) == (2, 1, 1, 1)
    (broken,) = win.not_runnable
    assert broken.path.endswith("broken.yml") and broken.reason.startswith("did not compile")
    linux = rows["linux/auditd"]
    # audit records: the auditd source reads them
    assert (linux.rules, linux.compiled, linux.runnable, linux.fired) == (1, 1, 1, 0)
    assert linux.not_runnable == [] and linux.partial == []
    access = rows["linux/process_access"]
    assert (access.rules, access.compiled, access.runnable) == (1, 1, 0)
    assert access.not_runnable[0].reason == (
        "no source maps linux/process_access to the events of its readers (auditd, syslog)"
    )
    # process creation is read from audit events, which do not record the parent's image
    parent = rows["linux/process_creation"]
    assert (parent.rules, parent.runnable) == (1, 1)
    assert [p.reason for p in parent.partial] == ["runs, but its source has no value for ParentImage"]
    assert rows["acme/application"].not_runnable[0].reason == "no reader produces acme/application logs"
    assert found.totals() == {"rules": 6, "compiled": 5, "runnable": 3, "fired": 1}


def test_the_command_prints_the_same_as_json(tmp_path):
    rules = write_rules(tmp_path)
    result = CliRunner().invoke(app, ["sigma", "coverage", "--rules", str(rules), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"] == {"rules": 6, "compiled": 5, "runnable": 3, "fired": 0}
    listed = CliRunner().invoke(
        app, ["sigma", "coverage", "--rules", str(rules), "--unrunnable"], terminal_width=200
    )
    text = " ".join(listed.output.split())  # the console wraps long lines
    assert "no reader produces acme/application logs" in text and "did not compile" in text
    assert "runs, but its source has no value for ParentImage" in text
