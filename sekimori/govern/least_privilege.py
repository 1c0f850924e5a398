"""Least privilege: the grants and flows whose removal protects the most people, and the chosen ones turned
into containment actions of the respond stage.

The people a set of removals protects are those exposed to at least one of the *entries* before and to
none after, each person once however many entries reach them: the entries are every organisation of the
model that is not a parent (each an outside party whose compromise is the risk), the blast radius of
``org:<id>`` with and without the what-if changes ``remove grant G`` / ``block flow F``
(:class:`sekimori.graph.Protection`); each entry's own part is kept beside it. Removing a control never
widens a blast radius, so the best set of ``budget`` removals is searched exactly over every subset of
that size when there are at most :data:`EXACT_LIMIT` of them, and greedily (the removal that adds the
most, in turn) above that.

Each grant candidate carries the evidence that it is unused: its uses in the store
(:func:`sekimori.govern.grant_usage`, for a register grant of the same id). A flow's use is not measured
here (``usage`` none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import combinations
from math import comb
from typing import TYPE_CHECKING, Any

import numpy as np

from sekimori.govern.finding_checks import UNUSED_DAYS
from sekimori.govern.records import GrantRecord
from sekimori.govern.register import Register
from sekimori.govern.usage import grant_usage
from sekimori.graph import GroupGraph, Protection, exposure, protections
from sekimori.respond import Action, ActionKind, CaseError, Principal

if TYPE_CHECKING:
    from sekimori.store import Store

EXACT_LIMIT = 5000  # subsets evaluated at most for the exact best set


class LeastPrivilegeError(Exception):
    """A removal that cannot be proposed (unknown control, a connector refusing it)."""


@dataclass(frozen=True)
class Removal:
    change: str  # the what-if change: "remove grant G" or "block flow F"
    kind: str  # grant | flow
    id: str
    organisation: str  # whose access: the grant's organisation, the flow's source zone's
    people_protected: int
    protected_by_entry: dict[str, int]
    usage: dict[str, Any] | None = None  # the grant's uses (None: a flow, or not in the register)
    unused: bool | None = None  # no use in the last UNUSED_DAYS days (None: not known)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class LeastPrivilege:
    entries: list[str]
    before: dict[str, int]  # people in each entry's blast radius
    ranked: list[Removal]  # each removal alone, most people protected first
    best: list[str] = field(default_factory=list)  # the best set of `budget` removals
    best_protected: int = 0
    exact: bool = True  # the best set was searched exhaustively

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "before": self.before,
            "ranked": [r.to_dict() for r in self.ranked],
            "best": self.best,
            "best_protected": self.best_protected,
            "exact": self.exact,
        }


def removal_candidates(graph: GroupGraph) -> list[str]:
    """The removals considered: the grants of organisations that are not parents, and the flows between
    zones of different organisations."""
    model = graph.model
    parents = {o.id for o in model.organisations if o.kind == "parent"}
    zone_org = {z.id: z.org for z in model.zones}
    out = [f"remove grant {g.id}" for g in model.grants if g.org not in parents]
    out += [
        f"block flow {f.id}"
        for f in model.flows
        if zone_org.get(f.from_zone) is not None and zone_org.get(f.from_zone) != zone_org.get(f.to_zone)
    ]
    return out


def entries(graph: GroupGraph) -> list[str]:
    return [f"org:{o.id}" for o in graph.model.organisations if o.kind != "parent"]


def _protections(graph: GroupGraph, entry_list: Sequence[str]) -> dict[str, Protection]:
    # An organisation with nothing in the graph (None) has nobody to protect.
    found = protections(graph, {entry: [] for entry in entry_list}, radius=False)  # people only
    return {entry: p for entry, p in found.items() if p is not None}


class _Judge:
    """The people a set of removals protects: those exposed to at least one entry before and to none
    after (each person once, however many entries reach them), and the part of each entry's radius."""

    def __init__(self, graph: GroupGraph, protections: dict[str, Protection]) -> None:
        self.graph, self.protections = graph, protections
        union = np.zeros(graph.num_nodes, bool)
        for protection in protections.values():
            union |= protection.reached
        self.people = exposure(graph, union).total

    def __call__(self, changes: Sequence[str]) -> tuple[int, dict[str, int]]:
        union = np.zeros(self.graph.num_nodes, bool)
        each = {}
        for entry, protection in self.protections.items():
            after = protection.reached_after(list(changes)) if changes else protection.reached
            union |= after
            each[entry] = protection.people - exposure(self.graph, after).total if changes else 0
        return self.people - exposure(self.graph, union).total, each


