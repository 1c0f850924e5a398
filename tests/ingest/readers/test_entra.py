"""The Entra ID reader on real samples: Panther's Azure.Audit rule-test records (diagnostic-settings
envelope, camelCase and all-lowercase keys) and OTRF's Sentinel AuditLogs export (Golden SAML).

Expectations are read off the records by hand (line numbers are those of the .jsonl file); counts are
computed here with plain ``json``, not through the reader.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.entra import EntraReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import Source, expand
from tests.conftest import DATA, corpus

SIGNIN_DIR = ("identity-cloud", "entra-signin")
GOLDEN = (*SIGNIN_DIR, "otrf-GoldenSAMLADFSMailAccess")


def _read(path: Path | str) -> tuple[pa.Table, list[Quarantine]]:
    batches: list[pa.RecordBatch] = []
    quarantines = []
    for source in expand(str(path)):
        q = Quarantine(source)
        batches.extend(EntraReader().read(source, q))
        quarantines.append(q)
    return pa.Table.from_batches(batches, schema=EVENT_SCHEMA), quarantines


def _row(table: pa.Table, record_id: int) -> dict:
    rows = [r for r in table.to_pylist() if r["record_id"] == record_id]
    assert len(rows) == 1, f"record {record_id}: {len(rows)} events"
    return rows[0]


@pytest.fixture(scope="module")
def panther() -> tuple[pa.Table, list[Quarantine], list[dict]]:
    path = corpus(*SIGNIN_DIR, "panther_azure_audit.jsonl")
    docs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    table, quarantines = _read(path)
    return table, quarantines, docs


# -- (a) every record is an event or a quarantine row ----------------------------------------------


def test_panther_every_record_is_an_event(panther) -> None:
    table, quarantines, docs = panther
    # Every line is a diagnostic-settings record: an object with a `properties` object.
    expected = sum(1 for d in docs if isinstance(d, dict) and isinstance(d.get("properties"), dict))
    assert expected == len(docs) == 48
    assert table.num_rows == expected
    assert sum(len(q) for q in quarantines) == 0
    assert sorted(table["record_id"].to_pylist()) == list(range(1, 49))


def test_panther_channels_follow_the_category(panther) -> None:
    table, _, docs = panther
    signin = {"SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs"}
    want: dict[str, int] = {}
    for d in docs:
        channel = d["category"] if d["category"] in signin else "AuditLogs"
        want[channel] = want.get(channel, 0) + 1
    got: dict[str, int] = {}
    for channel in table["channel"].to_pylist():
        got[channel] = got.get(channel, 0) + 1
    assert (
        got
        == want
        == {
            "SignInLogs": 15,
            "ServicePrincipalSignInLogs": 9,
            "NonInteractiveUserSignInLogs": 3,
            "AuditLogs": 21,  # AuditLogs 15 + Policy 2 + DirectoryManagement 2 + ApplicationManagement 2
        }
    )
    categories = dict(zip(table["channel"].to_pylist(), table["category"].to_pylist(), strict=True))
    assert categories["AuditLogs"] == "generic" and categories["SignInLogs"] == "authentication"


def test_otrf_sentinel_auditlogs_every_record_is_an_event() -> None:
    path = corpus(*GOLDEN, "AADAuditEvents.Zip")
    with zipfile.ZipFile(path) as zf:
        (name,) = zf.namelist()
        lines = [ln for ln in zf.read(name).decode("utf-8").splitlines() if ln.strip()]
    table, quarantines = _read(path)
    assert len(lines) == 4
    assert table.num_rows == len(lines) and sum(len(q) for q in quarantines) == 0
    assert set(table["channel"].to_pylist()) == {"AuditLogs"}
    assert table["raw"].to_pylist() == lines  # raw is the original line


# -- (b) mapping, by hand from the records ----------------------------------------------------------


def test_panther_failed_signin_line_9(panther) -> None:
    row = _row(panther[0], 9)
    assert row["time"] == datetime(2025, 1, 15, 8, 15, 23, 456000, tzinfo=UTC)  # envelope time
    assert (row["principal"], row["domain"]) == ("boromir", "lotr.com")
    assert row["src_ip"] == "4.4.4.4"
    assert (row["outcome"], row["status"]) == ("failure", "50053")
    assert row["mfa_used"] is False  # singleFactorAuthentication
    assert row["application"] == "Microsoft Office" and row["object"] == "Microsoft Graph"
    assert row["user_agent"] == "python-requests/2.28.0"
    assert row["tenant"] is None  # neither homeTenantId nor crossTenantAccessType
    assert row["resource_tenant"] == "tenant-123"
    assert (row["ocsf_class_uid"], row["ocsf_class_name"]) == (3002, "Authentication")
    assert row["activity"] == "logon" and row["channel"] == "SignInLogs"


def test_panther_service_principal_lowercase_keys_line_12(panther) -> None:
    row = _row(panther[0], 12)
    assert row["time"] == datetime(2023, 7, 26, 22, 58, 30, 983201, tzinfo=UTC)  # createdDateTime, 9 digits
    assert row["channel"] == "ServicePrincipalSignInLogs"
    assert (row["principal"], row["domain"]) == ("some-service-principal", None)
    assert (row["outcome"], row["status"]) == ("failure", "7000215")
    assert row["src_ip"] == "12.12.12.12"
    assert row["tenant"] == row["resource_tenant"] == "a2aa49aa-2c0c-49d2-af87-f402c421df0b"
    assert row["cross_tenant"] == "none" and row["conditional_access"] == "notApplied"
    assert row["application"] == "Azure Storage"
    assert row["mfa_used"] is None  # a service principal has no second factor


def test_panther_cross_tenant_legacy_smtp_line_24(panther) -> None:
    row = _row(panther[0], 24)
    assert (row["principal"], row["domain"]) == ("eve", "lexcorp.com")
    assert row["tenant"] == "4328f0a8-06da-4457-b0d0-2c8e115e52cc"
    assert row["resource_tenant"] == "fc66a38e-bcba-4fe9-b2de-c67918514cc5"
    assert row["src_ip"] == "12.12.12.12"  # properties.ipAddress, not the envelope's callerIpAddress
    assert row["auth_package"] == "Authenticated SMTP" and row["user_agent"] == "BAV2ROPC"
    assert (row["outcome"], row["status"]) == ("success", "0")
    # status.additionalDetails: "MFA requirement satisfied by claim in the token"
    assert (row["mfa_used"], row["mfa_method"]) == (True, "claim in token")
    assert row["application"] == "Office 365 Exchange Online"


def test_panther_ropc_without_mfa_line_42(panther) -> None:
    row = _row(panther[0], 42)
    assert (row["principal"], row["domain"], row["src_ip"]) == ("gandalf", "lotr.com", "2.2.2.2")
    assert (row["outcome"], row["status"]) == ("success", "0")  # resultType "0", no status object
    assert (row["protocol"], row["auth_package"]) == ("ropc", "Other clients")
    assert (row["mfa_used"], row["mfa_method"]) == (False, None)  # Password only, single factor
    assert row["application"] == "Legacy Application" and row["conditional_access"] == "notApplied"


def test_panther_pim_role_audit_line_39(panther) -> None:
    row = _row(panther[0], 39)
    assert row["channel"] == "AuditLogs" and row["category"] == "generic"
    assert (row["ocsf_class_uid"], row["ocsf_class_name"]) == (6003, "API Activity")
    assert row["event_code"] == "Add member to role in PIM completed (permanent)"
    assert (row["principal"], row["domain"]) == ("Radahn", "Starscourge.onmicrosoft.com")
    assert row["role"] == "Application Administrator"
    assert row["tenant"] == "345667733"  # additionalDetails tid
    assert row["resource_tenant"] == "12345"
    assert row["src_ip"] == "1.2.3.4"  # additionalDetails ipaddr
    assert (row["outcome"], row["provider"], row["action"]) == ("success", "PIM", "Update")
    assert row["mfa_used"] is None


def test_panther_audit_results_and_roles(panther) -> None:
    table = panther[0]
    failed = _row(table, 21)  # "result": "failed"
    assert (failed["outcome"], failed["status"], failed["event_code"]) == (
        "failure",
        "failed",
        "Invite external user",
    )
    removed = _row(table, 8)
    assert (removed["role"], removed["object"], removed["object_type"]) == (
        "Reader",
        "Former Employee",
        "User",
    )
    elevated = _row(table, 7)  # result only in the envelope ("SUCCESS")
    assert elevated["outcome"] == "success" and elevated["src_ip"] == "2.2.2.2"


def test_otrf_delegated_permission_grant() -> None:
    table, _ = _read(corpus(*GOLDEN, "AADAuditEvents.Zip"))
    row = _row(table, 4)
    assert row["time"] == datetime(2021, 8, 2, 13, 27, 20, 17000, tzinfo=UTC)
    assert row["event_code"] == "Add delegated permission grant"
    assert (row["principal"], row["domain"]) == ("pgustavo", "simulandlabs.com")
    assert (row["object"], row["object_type"], row["action"]) == (
        "Microsoft Graph",
        "ServicePrincipal",
        "Assign",
    )
    # Log Analytics' TenantId is the workspace; the directory is AADTenantId.
    assert row["resource_tenant"] == "00000000-0000-0000-0000-000000000000"
    assert row["src_ip"] is None  # InitiatedBy.user.ipAddress is null
    assert (
        row["user_agent"]
        == "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.17763.1971"
    )
    assert (row["outcome"], row["provider"]) == ("success", "Core Directory")


# -- (c) Panther labels where the mapped columns decide the same question -------------------------


def _labels() -> list[dict]:
    path = corpus(*SIGNIN_DIR, "panther_azure_audit.labels.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_labels_failed_signins_are_failures(panther) -> None:
    # Azure.Audit.ManyFailedSignIns fires per event on a sign-in with properties.status.errorCode > 0.
    rows = [x for x in _labels() if x["rule_id"] == "Azure.Audit.ManyFailedSignIns"]
    assert {x["expected_result"] for x in rows} == {True, False}
    for label in rows:
        row = _row(panther[0], label["line"])
        assert (row["outcome"] == "failure") is label["expected_result"], label["test_name"]


def test_labels_ropc_without_mfa(panther) -> None:
    # Azure.Audit.ROPCLoginNoMFA: a successful sign-in, protocol ropc, single-factor requirement.
    rows = [x for x in _labels() if x["rule_id"] == "Azure.Audit.ROPCLoginNoMFA"]
    assert {x["expected_result"] for x in rows} == {True, False}
    for label in rows:
        row = _row(panther[0], label["line"])
        fires = (
            (row["protocol"] or "").lower() == "ropc"
            and row["outcome"] == "success"
            and row["mfa_used"] is False
        )
        assert fires is label["expected_result"], label["test_name"]


# -- (d) sniffing ------------------------------------------------------------------------------------


def _sources(path: Path) -> list[Source]:
    return list(expand(str(path)))


def test_claims_its_files_and_no_other_reader_steals_them() -> None:
    paths = [corpus(*SIGNIN_DIR, "panther_azure_audit.jsonl"), corpus(*GOLDEN, "AADAuditEvents.Zip")]
    paths += sorted((DATA / "entra").glob("*.json")) + sorted((DATA / "entra").glob("*.csv"))
    for path in paths:
        for source in _sources(path):
            head = source.head()
            assert EntraReader.sniff(head, source) >= 0.8, source.display
            found = detect(head, source)
            assert found is not None and found.name == "entra", source.display


@pytest.mark.parametrize(
    "parts",
    [
        (*GOLDEN, "WindowsEvents.Zip"),
        (*GOLDEN, "OfficeActivityEvents.Zip"),
        (*GOLDEN, "Microsoft365DefenderEvents.Zip"),
        (*SIGNIN_DIR, "panther_azure_audit.labels.jsonl"),
        ("identity-cloud", "okta", "panther_okta_systemlog.jsonl"),
        ("identity-cloud", "google-workspace", "panther_gsuite_activityevent.jsonl"),
        ("identity-cloud", "cloudtrail", "panther_aws_cloudtrail.jsonl"),
        ("identity-cloud", "auditd", "go-libaudit", "auparse-audit-rhel7.log"),
    ],
)
def test_does_not_claim_other_formats(parts: tuple[str, ...]) -> None:
    for source in _sources(corpus(*parts)):
        assert EntraReader.sniff(source.head(), source) == 0.0, source.display


def test_does_not_claim_the_other_readers_fixtures() -> None:
    files = [p for p in DATA.rglob("*") if p.is_file() and "entra" not in p.parts and p.suffix != ".md"]
    assert len(files) > 20
    for path in files:
        for source in _sources(path):
            assert EntraReader.sniff(source.head(), source) == 0.0, source.display


def test_windows_events_of_the_golden_saml_run_are_windows_json() -> None:
    (source,) = _sources(corpus(*GOLDEN, "WindowsEvents.Zip"))
    found = detect(source.head(), source)
    assert found is not None and found.name == "windows_json"


# -- (e) bad records go to the quarantine, the run goes on --------------------------------------------


def _lines(*numbers: int) -> list[str]:
    text = corpus(*SIGNIN_DIR, "panther_azure_audit.jsonl").read_text().splitlines()
    return [text[n - 1] for n in numbers]


def _read_bytes(tmp_path: Path, data: bytes, name: str = "x.json") -> tuple[pa.Table, Quarantine]:
    path = tmp_path / name
    path.write_bytes(data)
    source = Source(str(path), path)
    q = Quarantine(source)
    return pa.Table.from_batches(list(EntraReader().read(source, q)), schema=EVENT_SCHEMA), q


def test_truncated_line_is_quarantined_with_its_number(tmp_path: Path) -> None:
    one, two, three = _lines(9, 10, 12)
    table, q = _read_bytes(tmp_path, f"{one}\n{two[: len(two) // 2]}\n{three}\n".encode())
    assert table["record_id"].to_pylist() == [1, 3]
    (bad,) = q.records
    assert bad.record == 2 and bad.reason.startswith("not JSON") and bad.offset == len(one.encode()) + 1


def test_bad_values_are_quarantined_naming_the_field(tmp_path: Path) -> None:
    good, signin, audit, sp = (json.loads(x) for x in _lines(9, 10, 39, 12))
    signin["properties"]["status"]["errorCode"] = "fifty"
    audit["properties"]["activityDateTime"] = "yesterday"
    del audit["time"]
    sp["properties"]["createdDateTime"] = "2023-13-40 25:00:00"
    unknown = {"category": "RiskyUsers", "properties": {"id": "x"}}
    docs = [good, signin, audit, sp, unknown]
    table, q = _read_bytes(tmp_path, "\n".join(json.dumps(d) for d in docs).encode())
    assert table["record_id"].to_pylist() == [1]
    assert [(b.record, b.field) for b in q.records] == [
        (2, "status.errorCode"),
        (3, "activityDateTime"),
        (4, "createdDateTime"),
        (5, "category"),
    ]
    assert "fifty" in q.records[0].reason and "yesterday" in q.records[1].reason


def test_log_analytics_json_string_that_does_not_parse(tmp_path: Path) -> None:
    lines = (DATA / "entra" / "log_analytics_signins.json").read_text().splitlines()
    broken = json.loads(lines[1])
    broken["Status"] = '{"errorCode": 50126, "failureReason": "Error val'  # cut off
    data = "\n".join([lines[0], json.dumps(broken), lines[2]]).encode()
    table, q = _read_bytes(tmp_path, data)
    assert table["record_id"].to_pylist() == [1, 3]
    assert [(b.record, b.field) for b in q.records] == [(2, "status")]


def test_event_hub_record_inside_a_batch_is_named(tmp_path: Path) -> None:
    good, bad = (json.loads(x) for x in _lines(9, 10))
    del bad["time"]  # line 10 has no createdDateTime: now the record has no time at all
    data = json.dumps({"records": [good, bad, good]}).encode() + b"\n"
    table, q = _read_bytes(tmp_path, data)
    assert table.num_rows == 2
    assert [(b.record, b.field) for b in q.records] == [(1, "records[1].createdDateTime")]


def test_json_document_cut_in_its_first_record_is_one_quarantine_row(tmp_path: Path) -> None:
    page = (DATA / "entra" / "graph_beta_signins_page.json").read_bytes()
    table, q = _read_bytes(tmp_path, page[: len(page) // 2])
    assert table.num_rows == 0
    (bad,) = q.records
    assert bad.record == 1 and bad.reason.startswith("JSON document broken off")


def test_csv_row_with_missing_fields(tmp_path: Path) -> None:
    text = (DATA / "entra" / "portal_signins.csv").read_text()
    header, first, second = text.splitlines()
    cut = ",".join(second.split(",")[:10])
    table, q = _read_bytes(tmp_path, f"{header}\n{cut}\n{first}\n".encode(), "signins.csv")
    assert table["record_id"].to_pylist() == [3]
    assert [(b.record, b.field) for b in q.records] == [(2, "row")]


def test_gzip_stream_that_breaks_off(tmp_path: Path) -> None:
    data = ("\n".join(_lines(9, 10, 11, 12)) + "\n").encode() * 50
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb") as gz:
        gz.write(data)
    path = tmp_path / "cut.json.gz"
    path.write_bytes(packed.getvalue()[:-40])
    (source,) = expand(str(path))
    q = Quarantine(source)
    rows = sum(b.num_rows for b in EntraReader().read(source, q))
    assert rows > 0 and len(q) == 1 and "broke off" in q.records[0].reason
