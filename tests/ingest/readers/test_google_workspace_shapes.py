"""The google_workspace reader on each export shape the vendor documents (fixtures in
tests/data/google_workspace, written after the Reports API and Cloud Logging references): the same
activities read alike whatever the shape; one row per (activity, event), each with its activity's record."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from sekimori.ingest.base import Quarantine
from sekimori.ingest.readers.google_workspace import GoogleWorkspaceReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import expand
from tests.conftest import DATA

FIXTURES = DATA / "google_workspace"
PAGE = FIXTURES / "reports_api_page.json"
LINES = FIXTURES / "reports_api_activities.jsonl"
CLOUD = FIXTURES / "cloud_logging_workspace.jsonl"

COLUMNS = [
    "record_id",
    "channel",
    "provider",
    "event_code",
    "category",
    "activity",
    "ocsf_class_uid",
    "principal",
    "domain",
    "tenant",
    "resource_tenant",
    "src_ip",
    "outcome",
    "status",
    "mfa_used",
    "mfa_method",
    "auth_package",
    "application",
    "role",
    "object",
]


def _read(path: Path) -> tuple[pa.Table, Quarantine]:
    (src,) = expand(str(path))
    q = Quarantine(src)
    return pa.Table.from_batches(list(GoogleWorkspaceReader().read(src, q)), schema=EVENT_SCHEMA), q


def _row(**kw: object) -> dict[str, object]:
    return {c: kw.get(c) for c in COLUMNS}


HANAKO = dict(principal="hanako", domain="example.co.jp", tenant="C03az79cb", src_ip="203.0.113.10")
TARO = dict(principal="taro", domain="example.co.jp", tenant="C03az79cb", src_ip="198.51.100.7")
ADMIN = dict(principal="admin", domain="example.co.jp", tenant="C03az79cb", src_ip="2001:db8::5")
# The five activities of the fixtures, seven events, read by hand from the records.
AUTH = dict(category="authentication", activity="logon", ocsf_class_uid=3002)
EXPECTED = [
    # activity 1: a 2SV challenge (preregistered phone) passed, then the sign-in that used it
    _row(record_id=1, channel="login", provider="login", event_code="login_challenge", **AUTH,
         outcome="success", mfa_used=True, mfa_method="idv_preregistered_phone", application="login",
         **HANAKO),
    _row(record_id=1, channel="login", provider="login", event_code="login_success", **AUTH,
         outcome="success", mfa_used=True, mfa_method="idv_preregistered_phone",
         auth_package="google_password", application="login", **HANAKO),
    # activity 2: a wrong password, password only
    _row(record_id=2, channel="login", provider="login", event_code="login_failure", **AUTH,
         outcome="failure", status="login_failure_invalid_password", mfa_used=False,
         auth_package="google_password", application="login", **TARO),
    # activity 3: one admin action of two events (role assigned, password changed) on the contractor
    _row(record_id=3, channel="admin", provider="DELEGATED_ADMIN_SETTINGS", event_code="ASSIGN_ROLE",
         category="generic", activity="ASSIGN_ROLE", ocsf_class_uid=3001, resource_tenant="example.co.jp",
         application="admin", role="_SEED_ADMIN_ROLE", object="contractor@partner.example", **ADMIN),
    _row(record_id=3, channel="admin", provider="USER_SETTINGS", event_code="CHANGE_PASSWORD",
         category="generic", activity="CHANGE_PASSWORD", ocsf_class_uid=3001, resource_tenant="example.co.jp",
         application="admin", object="contractor@partner.example", **ADMIN),
    # activity 4: a SAML sign-in to a partner app refused
    _row(record_id=4, channel="saml", provider="login", event_code="login_failure", **AUTH,
         outcome="failure", status="failure_app_not_configured_for_user", auth_package="saml",
         application="Partner Portal", **HANAKO),
    # activity 5: an OAuth grant to a third-party app
    _row(record_id=5, channel="token", provider="auth", event_code="authorize", category="generic",
         activity="authorize", ocsf_class_uid=6003, application="Mail Sync Tool", **TARO),
]  # fmt: skip


@pytest.mark.parametrize("path", [PAGE, LINES], ids=["saved list response", "one activity per line"])
def test_reports_api_shapes_read_alike(path):
    table, q = _read(path)
    assert len(q) == 0
    assert table.select(COLUMNS).to_pylist() == EXPECTED
    times = table["time"].to_pylist()
    assert times[0] == times[1] == datetime(2024, 3, 1, 8, 15, 22, 123000, tzinfo=UTC)
    assert times[3] == datetime(2024, 3, 1, 9, 0, 5, 500000, tzinfo=UTC)


def test_every_event_row_keeps_its_whole_activity_as_raw():
    table, _ = _read(LINES)
    activities = [json.loads(line) for line in LINES.read_text().splitlines()]
    raws = table["raw"].to_pylist()
    for row, raw in zip(table["record_id"].to_pylist(), raws, strict=True):
        assert json.loads(raw) == activities[row - 1]
    page_raws = _read(PAGE)[0]["raw"].to_pylist()
    assert [json.loads(r) for r in page_raws] == [json.loads(r) for r in raws]


def test_a_list_page_on_one_line_gives_its_items(tmp_path):
    page = json.loads(PAGE.read_text())
    path = tmp_path / "pages.jsonl"
    path.write_text(
        json.dumps(page) + "\n" + json.dumps({"kind": "admin#reports#activities", "etag": "e"}) + "\n"
    )
    table, q = _read(path)
    assert len(q) == 0  # an empty page (no items) is no event and no error
    assert table.num_rows == 7 and set(table["record_id"].to_pylist()) == {1}


def test_a_json_array_of_activities(tmp_path):
    items = json.loads(PAGE.read_text())["items"]
    path = tmp_path / "array.json"
    path.write_text(json.dumps(items, indent=1))
    table, q = _read(path)
    assert len(q) == 0
    assert table.select(COLUMNS).to_pylist() == EXPECTED


def test_cloud_logging_entries():
    table, q = _read(CLOUD)
    assert len(q) == 0
    rows = table.select([*COLUMNS, "time", "user_agent"]).to_pylist()
    org = "organizations/123456789012"
    login, group, twosv = rows
    assert login["time"] == datetime(2024, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
    assert (login["principal"], login["domain"], login["tenant"]) == ("taro", "example.co.jp", org)
    assert login["src_ip"] == "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
    assert (login["channel"], login["event_code"], login["outcome"]) == ("login", "login_failure", "failure")
    assert (login["status"], login["mfa_used"], login["auth_package"]) == (
        "login_failure_invalid_password",
        False,
        "google_password",
    )
    assert (group["channel"], group["provider"], group["event_code"]) == (
        "admin",
        "GROUP_SETTINGS",
        "ADD_GROUP_MEMBER",
    )
    assert group["user_agent"] == "Mozilla/5.0 (X11; Linux x86_64)"
    assert (group["object"], group["ocsf_class_uid"], group["src_ip"]) == (
        "contractor@partner.example",
        6003,
        "192.0.2.44",
    )
    # no timestamp: the time is metadata.activityId.timeUsec 1709300000000000 µs = 2024-03-01 13:33:20 UTC
    assert twosv["time"] == datetime(2024, 3, 1, 13, 33, 20, tzinfo=UTC)
    assert (twosv["event_code"], twosv["outcome"], twosv["ocsf_class_uid"]) == (
        "2sv_disable",
        "success",
        3001,
    )


def test_lowercase_keys_of_a_data_lake_read_like_camel_case(tmp_path):
    activity = json.loads(LINES.read_text().splitlines()[1])
    lower = {
        "kind": activity["kind"],
        "id": {k.lower(): v for k, v in activity["id"].items()},
        "actor": {k.lower(): v for k, v in activity["actor"].items()},
        "ipaddress": activity["ipAddress"],
        "events": activity["events"],
    }
    path = tmp_path / "lower.jsonl"
    path.write_text(json.dumps(lower) + "\n")
    table, q = _read(path)
    assert len(q) == 0
    assert table.select(COLUMNS).to_pylist() == [dict(EXPECTED[2], record_id=1)]


def test_a_batch_closes_once_batch_size_rows_are_reached_after_whole_activities(monkeypatch):
    monkeypatch.setattr(GoogleWorkspaceReader, "batch_size", 3)
    (src,) = expand(str(LINES))
    batches = list(GoogleWorkspaceReader().read(src, Quarantine(src)))
    # events per activity 2, 1, 2, 1, 1: 2+1 reaches 3, 2+1 reaches 3, 1 is left
    assert [b.num_rows for b in batches] == [3, 3, 1]


def test_a_document_whose_first_line_is_not_a_lone_brace(tmp_path):
    page = json.loads(PAGE.read_text())
    text = json.dumps(page, indent=None).replace(', "items": ', ',\n"items": ', 1)  # two lines
    assert text.splitlines()[0].strip() not in ("{", "[")
    path = tmp_path / "page2.json"
    path.write_text(text)
    table, q = _read(path)
    assert len(q) == 0
    assert table.select(COLUMNS).to_pylist() == EXPECTED


def test_a_compact_array_on_one_line(tmp_path):
    path = tmp_path / "array1.json"
    path.write_text(json.dumps(json.loads(PAGE.read_text())["items"]) + "\n")
    table, q = _read(path)
    assert len(q) == 0
    assert table.select(COLUMNS).to_pylist() == EXPECTED


def test_json_lines_with_a_broken_first_line_are_still_read_line_by_line(tmp_path):
    lines = LINES.read_text().splitlines()
    path = tmp_path / "broken_first.jsonl"
    path.write_text(lines[0][:50] + "\n" + "\n".join(lines[1:]) + "\n")
    (src,) = expand(str(path))
    assert GoogleWorkspaceReader.sniff(src.head(), src) == 0.85  # the API's kind marker
    table, q = _read(path)
    assert [(b.record, b.reason.startswith("not JSON")) for b in q.records] == [(1, True)]
    assert table.select(COLUMNS).to_pylist() == EXPECTED[2:]


def test_a_bad_cloud_logging_timestamp_is_named_by_its_field(tmp_path):
    first, *rest = CLOUD.read_text().splitlines()
    entry = json.loads(first)
    entry["timestamp"] = "2024-03-01T25:61:00Z"
    no_time = json.loads(rest[1])  # the entry without timestamp, its timeUsec made unreadable
    no_time["protoPayload"]["metadata"]["activityId"]["timeUsec"] = "soon"
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(entry) + "\n" + rest[0] + "\n" + json.dumps(no_time) + "\n")
    table, q = _read(path)
    assert table["record_id"].to_pylist() == [2]
    assert [(b.record, b.field) for b in q.records] == [(3, "metadata.activityId.timeUsec"), (1, "timestamp")]