def rank_removals(
    graph: GroupGraph,
    register: Register | None = None,
    store: Store | None = None,
    budget: int = 3,
    as_of: datetime | None = None,
    candidate_changes: Sequence[str] | None = None,
) -> LeastPrivilege:
    """The removals ranked by the people each protects alone, and the best set of ``budget`` of them."""
    chosen = list(candidate_changes) if candidate_changes is not None else removal_candidates(graph)
    protections = _protections(graph, entries(graph))
    entry_list = list(protections)
    before = {entry: p.people for entry, p in protections.items()}
    total = _Judge(graph, protections)
    usage: dict[str, Any] = {}
    grants_of = {g.id: g.org for g in graph.model.grants}
    zone_org = {z.id: z.org for z in graph.model.zones}
    flows_of = {f.id: zone_org.get(f.from_zone, "") for f in graph.model.flows}
    if register is not None and store is not None:
        ids = {c.split()[-1] for c in chosen if c.startswith("remove grant ")}
        records: list[GrantRecord] = [g for g in register.grants() if g.id in ids]
        usage = {k: v for k, v in grant_usage(records, store).items()}
    cutoff = (as_of or datetime.now(UTC)) - timedelta(days=UNUSED_DAYS)

    ranked = []
    for change in chosen:
        kind = "grant" if change.startswith("remove grant ") else "flow"
        ident = change.split()[-1]
        protected, each = total([change])
        use = usage.get(ident)
        unused = None
        if use is not None and use.known:
            unused = use.last_used is None or use.last_used < cutoff
        ranked.append(
            Removal(
                change,
                kind,
                ident,
                grants_of.get(ident, "") if kind == "grant" else flows_of.get(ident, ""),
                protected,
                each,
                use.to_dict() if use is not None else None,
                unused,
            )
        )
    ranked.sort(key=lambda r: (-r.people_protected, r.unused is not True, r.change))
    result = LeastPrivilege(entry_list, before, ranked)
    size = min(budget, len(chosen))
    if size <= 0:
        return result
    if comb(len(chosen), size) <= EXACT_LIMIT:
        best, best_value = [], -1
        for subset in combinations(chosen, size):
            value = total(subset)[0]
            if value > best_value:
                best, best_value = list(subset), value
        result.best, result.best_protected = best, best_value
        return result
    result.exact = False
    picked: list[str] = []
    value = 0
    for _ in range(size):
        gains = [(total([*picked, c])[0], c) for c in chosen if c not in picked]
        gain, change = max(gains, key=lambda x: x[0])  # the first of equals, in candidate order
        picked.append(change)
        value = gain
    result.best, result.best_protected = picked, value
    return result


@dataclass(frozen=True)
class RemovalProposal:
    change: str
    case_id: str
    action_id: int
    changes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _actions(graph: GroupGraph, change: str, reason: str, records: dict[str, GrantRecord]) -> list[Action]:
    model = graph.model
    ident = change.split()[-1]
    if change.startswith("remove grant "):
        grant = next((g for g in model.grants if g.id == ident), None)
        if grant is None:
            raise LeastPrivilegeError(f"{change!r}: unknown grant {ident!r}")
        params: dict[str, object] = {
            "org": grant.org,
            "systems": list(grant.systems),
            "hosts": list(grant.hosts),
        }
        record = records.get(grant.id)
        if record is not None:
            # what a connector removes (a group member, an account's access): as a review's revoke names it
            params |= {
                "party": record.party,
                "subject": f"{record.subject_kind} {record.subject}",
                "object": f"{record.object_kind} {record.object}",
                "access": str(record.access),
            }
        return [Action(ActionKind.remove_grant, grant.id, reason, params)]
    if change.startswith("block flow "):
        flow = next((f for f in model.flows if f.id == ident), None)
        if flow is None:
            raise LeastPrivilegeError(f"{change!r}: unknown flow {ident!r}")
        cidrs = {z.id: list(z.cidrs) for z in model.zones}
        ports: list[int | None] = list(flow.ports) if flow.ports is not None else [None]
        return [
            Action(
                ActionKind.block_route,
                f"{src}->{dst}" + (f":{port}" if port is not None else ""),
                reason,
                {"flow": flow.id, **({"port": port} if port is not None else {}), "protocol": flow.protocol},
            )
            for src in cidrs.get(flow.from_zone, [])
            for dst in cidrs.get(flow.to_zone, [])
            for port in ports
        ]
    raise LeastPrivilegeError(f"{change!r}: expected 'remove grant G' or 'block flow F'")


def propose_removals(
    register: Register,
    graph: GroupGraph,
    chosen: Sequence[str],
    who: Principal,
    connector: str = "webhook",
    title: str = "Least privilege: removals",
) -> list[RemovalProposal]:
    """Open a case and propose a containment action per chosen removal (a grant: ``remove_grant``; a
    flow: ``block_route`` per pair of the zones' networks and port), each the connector's dry-run plan;
    approval by a second person and execution are the respond stage's (``sekimori case approve``)."""
    records = {g.id: g for g in register.grants()}
    planned = [(change, _actions(graph, change, f"least privilege: {change}", records)) for change in chosen]
    case = register.cases.open_case(title, [], who)
    out = []
    for change, actions in planned:
        for action in actions:
            try:
                row = register.cases.propose(case.id, action, connector, who)
            except CaseError as exc:
                raise LeastPrivilegeError(f"{change!r}: {exc}") from None
            out.append(RemovalProposal(change, case.id, row.id, list(row.changes)))
    return out
