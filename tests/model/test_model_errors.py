"""Every problem in a model file is reported with file, line, field and what was expected."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from sekimori.model import GroupModel, Issue, ModelError, load_model, load_model_text, validate_model_data
from tests.model.conftest import MINIMAL, line_of

WriteModel = Callable[[str], Path]


def problems(path: Path) -> ModelError:
    with pytest.raises(ModelError) as caught:
        load_model(path)
    return caught.value


def only_issue(error: ModelError) -> Issue:
    assert len(error.issues) == 1, str(error)
    return error.issues[0]


def assert_reported(error: ModelError, path: Path, line: int, field: str, *phrases: str) -> Issue:
    """The error has exactly one issue, at ``path:line`` on ``field``, and its text has ``phrases``."""
    issue = only_issue(error)
    assert (issue.file, issue.line, issue.field) == (str(path), line, field), str(issue)
    text = str(error)
    assert text.startswith(f"{path}:{line}:"), text
    assert f": {field}: " in text, text
    for phrase in phrases:
        assert phrase in text, text
    return issue


def test_wrong_type(write_model: WriteModel) -> None:
    text = (
        MINIMAL
        + """\
zones:
  - {id: z, name: Z, org: parent}
systems:
  - {id: s, name: S, owner: parent, zone: z}
data_stores:
  - id: ok
    name: OK
    system: s
    owner: parent
    kind: database
  - id: users
    name: Users
    system: s
    owner: parent
    kind: database
  - id: more
    name: More users
    system: s
    owner: parent
    kind: database
    personal_data:
      - category: user
        items: [name]
        records: 5
      - category: employee
        items: [email]
        records: many      # HERE
"""
    )
    path = write_model(text)
    issue = assert_reported(
        problems(path),
        path,
        line_of(text, "# HERE"),
        "data_stores[2].personal_data[1].records",
        "expected an integer ≥ 0, got 'many'",
    )
    assert issue.column == 18


def test_negative_count_and_bad_port(write_model: WriteModel) -> None:
    text = (
        MINIMAL
        + """\
zones:
  - {id: z, name: Z, org: parent}
flows:
  - id: f
    from: z
    to: z
    ports: [22, 70000]     # HERE
    protocol: tcp
"""
    )
    path = write_model(text)
    assert_reported(
        problems(path),
        path,
        line_of(text, "# HERE"),
        "flows[0].ports[1]",
        "expected an integer from 1 to 65535",
    )


def test_missing_required_field(write_model: WriteModel) -> None:
    text = MINIMAL + "  - id: contractor        # HERE\n    name: Contractor\n    kind: contractor\n"
    path = write_model(text)
    assert_reported(
        problems(path), path, line_of(text, "# HERE"), "organisations[2].country", "required field is missing"
    )


def test_unknown_field_suggests_the_right_one(write_model: WriteModel) -> None:
    text = MINIMAL + "accounts:\n  - org: parent\n    upn_sufix: '@p.example'   # HERE\n"
    path = write_model(text)
    assert_reported(
        problems(path),
        path,
        line_of(text, "# HERE"),
        "accounts[0].upn_sufix",
        "unknown field 'upn_sufix'",
        "did you mean 'upn_suffix'?",
    )


def test_unknown_org_reference(write_model: WriteModel) -> None:
    text = (
        MINIMAL
        + """\
realms:
  - id: corp
    kind: ad_domain
    name: CORP.EXAMPLE.JP
    shared_by:
      - parent
      - afiliate       # HERE
"""
    )
    path = write_model(text)
    assert_reported(
        problems(path),
        path,
        line_of(text, "# HERE"),
        "realms[0].shared_by[1]",
        "unknown organisation 'afiliate'",
        "did you mean 'affiliate'?",
    )


def test_unknown_zone_and_system_references(write_model: WriteModel) -> None:
    text = (
        MINIMAL
        + """\
zones:
  - {id: internal, name: Internal, org: parent}
flows:
  - {id: f, from: internal, to: dmz, ports: any, protocol: any}     # HERE-ZONE
grants:
  - {id: g, org: affiliate, systems: [payroll], logon_types: [network], owner: IT}   # HERE-SYSTEM
