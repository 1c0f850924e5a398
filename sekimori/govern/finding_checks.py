"""Findings: what the register, the group model, the graph and the store show to be wrong with the
supervision of the group's entrusted parties, each with its evidence and the people it exposes.

The people a finding exposes are the blast radius of its organisation (:func:`sekimori.graph.blast_radius`
of ``org:<id>``: every person whose data that organisation's principals can reach, each counted once);
a finding about a control that can be removed (a shared realm, a flow) also says how many people its
removal protects (:func:`sekimori.graph.what_if`).

The kinds (:class:`FindingKind`) and how each is decided, on the day ``as_of``:

* ``no_entrustment_contract`` (critical): an organisation other than a parent whose blast radius holds
  people, without a contract in force (active, started, not ended) naming it as the entrusted party with
  personal-data categories — the seed case's finding; the boundary detector's
  ``first_personal_data_access`` alerts for it are given as observed evidence;
* ``shared_authentication`` (high): a realm or tenant shared by several organisations, one finding per
  organisation other than its owner; the ``shared_realm_crossing`` / ``shared_tenant_crossing`` alerts are
  its observed evidence;
* ``flow_into_parent`` (high with administrative ports or any port, else medium): a flow from another
  organisation's zone into a zone of a parent;
* ``grant_outlives_contract`` (medium), ``grant_expired`` (low): from the grant's and its contract's dates
  and the contract's status;
* ``grant_never_used`` / ``grant_not_recently_used`` (medium, low): a grant in force whose use is known
  (:mod:`sekimori.govern.usage`), never used or last used more than ``unused_days`` (90) before ``as_of``;
  only with a store holding events;
* ``grant_without_mfa`` (high): a grant used at least once without a second factor;
* ``access_without_grant`` (high): the boundary alerts in the store's ``alerts`` table (source
  ``boundary``, from the ``boundary`` and ``tenant_boundary`` detectors) other than the two above, per
  rule and non-parent organisation involved;
* ``reentrustment_not_approved`` (high): a party re-entrusted by another (``parent``) without a recorded
  approval, or whose entrusting party's contracts in force do not allow re-entrustment;
* ``reentrustment_unknown`` (high): an organisation the model shows entrusted by a party other than a
  parent, or that boundary alerts name, that the register does not hold as that party's sub-contractor;
* ``review_overdue`` (medium): a review campaign with items undecided after its deadline, per party;
* ``audit_overdue`` (medium; high for a remediation past due): a party that reaches personal data with no
  audit in :data:`sekimori.govern.supervision.AUDIT_INTERVAL_DAYS`, or an audit finding not remediated by
  its due date.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sekimori.govern.finding_supervision import audit_findings, reentrustment_findings, review_findings
from sekimori.govern.finding_types import (
    ADMIN_PORTS,
    OBSERVED_ACCESS_RULE,
    SEVERITY_RANK,
    SHARED_RULES,
    UNUSED_DAYS,
    Finding,
    FindingContext,
    FindingKind,
    Severity,
    alert_evidence,
    boundary_alerts,
)
from sekimori.govern.records import ContractStatus
from sekimori.govern.register import Register
from sekimori.govern.usage import grant_usage
from sekimori.graph import GroupGraph, build_graph, graph_from_store

if TYPE_CHECKING:
    from sekimori.model import Flow, GroupModel, Realm
    from sekimori.store import Store

__all__ = ["UNUSED_DAYS", "Finding", "FindingKind", "Severity", "findings"]


def findings(
    register: Register,
    model: GroupModel,
    store: Store | None = None,
    graph: GroupGraph | None = None,
    as_of: date | None = None,
    unused_days: int = UNUSED_DAYS,
) -> list[Finding]:
    """Every finding on ``as_of`` (default today), most severe first, then by organisation and subject.
    ``graph``: the group graph to judge with (default: built from ``model`` and the logons of ``store``)."""
    day = as_of or datetime.now(UTC).date()
    has_events = store is not None and bool(store.event_files())
    if graph is None:
        graph = (
            graph_from_store(store, model, as_of=day)
            if store is not None and has_events
            else build_graph(model, as_of=day)
        )
    ctx = FindingContext(register, model, graph, day)
    # Every organisation's blast radius and the what-ifs the checks below ask, worked out up front on
    # the CPUs there are (the checks then read them).
    asks: dict[str, list[str]] = {org: [] for org in sorted(ctx.kind_of) if not ctx.is_parent(org)}
    for _realm, _owner, org, change in _shared_realms(ctx):
        asks.setdefault(org, []).append(change)
    for _flow, src, _dst, change in _flows_into_parent(ctx):
        asks.setdefault(src, []).append(change)
    ctx.prepare(asks)
    alerts = boundary_alerts(store) if store is not None else []
    found = [
        *_entrustment(ctx, alerts),
        *_shared(ctx, alerts),
        *_flows(ctx),
        *_grant_dates(ctx),
        *(_grant_usage(ctx, store, unused_days) if store is not None and has_events else []),
        *_access_without_grant(ctx, alerts),
        *reentrustment_findings(ctx, alerts),
        *review_findings(ctx),
        *audit_findings(ctx),
    ]
    return sorted(found, key=lambda f: (SEVERITY_RANK[f.severity], f.organisation, str(f.kind), f.subject))


# --- the checks ---


def _entrustment(ctx: FindingContext, alerts: list[dict[str, Any]]) -> list[Finding]:
    out = []
    for org in sorted(ctx.kind_of):
        if ctx.is_parent(org):
            continue
        radius = ctx.blast(org)
        if radius is None or radius.exposure.total == 0:
            continue
        mine = [c for c in ctx.contracts if c.party == org]
        if any(ctx.in_force(c) and c.data_categories for c in mine):
            continue
        evidence: dict[str, Any] = {
            "data_stores": [d.id for d in radius.data_stores],
            "contracts": {
                c.id: "no personal data entrusted"
                if not c.data_categories
                else f"not in force ({c.status}, {c.start} – {c.end or '…'})"
                for c in mine
            },
            "in_register": org in ctx.parties,
        }
        observed = [r for r in alerts if r["rule_id"] == OBSERVED_ACCESS_RULE and r["org"] == org]
        if observed:
            evidence["observed_access"] = alert_evidence(observed)
        out.append(
            ctx.finding(FindingKind.no_entrustment_contract, Severity.critical, org, f"party {org}", evidence)
        )
    return out


def _shared_realms(ctx: FindingContext) -> Iterator[tuple[Realm, str, str, str]]:
    """(realm, its owner, an organisation sharing it, the what-if that separates it) of every realm
    shared between companies."""
    for realm in ctx.model.realms:
        if len(realm.shared_by) < 2:
            continue
        owner = realm.owner or realm.shared_by[0]
        for org in realm.shared_by:
            if org != owner:
                yield realm, owner, org, f"separate realm {realm.id}"


def _shared(ctx: FindingContext, alerts: list[dict[str, Any]]) -> list[Finding]:
    out = []
    for realm, owner, org, change in _shared_realms(ctx):
        evidence: dict[str, Any] = {
            "realm": realm.id,
            "realm_kind": realm.kind,
            "name": realm.name,
            "tenant_ids": list(realm.tenant_ids),
            "shared_by": list(realm.shared_by),
        }
        crossings = [r for r in alerts if r["rule_id"] in SHARED_RULES and r["org"] == org]
        if crossings:
            evidence["observed_crossings"] = alert_evidence(crossings)
        protected = ctx.protected(org, change)
        evidence["people_protected"] = protected
        out.append(
            ctx.finding(
                FindingKind.shared_authentication,
                Severity.high,
                org,
                f"realm {realm.id}",
                evidence,
                owner=owner,
                protected=protected,
            )
        )
    return out


def _flows_into_parent(ctx: FindingContext) -> Iterator[tuple[Flow, str, str, str]]:
    """(flow, the organisation it comes from, the parent it leads into, the what-if that blocks it) of
    every flow from another company into a parent's zone."""
    zone_org = {z.id: z.org for z in ctx.model.zones}
    for flow in ctx.model.flows:
        src, dst = zone_org.get(flow.from_zone), zone_org.get(flow.to_zone)
        if src is not None and dst is not None and src != dst and ctx.is_parent(dst):
            yield flow, src, dst, f"block flow {flow.id}"


