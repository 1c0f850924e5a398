"""The Okta System Log reader on the real Panther sample: counts, hand-checked mappings, labels, sniffing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from sekimori.ingest.base import Quarantine, detect
from sekimori.ingest.readers.okta import OktaReader
from sekimori.ingest.schema import EVENT_SCHEMA
from sekimori.ingest.source import expand
from tests.conftest import DATA, corpus, read_all

OKTA = ("identity-cloud", "okta", "panther_okta_systemlog.jsonl")
LABELS = ("identity-cloud", "okta", "panther_okta_systemlog.labels.jsonl")
# What the reader can place in time: ISO 8601 with a date, as Okta writes `published`.
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")


def _read(path: Path) -> tuple[pa.Table, Quarantine]:
    (src,) = expand(str(path))
    q = Quarantine(src)
    return pa.Table.from_batches(list(OktaReader().read(src, q)), schema=EVENT_SCHEMA), q


def _rows(table: pa.Table) -> dict[int, dict]:
    return {row["record_id"]: row for row in table.to_pylist()}


def test_every_line_of_the_panther_sample_is_an_event_or_quarantined():
    path = corpus(*OKTA)
    docs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    fragments = {i for i, d in enumerate(docs, 1) if "eventType" not in d and "eventtype" not in d}
    # published, or Panther's own copy of it in p_event_time when published was dropped
    untimed = {
        i
        for i, d in enumerate(docs, 1)
        if i not in fragments
        and not ISO_TIME.match(str(d.get("published") or ""))
        and not ISO_TIME.match(str(d.get("p_event_time") or ""))
    }
    table, q = _read(path)
    assert len(docs) == 88
    assert table.num_rows + len(q) == len(docs)
    assert {r.record for r in q.records if r.field == "eventType"} == fragments == {71, 83}
    assert {r.record for r in q.records if r.field == "published"} == untimed
    assert sorted(table["record_id"].to_pylist() + [r.record for r in q.records]) == list(range(1, 89))
    assert table["time"].null_count == 0
    # raw is the original line, unchanged
    lines = path.read_text().splitlines()
    assert all(row["raw"] == lines[row["record_id"] - 1] for row in table.to_pylist())


def test_mapping_of_real_records_by_hand():
    rows = _rows(_read(corpus(*OKTA))[0])
    # line 7: lower-case data-lake keys (eventtype, authenticationcontext), failed password sign-in
    r = rows[7]
    assert r["time"] == datetime(2022, 6, 22, 18, 18, 29, 15000, tzinfo=UTC)
    assert (r["principal"], r["domain"], r["src_ip"]) == ("homer.simpson", "duff.com", "1.3.2.4")
    assert (r["event_code"], r["activity"], r["category"]) == (
        "user.session.start",
        "logon",
        "authentication",
    )
    assert (r["outcome"], r["status"], r["ocsf_class_uid"]) == ("failure", "INVALID_CREDENTIALS", 3002)
    assert r["ocsf_class_name"] == "Authentication"
    assert r["logon_id"] == "100-abc-9999"
    assert r["user_agent"] == (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/102.0.0.0 Safari/537.36"
    )
    assert (r["tenant"], r["mfa_used"], r["mfa_method"], r["application"]) == (None, None, None, None)
    # line 18: MFA verification succeeded
    r = rows[18]
    assert (r["event_code"], r["outcome"], r["mfa_used"]) == (
        "user.authentication.auth_via_mfa",
        "success",
        True,
    )
    # line 23: Identity Engine sign-in on an okta.com org, to the Okta Dashboard
    r = rows[23]
    assert (r["principal"], r["domain"], r["src_ip"]) == ("casey.hill", "hey.com", "99.108.5.25")
    assert (r["tenant"], r["application"], r["outcome"]) == (
        "trial-2340039.okta.com",
        "Okta Dashboard",
        "success",
    )
    assert r["time"] == datetime(2024, 4, 2, 19, 17, 37, 621000, tzinfo=UTC)
    # line 27: sign-on policy evaluation asked for a challenge: no outcome yet, the policy result kept
    r = rows[27]
    assert (r["outcome"], r["conditional_access"]) == (None, "challenge")
    assert r["status"] == "Sign-on policy evaluation resulted in CHALLENGE"
    assert r["application"] == "Okta Admin Console"
    # line 5: admin role granted to a user — an account change carrying the role
    r = rows[5]
    assert (r["principal"], r["domain"], r["src_ip"]) == ("jack", "acme.io", "136.24.229.58")
    assert (r["ocsf_class_uid"], r["category"], r["outcome"]) == (3001, "generic", "success")
    assert r["role"] == "Organization administrator, Application administrator (all)"
    # line 34: SWA password shown for an app: API activity on that app
    r = rows[34]
    assert (r["application"], r["ocsf_class_uid"], r["src_ip"]) == ("Application2", 6003, "218.56.201.220")
    # line 46: rate limit violation denied
    assert (rows[46]["outcome"], rows[46]["status"]) == (
        "failure",
        "Too many requests attempted by an individual user",
    )
    # line 59: FastPass (SIGNED_NONCE) factor suspended
    r = rows[59]
    assert (r["mfa_method"], r["mfa_used"], r["ocsf_class_uid"]) == ("fastpass", None, 3001)
    # line 49: actor alternateId "unknown" is no principal
    assert rows[49]["principal"] is None


def _labels() -> dict[int, dict]:
    path = corpus(*LABELS)
    return {d["line"]: d for d in map(json.loads, path.read_text().splitlines())}


@pytest.mark.parametrize(
    ("rule_id", "fires"),
    [
        # a successful Okta sign-in
        ("Okta.Login.Success", lambda r: r["activity"] == "logon" and r["outcome"] == "success"),
        # a failed sign-in (rule() per event; the threshold is the rule's business)
        ("Standard.BruteForceByIP", lambda r: r["activity"] == "logon" and r["outcome"] == "failure"),
        ("Standard.BruteForceByUser", lambda r: r["activity"] == "logon" and r["outcome"] == "failure"),
        # FastPass refused a phishing attempt
        (
            "Okta.Phishing.Attempt.Blocked.FastPass",
            lambda r: r["outcome"] == "failure" and r["status"] == "FastPass declined phishing attempt",
        ),
    ],
)
def test_panther_labels_agree_with_the_mapped_columns(rule_id, fires):
    rows = _rows(_read(corpus(*OKTA))[0])
    cases = [(line, d["expected_result"]) for line, d in _labels().items() if d["rule_id"] == rule_id]
    assert len(cases) >= 2 and {want for _, want in cases} == {True, False}
    for line, want in cases:
        assert line in rows, f"line {line} was quarantined"
        assert fires(rows[line]) is want, f"line {line}"


def test_fixture_copy_reads_the_same_and_keeps_its_bad_lines_apart():
    table, qs = read_all(OktaReader, DATA / "okta" / "panther_okta_sample.jsonl")
    (q,) = qs
    assert table.num_rows == 7
    assert [(r.record, r.field) for r in q.records] == [(6, "published"), (8, "eventType")]
    assert table["principal"].to_pylist()[:2] == ["jack", "homer.simpson"]


@pytest.mark.parametrize("chunk", [5, 31, 97, 1 << 20])
def test_a_json_array_page_is_streamed_element_by_element(tmp_path, monkeypatch, chunk):
    import sekimori.ingest.cloud.jsondocs as jsondocs

    lines = (DATA / "okta" / "panther_okta_sample.jsonl").read_text().splitlines()
    docs = [json.loads(line) for line in lines]
    docs[0]["client"]["geographicalContext"]["city"] = "Zürich — 東京"  # multi-byte text across chunks
    texts = [json.dumps(d, ensure_ascii=False, indent=2) for d in docs]
    path = tmp_path / "page.json"
    path.write_text("[\n" + ",\n".join(texts) + "\n]\n", encoding="utf-8")
    monkeypatch.setattr(jsondocs, "_CHUNK", chunk)  # small: every element crosses chunk boundaries
    (src,) = expand(str(path))
    assert detect(src.head(), src) is OktaReader
    table, q = _read(path)
    assert table.num_rows == 7 and len(q) == 2
    kept = [texts[i] for i in (0, 1, 2, 3, 4, 6, 8)]
    assert table["raw"].to_pylist() == kept
    assert json.loads(table["raw"].to_pylist()[0])["client"]["geographicalContext"]["city"] == "Zürich — 東京"
    assert table["record_id"].to_pylist() == [1, 2, 3, 4, 5, 7, 9]


def test_corrupt_and_truncated_records_are_quarantined_by_number_and_field(tmp_path):
    good = (DATA / "okta" / "panther_okta_sample.jsonl").read_text().splitlines()[1]
    bad_time = good.replace('"published": "2022-06-22 18:18:29.015"', '"published": "2022-13-45 99:00:00"')
    assert bad_time != good
    path = tmp_path / "okta.jsonl"
    path.write_text("\n".join([good, good[:150], bad_time, "[1, 2]", good]) + "\n")
    table, q = _read(path)
    assert table["record_id"].to_pylist() == [1, 5]
    assert [(r.record, r.field) for r in q.records] == [(2, "record"), (3, "published"), (4, "record")]
    assert q.records[0].reason.startswith("not JSON")
    # an array cut off in its second element: the first is read, the break is named
    page = tmp_path / "page.json"
    page.write_text("[" + good + "," + good[:200])
    table, q = _read(page)
    assert table.num_rows == 1
    assert [(r.record, r.field) for r in q.records] == [(2, "record")]


def test_a_record_whose_target_is_not_a_list_is_quarantined_not_the_file(tmp_path):
    good = json.loads((DATA / "okta" / "panther_okta_sample.jsonl").read_text().splitlines()[1])
    lines = [json.dumps(good)]
    for odd in (True, 7, "user"):
        lines.append(json.dumps({**good, "target": odd}))
    lines.append(json.dumps(good))
    path = tmp_path / "okta.jsonl"
    path.write_text("\n".join(lines) + "\n")
    table, q = _read(path)
    assert table["record_id"].to_pylist() == [1, 5]
    assert [(r.record, r.field) for r in q.records] == [(2, "target"), (3, "target"), (4, "target")]
    assert q.records[0].reason == "not a list of targets but bool"


OTHERS = [
    DATA / "windows_json" / "otrf_empire_psexec_sample.zip",
    DATA / "windows_json" / "winlogbeat6_empire_enable_rdp_sample.json.gz",
    DATA / "zeek" / "dns.json",
    DATA / "zeek" / "ssh.json",
    DATA / "syslog" / "rsyslog-rfc5424.log",
    DATA / "pgaudit" / "pg15-csvlog.csv",
    DATA / "m365" / "panther_microsoft365_audit.jsonl",
]
OTHERS_SHARED = [
    ("identity-cloud", "cloudtrail", "panther_aws_cloudtrail.jsonl"),
    ("identity-cloud", "google-workspace", "panther_gsuite_activityevent.jsonl"),
    ("identity-cloud", "entra-signin", "panther_azure_audit.jsonl"),
    ("identity-cloud", "entra-signin", "otrf-GoldenSAMLADFSMailAccess", "AADAuditEvents.Zip"),
    ("identity-cloud", "entra-signin", "otrf-GoldenSAMLADFSMailAccess", "OfficeActivityEvents.Zip"),
    ("identity-cloud", "entra-signin", "otrf-GoldenSAMLADFSMailAccess", "Microsoft365DefenderEvents.Zip"),
]


def test_sniff_claims_okta_and_no_other_reader_steals_it():
    for path in (corpus(*OKTA), DATA / "okta" / "panther_okta_sample.jsonl"):
        (src,) = expand(str(path))
        assert OktaReader.sniff(src.head(), src) >= 0.9
        assert detect(src.head(), src) is OktaReader


@pytest.mark.parametrize("path", OTHERS, ids=lambda p: p.name)
def test_sniff_leaves_other_formats_alone(path):
    for src in expand(str(path)):
        assert OktaReader.sniff(src.head(), src) == 0.0


@pytest.mark.parametrize("parts", OTHERS_SHARED, ids=lambda p: p[-1])
def test_sniff_leaves_other_cloud_logs_alone(parts):
    for src in expand(str(corpus(*parts))):
        assert OktaReader.sniff(src.head(), src) == 0.0


def test_log_streaming_to_eventbridge_envelope(tmp_path):
    event = json.loads((DATA / "okta" / "panther_okta_sample.jsonl").read_text().splitlines()[1])
    envelope = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "SystemLog",
        "source": "aws.partner/okta.com/acme/systemlog",
        "account": "111122223333",
        "time": "2022-06-22T18:18:29Z",
        "region": "us-east-1",
        "resources": [],
        "detail": event,
    }
    path = tmp_path / "eventbridge.jsonl"
    path.write_text(json.dumps(envelope) + "\n")
    (src,) = expand(str(path))
    assert detect(src.head(), src) is OktaReader
    table, q = _read(path)
    assert len(q) == 0
    r = table.to_pylist()[0]
    assert (r["principal"], r["src_ip"], r["outcome"]) == ("homer.simpson", "1.3.2.4", "failure")
    assert json.loads(r["raw"]) == event
