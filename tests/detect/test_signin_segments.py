"""The sign-in rules (``tenant_boundary``) from per-segment rows (``sekimori/detect/signin_segments.py``)
against the one pass over every event they replace: the previous implementation's SQL, kept below as it
was (``ONE_PASS_SIGNINS_SQL``, ``ONE_PASS_EVIDENCE_SQL``), judged by the same ``judge``. Every column of
every alert equal (evidence lists, counts, first and last times, hosts, descriptions), on:

- the identity and cloud corpus (Entra ID, Okta, CloudTrail, Google Workspace), a segment per file,
  with a model under which its sign-ins cross organisations in all three rules' ways;
- Eve's cross-tenant sign-in of that corpus repeated 330 times a second apart, dealt into three segments
  in turn, latest first, so that an alert's first 100 events come from every segment and are cut from
  each segment's 110 and from the 330;
- a store split otherwise (two files in one segment) giving the same alerts.

A second run reads the kept rows, computes none, and gives the same alerts.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sekimori.detect import run_detectors
from sekimori.detect.alerts import conform
from sekimori.detect.detectors.tenant import _FINDINGS_SCHEMA, _alert, judge
from sekimori.detect.signin_segments import SIGNINS_KIND
from sekimori.model import GroupModel, load_model_text
from sekimori.store import Store
from tests.conftest import corpus
from tests.spark.alerts import every_column

pytestmark = pytest.mark.corpus

# The previous implementation (sekimori/detect/detectors/tenant.py before the per-segment rows), verbatim.
ONE_PASS_SIGNINS_SQL = """
CREATE OR REPLACE TEMP TABLE _signins AS
SELECT row_number() OVER () AS edge, *
FROM (
    SELECT principal, domain, lower(tenant) AS tenant, lower(resource_tenant) AS resource_tenant,
           cross_tenant, lower(trim(application)) AS application, role, src_ip,
           count(*) AS events, min(time) AS first_time, max(time) AS last_time,
           -- the earliest sign-in's host and spelling of the application (any_value changed between runs)
           arg_min(host, {'t': time, 'v': host}) AS host,
           arg_min(application, {'t': time, 'v': application}) AS application_shown
    FROM events
    WHERE category = 'authentication' AND outcome IS DISTINCT FROM 'failure' AND principal IS NOT NULL
      AND (tenant IS NOT NULL OR resource_tenant IS NOT NULL OR role IS NOT NULL)
    GROUP BY ALL
)
"""

ONE_PASS_EVIDENCE_SQL = """
SELECT f.rule_id, f.edge, list({{'path': e.source_file, 'record_id': e.record_id, 'uid': e.uid}}
                                ORDER BY e.time, e.record_id)[1:{cap}] AS evidence
FROM events e JOIN _tenant_findings f
  ON e.principal = f.principal AND coalesce(e.domain, '') = coalesce(f.domain, '')
 AND coalesce(lower(e.tenant), '') = coalesce(f.tenant, '')
 AND coalesce(lower(e.resource_tenant), '') = coalesce(f.resource_tenant, '')
 AND coalesce(lower(trim(e.application)), '') = coalesce(f.application, '')
 AND coalesce(e.role, '') = coalesce(f.role, '') AND coalesce(e.src_ip, '') = coalesce(f.src_ip, '')
 AND coalesce(e.cross_tenant, '') = coalesce(f.cross_tenant, '')
