"""The Microsoft 365 unified audit log reader: every export shape, hand-checked mappings, labels, sniffing."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.m365 import M365Reader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import expand
from tests.conftest import DATA, corpus

FIXTURE = DATA / "m365" / "panther_microsoft365_audit.jsonl"
LABELS = DATA / "m365" / "panther_microsoft365_audit.labels.jsonl"
OFFICE_ACTIVITY = (
    "identity-cloud",
    "entra-signin",
    "otrf-GoldenSAMLADFSMailAccess",
    "OfficeActivityEvents.Zip",
)


def _read(path: Path) -> tuple[pa.Table, Quarantine]:
    (src,) = expand(str(path))
    q = Quarantine(src)
    return pa.Table.from_batches(list(M365Reader().read(src, q)), schema=EVENT_SCHEMA), q


def _lines() -> list[str]:
    return FIXTURE.read_text().splitlines()


def test_every_record_of_the_fixture_is_an_event():
    lines = _lines()
    table, q = _read(FIXTURE)
    assert len(q) == 0
    assert table.num_rows == len(lines) == 9
    assert table["raw"].to_pylist() == lines
    assert table["time"].null_count == 0


def test_mapping_of_the_records_by_hand():
    rows = {r["record_id"]: r for r in _read(FIXTURE)[0].to_pylist()}
    # 1: Azure AD sign-in failure (RecordType 15); ResultStatus says Success, the operation says failed
    r = rows[1]
    assert r["time"] == datetime(2022, 12, 12, 15, 57, 57, tzinfo=UTC)
    assert (r["principal"], r["domain"]) == ("sample.user", "yourorg.onmicrosoft.com")
    assert (r["src_ip"], r["outcome"], r["status"]) == ("1.2.3.4", "failure", "InvalidUserNameOrPassword")
    assert (r["category"], r["activity"], r["event_code"]) == ("authentication", "logon", "UserLoginFailed")
    assert (r["ocsf_class_uid"], r["ocsf_class_name"]) == (3002, "Authentication")
    assert (r["application"], r["channel"]) == ("AzureActiveDirectory", "AzureActiveDirectoryStsLogon")
    # the actor's tenant (ActorContextId) is not the log's organisation: home and resource tenant
    assert (r["tenant"], r["resource_tenant"]) == ("123-abc-xyz-567", "11-aa-22-bb")
    assert r["user_agent"] == (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/107.0.0.0 Safari/537.36"
    )
    assert (r["action"], r["mfa_used"]) == ("Login:login", None)
    # 2: sign-in success, no Workload in the record
    r = rows[2]
    assert (r["activity"], r["outcome"], r["status"], r["application"]) == ("logon", "success", None, None)
    # 4: directory change by a service principal (RecordType 8)
    r = rows[4]
    assert (r["principal"], r["domain"], r["event_code"]) == (
        "ServicePrincipal_aa-bb-ccc",
        None,
        "Update user.",
    )
    assert (r["category"], r["ocsf_class_uid"], r["channel"]) == ("generic", 6003, "AzureActiveDirectory")
    assert (r["object"], r["outcome"]) == ("sample.user@yourorg.onmicrosoft.com", "success")
    # 5: OneDrive sharing (RecordType 14)
    r = rows[5]
    assert (r["application"], r["channel"]) == ("OneDrive", "SharePointSharingOperation")
    assert (r["tenant"], r["resource_tenant"], r["outcome"]) == ("11-22-abc", None, None)
    assert (
        r["object"] == "https://yourorg.sharepoint.com/personal/user_yourorg/Documents/importantsecrets.docx"
    )
    assert r["object_type"] == "File"
    # 9: lower-case keys, client address with a port, nine fraction digits, ResultStatus "True"
    r = rows[9]
    assert r["time"] == datetime(2025, 7, 7, 9, 11, 11, tzinfo=UTC)
    assert (r["src_ip"], r["outcome"], r["activity"]) == ("1.2.3.4", "success", "New-InboxRule")
    assert (r["principal"], r["domain"], r["tenant"]) == ("homer.simpson", "simpsons.onmicrosoft", "11-aa-bb")
    assert (r["application"], r["channel"]) == ("Exchange", "ExchangeAdmin")


def test_sentinel_office_activity_row_mail_items_accessed():
    table, q = _read(corpus(*OFFICE_ACTIVITY))
    assert (table.num_rows, len(q)) == (1, 0)
    r = table.to_pylist()[0]
    assert r["time"] == datetime(2021, 8, 2, 13, 32, 7, tzinfo=UTC)
    assert (r["principal"], r["domain"]) == ("pgustavo", "simulandlabs.com")
    assert (r["tenant"], r["src_ip"]) == ("00000000-0000-0000-0000-000000000000", "1.2.3.4")
    assert (r["application"], r["activity"], r["category"]) == (
        "Exchange",
        "MailItemsAccessed",
        "data_access",
    )
    assert (r["outcome"], r["channel"], r["user_agent"]) == (
        "success",
        "ExchangeItemAggregated",
        "Client=REST;;",
    )
    assert r["principal_sid"] == "S-1-5-21-1825954961-3338807533-2873504967-26087451"


def test_panther_brute_force_label_is_a_failed_sign_in():
    rows = {r["record_id"]: r for r in _read(FIXTURE)[0].to_pylist()}
    labels = [json.loads(line) for line in LABELS.read_text().splitlines()]
    cases = [
        (d["line"], d["expected_result"])
        for d in labels
        if d["rule_id"] == "Microsoft365.Brute.Force.Login.by.User"
    ]
    assert cases == [(1, True), (2, False)]
    for line, want in cases:
        r = rows[line]
        assert (r["activity"] == "logon" and r["outcome"] == "failure") is want


def _records() -> list[dict]:
    return [json.loads(line) for line in _lines()]


def _cols(table: pa.Table) -> list[tuple]:
    names = ("principal", "src_ip", "outcome", "activity", "tenant")
    return list(zip(*(table[c].to_pylist() for c in names), strict=True))


def _expected_columns() -> list[tuple]:
    return _cols(_read(FIXTURE)[0])


@pytest.mark.parametrize(
    "header",
    [
        ["CreationDate", "UserIds", "Operations", "AuditData"],
        [
            "RecordId",
            "CreationDate",
            "RecordType",
            "Operation",
            "UserId",
            "AuditData",
            "AssociatedAdminUnits",
        ],
    ],
)
def test_audit_search_csv_export_reads_each_audit_data(tmp_path, header):
    records, lines = _records(), _lines()
    path = tmp_path / "AuditLog.csv"
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for rec, line in zip(records, lines, strict=True):
            op = rec.get("Operation") or rec.get("operation")
            values = {
                "AuditData": line,
                "Operations": op,
                "Operation": op,
                "CreationDate": "2022-12-12T00:00:00",
            }
            out.writerow([values.get(h, "x") for h in header])
    (src,) = expand(str(path))
    assert detect(src.head(), src) is M365Reader
    table, q = _read(path)
    assert len(q) == 0
    assert table["raw"].to_pylist() == lines  # raw is the AuditData record
    assert table["record_id"].to_pylist() == list(range(2, 11))  # CSV line of each row
    assert _cols(table) == _expected_columns()


def test_management_api_array_and_powershell_json(tmp_path):
    records, lines = _records(), _lines()
    array = tmp_path / "content.json"
    array.write_text(json.dumps(records))
    wrapped = tmp_path / "search.json"
    wrapped.write_text(
        json.dumps(
            [
                {
                    "RecordType": "x",
                    "CreationDate": "2022-12-12T00:00:00",
                    "UserIds": "u",
                    "Operations": "o",
                    "AuditData": line,
                }
                for line in lines
            ],
            indent=2,
        )
    )
    for path in (array, wrapped):
        (src,) = expand(str(path))
        assert detect(src.head(), src) is M365Reader
        table, q = _read(path)
        assert len(q) == 0
        assert _cols(table) == _expected_columns()
    assert [json.loads(t) for t in _read(wrapped)[0]["raw"].to_pylist()] == records


def test_bad_records_are_quarantined_by_number_and_field(tmp_path):
    lines = _lines()
    no_op = json.dumps({k: v for k, v in json.loads(lines[0]).items() if k != "Operation"})
    bad_time = lines[0].replace('"2022-12-12 15:57:57"', '"12/12/2022 3:57 PM"')
    assert bad_time != lines[0]
    path = tmp_path / "audit.jsonl"
    path.write_text("\n".join([lines[0], no_op, bad_time, lines[1][:80], lines[1]]) + "\n")
    table, q = _read(path)
    assert table["record_id"].to_pylist() == [1, 5]
    assert [(r.record, r.field) for r in q.records] == [(2, "Operation"), (3, "CreationTime"), (4, "record")]
    # a CSV row whose AuditData was cut off
    csv_path = tmp_path / "AuditLog.csv"
    with open(csv_path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["CreationDate", "UserIds", "Operations", "AuditData"])
        out.writerow(["d", "u", "o", lines[0]])
        out.writerow(["d", "u", "o", lines[1][:100]])
        out.writerow(["d", "u", "o", lines[2]])
    table, q = _read(csv_path)
    assert table["record_id"].to_pylist() == [2, 4]
    assert [(r.record, r.field) for r in q.records] == [(3, "AuditData")]


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:10736", "1.2.3.4"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("", None),
        ("<unknown>", None),
    ],
)
def test_client_ip_forms(value, want):
    from sekimori.ingest.cloud.values import clean_ip

    assert clean_ip(value) == want


OTHERS = [
    DATA / "windows_json" / "otrf_empire_psexec_sample.zip",
    DATA / "zeek" / "dns.json",
    DATA / "syslog" / "rsyslog-rfc5424.log",
    DATA / "pgaudit" / "pg15-csvlog.csv",
    DATA / "okta" / "panther_okta_sample.jsonl",
]
OTHERS_SHARED = [
    ("identity-cloud", "okta", "panther_okta_systemlog.jsonl"),
    ("identity-cloud", "cloudtrail", "panther_aws_cloudtrail.jsonl"),
    ("identity-cloud", "google-workspace", "panther_gsuite_activityevent.jsonl"),
    ("identity-cloud", "entra-signin", "panther_azure_audit.jsonl"),
    ("identity-cloud", "entra-signin", "otrf-GoldenSAMLADFSMailAccess", "AADAuditEvents.Zip"),
    ("identity-cloud", "entra-signin", "otrf-GoldenSAMLADFSMailAccess", "Microsoft365DefenderEvents.Zip"),
    ("identity-cloud", "entra-signin", "otrf-GoldenSAMLADFSMailAccess", "WindowsEvents.Zip"),
]


def test_sniff_claims_m365_and_no_other_reader_steals_it():
    for path in (FIXTURE, corpus(*OFFICE_ACTIVITY)):
        (src,) = expand(str(path))
        assert M365Reader.sniff(src.head(), src) >= 0.9
        assert detect(src.head(), src) is M365Reader


@pytest.mark.parametrize("path", OTHERS, ids=lambda p: p.name)
def test_sniff_leaves_other_formats_alone(path):
    for src in expand(str(path)):
        assert M365Reader.sniff(src.head(), src) == 0.0


@pytest.mark.parametrize("parts", OTHERS_SHARED, ids=lambda p: p[-1])
def test_sniff_leaves_other_cloud_logs_alone(parts):
    for src in expand(str(corpus(*parts))):
        assert M365Reader.sniff(src.head(), src) == 0.0


def test_graph_audit_log_record_with_its_audit_data_object(tmp_path):
    record = {
        "id": "0f5e",
        "createdDateTime": "2024-03-01T10:00:00Z",
        "auditLogRecordType": "exchangeItem",
        "operation": "MailItemsAccessed",
        "organizationId": "tenant-1",
        "service": "Exchange",
        "userPrincipalName": "ann@contoso.com",
        "clientIp": "203.0.113.5",
        "auditData": {
            "CreationTime": "2024-03-01T10:00:00",
            "Operation": "MailItemsAccessed",
            "Workload": "Exchange",
        },
    }
    line = json.dumps(record)
    path = tmp_path / "graph.jsonl"
    path.write_text(line + "\n")
    (src,) = expand(str(path))
    assert detect(src.head(), src) is M365Reader
    table, q = _read(path)
    assert len(q) == 0
    r = table.to_pylist()[0]
    assert (r["raw"], r["principal"], r["domain"], r["src_ip"]) == (line, "ann", "contoso.com", "203.0.113.5")
    assert (r["category"], r["tenant"], r["application"]) == ("data_access", "tenant-1", "Exchange")
