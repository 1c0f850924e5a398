"""The graph explorer's endpoints on the demo store: who may ask what (every role × an entry in and out
of their organisation), the answers against the graph stage's own (computed here from the same store and
model) and against figures read off the demo model by hand, what-ifs, bad input, hostile names, a zone
expanded with a cap, and the graph built once under concurrent requests."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from sekimori.graph import GroupGraph, attack_paths, blast_radius, choke_points, graph_from_store, what_if
from sekimori.model import load_model
from sekimori.store import Store
from sekimori.web import ROLES, WebSettings, create_app
from tests.web.conftest import SCOPE, DemoWorld, make_users, sign_in

SEES_ALL = {"admin", "auditor"}
IN_SCOPE = ["org:contractor-kr", "host:PC02", "account:lexcorp\\eve"]
OUT_OF_SCOPE = ["org:parent", "org:affiliate-kr", "host:PC01", "account:EXAMPLE\\user01"]
# The people in the demo model's three data stores, read off sekimori/demo/data/group.yaml by hand.
USERS, PARTNERS, EMPLOYEES, SECRECY = 302_980, 86_211, 130_315, 22_239


@pytest.fixture(scope="module")
def graph(demo_world: DemoWorld) -> GroupGraph:
    """The oracle: the graph stage's graph of the same store and model, built here."""
    assert demo_world.settings.model is not None
    return graph_from_store(Store(demo_world.store), load_model(demo_world.settings.model))


def _hidden_names(graph: GroupGraph) -> list[str]:
    """The names of the hosts and accounts of organisations other than SCOPE (lower case)."""
    names = set()
    for kind in ("host", "account"):
        for node in graph.nodes_of_kind(kind):
            if graph.orgs[int(node)].as_py() == SCOPE:
                continue
            key = graph.keys[int(node)].as_py().split(":", 1)[1]
            names.add(key.split("\\")[-1].split("@")[0].lower())
    assert {"pc01", "user01", "administrator", "win-77ltaphiq1r"} <= names  # the oracle is not empty
    return sorted(names)


def _asks(entry: str) -> list[str]:
    change = "change=block+flow+f-affiliate-to-parent"
    q = f"entry={entry.replace(chr(92), '%5C')}"
    return [
        f"/graph/blast?{q}",
        f"/graph/blast?{q}&{change}",
        f"/graph/paths?{q}&k=10",
        f"/graph/choke?{q}",
        f"/graph/view?{q}&{change}",
        f"/graph/export.svg?{q}",
    ]


@pytest.mark.parametrize("role", ROLES)
def test_entries_by_role_and_scope(world_client: TestClient, graph: GroupGraph, role: str) -> None:
    sign_in(world_client, role)
    hidden = _hidden_names(graph)
    sees_all = role in SEES_ALL
    page = world_client.get("/graph")
    assert page.status_code == 200
    assert ('value="org:parent"' in page.text) == sees_all
    assert 'value="org:contractor-kr"' in page.text
    for entry in IN_SCOPE:
        for path in _asks(entry):
            response = world_client.get(path)
            assert response.status_code == 200, (role, path, response.text)
            if not sees_all:
                text = response.text.lower()
                assert not [n for n in hidden if n in text], (role, path)
    for entry in OUT_OF_SCOPE:
        for path in _asks(entry):
            response = world_client.get(path)
            assert response.status_code == (200 if sees_all else 404), (role, path)
            if not sees_all:
                assert response.json() == {"error": "not found"}
    zone = "/graph/zone?entry=org:contractor-kr&zone="
    assert world_client.get(zone + "contractor-net").status_code == 200
    assert world_client.get(zone + "parent-internal").status_code == (200 if sees_all else 404)
    found = world_client.get("/graph/entries?q=pc").json()
    specs = {m["spec"] for m in found["matches"]}
    assert "host:pc02" in specs
    assert ("host:pc01" in specs) == sees_all
    assert {o["id"] for o in found["organisations"]} == (
        {"parent", "affiliate-kr", "contractor-kr"} if sees_all else {SCOPE}
    )


def test_signed_out_gets_no_graph(world_client: TestClient) -> None:
    world_client.cookies.clear()
    for path in ("/graph", *_asks("org:contractor-kr")):
        response = world_client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/signin")
        assert "519" not in response.text


