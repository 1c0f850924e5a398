"""Least privilege on the small group (tests/govern/small_group.py with its register merged in), checked
against brute force: every subset of the candidate removals evaluated with a plain breadth-first search
written here over a hand-made reading of the group (not the graph's engine).

The hand reading: aff reaches ds-crm (1,000 users) through crm's application if the flow f-aff-parent
(port 443) is open and it holds G-AFF-APP; its database grant G-AFF-CRM needs a database port, which that
flow does not open, so it reaches nothing. ctr reaches ds-hr (200 employees) if f-ctr-parent (1433, a
database port) is open and it holds G-CTR-HR (G-CTR-OLD names a host outside every system: no data).
So alone: f-aff-parent or G-AFF-APP protect 1,000, f-ctr-parent or G-CTR-HR 200, G-AFF-CRM 0.

A person is protected once however many entries reach them: in the overlap variant ctr also holds a
database grant on crm (G-CTR-CRM, through its database-port flow), so ds-crm's 1,000 are exposed to both
aff and ctr and closing aff's way alone protects none of them.
"""

from __future__ import annotations

from collections import deque
from itertools import combinations
from pathlib import Path

from sekimori.govern import (
    Register,
    merge_register,
    propose_removals,
    rank_removals,
    read_yaml,
    removal_candidates,
)
from sekimori.graph import build_graph
from sekimori.model import load_model_text
from tests.govern.conftest import ALICE
from tests.govern.small_group import MODEL_YAML, REGISTER_YAML
from tests.govern.test_findings import small_register
from tests.respond.conftest import Database
from tests.respond.test_cases import FakeConnector

# node → [(next node, the control the edge needs)]
EDGES: dict[str, list[tuple[str, str | None]]] = {
    "org:aff": [("net:aff", None)],
    "net:aff": [("p-net:aff", "block flow f-aff-parent")],
    "p-net:aff": [("crm", "remove grant G-AFF-APP"), ("crm-db-port-closed", "remove grant G-AFF-CRM")],
    "org:ctr": [("net:ctr", None), ("old-host", "remove grant G-CTR-OLD")],
    "net:ctr": [("p-net:ctr", "block flow f-ctr-parent")],
    "p-net:ctr": [("hr", "remove grant G-CTR-HR")],
    "crm": [("ds-crm", None)],
    "hr": [("ds-hr", None)],
}
PEOPLE = {"ds-crm": 1000, "ds-hr": 200}


def bfs_stores(edges: dict[str, list[tuple[str, str | None]]], entry: str, removed: set[str]) -> set[str]:
    seen, queue = {entry}, deque([entry])
    while queue:
        for nxt, control in edges.get(queue.popleft(), []):
            if (control is None or control not in removed) and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen & PEOPLE.keys()


def brute_protected(removed: set[str], edges: dict[str, list[tuple[str, str | None]]] = EDGES) -> int:
    """The people of the stores some entry reaches before and no entry reaches after, each store once."""

    def exposed(cut: set[str]) -> set[str]:
        return set().union(*(bfs_stores(edges, e, cut) for e in ("org:aff", "org:ctr")))

    return sum(PEOPLE[s] for s in exposed(set()) - exposed(removed))


def test_ranking_and_best_sets_match_brute_force(register: Register, tmp_path: Path):
    graph = build_graph(small_register(register, tmp_path))
    chosen = removal_candidates(graph)
    assert sorted(chosen) == sorted({c for edges in EDGES.values() for _, c in edges if c is not None})
    for budget in (1, 2, 3):
        result = rank_removals(graph, budget=budget)
        assert result.exact
        best = max(brute_protected(set(s)) for s in combinations(chosen, budget))
        assert result.best_protected == best == brute_protected(set(result.best))
        assert {r.change: r.people_protected for r in result.ranked} == {
            c: brute_protected({c}) for c in chosen
        }
    # by hand: one removal protects at most 1,000 (aff's flow or its application grant); two, 1,200
    assert rank_removals(graph, budget=1).best_protected == 1000
    assert rank_removals(graph, budget=2).best_protected == 1200
    ranked = rank_removals(graph, budget=0).ranked
    assert [r.people_protected for r in ranked] == sorted((r.people_protected for r in ranked), reverse=True)
    assert [(r.change, r.people_protected) for r in ranked] == [
        ("block flow f-aff-parent", 1000),  # ties: the candidate text decides
        ("remove grant G-AFF-APP", 1000),
        ("block flow f-ctr-parent", 200),
        ("remove grant G-CTR-HR", 200),
        ("remove grant G-AFF-CRM", 0),
        ("remove grant G-CTR-OLD", 0),
    ]


