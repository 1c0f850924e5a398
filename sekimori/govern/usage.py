"""When each grant was last used, and whether with a second factor, from the events in the store: one SQL
query over all grants at once (no loop over grants or events in Python).

A *use* of a grant is an event that did not fail (``outcome`` not ``failure``) whose subject and object
are the grant's:

* subject ``account`` or ``idp_guest``: ``user@domain`` or ``DOMAIN\\user`` matches the event's
  ``principal`` and ``domain``; a bare ``user`` matches the principal in any domain;
* subject ``organisation``: a tenant id or a domain, matching the event's home ``tenant`` or ``domain``;
* subject ``group``: the events hold no group membership, so a group's use is not known (``known`` is
  false);
* object ``application``: the event's ``application``; ``host``: its ``target_host``; ``data_store``: its
  ``database``; ``system``: any of the resource tenant, the application or the target host.

All comparisons ignore case. ``mfa_used`` is true when every use whose log says so used a second factor,
false when at least one did not, and none when no use says (or there was no use).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sekimori.govern.records import GrantRecord, ObjectKind, SubjectKind

if TYPE_CHECKING:
    from sekimori.store import Store

# The event columns an object kind is compared with (the key prefixes of the query below).
OBJECT_KEYS = {
    ObjectKind.application: ("app",),
    ObjectKind.host: ("host",),
    ObjectKind.data_store: ("db",),
    ObjectKind.system: ("tenant", "app", "host"),
}


@dataclass(frozen=True)
class GrantUsage:
    grant: str
    known: bool  # false: the events cannot tell (a group's members are not in them)
    uses: int = 0
    last_used: datetime | None = None
    with_mfa: int = 0
    without_mfa: int = 0
    last_with_mfa: datetime | None = None

    @property
    def mfa_unknown(self) -> int:
        return self.uses - self.with_mfa - self.without_mfa

    @property
    def mfa_used(self) -> bool | None:
        if self.without_mfa:
            return False
        return True if self.with_mfa else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "grant": self.grant,
            "known": self.known,
            "uses": self.uses,
            "last_used": self.last_used,
            "with_mfa": self.with_mfa,
            "without_mfa": self.without_mfa,
            "mfa_unknown": self.mfa_unknown,
            "mfa_used": self.mfa_used,
            "last_with_mfa": self.last_with_mfa,
        }


def subject_key(kind: SubjectKind, subject: str) -> str | None:
    """The key an event's subject must have for the grant (see the query's ``subjects``)."""
    text = subject.strip().casefold()
    if kind is SubjectKind.group:
        return None
    if kind is SubjectKind.organisation:
        return "org:" + text
    if "\\" in text:
        domain, _, user = text.partition("\\")
        return f"acct:{user}@{domain}"
    if "@" in text.strip("@"):
        user, _, domain = text.rpartition("@")
        return f"acct:{user}@{domain}"
    return "user:" + text


def _match_table(grants: Sequence[GrantRecord]) -> pa.Table:
    """One row per (grant, subject key, object key): what an event must show to be a use."""
    ids, subjects, objects = [], [], []
    for grant in grants:
        key = subject_key(grant.subject_kind, grant.subject)
        if key is None:
            continue
        for prefix in OBJECT_KEYS[grant.object_kind]:
            ids.append(grant.id)
            subjects.append(key)
            objects.append(f"{prefix}:{grant.object.strip().casefold()}")
    return pa.table(
        {"grant_id": ids, "skey": subjects, "okey": objects},
        schema=pa.schema([("grant_id", pa.string()), ("skey", pa.string()), ("okey", pa.string())]),
    )


# Each event is given its subject keys and object keys (one row per key), then joined on equality with
# the grants' keys: hash joins, whatever the number of grants. count(DISTINCT uid): an event reached by
# two keys of one grant (a system named like its application) is one use.
USAGE_SQL = """
WITH e AS (
    SELECT uid, time, mfa_used, lower(principal) AS p, lower(domain) AS d, lower(tenant) AS t,
           lower(resource_tenant) AS rt, lower(application) AS app, lower(target_host) AS th,
           lower("database") AS db
    FROM events
    WHERE outcome IS DISTINCT FROM 'failure'
),
subjects AS (
    SELECT uid, 'acct:' || p || '@' || d AS skey FROM e WHERE p IS NOT NULL AND d IS NOT NULL
    UNION ALL SELECT uid, 'user:' || p FROM e WHERE p IS NOT NULL
    UNION ALL SELECT uid, 'org:' || t FROM e WHERE t IS NOT NULL
    UNION ALL SELECT uid, 'org:' || d FROM e WHERE d IS NOT NULL
),
objects AS (
    SELECT uid, 'tenant:' || rt AS okey FROM e WHERE rt IS NOT NULL
    UNION ALL SELECT uid, 'app:' || app FROM e WHERE app IS NOT NULL
    UNION ALL SELECT uid, 'host:' || th FROM e WHERE th IS NOT NULL
    UNION ALL SELECT uid, 'db:' || db FROM e WHERE db IS NOT NULL
),
uses AS (
    SELECT DISTINCT g.grant_id, s.uid
    FROM grant_keys AS g
    JOIN subjects AS s ON s.skey = g.skey
    JOIN objects AS o ON o.uid = s.uid AND o.okey = g.okey
)
SELECT u.grant_id,
       count(*) AS uses,
       max(e.time) AS last_used,
       count(*) FILTER (WHERE e.mfa_used) AS with_mfa,
       count(*) FILTER (WHERE NOT e.mfa_used) AS without_mfa,
       max(e.time) FILTER (WHERE e.mfa_used) AS last_with_mfa
FROM uses AS u JOIN e ON e.uid = u.uid
GROUP BY u.grant_id
"""


def grant_usage(grants: Sequence[GrantRecord], store: Store) -> dict[str, GrantUsage]:
    """Per grant id: its uses in ``store`` (see the module docstring)."""
    keys = _match_table(grants)
    found: dict[str, dict[str, Any]] = {}
    if keys.num_rows and store.event_files():
        con = store.connect(sandbox=True)
        try:
            con.register("grant_keys", keys)
            for row in con.sql(USAGE_SQL).to_arrow_table().to_pylist():
                found[row["grant_id"]] = row
        finally:
            con.close()
    usage = {}
    for grant in grants:
        row = found.get(grant.id)
        known = grant.subject_kind is not SubjectKind.group
        if row is None:
            usage[grant.id] = GrantUsage(grant.id, known)
            continue
        usage[grant.id] = GrantUsage(
            grant.id,
            known,
            int(row["uses"]),
            row["last_used"],
            int(row["with_mfa"]),
            int(row["without_mfa"]),
            row["last_with_mfa"],
        )
    return usage
