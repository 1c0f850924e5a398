"""The finding checks of supervision: re-entrustment (approved, known), reviews and audits overdue (see
:mod:`sekimori.govern.finding_checks` for what each decides)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sekimori.govern.finding_types import Finding, FindingContext, FindingKind, Severity
from sekimori.govern.supervision import AUDIT_INTERVAL_DAYS, supervision_records
from sekimori.govern.tables import ReviewItemRow, ReviewRow


def reentrustment_findings(ctx: FindingContext, alerts: list[dict[str, Any]]) -> list[Finding]:
    out = []
    for party in sorted(ctx.parties.values(), key=lambda p: p.id):
        if party.parent is None:
            continue
        allowed = [
            c.id
            for c in ctx.contracts
            if c.party == party.parent and ctx.in_force(c) and c.reentrustment_allowed
        ]
        if party.reentrustment_approved_by is not None and allowed:
            continue
        evidence: dict[str, Any] = {
            "parent": party.parent,
            "approved_by": party.reentrustment_approved_by,
            "approved_on": party.reentrustment_approved_on,
            "contracts_allowing": allowed,
        }
        out.append(
            ctx.finding(
                FindingKind.reentrustment_not_approved,
                Severity.high,
                party.id,
                f"party {party.id}",
                evidence,
                parent=party.parent,
            )
        )
    seen: dict[str, dict[str, Any]] = {}
    for contract in ctx.model.contracts:
        if ctx.is_parent(contract.entrusting) or contract.entrusting == contract.entrusted:
            continue
        known = ctx.parties.get(contract.entrusted)
        if known is None or known.parent != contract.entrusting:
            seen.setdefault(contract.entrusted, {"parent": contract.entrusting, "model_contracts": []})
            seen[contract.entrusted]["model_contracts"].append(contract.id)
    for row in alerts:
        org = row["org"]
        if org not in ctx.parties and not ctx.is_parent(org):
            entry = seen.setdefault(org, {"parent": None, "model_contracts": []})
            entry.setdefault("alert_ids", []).extend(row["alert_ids"])
    for org, evidence in sorted(seen.items()):
        evidence["in_register"] = org in ctx.parties
        if "alert_ids" in evidence:
            evidence["alert_ids"] = sorted(set(evidence["alert_ids"]))
        out.append(
            ctx.finding(
                FindingKind.reentrustment_unknown,
                Severity.high,
                org,
                f"party {org}",
                evidence,
                parent=evidence["parent"] or "?",
            )
        )
    return out


def review_findings(ctx: FindingContext) -> list[Finding]:
    """Per campaign and party: the items still undecided after the deadline day (as ``review_status``
    counts them overdue), read in one query rather than every campaign's items."""
    query = (
        select(
            ReviewRow.id,
            ReviewRow.deadline,
            ReviewItemRow.grant_id,
            ReviewItemRow.frozen["party"].as_string(),
        )
        .join(ReviewItemRow, ReviewItemRow.review_id == ReviewRow.id)
        .where(ReviewItemRow.decision.is_(None), ReviewRow.deadline < ctx.as_of)
    )
    overdue: dict[tuple[str, str], list[str]] = {}
    deadlines = {}
    with Session(ctx.register.cases.engine) as session:
        for review_id, deadline, grant, party in session.execute(query):
            overdue.setdefault((review_id, str(party)), []).append(grant)
            deadlines[review_id] = deadline
    out = []
    for (review_id, party), grants in sorted(overdue.items()):  # code points, not a collation
        evidence = {
            "review": review_id,
            "deadline": deadlines[review_id],
            "overdue": len(grants),
            "grants": sorted(grants),
        }
        out.append(
            ctx.finding(FindingKind.review_overdue, Severity.medium, party, f"review {review_id}", evidence)
        )
    return out


def audit_findings(ctx: FindingContext) -> list[Finding]:
    out = []
    for record in supervision_records(ctx.register, ctx.as_of):
        radius = ctx.blast(record.party)
        entrusted = any(
            ctx.in_force(c) and c.data_categories for c in ctx.contracts if c.party == record.party
        )
        reaches = radius is not None and radius.exposure.total > 0
        if record.audit_due and (entrusted or reaches) and not ctx.is_parent(record.party):
            evidence: dict[str, Any] = {
                "last_audit": record.last_audit,
                "interval_days": AUDIT_INTERVAL_DAYS,
            }
            out.append(
                ctx.finding(
                    FindingKind.audit_overdue,
                    Severity.medium,
                    record.party,
                    f"audit of {record.party}",
                    evidence,
                )
            )
        for item in record.overdue_remediations:
            evidence = {
                "finding": item.id,
                "remediation_due": item.remediation_due,
                "severity": item.severity,
            }
            out.append(
                ctx.finding(
                    FindingKind.audit_overdue, Severity.high, record.party, f"remediation {item.id}", evidence
                )
            )
    return out