OVERLAP_GRANT = """\
  - id: G-CTR-CRM
    party: ctr
    subject_kind: group
    subject: ctr-admins
    object_kind: system
    object: crm
    access: database
    justification: reconciliation
    owner: kenji
    created: 2024-01-01
"""
OVERLAP_EDGES = {**EDGES, "p-net:ctr": [*EDGES["p-net:ctr"], ("crm", "remove grant G-CTR-CRM")]}


def test_people_reached_by_two_entries_count_once(register: Register, tmp_path: Path):
    path = tmp_path / "register.yaml"
    path.write_text(REGISTER_YAML + OVERLAP_GRANT, encoding="utf-8")
    register.import_records(read_yaml(path), ALICE)
    graph = build_graph(merge_register(load_model_text(MODEL_YAML), register).model)
    chosen = removal_candidates(graph)
    assert "remove grant G-CTR-CRM" in chosen
    ranked = {r.change: r.people_protected for r in rank_removals(graph, budget=0).ranked}
    assert ranked == {c: brute_protected({c}, OVERLAP_EDGES) for c in chosen}
    # by hand: ds-crm stays exposed through the other company whichever one way is closed
    assert ranked["block flow f-aff-parent"] == 0
    assert ranked["remove grant G-CTR-CRM"] == 0
    assert ranked["block flow f-ctr-parent"] == 200
    for budget, by_hand in ((1, 200), (2, 1200)):
        result = rank_removals(graph, budget=budget)
        best = max(brute_protected(set(s), OVERLAP_EDGES) for s in combinations(chosen, budget))
        assert result.best_protected == best == by_hand
        assert brute_protected(set(result.best), OVERLAP_EDGES) == by_hand


def test_usage_evidence_and_proposals(db: Database, tmp_path: Path):
    fake = FakeConnector()
    register = Register(db.url, anchor=db.anchor, connectors={"fake": fake})
    try:
        graph = build_graph(small_register(register, tmp_path))
        chosen = ["remove grant G-CTR-HR", "block flow f-ctr-parent"]
        proposals = propose_removals(register, graph, chosen, ALICE, connector="fake")
        # one grant removal; the flow: 10.3.0.0/24 → 10.1.0.0/24 on its one port, 1433
        assert [(p.change, p.changes) for p in proposals] == [
            ("remove grant G-CTR-HR", ["remove_grant on G-CTR-HR"]),
            ("block flow f-ctr-parent", ["block_route on 10.3.0.0/24->10.1.0.0/24:1433"]),
        ]
        # the grant's subject and object as the register holds them, for a connector to remove
        revoke = register.cases.action(proposals[0].action_id)
        assert {k: revoke.params[k] for k in ("party", "subject", "object", "access")} == {
            "party": "ctr",
            "subject": "group ctr-admins",
            "object": "data_store ds-hr",
            "access": "database",
        }
        action = register.cases.action(proposals[1].action_id)
        assert (action.kind, action.params["flow"], action.params["port"]) == (
            "block_route",
            "f-ctr-parent",
            1433,
        )
        assert fake.applied == {}  # a dry-run only; approval and execution are the respond stage's
        assert register.verify().ok and register.cases.verify().ok
    finally:
        register.close()
