"""The google_workspace reader on Panther's real-shaped GSuite.ActivityEvent sample: every record an event
or a quarantine row, the mapping of chosen records by hand, the Panther labels where a column decides the
same question, sniffing against the other formats, and broken records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.google_workspace import GoogleWorkspaceReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import expand
from tests.conftest import DATA, corpus

SAMPLE = ("identity-cloud", "google-workspace", "panther_gsuite_activityevent.jsonl")
LABELS = ("identity-cloud", "google-workspace", "panther_gsuite_activityevent.labels.jsonl")


def _read(path: Path) -> tuple[pa.Table, Quarantine]:
    (src,) = expand(str(path))
    q = Quarantine(src)
    table = pa.Table.from_batches(list(GoogleWorkspaceReader().read(src, q)), schema=EVENT_SCHEMA)
    return table, q


def _rows_by_line(table: pa.Table) -> dict[int, dict]:
    rows: dict[int, dict] = {}
    for row in table.to_pylist():
        assert row["record_id"] not in rows, "a Panther row holds one event"
        rows[row["record_id"]] = row
    return rows


@pytest.fixture(scope="module")
def panther() -> tuple[pa.Table, Quarantine, list[dict]]:
    path = corpus(*SAMPLE)
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    table, q = _read(path)
    return table, q, records


# -- (a) every record is an event or a quarantine row -----------------------------------------------------


def test_every_panther_record_is_one_event_or_one_quarantine_row(panther):
    table, q, records = panther
    # Independently of the reader: a Panther row is one event; it can be read when it names its
    # application and event and has a time (the vendor's id.time, or Panther's p_event_time).
    readable = [
        i
        for i, r in enumerate(records, start=1)
        if isinstance(r.get("id"), dict)
        and r["id"].get("applicationName")
        and r.get("name")
        and (r["id"].get("time") or r.get("p_event_time"))
    ]
    assert len(records) == 165
    assert table.num_rows == len(readable)
    assert len(q) == len(records) - len(readable)
    assert sorted(table["record_id"].to_pylist()) == readable
    assert sorted(table["record_id"].to_pylist() + [b.record for b in q.records]) == list(
        range(1, len(records) + 1)
    )
    assert table["time"].null_count == 0
    # raw is the original record, unchanged
    for row in table.select(["record_id", "raw"]).to_pylist():
        assert json.loads(row["raw"]) == records[row["record_id"] - 1]


def test_quarantine_names_the_record_and_the_field(panther):
    _, q, records = panther
    by_line = {b.record: b for b in q.records}
    # line 46: {"id": {"applicationName": "login"}, "type": "login"} — no event name
    assert by_line[46].field == "name"
    # line 49: gov_attack_warning without any time
    assert by_line[49].field == "id.time" and "time" in by_line[49].reason
    # line 164: only Panther enrichment fields, no activity at all
    assert by_line[164].field == "id"
    assert records[163].keys() == {"p_any_ip_addresses", "p_log_type", "p_enrichment"}


# -- (b) mapping of chosen records, expectations read off the records by hand -----------------------------


def test_admin_custom_role_record(panther):
    rows = _rows_by_line(panther[0])
    # line 2: admin CREATE_ROLE by example@example.io, customer D12345, from 12.12.12.12
    row = rows[2]
    assert row["time"] == datetime(2022, 12, 11, 2, 57, 48, 693000, tzinfo=UTC)
    assert (row["principal"], row["domain"], row["tenant"]) == ("example", "example.io", "D12345")
    assert row["src_ip"] == "12.12.12.12"
    assert (row["channel"], row["application"], row["provider"]) == (
        "admin",
        "admin",
        "DELEGATED_ADMIN_SETTINGS",
    )
    assert (row["event_code"], row["activity"]) == ("CREATE_ROLE", "CREATE_ROLE")
    assert (row["ocsf_class_uid"], row["ocsf_class_name"]) == (3001, "Account Change")
    assert row["category"] == "generic"
    assert row["role"] == "CustomAdminRoleName"
    assert row["outcome"] is None and row["mfa_used"] is None


def test_drive_rename_record(panther):
    row = _rows_by_line(panther[0])[3]
    # line 3: drive "rename" of a presentation by user@example.io
    assert (row["principal"], row["domain"], row["tenant"]) == ("user", "example.io", "D12345")
    assert (row["channel"], row["event_code"], row["category"]) == ("drive", "rename", "data_access")
    assert (row["object"], row["object_type"], row["action"]) == (
        "Document Title- Found Here",
        "presentation",
        "rename",
    )
    assert row["ocsf_class_uid"] == 6003


def test_user_accounts_record_with_ipv6(panther):
    row = _rows_by_line(panther[0])[4]
    # line 4: user_accounts recovery_email_edit, customer C00000000, an IPv6 source
    assert row["src_ip"] == "2600:2600:2600:2600:2600:2600:2600:2600"
    assert (row["tenant"], row["principal"]) == ("C00000000", "user")
    assert (row["event_code"], row["provider"], row["ocsf_class_uid"]) == (
        "recovery_email_edit",
        "recovery_info_change",
        3001,
    )


def test_saml_sign_in_record(panther):
    row = _rows_by_line(panther[0])[62]
    # line 62: saml login_success to "Some SAML Application" by some.user@somedomain.com from 10.10.10.10
    assert row["time"] == datetime(2022, 5, 26, 15, 26, 9, 421000, tzinfo=UTC)
    assert (row["principal"], row["domain"]) == ("some.user", "somedomain.com")
    assert row["src_ip"] == "10.10.10.10"
    assert (row["category"], row["activity"], row["outcome"]) == ("authentication", "logon", "success")
    assert (row["ocsf_class_uid"], row["ocsf_class_name"]) == (3002, "Authentication")
    assert (row["channel"], row["application"], row["auth_package"]) == (
        "saml",
        "Some SAML Application",
        "saml",
    )
    assert row["status"] == "SUCCESS_URI"
    assert row["mfa_used"] is None  # the SAML IdP, not Google, authenticated the user
    assert row["tenant"] is None  # the record has no customerId


def test_failed_login_record_with_panther_time(panther):
    row = _rows_by_line(panther[0])[161]
    # line 161: login_failure of bob@example.com from 111.111.111.111; only Panther's p_event_time
    assert row["time"] == datetime(2021, 6, 4, 9, 59, 53, 650807, tzinfo=UTC)
    assert (row["principal"], row["domain"], row["src_ip"]) == ("bob", "example.com", "111.111.111.111")
    assert (row["outcome"], row["event_code"], row["category"]) == (
        "failure",
        "login_failure",
        "authentication",
    )
    assert row["mfa_used"] is None  # no login_challenge_method in the record


def test_drive_external_share_keeps_the_record_time_in_rfc3339(panther):
    row = _rows_by_line(panther[0])[138]
    # line 138: id.time "2020-09-07T15:50:49.617Z", customer C010qxghg, actor example@acme.com
    assert row["time"] == datetime(2020, 9, 7, 15, 50, 49, 617000, tzinfo=UTC)
    assert (row["tenant"], row["principal"], row["domain"]) == ("C010qxghg", "example", "acme.com")
    assert row["event_code"] == "change_user_access"


# -- (c) the Panther labels where a mapped column decides the same question ------------------------------


def test_brute_force_rules_fire_exactly_on_failed_sign_ins(panther):
    """Standard.BruteForceByIP / ByUser: rule() is true for a failed sign-in (the threshold counts them)."""
    rows = _rows_by_line(panther[0])
    labels = [json.loads(line) for line in corpus(*LABELS).read_text().splitlines()]
    brute = [lb for lb in labels if lb["rule_id"] in ("Standard.BruteForceByIP", "Standard.BruteForceByUser")]
    assert len(brute) == 4
    for label in brute:
        row = rows[label["line"]]
        assert (row["outcome"] == "failure") is label["expected_result"], label["line"]
        assert row["category"] == "authentication"


def test_admin_custom_role_rule_is_a_role_created(panther):
    """Google.Workspace.Admin.Custom.Role: true for a custom admin role created (CREATE_ROLE)."""
    rows = _rows_by_line(panther[0])
    labels = [json.loads(line) for line in corpus(*LABELS).read_text().splitlines()]
    chosen = [lb for lb in labels if lb["rule_id"] == "Google.Workspace.Admin.Custom.Role"]
    assert len(chosen) == 3
    for label in chosen:
        row = rows[label["line"]]
        created = row["event_code"] == "CREATE_ROLE" and row["role"] is not None
        assert created is label["expected_result"], label["line"]


# -- (d) sniffing ------------------------------------------------------------------------------------------

OWN = [
    DATA / "google_workspace" / "reports_api_page.json",
    DATA / "google_workspace" / "reports_api_activities.jsonl",
    DATA / "google_workspace" / "cloud_logging_workspace.jsonl",
]


@pytest.mark.parametrize("path", OWN, ids=lambda p: p.name)
def test_detect_picks_this_reader_for_its_files(path):
    (src,) = expand(str(path))
    assert detect(src.head(), src) is GoogleWorkspaceReader


def test_detect_picks_this_reader_for_the_panther_sample():
    (src,) = expand(str(corpus(*SAMPLE)))
    assert detect(src.head(), src) is GoogleWorkspaceReader


OTHERS = [
    *(DATA / "windows_json").glob("*"),
    *(DATA / "zeek").glob("*.log"),
    *(DATA / "syslog").glob("*"),
    *(DATA / "pgaudit").glob("*.csv"),
    *(DATA / "lanl").glob("*.csv"),
    *(DATA / "rdp").glob("*.json*"),
]


@pytest.mark.parametrize("path", [p for p in OTHERS if p.is_file()], ids=lambda p: p.name)
def test_sniff_says_no_to_other_readers_fixtures(path):
    for src in expand(str(path)):
        assert GoogleWorkspaceReader.sniff(src.head(), src) == 0.0


@pytest.mark.parametrize(
    "parts",
    [
        ("identity-cloud", "okta", "panther_okta_systemlog.jsonl"),
        ("identity-cloud", "entra-signin", "panther_azure_audit.jsonl"),
        ("identity-cloud", "cloudtrail", "panther_aws_cloudtrail.jsonl"),
    ],
    ids=lambda parts: parts[-1],
)
def test_no_record_of_the_other_identity_samples_is_claimed(parts, tmp_path):
    path = corpus(*parts)
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    # every record as the first line of a file: the sniffer says no to each
    for i, line in enumerate(lines):
        one = tmp_path / f"{i}.jsonl"
        one.write_text(line + "\n")
        (src,) = expand(str(one))
        assert GoogleWorkspaceReader.sniff(src.head(), src) == 0.0, (parts[-1], i + 1)


def test_a_generic_cloud_audit_entry_is_not_claimed(tmp_path):
    # a Cloud Storage audit entry: same AuditLog envelope, not a Workspace service
    entry = {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "serviceName": "storage.googleapis.com",
            "methodName": "storage.objects.list",
            "authenticationInfo": {"principalEmail": "user@example.com"},
        },
        "timestamp": "2020-04-08T23:35:14.487672816Z",
        "logName": "projects/p/logs/cloudaudit.googleapis.com%2Fdata_access",
    }
    path = tmp_path / "gcs.jsonl"
    path.write_text(json.dumps(entry) + "\n")
    (src,) = expand(str(path))
    assert GoogleWorkspaceReader.sniff(src.head(), src) == 0.0


# -- (e) broken records ------------------------------------------------------------------------------------


def test_corrupt_and_truncated_records_go_to_quarantine_and_reading_goes_on(tmp_path):
    good = json.loads(
        (DATA / "google_workspace" / "reports_api_activities.jsonl").read_text().splitlines()[1]
    )
    bad_time = dict(good, id=dict(good["id"], time="yesterday"))
    bad_params = dict(good, events=[dict(good["events"][0], parameters="oops")])
    no_events = dict(good, events=[])
    lines = [
        json.dumps(good),
        json.dumps(good)[:-40],  # truncated
        json.dumps(bad_time),
        json.dumps(bad_params),
        json.dumps(no_events),
        "[1, 2]",
        json.dumps(good),
    ]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    table, q = _read(path)
    assert table["record_id"].to_pylist() == [1, 7]
    found = {b.record: (b.field, b.reason) for b in q.records}
    assert set(found) == {2, 3, 4, 5, 6}
    assert found[2][1].startswith("not JSON")
    assert found[3][0] == "id.time" and "'yesterday'" in found[3][1]
    assert found[4][0] == "events[0].parameters"
    assert found[5][0] == "events"
    assert found[6][1] == "not a JSON object"


def test_a_truncated_whole_document_is_one_quarantine_row(tmp_path):
    text = (DATA / "google_workspace" / "reports_api_page.json").read_text()
    path = tmp_path / "page.json"
    path.write_text(text[: len(text) // 2])
    table, q = _read(path)
    assert table.num_rows == 0
    assert len(q) == 1 and q.records[0].record == 1 and q.records[0].reason.startswith("not a JSON document")


def test_an_activity_with_a_bad_time_is_one_quarantine_row_whatever_its_events(tmp_path):
    first = json.loads(
        (DATA / "google_workspace" / "reports_api_activities.jsonl").read_text().splitlines()[0]
    )
    assert len(first["events"]) == 2
    bad = dict(first, id=dict(first["id"], time="2024-13-45T99:00:00Z"))
    path = tmp_path / "bad_time.jsonl"
    path.write_text(json.dumps(bad) + "\n" + json.dumps(first) + "\n")
    table, q = _read(path)
    assert table["record_id"].to_pylist() == [2, 2]
    assert [(b.record, b.field) for b in q.records] == [(1, "id.time")]