"""
    )
    path = write_model(text)
    error = problems(path)
    assert [(i.line, i.field) for i in error.issues] == [
        (line_of(text, "# HERE-ZONE"), "flows[0].to"),
        (line_of(text, "# HERE-SYSTEM"), "grants[0].systems[0]"),
    ]
    assert "unknown zone 'dmz': expected one of internal" in str(error)
    assert "unknown system 'payroll': no system is defined" in str(error)


def test_bad_regex(write_model: WriteModel) -> None:
    text = MINIMAL + "accounts:\n  - org: parent\n    name_pattern: '^(kr[0-9]+'     # HERE\n"
    path = write_model(text)
    assert_reported(
        problems(path),
        path,
        line_of(text, "# HERE"),
        "accounts[0].name_pattern",
        "expected a valid regular expression (RE2 syntax), got '^(kr[0-9]+'",
        "missing ): ^(kr[0-9]+",
    )


@pytest.mark.parametrize(
    ("pattern", "phrase"),
    [
        # What RE2 lacks is named: model patterns run with RE2, in Python and in DuckDB alike.
        ("(?<=a)b", "without lookbehinds, got '(?<=a)b'"),
        ("a(?!b)", "without lookaheads, got 'a(?!b)'"),
        ("(a)\\1", "without backreferences, got '(a)\\\\1'"),
        ("(?P<x>a)(?P=x)", "without backreferences"),
        ("a++", "without possessive quantifiers, got 'a++'"),
        ("(?>a+)b", "without atomic groups"),
        ("a\\Z", "write \\z for the end of text"),
        ("a{,3}", "write '{0,n}'"),  # a repetition in Python, text in RE2
        ("(?<x>a)", "DuckDB's RE2 also understands"),  # the binding's RE2 is newer than DuckDB's
        ("[[:foo:]]", "expected a valid regular expression (RE2 syntax), got '[[:foo:]]'"),
    ],
)
def test_regex_that_re2_cannot_run(pattern: str, phrase: str, write_model: WriteModel) -> None:
    text = (
        MINIMAL
        + "zones:\n  - {id: z, name: Z, org: parent}\nhosts:\n"
        + f"  - {{org: parent, zone: z, name_pattern: '{pattern}'}}  # HERE\n"
    )
    path = write_model(text)
    line = line_of(text, "# HERE")
    issue = assert_reported(problems(path), path, line, "hosts[0].name_pattern", phrase)
    assert issue.column == text.splitlines()[line - 1].index("'") + 1  # at the pattern itself


def test_backreference_in_account_rule_is_refused_with_file_line_column_and_field(
    write_model: WriteModel,
) -> None:
    text = MINIMAL + "accounts:\n  - org: parent\n    name_pattern: '^(\\w+)\\.\\1$'\n"
    path = write_model(text)
    assert str(problems(path)) == (
        f"{path}:14:19: accounts[0].name_pattern: expected a regular expression without backreferences, "
        "got '^(\\\\w+)\\\\.\\\\1$': model patterns run with RE2, which matches in time linear in the "
        "name and has no backreferences (invalid escape sequence: \\1)"
    )


@pytest.mark.parametrize(
    ("cidr", "phrase"),
    [
        ("10.0.0.0/33", "expected a network in CIDR notation"),
        ("10.0.0.300/24", "expected a network in CIDR notation"),
        ("'fd00::/129'", "expected a network in CIDR notation"),
        ("10.1.2.0/16", "has host bits set: did you mean 10.1.0.0/16?"),
    ],
)
def test_bad_cidr(cidr: str, phrase: str, write_model: WriteModel) -> None:
    text = (
        MINIMAL
        + f"""\
zones:
  - id: z
    name: Z
    org: parent
    cidrs:
      - 10.0.0.0/8
      - {cidr}       # HERE
"""
    )
    path = write_model(text)
    assert_reported(problems(path), path, line_of(text, "# HERE"), "zones[0].cidrs[1]", phrase)


def test_single_cidr_is_reported_at_the_field(write_model: WriteModel) -> None:
    text = (
        MINIMAL
        + "zones:\n  - {id: z, name: Z, org: parent}\n"
        + "hosts:\n  - {org: parent, zone: z, cidr: 10.0.0.0/99}  # HERE\n"
    )
    path = write_model(text)
    assert_reported(problems(path), path, line_of(text, "# HERE"), "hosts[0].cidr", "'10.0.0.0/99'")


def test_duplicate_id(write_model: WriteModel) -> None:
    text = (
        MINIMAL + "  - id: parent     # HERE\n    name: Parent again\n    kind: subsidiary\n    country: JP\n"
    )
    path = write_model(text)
    assert_reported(
        problems(path),
        path,
        line_of(text, "# HERE"),
        "organisations[2].id",
        "duplicate id 'parent': organisations[0] already uses it",
    )


def test_yaml_syntax_error(write_model: WriteModel) -> None:
    text = MINIMAL + "contracts:\n  - id: c\n    scope: [unclosed\n    start: 2024-01-01   # HERE\n"
    path = write_model(text)
    issue = only_issue(problems(path))
    assert (issue.file, issue.line, issue.field) == (str(path), line_of(text, "# HERE"), "")
    assert str(issue).startswith(f"{path}:{issue.line}:{issue.column}: YAML syntax error: ")
    assert "flow sequence" in str(issue)


def test_duplicate_key(write_model: WriteModel) -> None:
    text = (
        MINIMAL + "  - id: contractor\n    name: Contractor    # FIRST\n    name: Contractor Ltd    # HERE\n"
    )
    path = write_model(text)
    first = line_of(text, "# FIRST")
    issue = assert_reported(
        problems(path), path, line_of(text, "# HERE"), "organisations[2].name", "duplicate key 'name'"
    )
    assert f"already given on line {first}" in issue.message


def test_dates_out_of_order(write_model: WriteModel) -> None:
    text = (
        MINIMAL
        + """\
