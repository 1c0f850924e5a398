"""The edges the observed logons and the accounts they show add to the group graph: who logged on
where, from where, what credentials were left behind, which zone pairs were crossed with no flow, and
whether the model allows each step."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.graph.edges import contract_for, prefixed, shared_realms

if TYPE_CHECKING:
    from sekimori.graph.builder import GraphBuilder
    from sekimori.model import GroupModel

# Logon types that leave reusable credentials on the host logged on to (interactive, batch, service,
# unlock, remote interactive, cached interactive); a network logon (3) does not.
CACHING_LOGON_TYPES = (2, 4, 5, 7, 10, 11)


def account_edges(b: GraphBuilder, model: GroupModel, accounts: pa.Table) -> None:
    """Each account to its organisation's credentials in its realm, from its organisation, and to what
    an admin right whose ``accounts`` pattern it matches administers."""
    keys = prefixed("account", accounts["account"])
    known = np.asarray(pc.and_(pc.is_valid(accounts["org"]), pc.is_valid(accounts["realm"])))
    mask = pa.array(known)
    creds = pc.binary_join_element_wise(
        "credential:",
        pc.binary_join_element_wise(accounts["org"].filter(mask), accounts["realm"].filter(mask), "@"),
        "",
    )
    b.edges("account_of", keys.filter(mask), creds)
    has_org = np.asarray(pc.is_valid(accounts["org"]))
    b.edges(
        "owns",
        prefixed("organisation", accounts["org"].filter(pa.array(has_org))),
        keys.filter(pa.array(has_org)),
    )
    names = accounts["account"].combine_chunks()
    users = pc.utf8_lower(pc.extract_regex(names, r"(?P<user>[^\\]*)$").field("user"))
    for right in model.admin_rights:
        if right.accounts is None:
            continue
        mine = pc.and_(
            pc.fill_null(pc.equal(accounts["org"], right.org), False),
            pc.fill_null(pc.match_substring_regex(users, right.accounts, ignore_case=True), False),
        )
        holders = keys.filter(mine)
        targets = ([f"realm:{right.realm}"] if right.realm else []) + [f"system:{s}" for s in right.systems]
        for target in targets:
            b.edges("admin", holders, [target] * len(holders), control1=[f"admin:{right.id}"] * len(holders))


def observed_edges(
    b: GraphBuilder, model: GroupModel, logons: pa.Table, systems_of: dict[str, list[str]]
) -> None:
    """The logons as edges: account to host (gated by the host's zone), source host to account, host to
    the accounts whose credentials a logon cached there, and zone to zone where no flow allows it."""
    if len(logons) == 0:
        return
    rows = np.arange(len(logons), dtype=np.int32)
    account = prefixed("account", logons["account"])
    dst = prefixed("host", logons["dst"])
    src_valid = np.asarray(pc.is_valid(logons["src"]))
    allowed, controls1, controls2 = _judge_logons(model, logons, systems_of)
    gate = pc.if_else(
        pc.is_valid(logons["dst_zone"]), prefixed("zone", logons["dst_zone"]), pa.scalar(None, pa.string())
    )
    b.edges(
        "logon",
        account,
        dst,
        gate=gate,
        control1=controls1,
        control2=controls2,
        allowed=allowed,
        logon_row=rows,
    )
    m = pa.array(src_valid)
    b.edges(
        "used_from", prefixed("host", logons["src"].filter(m)), account.filter(m), logon_row=rows[src_valid]
    )
    caching = np.isin(logons["logon_type"].to_numpy(zero_copy_only=False), CACHING_LOGON_TYPES)
    m = pa.array(caching)
    b.edges("left_on", dst.filter(m), account.filter(m), logon_row=rows[caching])
    # zone pairs logons crossed that no flow allows
    flows = {(f.from_zone, f.to_zone) for f in model.flows} | {
        (f.to_zone, f.from_zone) for f in model.flows if f.bidirectional
    }
    crossing = logons.select(["src_zone", "dst_zone"]).filter(
        pc.fill_null(pc.not_equal(logons["src_zone"], logons["dst_zone"]), False)
    )
    pairs = sorted(
        {
            (a, z)
            for a, z in zip(*(crossing[c].to_pylist() for c in ("src_zone", "dst_zone")), strict=True)
            if (a, z) not in flows
        }
    )
    b.edges(
        "observed_route",
        [f"zone:{a}" for a, _ in pairs],
        [f"zone:{z}" for _, z in pairs],
        control1=[f"route:{a}->{z}" for a, z in pairs],
        allowed=[False] * len(pairs),
    )


def _judge_logons(
    model: GroupModel, logons: pa.Table, systems_of: dict[str, list[str]]
) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Per logon row: whether the model allows it, and the controls it depends on (the shared realm
    it crossed organisations through; the contract it works under). Logons within one organisation are
    allowed and depend on nothing; only the rows that cross organisations are judged, once per distinct
    (account organisation, realm, destination, destination organisation, logon type)."""
    n = len(logons)
    allowed = np.ones(n, bool)
    c1: list[str | None] = [None] * n
    c2: list[str | None] = [None] * n
    crossing = pc.fill_null(pc.not_equal(logons["account_org"], logons["dst_org"]), False)
    rows = np.flatnonzero(np.asarray(crossing))
    if len(rows):
        shared = shared_realms(model)
        grants: dict[tuple[str, str], set[int]] = {}
        for grant in model.grants:
            for system_id in grant.systems:
                grants.setdefault((grant.org, system_id), set()).update(grant.logon_type_codes)
        cross = logons.take(pa.array(rows))
        cols = [
            cross[c].to_pylist() for c in ("account_org", "account_realm", "dst", "dst_org", "logon_type")
        ]
        cache: dict[tuple[object, ...], tuple[bool, str | None, str | None]] = {}
        for i, key in zip(rows.tolist(), zip(*cols, strict=True), strict=True):
            judged = cache.get(key)
            if judged is None:
                org, realm, dst, dst_org, logon_type = key
                systems = systems_of.get(dst, [])
                ok = any(logon_type in grants.get((org, s), ()) for s in systems)
                through = f"realm:{realm}" if realm and len(shared.get(realm, ())) > 1 else None
                judged = cache[key] = (
                    ok,
                    through,
                    contract_for(model, org, dst_org, systems[0] if systems else None),
                )
            allowed[i], c1[i], c2[i] = judged
    return allowed, pa.array(c1, pa.string()), pa.array(c2, pa.string())
