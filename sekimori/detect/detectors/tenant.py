"""Trust-boundary rules for identity-provider sign-ins and cloud role assumptions, judged as the AD
logons are (``boundary`` source, next to the rules of :mod:`sekimori.detect.detectors.boundary`):

- ``boundary.cross_tenant_signin``: an account of organisation A signs in to an application, tenant or
  cloud account of organisation B (a B2B guest, direct connect, a service provider, an AWS role assumed
  across accounts) and no unexpired grant with ``access: application`` lets A's principals use that
  system (when the application is not in the model: a system of B that signs in through that tenant; a
  grant of host logons only does not cover signing in to an application). A grant counts if it was still
  valid on the day of the crossing's last sign-in; when none of its sign-ins has a time (a record without
  one), only a grant that never expires counts: one with an expiry cannot be shown to have covered it,
  as the AD logons' rules judge an edge without a time (``boundary``: ``expires >= NULL`` is not true),
  and the alert's description names the grants left unchecked.
- ``boundary.shared_tenant_crossing``: the sign-in went through a tenant shared by several organisations
  and carries an account of one of them into a system of another (alerted even when a grant allows it:
  a shared authentication platform is the weakness the seed incident went through).
- ``boundary.signin_from_foreign_network``: an account of A signs in from an address in a zone of another
  organisation.

Whose an account is: the model's account rules (domain, UPN suffix, …), else the organisation of its home
tenant when only one organisation has accounts there. Whose the resource is: the system whose
``applications`` name the sign-in's application, else the owner of the resource tenant (for an AWS role,
the account in the role's ARN). Classification is per distinct sign-in (bounded by accounts ×
applications, not events); everything per event is SQL.

The distinct sign-ins are aggregated once per segment and kept in the store
(:mod:`sekimori.detect.signin_segments`: each segment's crossings with their counts, first and last
times and first events), then added up across segments on the driver: the same rows, evidence and alerts
as one pass over every event. The per-segment rows of new segments can come from another engine
(``sekimori.spark`` computes them on Spark from the same SQL); the judging stays here, on DuckDB.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any, ClassVar

import pyarrow as pa

from sekimori.detect.alerts import BOUNDARY
from sekimori.detect.base import DetectContext, Detector, register
from sekimori.detect.segment_tables import SegmentRows
from sekimori.detect.signin_segments import finding_evidence, segment_signins
from sekimori.detect.signins import TenantDirectory, signin_account_org, signin_resource
from sekimori.model import GroupModel, first_host_match, parse_ip

RULES: dict[str, dict[str, Any]] = {
    "boundary.cross_tenant_signin": {
        "title": "Sign-in across organisations' tenants that no grant allows",
        "attack": ["T1199", "T1078.004"],
        "level": "high",
    },
    "boundary.shared_tenant_crossing": {
        "title": "Sign-in through a shared tenant crosses organisations",
        "attack": ["T1078.004", "T1199"],
        "level": "medium",
    },
    "boundary.signin_from_foreign_network": {
        "title": "Sign-in from a network of another organisation",
        "attack": ["T1078.004", "T1199"],
        "level": "medium",
    },
}


def _granted(
    model: GroupModel, org: str, system: str | None, resource_org: str, realm: str | None, on: date | None
) -> tuple[list[str], list[str]]:
    """Grants with ``access: application`` letting ``org``'s principals use ``system`` (or, when the
    application is not in the model, a system of ``resource_org`` signed in to through that tenant):
    those valid on ``on``, and those that expire and so cannot be checked when ``on`` is None (no time;
    a grant without an expiry holds then). A grant of host logons only does not cover signing in to an
    application."""
    if system is not None:
        systems = {system}
    else:
        systems = {
            s.id for s in model.systems if s.owner == resource_org and (realm is None or s.tenant == realm)
        }
    matching = sorted(
        (g for g in model.grants if g.org == org and "application" in g.access and systems & set(g.systems)),
        key=lambda g: g.id,
    )
    unchecked = [f"{g.id} (expires {g.expires})" for g in matching if on is None and g.expires is not None]
    return [g.id for g in matching if g.covers(on)], unchecked


def judge(model: GroupModel, signins: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings of the rules for each distinct sign-in (Python: one row per crossing, not per event)."""
    directory = TenantDirectory.of(model)
    shared = {r for r, orgs in directory.realm_orgs.items() if len(orgs) > 1}
    findings = []
    for row in signins:
        org = signin_account_org(model, directory, row)
        if org is None:
            continue
        system, resource_org, resource_realm = signin_resource(directory, row)
        home_realm = directory.realm_of_tenant.get(row["tenant"] or "")
        base = {**row, "account_org": org, "resource_org": resource_org, "system": system}
        what = row["application_shown"] or row["role"] or row["resource_tenant"] or "a tenant"
        escalate = system in directory.crown_jewels
        if resource_org is not None and resource_org != org:
            last = row["last_time"]
            on = last.date() if last is not None else None
            grants, unchecked = _granted(model, org, system, resource_org, resource_realm, on)
            if not grants:
                where = f"{resource_org}" + (f": {system}" if system else "")
                kind = row["cross_tenant"]
                how = f" ({kind})" if kind and kind.lower() != "none" else ""
                reason = f"no grant lets {org} accounts sign in to {what} ({where}){how}"
                if unchecked:
                    reason += f"; its sign-ins have no time to check grant {', '.join(unchecked)} against"
                findings.append(
                    {
                        **base,
                        "rule_id": "boundary.cross_tenant_signin",
                        "reason": reason,
                        "escalate": escalate,
                    }
                )
            # a tenant shared by several organisations, the account's among them, into another's system
            realm = next(
                (r for r in (resource_realm, home_realm) if r in shared and org in directory.realm_orgs[r]),
                None,
            )
            if realm is not None:
                reason = (
                    f"tenant {realm} (shared by {len(directory.realm_orgs[realm])} organisations) "
                    f"carries an account of {org} into {what} of {resource_org}"
                    + (f" (grant {', '.join(grants)})" if grants else " (no grant)")
                )
                findings.append(
                    {
                        **base,
                        "rule_id": "boundary.shared_tenant_crossing",
                        "reason": reason,
                        "escalate": False,
                    }
                )
        address = parse_ip(row["src_ip"])
        network = first_host_match(model.host_matchers, None, address) if address else None
        if network is not None and network.org != org:
            reason = (
                f"{org} account signed in to {what} from {row['src_ip']}, in {network.zone} of {network.org}"
            )
            findings.append(
                {
                    **base,
                    "rule_id": "boundary.signin_from_foreign_network",
                    "reason": reason,
                    "escalate": False,
                    "source_org": network.org,
                }
            )
    return findings


