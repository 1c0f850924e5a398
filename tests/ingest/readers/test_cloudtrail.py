"""The cloudtrail reader on real samples: Panther's CloudTrail rule-test records and OTRF's two AWS
datasets. Counts are made with plain json/csv here; mapped values were worked out by hand from the
records and the CloudTrail record-contents reference."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from sekimori.ingest.base import detect
from sekimori.ingest.readers.cloudtrail import CloudTrailReader
from sekimori.ingest.source import expand
from tests.conftest import DATA, corpus, read_all

PANTHER = ("identity-cloud", "cloudtrail", "panther_aws_cloudtrail.jsonl")
LABELS = ("identity-cloud", "cloudtrail", "panther_aws_cloudtrail.labels.jsonl")
EXFIL = ("security-datasets", "datasets", "atomic", "aws", "collection", "ec2_proxy_s3_exfiltration.zip")
HONEY = ("security-datasets", "datasets", "atomic", "aws", "discovery", "aws_s3_honeybucketlogs.zip")
ISO = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")


def _rows(table: pa.Table) -> dict[int, dict]:
    return {row["record_id"]: row for row in table.to_pylist()}


def _quarantined(quarantines: list) -> dict[int, tuple[str | None, str]]:
    return {r.record: (r.field, r.reason) for q in quarantines for r in q.records}


@pytest.fixture(scope="module")
def panther() -> tuple[pa.Table, list]:
    return read_all(CloudTrailReader, corpus(*PANTHER))


# -- (a) counts per real file ------------------------------------------------------------------------


def test_panther_count_every_line_is_an_event_or_quarantined(panther: tuple[pa.Table, list]) -> None:
    table, quarantines = panther
    lines = [json.loads(x) for x in corpus(*PANTHER).read_text().splitlines() if x.strip()]
    assert len(lines) == 475  # README: 475 events
    no_name = {n for n, d in enumerate(lines, 1) if "eventName" not in d and "eventname" not in d}
    assert no_name == {470, 471, 474}  # README: the three Panther-only fragments
    bad_time = {
        n
        for n, d in enumerate(lines, 1)
        if isinstance(d.get("eventTime"), str) and not ISO.match(d["eventTime"])
    }
    q = _quarantined(quarantines)
    assert set(q) == no_name | bad_time
    assert table.num_rows == len(lines) - len(no_name | bad_time)
    assert set(_rows(table)) == set(range(1, 476)) - no_name - bad_time
    for n in no_name:
        field, reason = q[n]
        assert field == "eventName" and "p_log_type" in reason  # says why: only Panther fields
    for n in bad_time:
        assert q[n][0] == "eventTime"


def test_otrf_ec2_proxy_exfiltration_count() -> None:
    path = corpus(*EXFIL)
    with zipfile.ZipFile(path) as zf:
        (name,) = zf.namelist()
        docs = [json.loads(x) for x in zf.read(name).decode().splitlines() if x.strip()]
    table, quarantines = read_all(CloudTrailReader, path)
    assert table.num_rows == len(docs) == 103
    assert sum(len(q) for q in quarantines) == 0
    # Logstash renamed eventTime to @timestamp: every event still has its time
    assert table["time"].null_count == 0
    assert sorted(table["event_code"].to_pylist()) == sorted(d["eventName"] for d in docs)


def test_otrf_honeybucket_csv_count() -> None:
    path = corpus(*HONEY)
    with zipfile.ZipFile(path) as zf:
        (name,) = zf.namelist()
        text = io.TextIOWrapper(zf.open(name), encoding="utf-8", newline="")
        rows = list(csv.DictReader(text))
    table, quarantines = read_all(CloudTrailReader, path)
    assert table.num_rows == len(rows) == 301
    assert sum(len(q) for q in quarantines) == 0
    assert sorted(table["activity"].to_pylist()) == sorted(r["Event Name"] for r in rows)
    assert sorted(table["src_ip"].to_pylist()) == sorted(r["Source IP"] for r in rows)


# -- (b) mapping, by hand -----------------------------------------------------------------------------


def test_panther_iam_user_api_call(panther: tuple[pa.Table, list]) -> None:
    row = _rows(panther[0])[1]  # IAMUser john.developer, UpdateFunctionConfiguration20150331v2
    assert row["principal"] == "john.developer"
    assert row["tenant"] == row["resource_tenant"] == "123456789012"
    assert row["cross_tenant"] is None
    assert row["src_ip"] == "203.0.113.50" and row["src_host"] is None
    assert row["application"] == "lambda.amazonaws.com"
    assert row["activity"] == row["event_code"] == "UpdateFunctionConfiguration20150331v2"
    assert row["outcome"] == "success" and row["status"] is None
    assert row["mfa_used"] is None  # an IAM user's long-term key: the record does not say
    assert row["user_agent"] == "aws-cli/2.13.5 Python/3.11.4"
    assert row["ocsf_class_uid"] == 6003 and row["ocsf_class_name"] == "API Activity"
    assert row["logon_id"] == "AKIAI123456789EXAMPLE"
    assert row["time"] == datetime(2019, 1, 1, tzinfo=UTC)
    assert json.loads(row["raw"])["p_log_type"] == "AWS.CloudTrail"  # raw is the record as written


def test_panther_assumed_role_session_name(panther: tuple[pa.Table, list]) -> None:
    row = _rows(panther[0])[3]  # assumed-role/AWSReservedSSO_DevAdmin_abc123/bob.ross
    assert row["principal"] == "bob.ross"
    assert row["mfa_used"] is False  # sessionContext.attributes.mfaAuthenticated "false"
    assert row["tenant"] == "123456789012"
    assert _rows(panther[0])[2]["mfa_used"] is True  # "true" on line 2


def test_panther_console_logins(panther: tuple[pa.Table, list]) -> None:
    rows = _rows(panther[0])
    failed, ok = rows[35], rows[36]  # alice, responseElements.ConsoleLogin Failure / Success
    assert (failed["principal"], failed["outcome"], failed["category"]) == (
        "alice",
        "failure",
        "authentication",
    )
    assert (ok["principal"], ok["outcome"], ok["ocsf_class_uid"]) == ("alice", "success", 3002)
    assert failed["tenant"] is None and failed["resource_tenant"] == "111122223333"
    assert failed["time"] is None  # the fixture has no eventTime; the event is kept
    anaya = rows[55]  # Failure with MFAUsed Yes and errorMessage "Failed authentication"
    assert anaya["outcome"] == "failure" and anaya["status"] == "Failed authentication"
    assert anaya["mfa_used"] is True and anaya["src_ip"] == "192.0.2.0"
    assert anaya["tenant"] == "111122223333"
    root = rows[87]
    assert (root["principal"], root["outcome"], root["mfa_used"]) == ("root", "failure", False)
    assert root["src_ip"] == "111.111.111.111" and root["application"] == "signin.amazonaws.com"


def test_panther_assume_role(panther: tuple[pa.Table, list]) -> None:
    rows = _rows(panther[0])
    row = rows[110]  # AWSAccount calls sts AssumeRole on SampleRole in its own account
    assert row["role"] == "arn:aws:iam::111122223333:role/SampleRole"
    assert row["category"] == "authentication" and row["ocsf_class_uid"] == 3002
    assert row["tenant"] == row["resource_tenant"] == "111122223333" and row["cross_tenant"] is None
    assert row["src_ip"] == "1.2.3.4" and row["user_agent"] == "SampleUserAgent"
    assert row["time"] == datetime(2024, 12, 12, 16, 4, 32, tzinfo=UTC)  # "2024-12-12 16:04:32.000000000"
    by_lambda = rows[459]  # AWSService lambda.amazonaws.com assumes my_role_arn
    assert by_lambda["src_ip"] is None and by_lambda["src_host"] == "lambda.amazonaws.com"
    assert by_lambda["principal"] is None and by_lambda["tenant"] is None
    assert by_lambda["role"] == "arn:aws:iam::123456789123:role/my_role_arn"


def test_panther_lowercase_keys(panther: tuple[pa.Table, list]) -> None:
    row = _rows(panther[0])[32]  # eventname GetRecords, eventtime "2023-01-10 21:04:02"
    assert row["activity"] == "GetRecords" and row["application"] == "dynamodb.amazonaws.com"
    assert row["time"] == datetime(2023, 1, 10, 21, 4, 2, tzinfo=UTC)
    assert row["channel"] == "AwsApiCall"
    assert row["category"] == "data_access"  # eventcategory "Data"
    assert row["ocsf_class_uid"] == 6003
    assert row["principal"] is None and row["tenant"] is None  # useridentity.arn "arn:aws:test_arn"


def test_otrf_exfiltration_first_record() -> None:
    table, _ = read_all(CloudTrailReader, corpus(*EXFIL))
    row = _rows(table)[1]  # pedro, DescribeInstanceTypes from the console
    assert row["principal"] == "pedro" and row["tenant"] == "123456789123"
    assert row["mfa_used"] is True and row["src_ip"] == "1.2.3.4"
    assert row["application"] == "ec2.amazonaws.com" and row["user_agent"] == "console.ec2.amazonaws.com"
    assert row["time"] == datetime(2020, 9, 14, 0, 44, 23, tzinfo=UTC)


def test_otrf_honeybucket_first_row() -> None:
    table, _ = read_all(CloudTrailReader, corpus(*HONEY))
    row = _rows(table)[2]  # the first data row is line 2
    assert row["activity"] == "ListObjects" and row["channel"] == "AwsApiCall"
    assert row["principal"] == "anonymous" and row["tenant"] is None  # ANONYMOUS_PRINCIPAL
    assert row["src_ip"] == "177.131.167.145"
    assert row["time"] == datetime(2022, 2, 18, 17, 34, 57, tzinfo=UTC)
    assert row["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0")
    assert json.loads(row["raw"])["requestParameters"]["bucketName"] == "microsoft-devtest"


# -- (c) Panther labels where a mapped column decides the same question ------------------------------


def _labels(rule: str) -> dict[int, bool]:
    out = {}
    for line in corpus(*LABELS).read_text().splitlines():
        label = json.loads(line)
        if label["rule_id"] == rule:
            assert not label["uses_mocks"]
            out[label["line"]] = label["expected_result"]
    return out


def test_label_root_login_failed(panther: tuple[pa.Table, list]) -> None:
    # AWS.Console.RootLoginFailed: a root console sign-in that failed
    rows = _rows(panther[0])
    labels = _labels("AWS.Console.RootLoginFailed")
    assert len(labels) == 3 and sum(labels.values()) == 1
    for line, expected in labels.items():
        r = rows[line]
        mine = r["event_code"] == "ConsoleLogin" and r["principal"] == "root" and r["outcome"] == "failure"
        assert mine == expected, line


def test_label_unsuccessful_mfa_attempt(panther: tuple[pa.Table, list]) -> None:
    # AWS.Unsuccessful.MFA.attempt: a console sign-in with MFA used that failed
    rows = _rows(panther[0])
    labels = _labels("AWS.Unsuccessful.MFA.attempt")
    assert len(labels) == 2 and sum(labels.values()) == 1
    for line, expected in labels.items():
        r = rows[line]
        mine = r["event_code"] == "ConsoleLogin" and r["mfa_used"] is True and r["outcome"] == "failure"
        assert mine == expected, line


# -- (d) sniffing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("parts", [PANTHER, EXFIL, HONEY])
def test_claims_its_files(parts: tuple[str, ...]) -> None:
    for source in expand(str(corpus(*parts))):
        reader = detect(source.head(), source)
        assert reader is CloudTrailReader, source.display


def _other_files() -> list[Path]:
    mine = DATA / "cloudtrail"
    files = [p for p in sorted(DATA.rglob("*")) if p.is_file() and mine not in p.parents]
    return [p for p in files if p.suffix.lower() not in {".md", ".txt", ".sql", ".yml", ".yaml"}]


def test_does_not_claim_other_formats() -> None:
    others = _other_files()
    assert len(others) > 10
    for path in others:
        for source in expand(str(path)):
            head = source.head()
            assert CloudTrailReader.sniff(head, source) == 0.0, source.display


def test_does_not_claim_other_identity_logs() -> None:
    for name in (
        ("identity-cloud", "okta", "panther_okta_systemlog.jsonl"),
        ("identity-cloud", "google-workspace", "panther_gsuite_activityevent.jsonl"),
        ("identity-cloud", "entra-signin", "panther_azure_audit.jsonl"),
        LABELS,
    ):
        for source in expand(str(corpus(*name))):
            assert CloudTrailReader.sniff(source.head(), source) == 0.0, source.display