def _flows(ctx: FindingContext) -> list[Finding]:
    out = []
    for flow, src, dst, change in _flows_into_parent(ctx):
        ports = flow.ports
        severity = Severity.high if ports is None or ADMIN_PORTS & set(ports) else Severity.medium
        protected = ctx.protected(src, change)
        evidence = {
            "flow": flow.id,
            "from_zone": flow.from_zone,
            "to_zone": flow.to_zone,
            "ports": "any" if ports is None else list(ports),
            "protocol": flow.protocol,
            "people_protected": protected,
        }
        out.append(
            ctx.finding(
                FindingKind.flow_into_parent,
                severity,
                src,
                f"flow {flow.id}",
                evidence,
                owner=dst,
                protected=protected,
            )
        )
    return out


def _grant_dates(ctx: FindingContext) -> list[Finding]:
    contracts = {c.id: c for c in ctx.contracts}
    out = []
    for grant in ctx.grants:
        if grant.expires is not None and grant.expires < ctx.as_of:
            evidence: dict[str, Any] = {"grant": grant.id, "expires": grant.expires, "created": grant.created}
            out.append(
                ctx.finding(
                    FindingKind.grant_expired, Severity.low, grant.party, f"grant {grant.id}", evidence
                )
            )
            continue
        contract = contracts.get(grant.contract) if grant.contract else None
        if contract is None:
            continue
        ends_later = contract.end is not None and (grant.expires is None or grant.expires > contract.end)
        not_active = contract.status in (ContractStatus.ended, ContractStatus.suspended)
        if ends_later or not_active:
            evidence = {
                "grant": grant.id,
                "expires": grant.expires,
                "contract": contract.id,
                "contract_end": contract.end,
                "contract_status": str(contract.status),
            }
            out.append(
                ctx.finding(
                    FindingKind.grant_outlives_contract,
                    Severity.medium,
                    grant.party,
                    f"grant {grant.id}",
                    evidence,
                )
            )
    return out