WHERE e.category = 'authentication' AND e.outcome IS DISTINCT FROM 'failure'
GROUP BY f.rule_id, f.edge
"""


def one_pass(store: Store, model: GroupModel) -> pa.Table:
    """The alerts as the previous implementation made them, in one pass over every event."""
    con = store.connect()
    try:
        con.execute(ONE_PASS_SIGNINS_SQL)
        findings = judge(model, con.sql("SELECT * FROM _signins").to_arrow_table().to_pylist())
        con.register(
            "_tenant_findings",
            pa.Table.from_pylist(
                [{k: f[k] for k in _FINDINGS_SCHEMA.names} for f in findings], _FINDINGS_SCHEMA
            ),
        )
        evidence = {
            (r["rule_id"], r["edge"]): r["evidence"]
            for r in con.sql(ONE_PASS_EVIDENCE_SQL.format(cap=100)).to_arrow_table().to_pylist()
        }
    finally:
        con.close()
    alerts = [_alert(f, evidence.get((f["rule_id"], f["edge"]), [])) for f in findings]
    return conform(pa.Table.from_pylist(alerts))  # as run_detectors gives a detector's table


# Parent and LexCorp as in test_signins_real.py; LOTR an affiliate sharing the parent's tenants
# tenant-123 and tenant-789; the parent's AWS account 123456789012, LexCorp's 123456789013; LexCorp's
# office network holds 12.12.12.12 and 111.111.111.111.
MODEL = """
version: 1
group: Identity corpus
organisations:
  - {id: parent, name: Parent, kind: parent, country: US}
  - {id: lex, name: LexCorp, kind: contractor, country: US}
  - {id: lotr, name: LOTR, kind: affiliate, country: NZ}
realms:
  - {id: parent-tenant, kind: idp_tenant, name: springfield.org, shared_by: [parent],
     tenant_ids: [FC66A38E-BCBA-4FE9-B2DE-C67918514CC5]}
  - {id: lex-tenant, kind: idp_tenant, name: lexcorp.com, shared_by: [lex],
     tenant_ids: [4328f0a8-06da-4457-b0d0-2c8e115e52cc]}
  - {id: shared-tenant, kind: idp_tenant, name: lotr shared, shared_by: [parent, lotr], owner: parent,
     tenant_ids: [tenant-123, tenant-789]}
  - {id: parent-aws, kind: cloud_account, name: parent prod, shared_by: [parent],
     tenant_ids: ["123456789012"]}
  - {id: lex-aws, kind: cloud_account, name: lex, shared_by: [lex], tenant_ids: ["123456789013"]}
accounts:
  - {org: parent, upn_suffix: "@springfield.org"}
  - {org: lex, upn_suffix: "@lexcorp.com"}
  - {org: lotr, domain: lotr.com}
zones:
  - {id: parent-net, name: Parent, org: parent, cidrs: [10.0.0.0/8]}
  - {id: lex-office, name: LexCorp office, org: lex, cidrs: [12.12.12.0/24, 111.111.111.0/24]}
systems:
  - {id: mail, name: Mail, owner: parent, zone: parent-net, tenant: parent-tenant, crown_jewel: true,
     applications: [Office 365 Exchange Online]}
  - {id: m365, name: Microsoft 365, owner: parent, zone: parent-net, applications: [Microsoft 365]}
  - {id: vscode, name: Code, owner: parent, zone: parent-net, tenant: shared-tenant,
     applications: [Visual Studio Code]}
grants:
  - {id: g-lotr-code, org: lotr, systems: [vscode], access: [application], owner: CISO}
