"""Drawing a GraphView: Cytoscape JSON, SVG and PNG."""

from __future__ import annotations

import json
import struct
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sekimori.graph.cytoscape import to_cytoscape
from sekimori.graph.draw import draw
from sekimori.graph.figure import MAX_LABEL, truncate
from sekimori.graph.layout import layout
from sekimori.graph.view import GraphView, ViewEdge, ViewNode, unique_nodes

ORGS = {"hq": "Sekimori Holdings", "sub": "関森商事", "vendor": "Acme IT Services"}
TITLE = "Blast radius from PC-hq-01"
LONG_LABEL = "a-very-long-service-account-name-that-does-not-fit@hq.example"


def build_view(hosts_per_org: int = 5, accounts_per_org: int = 4) -> GraphView:
    """~16 nodes per organisation, an unknown host, and edges of every look (path, denied, removed)."""
    nodes: list[ViewNode] = []
    edges: list[ViewEdge] = []
    for org in ORGS:
        nodes.append(ViewNode(f"organisation:{org}", "organisation", org.upper(), org=org))
        nodes.append(ViewNode(f"zone:{org}-lan", "zone", f"{org} LAN", org=org))
        nodes.append(ViewNode(f"realm:{org}", "realm", f"{org}.example", org=org))
        nodes.append(ViewNode(f"system:{org}-erp", "system", f"{org} ERP", org=org, crown_jewel=org == "hq"))
        nodes.append(
            ViewNode(
                f"data_store:{org}-crm",
                "data_store",
                f"{org} CRM",
                org=org,
                crown_jewel=True,
                records=123456 if org != "vendor" else 0,
                reached=org != "vendor",
            )
        )
        for c in range(2):
            nodes.append(ViewNode(f"credential:{org}-{c}", "credential", f"{org}-svc-{c} password", org=org))
        for h in range(hosts_per_org):
            nodes.append(
                ViewNode(
                    f"host:{org}-{h}",
                    "host",
                    f"PC-{org}-{h:02d}",
                    org=org,
                    entry=(org, h) == ("hq", 1),
                    reached=h != hosts_per_org - 1,
                )
            )
            edges.append(ViewEdge(f"zone:{org}-lan", f"host:{org}-{h}", "member", "in zone"))
        for a in range(accounts_per_org):
            label = LONG_LABEL if (org, a) == ("hq", 0) else f"{org}\\user{a}"
            nodes.append(ViewNode(f"account:{org}-{a}", "account", label, org=org))
            edges.append(ViewEdge(f"host:{org}-{a}", f"account:{org}-{a}", "logon", "logon"))
            edges.append(ViewEdge(f"account:{org}-{a}", f"realm:{org}", "member", "member of"))
        edges.append(ViewEdge(f"realm:{org}", f"system:{org}-erp", "grant", "g-erp-users"))
        edges.append(ViewEdge(f"system:{org}-erp", f"data_store:{org}-crm", "flow", "f-erp-to-crm"))
    nodes.append(ViewNode("host:unknown-1", "host", "10.9.9.9 (共有 C$ and ADMIN$)", org=None, reached=False))
    edges += [
        ViewEdge("host:hq-1", "account:hq-1", "logon", "logon", "PC01 logs on as user1", on_path=True),
        ViewEdge("account:hq-1", "credential:hq-0", "credential_exposure", "cached", on_path=True),
        ViewEdge(
            "credential:hq-0", "system:sub-erp", "grant", "g-sub-erp-admin", allowed=False, on_path=True
        ),
        ViewEdge("system:sub-erp", "data_store:sub-crm", "flow", "f-sub-erp-crm", on_path=True),
        ViewEdge("realm:sub", "realm:hq", "shared_realm", "trust", removed=True),
        ViewEdge("host:vendor-0", "host:hq-2", "flow", "f-vendor-rdp", allowed=False),
        ViewEdge("host:unknown-1", "host:hq-3", "flow", "unknown source"),
        # Parallel edge (same pair as a logon above) and a self loop: drawn apart / skipped, never a crash.
        ViewEdge("host:hq-0", "account:hq-0", "grant", "local admin"),
        ViewEdge("host:hq-0", "host:hq-0", "flow", "loopback"),
    ]
    return GraphView(TITLE, nodes, edges, dict(ORGS))


@pytest.fixture(scope="module")
def view() -> GraphView:
    return build_view()


