"""Who signed in where, for the sign-in rules and the sign-in posture: the model's tenants and
applications looked up by the names identity-provider and cloud logs use, and the organisation of a
signed-in account and of the resource it reached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sekimori.model import GroupModel, role_account, signed_in_account_match


@dataclass(frozen=True)
class TenantDirectory:
    """The model's tenants and applications, looked up by the names the logs use (lower case)."""

    realm_of_tenant: dict[str, str]
    realm_orgs: dict[str, list[str]]
    realm_owner: dict[str, str | None]
    system_of_application: dict[str, str]
    system_owner: dict[str, str]
    crown_jewels: frozenset[str]

    @classmethod
    def of(cls, model: GroupModel) -> TenantDirectory:
        return cls(
            realm_of_tenant={t: r.id for r in model.realms for t in r.tenant_ids},
            realm_orgs={r.id: list(r.shared_by) for r in model.realms},
            realm_owner={
                r.id: r.owner or (r.shared_by[0] if len(r.shared_by) == 1 else None) for r in model.realms
            },
            system_of_application={a: s.id for s in model.systems for a in s.applications},
            system_owner={s.id: s.owner for s in model.systems},
            crown_jewels=frozenset(s.id for s in model.systems if s.crown_jewel),
        )


def signin_account_org(model: GroupModel, directory: TenantDirectory, row: dict[str, Any]) -> str | None:
    """Whose the signed-in account is: the model's account rules (on the name as logged, then as a UPN),
    else the one organisation with accounts in its home tenant."""
    match = signed_in_account_match(model.account_matchers, row["principal"], row["domain"])
    if match is not None:
        return match.org
    realm = directory.realm_of_tenant.get(row["tenant"] or "")
    orgs = directory.realm_orgs.get(realm or "", [])
    return orgs[0] if len(orgs) == 1 else None


def signin_resource(
    directory: TenantDirectory, row: dict[str, Any]
) -> tuple[str | None, str | None, str | None]:
    """(system, organisation, realm) the sign-in reaches."""
    system = directory.system_of_application.get(row["application"] or "")
    tenant = role_account(row["role"]) or row["resource_tenant"]
    realm = directory.realm_of_tenant.get(tenant or "")
    if system is not None:
        return system, directory.system_owner[system], realm
    return None, directory.realm_owner.get(realm or ""), realm
