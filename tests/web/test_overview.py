"""The overview's reports due, group posture and ingest/detection status on the demo world: the reports
against the report stage's own build of each case, the posture against the govern stage's findings and
score worked out here, the store's figures against the test's own reading of its Parquet files, and what
a reader assigned to one organisation is shown."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
from starlette.testclient import TestClient

from sekimori.govern import Register, findings, group_posture, merge_register
from sekimori.model import load_model
from sekimori.report import build, facts_from_case, report_kinds
from sekimori.respond import CaseStore
from sekimori.store import Store
from sekimori.web import WebSettings, create_app
from sekimori.web.contractors_data import today
from tests.web.conftest import SCOPE, DemoWorld, make_users, sign_in
from tests.web.contractors_fixtures import contractors_client

DUE = re.compile(r'<tr data-case="([^"]+)" data-kind="([^"]+)">')


def _due(world: DemoWorld, case_id: str) -> set[tuple[str, str]]:
    with CaseStore(world.settings.database_url) as cases:
        facts = facts_from_case(cases.get(case_id), None, None, actions=cases.actions(case_id))
    return {(case_id, k) for k in report_kinds() if build(k, facts, "en").mandatory is not False}


def _parquet_rows(store: Path, pattern: str) -> int:
    files = sorted(str(p) for p in (store / "segments").glob(f"*/{pattern}"))
    if not files:
        return 0
    found = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?, union_by_name = true)", [files])
    return int((found.fetchone() or (0,))[0])


def _status_text(page: str, element: str) -> str:
    found = re.search(rf'<dd id="{element}">(.*?)</dd>', page, re.S)
    assert found, element
    return re.sub(r"<[^>]+>", "", found.group(1))


def test_reports_due_by_role(world_client: TestClient, demo_world: DemoWorld) -> None:
    both = _due(demo_world, demo_world.in_case) | _due(demo_world, demo_world.out_case)
    assert {c for c, _ in both} == {demo_world.in_case, demo_world.out_case}  # both cases have reports due
    sign_in(world_client, "admin")
    assert set(DUE.findall(world_client.get("/").text)) == both
    sign_in(world_client, "viewer")  # assigned to SCOPE: their case only
    page = world_client.get("/").text
    assert set(DUE.findall(page)) == _due(demo_world, demo_world.in_case)
    assert demo_world.out_case not in page


def test_store_status_and_what_is_not_yet_judged(demo_world: DemoWorld, tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    shutil.copytree(demo_world.store, store_dir)
    settings = WebSettings(
        store=store_dir, database=f"sqlite:///{tmp_path / 'web.db'}", model=demo_world.settings.model
    )
    segments = len(list((store_dir / "segments").glob("*/manifest.json")))
    with TestClient(create_app(settings), follow_redirects=False) as client:
        make_users(client, {SCOPE})
        sign_in(client, "admin")
        page = client.get("/").text
        ingest = _status_text(page, "ingest-status")
        events = _parquet_rows(store_dir, "events-*.parquet")
        assert f"{events:,} events" in ingest and f"{segments} segments" in ingest
        assert f"quarantined {_parquet_rows(store_dir, 'quarantine.parquet'):,}" in ingest
        assert "every segment judged" in _status_text(page, "detection-status")  # the demo ran detection
        log = tmp_path / "late.log"
        log.write_text(
            "Dec 31 23:59:58 pc02.late.example sshd[1]: Accepted password for ann from 192.0.2.7 port 2 ssh\n"
            "Dec 31 23:59:59 pc01.late.example sshd[2]: Accepted password for ann from 192.0.2.8 port 2 ssh\n"
        )
        Store(store_dir).ingest([str(log)])
        page = client.get("/").text
        assert f"{events + 2:,} events" in _status_text(page, "ingest-status")
        assert f"{segments + 1} segments" in _status_text(page, "ingest-status")
        assert "not yet judged: 2 events (1 segments)" in _status_text(page, "detection-status")


def test_posture_from_the_findings_once_worked_out(demo_world: DemoWorld, tmp_path: Path) -> None:
    with contractors_client(demo_world, tmp_path / "web.db") as client:
        sign_in(client, "admin")
        first = client.get("/").text
        assert "Not worked out yet" in first  # the overview neither waits for them nor starts them
        state = client.app.state  # type: ignore[attr-defined]
        assert getattr(state, "govern_findings", None) is None
        assert client.get("/contractors/posture").status_code == 200  # works them out
        page = client.get("/").text
        url = str(state.web.settings.database_url)
        sign_in(client, "viewer")
        scoped = client.get("/").text
    assert demo_world.settings.model is not None
    model = load_model(demo_world.settings.model)
    with Register(url) as register:
        found = findings(
            register, merge_register(model, register).model, Store(demo_world.store), as_of=today()
        )
    orgs = {o.id for o in model.organisations if o.kind != "parent"} | {f.organisation for f in found}
    expected = group_posture(found, today(), sorted(orgs))
    assert found and f'<span class="score" id="group-score">{expected.group.score}</span>' in page
    lowest = sorted(expected.organisations, key=lambda o: (o.score, o.organisation))[:5]
    shown = re.findall(r'<tr data-org="([^"]+)"><td>[^<]*</td><td class="num score">(\d+)</td>', page)
    assert shown == [(o.organisation, str(o.score)) for o in lowest]
    # the reader of one organisation: its score alone, no group score
    mine = [f for f in found if f.organisation == SCOPE]
    own = group_posture(mine, today(), [SCOPE]).organisations
    assert 'id="group-score"' not in scoped
    shown = re.findall(r'<tr data-org="([^"]+)"><td>[^<]*</td><td class="num score">(\d+)</td>', scoped)
    assert shown == [(o.organisation, str(o.score)) for o in own]
