"""What the finding checks share: the kinds, severities and the typed :class:`Finding`; the context the
checks read (the day, the register's records, the model, the graph and its cached blast radii); the
store's boundary alerts, read in one query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sekimori.govern.finding_text import texts
from sekimori.govern.records import ContractRecord, ContractStatus, GrantRecord, PartyKind, PartyRecord
from sekimori.govern.register import Register
from sekimori.graph import BlastRadius, GraphError, GroupGraph, Protection, protections

if TYPE_CHECKING:
    from sekimori.model import GroupModel
    from sekimori.store import Store

UNUSED_DAYS = 90
ADMIN_PORTS = frozenset({22, 135, 139, 445, 3389, 5985, 5986})
SHARED_RULES = ("boundary.shared_realm_crossing", "boundary.shared_tenant_crossing")
OBSERVED_ACCESS_RULE = "boundary.first_personal_data_access"


class FindingKind(StrEnum):
    no_entrustment_contract = "no_entrustment_contract"
    shared_authentication = "shared_authentication"
    flow_into_parent = "flow_into_parent"
    grant_outlives_contract = "grant_outlives_contract"
    grant_expired = "grant_expired"
    grant_never_used = "grant_never_used"
    grant_not_recently_used = "grant_not_recently_used"
    grant_without_mfa = "grant_without_mfa"
    access_without_grant = "access_without_grant"
    reentrustment_not_approved = "reentrustment_not_approved"
    reentrustment_unknown = "reentrustment_unknown"
    review_overdue = "review_overdue"
    audit_overdue = "audit_overdue"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


SEVERITY_RANK = {Severity.critical: 0, Severity.high: 1, Severity.medium: 2, Severity.low: 3}


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    severity: Severity
    organisation: str  # the party (organisation id) concerned
    subject: str  # what is wrong: "grant G-1", "realm example-ad", "flow f-x", "party p", "review R"
    evidence: dict[str, Any]  # ids, counts, times, event uids
    people: int = 0  # people exposed: the organisation's blast radius
    people_by_category: dict[str, int] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)  # {"ja": …, "en": …}

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "severity": str(self.severity),
            "organisation": self.organisation,
            "subject": self.subject,
            "people": self.people,
            "people_by_category": self.people_by_category,
            "evidence": self.evidence,
            "text": self.text,
        }


class FindingContext:
    """What the checks share: the day, the register's records, the model, the graph and its answers."""

    def __init__(self, register: Register, model: GroupModel, graph: GroupGraph, as_of: date) -> None:
        self.register, self.model, self.graph, self.as_of = register, model, graph, as_of
        records = register.records()
        self.parties = {r.id: r for r in records["parties"] if isinstance(r, PartyRecord)}
        self.contracts = [r for r in records["contracts"] if isinstance(r, ContractRecord)]
        self.grants = [r for r in records["grants"] if isinstance(r, GrantRecord)]
        self.kind_of: dict[str, str] = {o.id: o.kind for o in model.organisations}
        for party in self.parties.values():
            self.kind_of.setdefault(
                party.id, "contractor" if party.kind is PartyKind.subcontractor else str(party.kind)
            )
        self._protection: dict[str, Protection | None] = {}

    def is_parent(self, org: str) -> bool:
        return str(self.kind_of.get(org, "")) == "parent"

    def blast(self, org: str) -> BlastRadius | None:
        protection = self._protection_of(org)
        return protection.blast_radius() if protection is not None else None

    def protected(self, org: str, change: str) -> int:
        """The people ``change`` takes out of the organisation's blast radius."""
        protection = self._protection_of(org)
        if protection is None:
            return 0
        try:
            return protection.people_protected([change])
        except GraphError:
            return 0

    def prepare(self, asks: dict[str, list[str]]) -> None:
        """Work out the organisations' blast radii and the what-ifs asked of each (``asks``: organisation
        → changes) at once, on the CPUs there are (:func:`sekimori.graph.protections`)."""
        todo = {f"org:{org}": changes for org, changes in asks.items() if org not in self._protection}
        done = protections(self.graph, todo)
        self._protection.update((entry.removeprefix("org:"), p) for entry, p in done.items())

    def _protection_of(self, org: str) -> Protection | None:
        # One reach per organisation: its blast radius and the what-ifs on it come from the same one.
        if org not in self._protection:
            try:
                self._protection[org] = Protection(self.graph, f"org:{org}")
            except GraphError:  # not in the graph: a party the model does not know
                self._protection[org] = None
        return self._protection[org]

    def finding(
        self,
        kind: FindingKind,
        severity: Severity,
        org: str,
        subject: str,
        evidence: dict[str, Any],
        **say: Any,
    ) -> Finding:
        radius = self.blast(org)
        people = radius.exposure.total if radius is not None else 0
        by_category = dict(radius.exposure.people) if radius is not None else {}
        values = {"organisation": org, "subject": subject, "people": people, **evidence, **say}
        return Finding(kind, severity, org, subject, evidence, people, by_category, texts(str(kind), values))

    def in_force(self, contract: ContractRecord) -> bool:
        return (
            contract.status is ContractStatus.active
            and contract.start <= self.as_of
            and (contract.end is None or contract.end >= self.as_of)
        )

    def grant_in_force(self, grant: GrantRecord) -> bool:
        return grant.created <= self.as_of and (grant.expires is None or grant.expires >= self.as_of)


# --- the store's boundary alerts: one vectorised query ---

ALERTS_SQL = """
WITH a AS (
    SELECT alert_id, rule_id, time, coalesce(last_time, time) AS last_time, evidence,
           unnest(organisations) AS org
    FROM alerts
    WHERE source IN ('boundary', 'tenant_boundary') AND organisations IS NOT NULL
)
SELECT rule_id, org, count(DISTINCT alert_id) AS alerts, min(time) AS first_time, max(last_time) AS last_time,
       list_sort(list(DISTINCT alert_id)) AS alert_ids,
       list_sort(list_distinct(flatten(list(list_transform(evidence, lambda e: e.uid))))) AS event_uids
FROM a
GROUP BY rule_id, org
ORDER BY rule_id, org
"""


def boundary_alerts(store: Store) -> list[dict[str, Any]]:
    if "alerts" not in store.tables():
        return []
    return list(store.sql(ALERTS_SQL).to_pylist())


def alert_evidence(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "alerts": sum(r["alerts"] for r in rows),
        "alert_ids": sorted({a for r in rows for a in r["alert_ids"]}),
        "event_uids": sorted({u for r in rows for u in r["event_uids"] if u is not None}),
        "first_time": min(r["first_time"] for r in rows),
        "last_time": max(r["last_time"] for r in rows),
    }
