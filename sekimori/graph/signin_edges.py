"""The edges the observed sign-ins and cloud role assumptions add to the group graph
(:mod:`sekimori.graph.cloud_signins` reads them from the store).

- ``account_of`` and ``owns``, as for the logons' accounts (:func:`sekimori.graph.logon_edges.account_edges`):
  a signed-in account is a principal of its organisation in its realm.
- ``signin`` (cost 1): account → the data stores of the system whose application it signed in to, as
  the user (what ``app_use`` gives). A system with hosts is reached through its zone (*gated* by
  ``zone:Z``, as an observed logon is); one without is a cloud service, no gate. Not allowed
  (``allowed: false``) when the account's organisation is not the system's owner and no grant with
  ``access: application`` valid on the last sign-in's day lets it use the system; controls:
  ``realm:ID`` when the sign-in crossed organisations through a tenant they share, ``contract:ID`` when
  the account's organisation works for the owner under one.
- ``assume_role`` (cost 1): account → the credentials in a cloud account of the organisation that owns
  it (each organisation with accounts there, when the realm names no owner): an AWS role assumed in that
  account acts as one of its principals. Not allowed when the account's organisation has no accounts in
  it (a cross-account assumption from outside); controls: ``realm:ID`` when the account is shared and the
  role crosses organisations in it, ``contract:ID`` as above.

These edges have no logon row (``logon_row`` -1): their counts and times are in ``GroupGraph.signins``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from sekimori.graph.edges import contract_for
from sekimori.graph.logon_edges import account_edges

if TYPE_CHECKING:
    from sekimori.graph.builder import GraphBuilder
    from sekimori.model import GroupModel


def signin_account_nodes(b: GraphBuilder, model: GroupModel, signins: pa.Table) -> None:
    """One account node per signed-in account (a key the logons gave already keeps theirs), and its
    edges to its organisation's credentials."""
    if len(signins) == 0:
        return
    accounts = signins.group_by(["account", "account_org", "account_realm"], use_threads=False).aggregate(
        [("account_label", "min")]
    )
    accounts = accounts.rename_columns(["account", "org", "realm", "label"])
    b.nodes("account", accounts["account"], accounts["label"], accounts["org"])
    account_edges(b, model, accounts)


def signin_edges(b: GraphBuilder, model: GroupModel, signins: pa.Table) -> None:
    """``signin`` and ``assume_role`` edges, one per data store or credential reached per row."""
    if len(signins) == 0:
        return
    systems = {s.id: s for s in model.systems}
    members = {r.id: list(r.shared_by) for r in model.realms}
    owners = {r.id: [r.owner] if r.owner else list(r.shared_by) for r in model.realms}
    stores_of: dict[str, list[str]] = {}
    for d in model.data_stores:
        stores_of.setdefault(d.system, []).append(f"data_store:{d.id}")
    cols: dict[str, list[list[object]]] = {k: [[], [], [], [], [], []] for k in ("signin", "assume_role")}

    def edge(kind: str, *values: object) -> None:
        for col, value in zip(cols[kind], values, strict=True):
            col.append(value)

    for row in signins.to_pylist():
        account, org, realm = f"account:{row['account']}", row["account_org"], row["account_realm"]
        system = systems.get(row["system"] or "")
        if system is not None:
            day = row["last_seen"].date() if row["last_seen"] is not None else None
            allowed = (
                org is None
                or org == system.owner
                or any(
                    g.org == org
                    and "application" in g.access
                    and system.id in g.systems
                    and g.covers(day)  # sign-ins with no time: only a grant that never expires
                    for g in model.grants
                )
            )
            crossed = org is not None and org != system.owner
            through = (
                f"realm:{realm}"
                if crossed
                and realm is not None
                and realm == system.tenant
                and len(members.get(realm, [])) > 1
                else None
            )
            contract = contract_for(model, org, system.owner, system.id) if crossed else None
            gate = f"zone:{system.zone}" if system.hosts else None
            for store in stores_of.get(system.id, []):
                edge("signin", account, store, gate, through, contract, allowed)
        role_realm = row["role_realm"]
        if role_realm is not None:
            for owner in owners.get(role_realm, []):
                if org == owner and realm == role_realm:
                    continue  # its own credentials: account_of says so
                crossed = org is not None and org != owner
                inside = org is None or org in members[role_realm]
                through = f"realm:{role_realm}" if crossed and inside else None
                contract = contract_for(model, org, owner, None) if crossed else None
                edge(
                    "assume_role",
                    account,
                    f"credential:{owner}@{role_realm}",
                    None,
                    through,
                    contract,
                    inside,
                )
    for kind, (src, dst, gates, c1, c2, allowed) in cols.items():
        b.edges(
            kind,
            [str(s) for s in src],
            [str(d) for d in dst],
            gate=pa.array(gates, pa.string()),
            control1=pa.array(c1, pa.string()),
            control2=pa.array(c2, pa.string()),
            allowed=[bool(a) for a in allowed],
        )


__all__ = ["signin_account_nodes", "signin_edges"]