"""

FILES = [
    ("entra-signin", "panther_azure_audit.jsonl"),
    ("okta", "panther_okta_systemlog.jsonl"),
    ("cloudtrail", "panther_aws_cloudtrail.jsonl"),
    ("google-workspace", "panther_gsuite_activityevent.jsonl"),
]


def identity_files() -> list[Path]:
    return [corpus("identity-cloud", *f) for f in FILES]


def ingest(root: Path, parts: list[list[Path]]) -> Store:
    """A store with a segment per list of files."""
    store = Store(root)
    for files in parts:
        store.ingest([str(f) for f in files])
    assert len(store.segments()) == len(parts)
    return store


def detect(store: Store, model: GroupModel, **kw: Any) -> pa.Table:
    return run_detectors(store, model, only=["tenant_boundary"], **kw).alerts


def kept(store: Store) -> dict[str, tuple[Path, int]]:
    return {s: (p, p.stat().st_mtime_ns) for s, p in store.derived_files(SIGNINS_KIND).items()}


def test_identity_corpus_in_segments_equals_the_one_pass(tmp_path: Path) -> None:
    model = load_model_text(MODEL)
    store = ingest(tmp_path / "store", [[f] for f in identity_files()])
    reference = one_pass(store, model)
    alerts = detect(store, model)
    assert every_column(alerts) == every_column(reference)
    assert alerts.schema == reference.schema
    assert Counter(alerts["rule_id"].to_pylist()) == {
        "boundary.cross_tenant_signin": 3,
        "boundary.shared_tenant_crossing": 6,
        "boundary.signin_from_foreign_network": 9,
    }
    # crossings kept from three segments (Google Workspace's sign-ins name no tenant)
    assert len(kept(store)) == 4
    # a second run computes nothing and gives the same alerts; so does one that keeps nothing
    files = kept(store)
    assert every_column(detect(store, model)) == every_column(reference)
    assert kept(store) == files
    assert every_column(detect(store, model, save=False, full=True)) == every_column(reference)
    # the same events in other segments: the same alerts
    files_in_two = identity_files()
    other = ingest(tmp_path / "other", [files_in_two[:2], files_in_two[2:]])
    assert every_column(detect(other, model)) == every_column(reference)


@pytest.fixture(scope="module")
def eve_parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Eve's sign-in (line 24 of the Entra sample) 330 times, a second apart, dealt to three files in
    turn (copy k into file k % 3), each file's latest first (110 a segment: each segment's are cut
    too, and not in the files' order); the first file also holds the rest of the sample (once: twice,
    the one pass's order, by time and record id, would not tell its events apart)."""
    lines = corpus("identity-cloud", "entra-signin", "panther_azure_audit.jsonl").read_text().splitlines()
    eve = json.loads(lines[23])
    assert eve["properties"]["userPrincipalName"].startswith("eve@")
    start = datetime(2023, 7, 21, 5, 3, 52, tzinfo=UTC)
    folder = tmp_path_factory.mktemp("eve")
    parts: list[list[str]] = [[], [], []]
    for k in range(330):
        copy = json.loads(lines[23])
        when = (start + timedelta(seconds=k)).strftime("%Y-%m-%d %H:%M:%S.%f")
        copy["properties"]["createdDateTime"] = copy["time"] = when
        parts[k % 3].append(json.dumps(copy))
    paths = []
    for n, part in enumerate(parts):
        path = folder / f"entra-{n}.jsonl"
        rest = lines[:23] + lines[24:] if n == 0 else []
        path.write_text("\n".join(part[::-1] + rest) + "\n")
        paths.append(path)
    return paths


def test_more_than_100_events_across_segments(tmp_path: Path, eve_parts: list[Path]) -> None:
    model = load_model_text(MODEL)
    store = ingest(tmp_path / "store", [[p] for p in eve_parts])
    reference = one_pass(store, model)
    alerts = detect(store, model)
    assert every_column(alerts) == every_column(reference)
    (eve,) = [a for a in alerts.to_pylist() if a["account"] == "eve"]
    assert json.loads(eve["details"])["events"] == 330
    assert len(eve["evidence"]) == 100
    # the first 100 of 330, a second apart, dealt in turn: 34, 33, 33 from the three files
    assert Counter(e["path"] for e in eve["evidence"]) == {
        str(eve_parts[0]): 34,
        str(eve_parts[1]): 33,
        str(eve_parts[2]): 33,
    }
    assert (eve["time"], eve["last_time"]) == (
        datetime(2023, 7, 21, 5, 3, 52, tzinfo=UTC),
        datetime(2023, 7, 21, 5, 9, 21, tzinfo=UTC),
    )
    files = kept(store)
    assert len(files) == 3
    assert every_column(detect(store, model)) == every_column(reference)
    assert kept(store) == files
