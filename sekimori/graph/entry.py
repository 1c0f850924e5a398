"""Where an attacker starts: an entry point in words (``org:ID``, ``host:NAME``, …) resolved to the graph
nodes it holds; and :class:`GraphError`, the error of a question the graph cannot answer as asked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sekimori.graph.group_graph import NODE_KINDS
from sekimori.model import account_key, first_account_match, host_key, split_principal

if TYPE_CHECKING:
    from sekimori.graph.group_graph import GroupGraph


class GraphError(ValueError):
    """A question the graph cannot answer as asked: an unknown entry, change or target."""


@dataclass(frozen=True)
class Entry:
    spec: str  # as asked: 'org:contractor-kr', 'host:PC02', 'account:EXAMPLE\\user01'
    kind: str
    label: str
    org: str | None
    nodes: tuple[int, ...]  # graph nodes the attacker holds at the start

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "kind": self.kind, "label": self.label, "org": self.org}


# Other words people use for a node kind.
KIND_ALIASES = {
    "org": "organisation",
    "organization": "organisation",
    "store": "data_store",
    "ds": "data_store",
}


def resolve_entry(graph: GroupGraph, spec: str) -> Entry:
    """The nodes an entry point stands for: ``org:ID``, ``host:NAME``, ``account:NAME``, ``zone:ID``,
    ``system:ID``, ``realm:ID`` or ``credential:ORG@REALM``. A host or account the logs never showed is
    placed by the model: its zone and its organisation's credentials (a host), or its organisation's
    credentials in its realm (an account)."""
    kind, sep, value = spec.partition(":")
    if not sep:
        raise GraphError(
            f"entry {spec!r}: expected KIND:ID, e.g. org:contractor-kr, host:PC02, account:CORP\\alice"
        )
    kind = KIND_ALIASES.get(kind.strip().lower(), kind.strip().lower())
    value = value.strip()
    if kind not in NODE_KINDS:
        raise GraphError(f"entry {spec!r}: unknown kind {kind!r}; expected one of {', '.join(NODE_KINDS)}")
    model = graph.model
    key = host_key(value) if kind == "host" else account_key(value) if kind == "account" else value
    node = graph.index(f"{kind}:{key}")
    if node is not None:
        org = graph.orgs[node].as_py()
        starts = [node]
        if kind == "account" and org:
            # Credentials alone go nowhere: the account is used from its organisation's network.
            starts += [
                n for n in (graph.index(f"zone:{z.id}") for z in model.zones if z.org == org) if n is not None
            ]
        return Entry(spec, kind, graph.labels[node].as_py(), org, tuple(starts))
    if kind == "host":
        org, zone = model.classify_host(value, value if re.fullmatch(r"[0-9a-fA-F.:]+", value) else None)
        if org is None:
            raise GraphError(
                f"entry {spec!r}: the logs never showed this host and no host rule of the model matches it"
            )
        placed: list[int | None] = [graph.index(f"zone:{zone}")] + [
            graph.index(f"credential:{org}@{r.id}")
            for r in model.realms
            if org in r.shared_by and r.kind != "local"
        ]
        return Entry(spec, kind, value, org, tuple(n for n in placed if n is not None))
    if kind == "account":
        match = first_account_match(model.account_matchers, split_principal(value))
        if match is None or match.realm is None:
            raise GraphError(
                f"entry {spec!r}: the logs never showed this account and no account rule places it in a realm"
            )
        nodes = [graph.index(f"credential:{match.org}@{match.realm}")]
        nodes += [graph.index(f"zone:{z.id}") for z in model.zones if z.org == match.org]
        return Entry(spec, kind, value, match.org, tuple(n for n in nodes if n is not None))
    known = [graph.keys[int(i)].as_py().split(":", 1)[1] for i in graph.nodes_of_kind(kind)][:12]
    raise GraphError(f"entry {spec!r}: unknown {kind}; known: {', '.join(known) or 'none'}")