def test_fixture_is_a_realistic_size(view: GraphView) -> None:
    assert 45 <= len(view.nodes) <= 60
    assert len(view.edges) > 40  # so only on-path edges get labels


# --- Cytoscape ---------------------------------------------------------------------------------------


def test_cytoscape_groups_nodes_by_organisation(view: GraphView) -> None:
    cy = to_cytoscape(view)
    assert cy["data"]["title"] == TITLE
    elements = cy["elements"]["nodes"]
    groups = {e["data"]["id"]: e for e in elements if "org-group" in e["classes"].split()}
    assert list(groups) == [f"org-group:{org}" for org in ORGS]  # the view's order
    assert {g["data"]["label"] for g in groups.values()} == set(ORGS.values())

    members = [e for e in elements if e["data"]["id"] not in groups]
    assert len(members) == len(view.nodes)
    for element in members:
        data = element["data"]
        assert set(data) >= {"id", "kind", "label", "org", "crown_jewel", "records", "entry", "reached"}
        if data["org"] is None:
            assert "parent" not in data
        else:
            assert data["parent"] == f"org-group:{data['org']}"
            assert data["parent"] in groups
        assert element["classes"].split()[0] == data["kind"]


def test_cytoscape_classes_mark_flags(view: GraphView) -> None:
    by_id = {e["data"]["id"]: e for e in to_cytoscape(view)["elements"]["nodes"]}
    for node in view.nodes:
        classes = by_id[node.id]["classes"].split()
        assert ("crown-jewel" in classes) == node.crown_jewel
        assert ("entry" in classes) == node.entry
        assert ("unreached" in classes) == (not node.reached)
    assert by_id["account:hq-0"]["data"]["label"] == LONG_LABEL  # JSON keeps labels whole

    edges = to_cytoscape(view)["elements"]["edges"]
    denied = [e for e in edges if "not-allowed" in e["classes"].split()]
    assert {e["data"]["label"] for e in denied} == {"g-sub-erp-admin", "f-vendor-rdp"}
    assert [e["data"]["label"] for e in edges if "removed" in e["classes"].split()] == ["trust"]
    assert sum("on-path" in e["classes"].split() for e in edges) == 4


def test_cytoscape_edges_are_unique_and_reference_nodes(view: GraphView) -> None:
    cy = to_cytoscape(view)
    node_ids = [e["data"]["id"] for e in cy["elements"]["nodes"]]
    assert len(node_ids) == len(set(node_ids))
    edges = cy["elements"]["edges"]
    assert len(edges) == len(view.edges)
    edge_ids = [e["data"]["id"] for e in edges]
    assert len(edge_ids) == len(set(edge_ids))
    assert not set(edge_ids) & set(node_ids)
    for edge in edges:
        assert edge["data"]["source"] in node_ids
        assert edge["data"]["target"] in node_ids
        assert set(edge["data"]) >= {"kind", "label", "text", "allowed", "on_path", "removed"}


def test_cytoscape_round_trips_through_json(view: GraphView) -> None:
    cy = to_cytoscape(view)
    assert json.loads(json.dumps(cy)) == cy


def test_cytoscape_drops_dangling_edges_and_duplicate_nodes() -> None:
    node = ViewNode("host:a", "host", "A", org="x")
    v = GraphView(
        "t",
        [node, ViewNode("host:a", "host", "again", org="x")],
        [ViewEdge("host:a", "host:missing", "flow", "f")],
        {"x": "X"},
    )
    cy = to_cytoscape(v)
    assert [e["data"]["id"] for e in cy["elements"]["nodes"]] == ["org-group:x", "host:a"]
    assert cy["elements"]["nodes"][1]["data"]["label"] == "A"
    assert cy["elements"]["edges"] == []


def test_draw_writes_cytoscape_json(view: GraphView, tmp_path: Path) -> None:
    for name in ("view.json", "view.cyjs"):
        out = draw(view, tmp_path / name)
        assert json.loads(out.read_text(encoding="utf-8")) == to_cytoscape(view)


# --- Layout ------------------------------------------------------------------------------------------