def _get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


@pytest.mark.parametrize("entry", ["org:contractor-kr", "org:affiliate-kr", "org:parent", "host:PC02"])
def test_answers_are_the_graph_stages(world_client: TestClient, graph: GroupGraph, entry: str) -> None:
    sign_in(world_client, "admin")
    expected = blast_radius(graph, entry)
    blast = _get(world_client, "/graph/blast", entry=entry)
    assert blast["exposure"] == expected.exposure.to_dict()
    assert [s["id"] for s in blast["systems"]] == [s.id for s in expected.systems]
    assert [d["id"] for d in blast["data_stores"]] == [d.id for d in expected.data_stores]
    assert blast["crown_jewels"] == expected.crown_jewels
    assert (blast["hosts"], blast["accounts"]) == (expected.hosts, expected.accounts)
    assert blast["people_before"] == expected.exposure.total and blast["people_protected"] == 0
    paths = _get(world_client, "/graph/paths", entry=entry, k="5")["paths"]
    oracle = attack_paths(graph, entry, k=5)
    assert [p["target"] for p in paths] == [p.target for p in oracle]
    assert [[s["text"] for s in p["steps"]] for p in paths] == [[h.text for h in p.steps()] for p in oracle]
    choke = _get(world_client, "/graph/choke", entry=entry)
    report = choke_points(graph, entry)
    assert [(s["controls"], s["people_protected"]) for s in choke["singles"]] == [
        (s.controls, s.people_protected) for s in report.singles
    ]
    assert choke["status"] == report.status
    assert (choke["cut"] or {}).get("controls") == (report.cut.controls if report.cut else None)
    view = _get(world_client, "/graph/view", entry=entry)
    assert view["blast"] == blast
    ids = {n["data"]["id"] for n in view["elements"]["nodes"]}
    assert {f"data_store:{d.id}" for d in expected.data_stores} <= ids
    for edge in view["elements"]["edges"]:  # Cytoscape refuses an edge whose ends are missing
        assert edge["data"]["source"] in ids and edge["data"]["target"] in ids


def test_the_affiliates_people_by_hand(world_client: TestClient) -> None:
    sign_in(world_client, "auditor")
    blast = _get(world_client, "/graph/blast", entry="org:affiliate-kr")
    assert blast["exposure"]["people"] == {"user": USERS, "business_partner": PARTNERS, "employee": EMPLOYEES}
    assert blast["exposure"]["total"] == 519_506 == USERS + PARTNERS + EMPLOYEES
    assert blast["exposure"]["secrecy_of_communications"] == {"user": SECRECY}
    # The affiliate's only way into the parent's zone is this flow: blocked, none of the parent's people.
    blocked = _get(
        world_client, "/graph/blast", entry="org:affiliate-kr", change="block flow f-affiliate-to-parent"
    )
    assert blocked["exposure"]["total"] == 0 and blocked["people_protected"] == 519_506
    assert [s["id"] for s in blocked["systems"]] == ["aff-ops"]


@pytest.mark.parametrize(
    "entry,changes",
    [
        ("org:contractor-kr", ["block flow f-affiliate-to-parent"]),
        ("org:contractor-kr", ["separate realm example-ad"]),
        ("org:contractor-kr", ["remove grant g-contractor-support", "end contract c-desktop-support"]),
        ("host:PC02", ["block flow contractor-net -> affiliate-net"]),
        ("org:affiliate-kr", ["remove admin ar-domain-admins", "isolate host WIN-77LTAPHIQ1R"]),
    ],
)
def test_what_if_changes_the_numbers_as_the_graph_says(
    world_client: TestClient, graph: GroupGraph, entry: str, changes: list[str]
) -> None:
    sign_in(world_client, "admin")
    oracle = what_if(graph, entry, changes)
    blast = _get(world_client, "/graph/blast", entry=entry, change=changes)
    assert blast["changes"] == changes
    assert blast["exposure"] == oracle.after.exposure.to_dict()
    assert blast["people_before"] == oracle.before.exposure.total
    assert blast["people_protected"] == oracle.people_protected
    view = _get(world_client, "/graph/view", entry=entry, change=changes)
    assert view["blast"] == blast
    paths = _get(world_client, "/graph/paths", entry=entry, change=changes)["paths"]
    assert [p["target"] for p in paths] == [
        p.target for p in attack_paths(graph, entry, k=5, changes=changes)
    ]


