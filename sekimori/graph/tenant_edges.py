"""The tenants' edges: who can sign in to the applications an identity-provider tenant or a cloud account
serves, as the model states it (the sign-ins the store saw are :mod:`sekimori.graph.signin_edges`).

A system whose ``applications`` sign in through a realm (its ``tenant``: an IdP tenant or a cloud
account) is *used*, not logged on to: a sign-in gives the data it serves as the user, its data stores,
not its hosts (``access: application`` in :mod:`sekimori.model.access`). A system with no hosts is a
cloud service reached over the internet: its sign-in edges carry no gate, the sign-in is the barrier.
A system with hosts needs HTTPS to them: the edge is gated like ``app_use``
(``zone:Z/system:S@application``, see :mod:`sekimori.graph.edges`).

- ``app_use`` (cost 1, ``grant:ID``, ``contract:ID``): credentials of an organisation with accounts in
  the tenant (``credential:ORG@TENANT``) → the data stores of a system the tenant serves, under a grant
  with ``access: application``.
- ``guest_app`` (cost 1, ``grant:ID``, ``contract:ID``): a B2B guest, an external identity: credentials
  of an organisation with no accounts in the tenant, in its home realms (see :func:`home_realms`: a
  guest signs in with its home identity) → the data stores of a system of the tenant it is granted
  with ``access: application``.
- ``shared_tenant`` (cost 3, ``realm:ID``): a tenant several organisations share (one IdP tenant for the
  parent and an affiliate, the seed incident's shared authentication platform): credentials of each
  organisation in it → the data stores of another organisation's system the tenant serves, when no grant
  with ``access: application`` covers it. As ``shared_realm`` does for a domain's logons: the model
  states no application assignments, so every account of the tenant is taken to be able to sign in.
  Separating the realm (a what-if) cuts it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sekimori.graph.edges import contract_for

if TYPE_CHECKING:
    from sekimori.graph.builder import GraphBuilder
    from sekimori.graph.edges import Gates
    from sekimori.model import GroupModel, System

# Realm kinds whose accounts sign in to applications: a guest's home identity is one of these first.
CLOUD_REALM_KINDS = ("idp_tenant", "cloud_account")


def home_realms(model: GroupModel, org: str, kind: str | None = None) -> list[str]:
    """The realms an organisation's people sign in to another's tenant (of ``kind``) with, as guests:
    its realms of that kind (an Entra tenant's guest comes from an IdP tenant, a cross-account role from
    a cloud account), else its IdP tenants and cloud accounts, else its other realms but the machines'
    local ones."""
    mine = [r for r in model.realms if org in r.shared_by and r.kind != "local"]
    return (
        [r.id for r in mine if r.kind == kind]
        or [r.id for r in mine if r.kind in CLOUD_REALM_KINDS]
        or [r.id for r in mine]
    )


def tenant_edges(b: GraphBuilder, model: GroupModel, gates: Gates, as_of: date | None = None) -> None:
    """``app_use``, ``guest_app`` and ``shared_tenant`` edges of the systems a tenant serves (grants valid
    on ``as_of``); ``gates`` are those :func:`sekimori.graph.edges.access_edges` made."""
    members = {r.id: list(r.shared_by) for r in model.realms}
    kinds = {r.id: r.kind for r in model.realms}
    stores_of: dict[str, list[str]] = {}
    for d in model.data_stores:
        stores_of.setdefault(d.system, []).append(f"data_store:{d.id}")
    served = [s for s in model.systems if s.tenant is not None and stores_of.get(s.id)]
    out: dict[str, list[list[str | None]]] = {}

    def edges(kind: str, src: str, system: System, c1: str, c2: str | None = None) -> None:
        gate = (
            gates.gate("system", system.id, system.zone, system.hosts, "application")
            if system.hosts
            else None
        )
        cols = out.setdefault(kind, [[], [], [], [], []])
        for store in stores_of[system.id]:
            for col, value in zip(cols, (src, store, gate, c1, c2), strict=True):
                col.append(value)

    granted: set[tuple[str, str]] = set()
    for grant in model.grants:
        if not grant.valid_on(as_of) or "application" not in grant.access:
            continue
        for system in served:
            if system.id not in grant.systems:
                continue
            assert system.tenant is not None
            granted.add((grant.org, system.id))
            contract = contract_for(model, grant.org, system.owner, system.id)
            if grant.org in members[system.tenant]:
                edges(
                    "app_use",
                    f"credential:{grant.org}@{system.tenant}",
                    system,
                    f"grant:{grant.id}",
                    contract,
                )
            else:
                for realm_id in home_realms(model, grant.org, kinds[system.tenant]):
                    source = f"credential:{grant.org}@{realm_id}"
                    edges("guest_app", source, system, f"grant:{grant.id}", contract)
    for system in served:
        assert system.tenant is not None
        orgs = members[system.tenant]
        if len(orgs) < 2:
            continue
        for org in orgs:
            if org != system.owner and (org, system.id) not in granted:
                edges("shared_tenant", f"credential:{org}@{system.tenant}", system, f"realm:{system.tenant}")
    for kind, (src, dst, gate, c1, c2) in out.items():
        b.edges(kind, src, dst, gate=gate, control1=c1, control2=c2)


__all__ = ["CLOUD_REALM_KINDS", "home_realms", "tenant_edges"]