def _grant_usage(ctx: FindingContext, store: Store, unused_days: int) -> list[Finding]:
    grants = [g for g in ctx.grants if ctx.grant_in_force(g)]
    usage = grant_usage(grants, store)
    cutoff = ctx.as_of - timedelta(days=unused_days)
    out = []
    for grant in grants:
        use = usage[grant.id]
        subject = f"grant {grant.id}"
        if not use.known:
            continue
        evidence: dict[str, Any] = {"grant": grant.id, **use.to_dict()}
        if use.uses == 0:
            out.append(
                ctx.finding(FindingKind.grant_never_used, Severity.medium, grant.party, subject, evidence)
            )
        elif use.last_used is not None and use.last_used.date() < cutoff:
            out.append(
                ctx.finding(
                    FindingKind.grant_not_recently_used,
                    Severity.low,
                    grant.party,
                    subject,
                    evidence,
                    days=unused_days,
                    last_used=use.last_used.date(),
                )
            )
        if use.without_mfa:
            out.append(
                ctx.finding(FindingKind.grant_without_mfa, Severity.high, grant.party, subject, evidence)
            )
    return out


def _access_without_grant(ctx: FindingContext, alerts: list[dict[str, Any]]) -> list[Finding]:
    out = []
    for row in alerts:
        if row["rule_id"] in (*SHARED_RULES, OBSERVED_ACCESS_RULE) or ctx.is_parent(row["org"]):
            continue
        evidence = {"rule_id": row["rule_id"], **alert_evidence([row])}
        out.append(
            ctx.finding(FindingKind.access_without_grant, Severity.high, row["org"], row["rule_id"], evidence)
        )
    return out