contracts:
  - id: c
    entrusting: parent
    entrusted: affiliate
    scope: Operations
    start: 2024-04-01
    end: 2024-03-31       # HERE
"""
    )
    path = write_model(text)
    assert_reported(
        problems(path),
        path,
        line_of(text, "# HERE"),
        "contracts[0].end",
        "expected an end date on or after the start (2024-04-01), got 2024-03-31",
    )


def test_invalid_date_is_a_yaml_value_problem(write_model: WriteModel) -> None:
    text = (
        MINIMAL
        + "contracts:\n"
        + "  - {id: c, entrusting: parent, entrusted: affiliate, scope: x, start: 2023-02-30}  # HERE\n"
    )
    path = write_model(text)
    assert_reported(
        problems(path), path, line_of(text, "# HERE"), "contracts[0].start", "day is out of range for month"
    )


def test_rule_without_matcher(write_model: WriteModel) -> None:
    text = (
        MINIMAL
        + "realms:\n  - {id: r, kind: local, name: PC1, shared_by: [parent]}\n"
        + "accounts:\n  - org: parent   # HERE\n    realm: r\n"
    )
    path = write_model(text)
    assert_reported(
        problems(path), path, line_of(text, "# HERE"), "accounts[0]", "expected at least one matcher"
    )


def test_all_problems_are_listed_in_line_order(write_model: WriteModel) -> None:
    text = (
        MINIMAL.replace("kind: affiliate", "kind: partner   # HERE-1")
        + "zones:\n  - {id: z, name: Z, org: parent, cidrs: nonsense}   # HERE-2\n"
    )
    path = write_model(text)
    error = problems(path)
    assert [i.line for i in error.issues] == [line_of(text, "# HERE-1"), line_of(text, "# HERE-2")]
    assert "expected 'parent', 'subsidiary', 'affiliate' or 'contractor', got 'partner'" in str(error)
    assert len(str(error).splitlines()) == 2


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert "cannot read the file" in str(problems(missing))
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"version: 1\ngroup: Gro\xdfe\n")
    issue = only_issue(problems(latin1))
    assert (issue.line, issue.column) == (2, 11)
    assert "not UTF-8" in issue.message


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "expected a mapping (key: value), got a list"),
        ("version: 1\ngroup: !!python/object:os.system x\n", "expected a plain value"),
        ("a: &x [*x]\n", "an alias that contains itself"),
        ("a: \x07\n", "control character U+0007"),
        # PyYAML itself fails with IndexError, KeyError, AttributeError on these
        ("a: !!int\n", "cannot read '' as the YAML type int"),
        ("a: !!bool maybe\n", "cannot read 'maybe' as the YAML type bool"),
        ("a: !!timestamp x\n", "cannot read 'x' as the YAML type timestamp"),
    ],
)
def test_structural_problems(text: str, phrase: str) -> None:
    with pytest.raises(ModelError, match=re.escape(phrase)):
        load_model_text(text, "m.yaml")


def test_validate_plain_data_names_fields_without_lines() -> None:
    with pytest.raises(ModelError) as caught:
        validate_model_data({"version": 2, "group": "G", "organisations": []}, source="api")
    fields = {issue.field: issue for issue in caught.value.issues}
    assert set(fields) == {"version", "organisations"}
    assert fields["version"].line is None
    assert str(fields["version"]) == "api: version: expected 1, got 2"
    assert "expected at least 1 item" in fields["organisations"].message


def test_pydantic_validation_error_for_plain_model_validate() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        GroupModel.model_validate(
            {
                "version": 1,
                "group": "G",
                "organisations": [{"id": "p", "name": "P", "kind": "parent", "country": "JP"}],
                "zones": [{"id": "z", "name": "Z", "org": "q"}],
            }
        )
    assert caught.value.errors()[0]["loc"] == ("zones", 0, "org")
    assert caught.value.errors()[0]["type"] == "unknown_reference"
