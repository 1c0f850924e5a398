"""What the store saw of the cloud: sign-ins to applications and cloud roles assumed, for the graph.

One row per (account, application's system, role's account) with its count and first/last time: the
successful (or not failed) ``authentication`` events of the identity-provider and cloud readers
(:data:`SIGNIN_FORMATS`) that name an application or a role, aggregated in one SQL pass; the model then
classifies each distinct sign-in once (not each event).

Whose the account is: the model's account rules (on the name as logged, then as a UPN), else the one
organisation with accounts in its home tenant; its realm: the rule's, else that home tenant. Which
system: the one whose ``applications`` name the application (sign-ins to applications the model does not
name reach nothing at stake and are left out). Which account a role is in: the account id in the role's
ARN, else the resource tenant. Account keys are those of the logons (``domain\\user``, the domain's
first label, lower case), so a person seen by both is one node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sekimori.model import account_key, role_account, signed_in_account_match

if TYPE_CHECKING:
    from sekimori.model import GroupModel
    from sekimori.store import Store

_S = pa.string()
_TS = pa.timestamp("us", tz="UTC")

# The readers whose authentication events are sign-ins to applications or cloud role assumptions.
SIGNIN_FORMATS = ("entra", "okta", "google_workspace", "cloudtrail")

SIGNIN_SCHEMA = pa.schema(
    [
        ("account", _S),  # node key, as LOGON_SCHEMA's: 'lexcorp\\eve'
        ("account_label", _S),  # as the logs show it: 'eve@lexcorp.com'
        ("account_org", _S),
        ("account_realm", _S),
        ("system", _S),  # the system whose applications name the application signed in to, or null
        ("role_realm", _S),  # the realm (cloud account) of the role assumed, or null
        ("count", pa.int64()),
        ("first_seen", _TS),
        ("last_seen", _TS),
    ]
)

_SIGNINS_SQL = """
SELECT principal, domain, lower(tenant) AS tenant, lower(resource_tenant) AS resource_tenant,
       application, role, count(*) AS count, min(time) AS first_seen, max(time) AS last_seen
FROM events
WHERE category = 'authentication' AND outcome IS DISTINCT FROM 'failure' AND principal IS NOT NULL
  AND source_format IN ({formats}) AND (application IS NOT NULL OR role IS NOT NULL)
GROUP BY ALL
ORDER BY ALL  -- an account's label is its first row's: the same whatever order the threads gave
"""


def empty_signins() -> pa.Table:
    return pa.table({n: [] for n in SIGNIN_SCHEMA.names}, schema=SIGNIN_SCHEMA)


def observed_signins(store: Store, model: GroupModel) -> pa.Table:
    """The sign-ins and role assumptions seen in ``store``, in :data:`SIGNIN_SCHEMA`."""
    con = store.connect()
    try:
        sql = _SIGNINS_SQL.format(formats=", ".join(f"'{f}'" for f in SIGNIN_FORMATS))
        rows = con.sql(sql).to_arrow_table().to_pylist()
    finally:
        con.close()
    return classify_signins(model, rows)


def classify_signins(model: GroupModel, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows of (principal, domain, tenant, resource_tenant, application, role, count, first_seen,
    last_seen) as :data:`SIGNIN_SCHEMA`, merged per (account, system, role's realm)."""
    realm_of_tenant = {t: r.id for r in model.realms for t in r.tenant_ids}
    members = {r.id: list(r.shared_by) for r in model.realms}
    system_of_application = {a: s.id for s in model.systems for a in s.applications}
    merged: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
    for row in rows:
        home = realm_of_tenant.get((row["tenant"] or "").lower())
        key, label, org, realm = _account(model, row["principal"], row["domain"], home, members)
        application = (row["application"] or "").strip().casefold()
        system = system_of_application.get(application)
        role_tenant = role_account(row["role"]) or row["resource_tenant"]
        role_realm = realm_of_tenant.get((role_tenant or "").lower()) if row["role"] else None
        if system is None and role_realm is None:
            continue  # nothing the model knows of was reached
        found = merged.get((key, system, role_realm))
        if found is None:
            merged[(key, system, role_realm)] = {
                "account": key,
                "account_label": label,
                "account_org": org,
                "account_realm": realm,
                "system": system,
                "role_realm": role_realm,
                "count": row["count"],
                "first_seen": row["first_seen"],
                "last_seen": row["last_seen"],
            }
        else:
            found["count"] += row["count"]
            found["first_seen"] = min(found["first_seen"], row["first_seen"])
            found["last_seen"] = max(found["last_seen"], row["last_seen"])
    ordered = [merged[k] for k in sorted(merged, key=lambda k: tuple(v or "" for v in k))]
    return pa.Table.from_pylist(ordered, schema=SIGNIN_SCHEMA)


def _account(
    model: GroupModel, name: str, domain: str | None, home: str | None, members: dict[str, list[str]]
) -> tuple[str, str, str | None, str | None]:
    """(key, label, organisation, realm) of a signed-in principal."""
    match = signed_in_account_match(model.account_matchers, name, domain)
    org = match.org if match else None
    realm = match.realm if match else None
    orgs = members.get(home or "", [])
    if org is None and len(orgs) == 1:
        org = orgs[0]
    if realm is None and home is not None and org in orgs:
        realm = home
    qualified = name if ("\\" in name or "@" in name or not domain) else f"{name}@{domain}"
    key = account_key(qualified)
    return key, qualified, org, realm


__all__ = ["SIGNIN_FORMATS", "SIGNIN_SCHEMA", "classify_signins", "empty_signins", "observed_signins"]