_FINDINGS_SCHEMA = pa.schema(
    [
        ("rule_id", pa.string()),
        ("edge", pa.int64()),
        ("principal", pa.string()),
        ("domain", pa.string()),
        ("tenant", pa.string()),
        ("resource_tenant", pa.string()),
        ("cross_tenant", pa.string()),
        ("application", pa.string()),
        ("role", pa.string()),
        ("src_ip", pa.string()),
    ]
)


@register
class TenantBoundaryDetector(Detector):
    name = "tenant_boundary"
    source = BOUNDARY
    description = (
        "Trust-boundary rules for IdP sign-ins and cloud role assumptions (tenants, grants, networks)"
    )
    needs_model = True
    rules: ClassVar[dict[str, dict[str, Any]]] = RULES

    def __init__(self, aggregate: SegmentRows | None = None) -> None:
        """``aggregate``: the new segments' sign-in rows computed there (another engine, e.g. Spark)
        instead of DuckDB; the judging stays here."""
        self.aggregate = aggregate

    def run(self, ctx: DetectContext) -> pa.Table:
        assert ctx.model is not None
        con = ctx.con
        segment_signins(ctx, self.aggregate)
        findings = judge(ctx.model, con.sql("SELECT * FROM _signins").to_arrow_table().to_pylist())
        if not findings:
            return pa.table({"rule_id": pa.array([], pa.string())})
        evidence = finding_evidence(
            con,
            pa.Table.from_pylist(
                [{k: f[k] for k in _FINDINGS_SCHEMA.names} for f in findings], _FINDINGS_SCHEMA
            ),
        )
        return pa.Table.from_pylist(
            [_alert(f, evidence.get((f["rule_id"], f["edge"]), [])) for f in findings]
        )


def _alert(finding: dict[str, Any], evidence: list[dict[str, Any]]) -> dict[str, Any]:
    rule = RULES[finding["rule_id"]]
    orgs = [o for o in (finding["account_org"], finding.get("source_org"), finding["resource_org"]) if o]
    details = {
        "events": finding["events"],
        "account_org": finding["account_org"],
        "resource_org": finding["resource_org"],
        "system": finding["system"],
        "tenant": finding["tenant"],
        "resource_tenant": finding["resource_tenant"],
        "cross_tenant": finding["cross_tenant"],
        "role": finding["role"],
    }
    key = "|".join(
        str(finding[k] or "")
        for k in ("rule_id", "principal", "domain", "tenant", "application", "role", "src_ip")
    )
    # The sign-ins are grouped by the resource tenant and the kind of cross-tenant access too: two groups
    # differing only there are two alerts. Added only where they say more than the home tenant, and not
    # for a role assumption (the role's ARN names its account, and CloudTrail's cross-account mark
    # follows from the two accounts), so the ids of the other alerts stay as they were.
    if not finding["role"]:
        resource = finding["resource_tenant"]
        if resource and resource != finding["tenant"]:
            key += f"|resource:{resource}"
        if finding["cross_tenant"]:
            key += f"|cross:{finding['cross_tenant']}"
    return {
        "alert_id": hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()[:24],
        "rule_id": finding["rule_id"],
        "title": rule["title"],
        "source": BOUNDARY,
        "level": "critical" if finding["escalate"] else rule["level"],
        "attack": rule["attack"],
        "time": finding["first_time"],
        "last_time": finding["last_time"],
        "host": finding["host"],
        "account": finding["principal"],
        "domain": finding["domain"],
        "src_ip": finding["src_ip"],
        "target_host": finding["application_shown"] or finding["role"] or finding["resource_tenant"],
        "organisations": list(dict.fromkeys(orgs)),
        "description": finding["reason"],
        "evidence": evidence,
        "details": json.dumps(details, ensure_ascii=False),
    }
