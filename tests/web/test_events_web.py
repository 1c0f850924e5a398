"""The events page and the SQL face on the demo store: who may see what (every role, events of the
scoped users' organisation and of others), the filters' answers against the test's own DuckDB query over
the store's Parquet files (and the test's own attribution of events to organisations through the group
model), the SQL face's refusals, its answers, its audit entries, CSRF and escaping."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pytest
from starlette.testclient import TestClient

from sekimori.model import GroupModel, load_model
from sekimori.store import Store
from sekimori.web import ROLES, WebSettings, create_app
from tests.web.conftest import SCOPE, DemoWorld, csrf_of, make_users, sign_in

SEES_ALL = {"admin", "auditor"}
QUERY_ROLES = {"analyst", "admin", "auditor"}  # guard.PERMISSIONS["query"]
UID = re.compile(r'<td class="uid">([^<]+)</td>')
TOTAL = re.compile(r"<h1>[^<(]*\((\d+)\)</h1>")


def _events(
    world: DemoWorld | Path, where: str = "TRUE", params: list[Any] | None = None
) -> list[dict[str, Any]]:
    """The events, read by the test itself from the store's Parquet files."""
    store = world if isinstance(world, Path) else world.store
    files = str(store / "segments" / "*" / "events-*.parquet")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    query = f"SELECT * FROM read_parquet(?, union_by_name = true) WHERE {where} ORDER BY time, uid"
    cursor = con.execute(query, [files, *(params or [])])
    names = [column[0] for column in cursor.description or ()]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    con.close()
    return rows


def _orgs(model: GroupModel, event: dict[str, Any]) -> set[str]:
    """The organisations the model gives an event's hosts (by name and address) and account."""
    found = {model.classify_host(event[c])[0] for c in ("host", "src_host", "target_host") if event[c]}
    found |= {model.classify_host(None, event[c])[0] for c in ("src_ip", "target_ip") if event[c]}
    if event["principal"]:
        found.add(model.classify_account(event["principal"], event["domain"], event["principal_sid"]))
    return {o for o in found if o}


@pytest.fixture(scope="module")
def model(demo_world: DemoWorld) -> GroupModel:
    assert demo_world.settings.model is not None
    return load_model(demo_world.settings.model)


def _listed(client: TestClient, query: str = "") -> tuple[list[str], int]:
    """Every uid the events page lists for ``query`` (all pages), and the total it states."""
    uids: list[str] = []
    page, total = 1, -1
    while True:
        response = client.get(f"/events?{query}&page={page}")
        assert response.status_code == 200
        found = TOTAL.search(response.text)
        assert found
        total = int(found.group(1))
        uids += UID.findall(response.text)
        if 'rel="next"' not in response.text:
            return uids, total
        page += 1


@pytest.mark.parametrize("role", ROLES)
def test_events_by_role(
    world_client: TestClient, demo_world: DemoWorld, model: GroupModel, role: str
) -> None:
    events = _events(demo_world)
    inside = [e["uid"] for e in events if SCOPE in _orgs(model, e)]
    outside = [e["uid"] for e in events if SCOPE not in _orgs(model, e)]
    assert inside and outside  # the demo has both: the matrix means something
    sign_in(world_client, role)
    uids, total = _listed(world_client)
    expected = [e["uid"] for e in events] if role in SEES_ALL else inside
    assert uids == expected and total == len(expected)
    if role not in SEES_ALL:
        body = world_client.get("/events").text + world_client.get("/events?page=2").text
        assert not set(outside) & set(UID.findall(body))
    # the SQL face: the query permission, and only for those who see every organisation
    form = world_client.get("/events/sql")
    allowed = role in QUERY_ROLES and role in SEES_ALL
    assert form.status_code == (200 if allowed else 403)
    csrf = csrf_of(world_client.get("/events").text)
    ran = world_client.post("/events/sql", data={"csrf": csrf, "sql": "SELECT uid FROM events"})
    assert ran.status_code == (200 if allowed else 403)
    if not allowed:
        assert not set(outside) & set(re.findall(r"<td>([^<]+)</td>", ran.text))