def test_a_blocked_flow_is_drawn_removed(world_client: TestClient) -> None:
    sign_in(world_client, "admin")
    view = _get(
        world_client, "/graph/view", entry="org:contractor-kr", change="block flow f-affiliate-to-parent"
    )
    flows = {
        e["data"]["label"]: e["data"]["removed"]
        for e in view["elements"]["edges"]
        if e["data"]["kind"] == "flow"
    }
    assert flows == {"f-contractor-support": False, "f-affiliate-to-parent": True}


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_bad_input_is_a_clear_400_or_404(world_client: TestClient, role: str) -> None:
    sign_in(world_client, role)
    bad = [
        ("/graph/blast", {"entry": "org:contractor-kr", "change": "block nonsense"}, 400),
        ("/graph/view", {"entry": "org:contractor-kr", "change": "remove grant no-such-grant"}, 400),
        ("/graph/paths", {"entry": "org:contractor-kr", "change": "isolate host no-such-host"}, 400),
        (
            "/graph/zone",
            {"entry": "org:contractor-kr", "zone": "contractor-net", "change": "add flow x -> y"},
            400,
        ),
        ("/graph/blast", {"entry": "org:contractor-kr", "change": ["separate realm example-ad"] * 11}, 400),
        ("/graph/blast", {"entry": ""}, 400),
        ("/graph/blast", {"entry": "no-kind"}, 404),
        ("/graph/blast", {"entry": "org:no-such-org"}, 404),
        ("/graph/export.svg", {"entry": "org:contractor-kr", "change": "block nonsense"}, 400),
    ]
    for path, params, status in bad:
        response = world_client.get(path, params=params)
        assert response.status_code == status, (path, params, response.text)
        error = response.json()["error"]
        assert error and "Traceback" not in response.text and 'File "' not in response.text
    refused = world_client.get(
        "/graph/blast", params={"entry": "org:contractor-kr", "change": "remove grant x"}
    )
    if role == "viewer":  # the graph's message lists every grant of the group: not for a scoped reader
        assert "g-parent-staff" not in refused.text and "change not understood" in refused.text
    else:
        assert "g-parent-staff" in refused.text