def test_layout_puts_nodes_apart_and_inside_their_box(view: GraphView) -> None:
    nodes = unique_nodes(view)
    lay = layout(view, nodes, legend_entries=12)
    assert [b.name for b in lay.boxes] == [*ORGS.values(), "unknown / outside"]
    points = [lay.positions[n.id] for n in nodes]
    for i, (x1, y1) in enumerate(points):
        for x2, y2 in points[i + 1 :]:
            assert abs(x1 - x2) >= 1.9 or abs(y1 - y2) >= 0.9  # a whole label cell apart
    for node in nodes:
        box = lay.boxes[lay.box_of[node.id]]
        assert box.known == (node.org is not None)
        if node.org is not None:
            assert box.name == ORGS[node.org]
        x, y = lay.positions[node.id]
        assert box.x0 < x < box.x1 and box.y0 < y < box.y1
        assert 0 < x < lay.width and 0 < y < lay.height
    # Kinds are layered: every organisation node sits above every host, every host above every data store.
    ys = {
        kind: [lay.positions[n.id][1] for n in nodes if n.kind == kind]
        for kind in ("organisation", "host", "data_store")
    }
    assert min(ys["organisation"]) > max(ys["host"])
    assert min(ys["host"]) > max(ys["data_store"])


def test_truncate() -> None:
    assert truncate("short") == "short"
    assert truncate("two\nlines") == "two lines"
    cut = truncate(LONG_LABEL)
    assert len(cut) == MAX_LABEL and cut.endswith("…") and LONG_LABEL.startswith(cut[:-1])


# --- SVG / PNG ---------------------------------------------------------------------------------------


def test_svg_is_valid_deterministic_and_labelled(view: GraphView, tmp_path: Path) -> None:
    first = draw(view, tmp_path / "a.svg")
    second = draw(build_view(), str(tmp_path / "b.svg"))
    assert first == tmp_path / "a.svg"
    data = first.read_bytes()
    assert data == second.read_bytes()

    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    text = "".join(root.itertext())
    assert TITLE in text
    for name in ORGS.values():
        assert name in text
    assert "unknown / outside" in text
    assert "★ crown jewel" in text
    assert "123,456 records" in text
    assert "ENTRY" in text
    assert truncate(LONG_LABEL) in text and LONG_LABEL not in text
    assert "C$ and ADMIN$" in text  # drawn literally, not parsed as mathtext
    assert "g-sub-erp-admin" in text  # on-path edges are labelled…
    assert "in zone" not in text  # …other edges are not, with more than 40 edges


def test_svg_labels_all_edges_of_a_small_view(tmp_path: Path) -> None:
    a, b = ViewNode("host:a", "host", "A", org="x"), ViewNode("host:b", "host", "B", org="x")
    small = GraphView("small", [a, b], [ViewEdge("host:a", "host:b", "flow", "f-a-to-b")], {"x": "X"})
    text = "".join(ET.fromstring(draw(small, tmp_path / "s.svg").read_bytes()).itertext())
    assert "f-a-to-b" in text


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_png(view: GraphView, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # missing Japanese glyphs must not leak warnings
        out = draw(view, tmp_path / "view.png")
    data = out.read_bytes()
    assert len(data) > 50_000
    width, height = _png_size(data)
    # 3 organisation columns + an unknown one + legend: wide; 8 kind layers: tall; both readable at 150 dpi.
    assert 2000 < width < 20000
    assert 1000 < height < 20000
    assert draw(view, tmp_path / "again.png").read_bytes() == data


def test_format_overrides_suffix(view: GraphView, tmp_path: Path) -> None:
    out = draw(view, tmp_path / "picture.out", format="svg")
    assert ET.fromstring(out.read_bytes()).tag.endswith("svg")
    assert _png_size(draw(view, tmp_path / "picture.svg", format=".PNG").read_bytes())[0] > 0


def test_unknown_suffix_is_refused(view: GraphView, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.gif"):
        draw(view, tmp_path / "view.gif")
    with pytest.raises(ValueError, match="no suffix"):
        draw(view, tmp_path / "view")
    with pytest.raises(ValueError, match="pdf"):
        draw(view, tmp_path / "view.svg", format="pdf")
    assert not list(tmp_path.iterdir())


def test_empty_view_still_draws(tmp_path: Path) -> None:
    empty = GraphView("Nothing reached")
    svg = draw(empty, tmp_path / "empty.svg")
    assert "Nothing reached" in "".join(ET.fromstring(svg.read_bytes()).itertext())
    width, height = _png_size(draw(empty, tmp_path / "empty.png").read_bytes())
    assert width > 100 and height > 100
    assert to_cytoscape(empty)["elements"] == {"nodes": [], "edges": []}