def test_a_scoped_reader_sees_events_ingested_after_their_last_page(
    demo_world: DemoWorld, model: GroupModel, tmp_path: Path
) -> None:
    """What a scoped reader may see is worked out once per version of the store: an ingest while the
    app runs must show up on their next page (one event of a host of their organisation, one of another
    organisation's host that must not)."""
    store_dir = tmp_path / "store"
    shutil.copytree(demo_world.store, store_dir)
    settings = WebSettings(
        store=store_dir, database=f"sqlite:///{tmp_path / 'web.db'}", model=demo_world.settings.model
    )
    events = _events(store_dir)
    mine, other = "pc02.late.example", "pc01.late.example"  # the demo model's host rules
    assert model.classify_host(mine)[0] == SCOPE and model.classify_host(other)[0] == "affiliate-kr"
    with TestClient(create_app(settings), follow_redirects=False) as client:
        make_users(client, {SCOPE})
        sign_in(client, "viewer")
        before, total = _listed(client)
        assert before == [e["uid"] for e in events if SCOPE in _orgs(model, e)] and total == len(before)
        log = tmp_path / "late.log"
        log.write_text(
            f"Dec 31 23:59:58 {mine} sshd[7]: Accepted password for nobody-late from 192.0.2.7 port 2 ssh2\n"
            f"Dec 31 23:59:59 {other} sshd[8]: Accepted password for nobody-late from 192.0.2.8 port 2 ssh2\n"
        )
        Store(store_dir).ingest([str(log)])
        after, total = _listed(client)
    late = [e for e in _events(store_dir) if e["source_file"] == str(log)]
    assert {e["host"] for e in late} == {mine, other}
    expected = [e["uid"] for e in _events(store_dir) if SCOPE in _orgs(model, e)]
    assert after == expected and total == len(expected)
    assert set(after) - set(before) == {e["uid"] for e in late if e["host"] == mine}


def test_signed_out_is_sent_to_sign_in(world_client: TestClient) -> None:
    world_client.cookies.clear()
    for path in ("/events", "/events/sql"):
        response = world_client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/signin")