def _hostile_model(tmp_path: Path, source: Path) -> Path:
    """The demo model with hostile names, and 250 more hosts in the parent's zone."""
    model = yaml.safe_load(source.read_text(encoding="utf-8"))
    model["organisations"][2]["name"] = '<script>alert("org")</script>'
    model["zones"][0]["name"] = "<img src=x onerror=alert(1)>"
    model["hosts"].append({"org": "parent", "zone": "parent-internal", "name_pattern": "^emp-"})
    portal = next(s for s in model["systems"] if s["id"] == "employee-portal")
    portal["hosts"] = [f"emp-{i:03d}" for i in range(250)]
    path = tmp_path / "group.yaml"
    path.write_text(yaml.safe_dump(model, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def hostile_client(demo_world: DemoWorld, tmp_path: Path) -> Any:
    assert demo_world.settings.model is not None
    settings = WebSettings(
        store=demo_world.store,
        database=f"sqlite:///{tmp_path / 'users.db'}",
        model=_hostile_model(tmp_path, demo_world.settings.model),
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        make_users(client, {SCOPE})
        yield client


def test_hostile_names_are_escaped(hostile_client: TestClient) -> None:
    sign_in(hostile_client, "admin")
    page = hostile_client.get("/graph").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;org&#34;)&lt;/script&gt;" in page
    view = _get(hostile_client, "/graph/view", entry="org:contractor-kr")
    labels = {n["data"]["label"] for n in view["elements"]["nodes"]}
    assert '<script>alert("org")</script>' in labels  # data for textContent, never markup
    svg = hostile_client.get("/graph/export.svg", params={"entry": "org:contractor-kr"})
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "<script" not in svg.text and "<img" not in svg.text and "&lt;script&gt;alert" in svg.text


def test_an_expanded_zone_lists_at_most_200_hosts_and_counts_the_rest(hostile_client: TestClient) -> None:
    sign_in(hostile_client, "admin")
    answer = _get(hostile_client, "/graph/zone", entry="org:affiliate-kr", zone="parent-internal")
    hosts = [h["data"] for h in answer["hosts"]]
    assert len(hosts) == 200 and answer["more"] == 251 - 200  # 250 portal hosts and the DC
    assert all(h["parent"] == "zone:parent-internal" for h in hosts)
    assert hosts[0]["reached"] is True  # the reached hosts come first
    view = _get(hostile_client, "/graph/view", entry="org:affiliate-kr")
    zone = next(n["data"] for n in view["elements"]["nodes"] if n["data"]["id"] == "zone:parent-internal")
    assert zone["hosts"] == 251 and not any(n["data"]["kind"] == "host" for n in view["elements"]["nodes"])
    sign_in(hostile_client, "viewer")
    assert (
        hostile_client.get(
            "/graph/zone", params={"entry": "org:contractor-kr", "zone": "parent-internal"}
        ).status_code
        == 404
    )


def test_without_a_model_the_page_says_so(demo_world: DemoWorld, tmp_path: Path) -> None:
    settings = WebSettings(store=demo_world.store, database=f"sqlite:///{tmp_path / 'users.db'}", model=None)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        make_users(client, {SCOPE})
        sign_in(client, "admin")
        page = client.get("/graph")
        assert page.status_code == 200 and 'id="no-model"' in page.text
        answer = client.get("/graph/blast", params={"entry": "org:contractor-kr"})
        assert answer.status_code == 404 and answer.json() == {"error": "no group model"}


def test_the_graph_is_built_once_under_concurrent_requests(
    app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sekimori.web.explorer_graph as explorer_graph

    built: list[int] = []
    real = graph_from_store

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(explorer_graph, "graph_from_store", counted)
    explorer = explorer_graph.explorer_of(app_client.app.state, app_client.app.state.web)  # type: ignore[attr-defined]
    graphs: list[object] = []
    threads = [threading.Thread(target=lambda: graphs.append(explorer.graph())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len(graphs) == 8 and all(g is graphs[0] for g in graphs)
    sign_in(app_client, "analyst")
    assert _get(app_client, "/graph/blast", entry="org:contractor-kr")["exposure"]["total"] == 519_506
    assert len(built) == 1


def test_the_graph_follows_an_ingest_without_stopping_the_pages(
    demo_world: DemoWorld, tmp_path: Path
) -> None:
    """After an ingest the next request starts a rebuild in the background and is answered from the old
    graph; once the rebuild ends, requests get the new graph, equal to the graph stage's own of the
    grown store (a new logon brings its account and source)."""
    import sekimori.web.explorer_graph as explorer_graph

    store_dir = tmp_path / "store"
    shutil.copytree(demo_world.store, store_dir)
    assert demo_world.settings.model is not None
    settings = WebSettings(
        store=store_dir, database=f"sqlite:///{tmp_path / 'web.db'}", model=demo_world.settings.model
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        make_users(client, {SCOPE})
        sign_in(client, "admin")
        app_state, web = client.app.state, client.app.state.web  # type: ignore[attr-defined]
        old = explorer_graph.explorer_of(app_state, web)
        assert old.graph().index("account:late") is None
        log = tmp_path / "late.log"
        log.write_text(
            "Dec 31 23:59:58 pc02.late.example sshd[7]: "
            "Accepted password for late from 192.0.2.7 port 22 ssh2\n"
        )
        Store(store_dir).ingest([str(log)])
        assert explorer_graph.explorer_of(app_state, web) is old  # answered at once, from the old graph
        assert _get(client, "/graph/blast", entry="org:contractor-kr")["exposure"]["total"] == 519_506
        explorer_graph.explorers_of(app_state, web).join(timeout=120)
        new = explorer_graph.explorer_of(app_state, web)
        assert new is not old and new.graph().index("account:late") is not None
        oracle = graph_from_store(Store(store_dir), load_model(demo_world.settings.model))
        assert new.graph().keys.to_pylist() == oracle.keys.to_pylist()
        assert explorer_graph.explorers_of(app_state, web).failed == ""