def _filter_cases(events: list[dict[str, Any]]) -> Iterator[tuple[str, str, list[Any]]]:
    """(query string, the test's own WHERE, its parameters), from values the demo events hold."""
    with_host = next(e for e in events if e["host"])
    with_account = next(e for e in events if e["principal"])
    with_code = next(e for e in events if e["event_code"])
    with_command = next(e for e in events if e["command_line"] and len(e["command_line"]) > 8)
    middle = events[len(events) // 2]["time"].astimezone(UTC)
    moment = middle.strftime("%Y-%m-%dT%H:%M:%S")
    yield f"since={moment}", "time >= ?", [middle.replace(microsecond=0)]
    yield f"until={moment}", "time < ?", [middle.replace(microsecond=0)]
    yield "source=entra", "source_format = 'entra'", []
    host = with_host["host"]
    yield (
        f"host={host.upper()}",
        "lower(?) IN (lower(host), lower(src_host), lower(target_host))",
        [host],
    )
    account = with_account["principal"]
    yield f"account={account}", "lower(principal) = lower(?)", [account]
    code = with_code["event_code"]
    yield f"event={code}", "event_code = ? OR lower(activity) = lower(?)", [code, code]
    needle = with_command["command_line"][2:8]
    yield (
        f"q={needle}",
        "contains(lower(concat_ws(' ', process, command_line, object, raw)), lower(?))",
        [needle],
    )


def test_filters_equal_the_tests_own_query(
    world_client: TestClient, demo_world: DemoWorld, model: GroupModel
) -> None:
    events = _events(demo_world)
    for role in ("admin", "viewer"):
        sign_in(world_client, role)
        for query, where, params in _filter_cases(events):
            key, _, value = query.partition("=")
            expected = [
                e["uid"]
                for e in _events(demo_world, where, params)
                if role in SEES_ALL or SCOPE in _orgs(model, e)
            ]
            uids, total = _listed(world_client, f"{key}={quote(value)}")
            assert uids == expected and total == len(expected), (role, query)
    sign_in(world_client, "admin")
    assert _listed(world_client, "source=entra")[0]  # a filter that finds something, not only nothing


def test_hostile_filter_values_are_escaped(world_client: TestClient) -> None:
    sign_in(world_client, "viewer")
    hostile = '"><script>alert(1)</script>'
    response = world_client.get("/events", params={"q": hostile, "host": hostile, "since": "x' OR 1=1 --"})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert html.escape(hostile, quote=True) in response.text or "&#34;&gt;&lt;script&gt;" in response.text
    assert "(0)" in response.text  # the text searched for literally: nothing matches


def _sql(client: TestClient, sql: str, page: int = 1) -> Any:
    csrf = csrf_of(client.get("/events/sql").text)
    return client.post("/events/sql", data={"csrf": csrf, "sql": sql, "page": str(page)})


REFUSED = {
    "drop": "DROP VIEW events",
    "insert": "INSERT INTO events SELECT * FROM events",
    "delete": "DELETE FROM events",
    "create": "CREATE TABLE t AS SELECT 1",
    "copy to": "COPY (SELECT * FROM events) TO '/tmp/sekimori-leak.csv'",
    "export": "EXPORT DATABASE '/tmp/sekimori-leak'",
    "attach": "ATTACH '/tmp/sekimori-x.db' AS x",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "pragma": "PRAGMA database_list",
    "set": "SET enable_external_access = true",
    "call": "CALL pragma_version()",
    "two statements": "SELECT 1; SELECT 2",
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read_csv_auto": "SELECT * FROM read_csv_auto('/etc/passwd')",
    "read_parquet path": "SELECT * FROM read_parquet('/etc/passwd')",
    "read_parquet url (httpfs)": "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    "read_json": "SELECT * FROM read_json_auto('/etc/passwd')",
    "read_text": "SELECT * FROM read_text('/etc/passwd')",
    "read_text scalar": "SELECT (SELECT content FROM read_text('/etc/passwd'))",
    "glob": "SELECT * FROM glob('/etc/*')",
    "file as table": "SELECT * FROM '/etc/passwd'",
    "sql as text": "SELECT * FROM query('SELECT 1')",
    "getenv": "SELECT getenv('HOME')",
    "select into": "SELECT 1 INTO t",
    "settings": "SELECT * FROM duckdb_settings()",
    "qualified": "SELECT * FROM other.main.events",
    "not sql": "this is not SQL",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_sql_refuses(world_client: TestClient, name: str) -> None:
    sign_in(world_client, "admin")
    response = _sql(world_client, REFUSED[name])
    assert response.status_code == 400, (name, response.text[-500:])
    assert 'id="sql-error"' in response.text and 'id="sql-result"' not in response.text
    assert "root:" not in response.text


def test_sql_answers_like_duckdb_and_pages(world_client: TestClient, demo_world: DemoWorld) -> None:
    sign_in(world_client, "auditor")
    query = "SELECT uid, source_format FROM events ORDER BY time, uid"
    expected = [(e["uid"], e["source_format"]) for e in _events(demo_world)]
    assert len(expected) > 100  # more than one page
    got: list[tuple[str, str]] = []
    for page in (1, 2, 3):
        response = _sql(world_client, query, page)
        assert response.status_code == 200
        cells = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", response.text)
        got += cells
        assert ('id="sql-next"' in response.text) == (page * 100 < len(expected))
    assert got == expected[:300]
    counted = _sql(world_client, "WITH x AS (SELECT source_format AS f FROM events) SELECT count(*) FROM x")
    assert re.search(rf"<td>{len(expected)}</td>", counted.text)


def test_sql_results_are_escaped(world_client: TestClient) -> None:
    sign_in(world_client, "admin")
    response = _sql(world_client, "SELECT '<script>alert(1)</script>' AS \"<b>x</b>\"")
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text and "<b>x</b>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_sql_is_audited_with_the_principal(world_client: TestClient) -> None:
    sign_in(world_client, "admin")
    marker = f"SELECT 'audit-{datetime.now(UTC).timestamp()}' AS m"
    assert _sql(world_client, marker).status_code == 200
    refused = "SELECT * FROM read_csv('/etc/passwd')"
    assert _sql(world_client, refused).status_code == 400
    web = world_client.app.state.web  # type: ignore[attr-defined]
    entries = [e for e in web.cases.audit.entries() if e.kind == "web.sql"]
    ran = [e for e in entries if e.payload.get("sql") == marker]
    assert len(ran) == 1 and "admin" in str(ran[0].actor) and "refused" not in ran[0].payload
    assert any(e.payload.get("sql") == refused and e.payload.get("refused") for e in entries)


def test_sql_post_needs_the_csrf_token(world_client: TestClient) -> None:
    sign_in(world_client, "admin")
    before = len(world_client.app.state.web.cases.audit.entries())  # type: ignore[attr-defined]
    for data in ({"sql": "SELECT 1"}, {"sql": "SELECT 1", "csrf": "forged"}):
        response = world_client.post("/events/sql", data=data)
        assert response.status_code == 403 and 'id="sql-result"' not in response.text
    csrf = csrf_of(world_client.get("/events/sql").text)
    other_site = world_client.post(
        "/events/sql", data={"csrf": csrf, "sql": "SELECT 1"}, headers={"origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    assert len(world_client.app.state.web.cases.audit.entries()) == before  # type: ignore[attr-defined]


def test_sql_stops_a_long_query(world_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from sekimori.web import events_sql

    monkeypatch.setattr(events_sql, "SQL_SECONDS", 0.5)
    sign_in(world_client, "admin")
    response = _sql(world_client, "SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b")
    assert response.status_code == 400 and "stopped" in response.text
