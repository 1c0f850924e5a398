"""The parties of a group and their identities: organisations, the contracts between them, the identity
realms their accounts live in, and the ordered rules telling whose an account is."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sekimori.model.fields import (
    Country,
    DomainList,
    Id,
    Regex,
    SidPrefixList,
    TenantIdList,
    Text,
    UpnSuffixList,
)
from sekimori.model.section import Section


class Organisation(Section):
    """A company of the group, or an outside company that works for it."""

    id: Id = Field(description="Unique id that the rest of the model uses to refer to this organisation.")
    name: Text = Field(description="Legal or usual name, e.g. 'Parent Corp'.")
    kind: Literal["parent", "subsidiary", "affiliate", "contractor"] = Field(
        description="parent: the group's parent company; subsidiary: controlled by the parent; "
        "affiliate: a related company outside the parent's control; contractor: an outside company "
        "working under a contract."
    )
    country: Country = Field(
        description="Where the organisation is based: ISO 3166-1 alpha-2 code (JP, KR, …)."
    )
    description: str | None = Field(default=None, description="Free text.")


class Contract(Section):
    """An outsourcing contract (業務委託契約): ``entrusting`` (委託元) has ``entrusted`` (委託先) do work."""

    id: Id = Field(description="Unique id of the contract.")
    entrusting: Id = Field(description="Organisation id of the entrusting party (委託元).")
    entrusted: Id = Field(description="Organisation id of the entrusted party (委託先).")
    scope: Text = Field(description="What the entrusted party does, in words.")
    start: date = Field(description="First day of the contract (YYYY-MM-DD).")
    end: date | None = Field(
        default=None, description="Last day of the contract (YYYY-MM-DD); none if open-ended."
    )
    systems: list[Id] = Field(default_factory=list, description="Ids of the systems the contract covers.")
    description: str | None = Field(default=None, description="Free text.")

    @field_validator("entrusted")
    @classmethod
    def _not_with_itself(cls, entrusted: str, info: ValidationInfo) -> str:
        if entrusted == info.data.get("entrusting"):
            raise ValueError(
                f"expected an organisation other than the entrusting one, got {entrusted!r} for both"
            )
        return entrusted

    @field_validator("end")
    @classmethod
    def _end_not_before_start(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise ValueError(f"expected an end date on or after the start ({start}), got {end}")
        return end


# --- identities ----


class Realm(Section):
    """An identity realm: where accounts live and are authenticated."""

    id: Id = Field(description="Unique id of the realm.")
    kind: Literal["ad_domain", "idp_tenant", "cloud_account", "ldap", "local"] = Field(
        description="ad_domain: an Active Directory domain; idp_tenant: a cloud identity provider tenant "
        "(Entra ID, Okta, Google Workspace); cloud_account: a cloud account whose users and roles live in "
        "it (an AWS account); ldap: an LDAP directory; local: the local accounts of machines."
    )
    name: Text = Field(
        description="Name of the realm: the AD DNS domain (CORP.EXAMPLE.JP), the tenant's domain, the LDAP "
        "base DN, or the machine for local accounts."
    )
    shared_by: list[Id] = Field(
        min_length=1,
        description="Ids of the organisations that have accounts in this realm. More than one means the "
        "realm is a shared trust boundary.",
    )
    owner: Id | None = Field(default=None, description="Id of the organisation that runs the realm.")
    tenant_ids: TenantIdList = Field(
        default_factory=list,
        description="How sign-in and cloud audit logs name this realm: Entra tenant id (GUID), Okta org "
        "(acme.okta.com), Google Workspace customer id, AWS account id (12 digits). A sign-in whose home "
        "or resource tenant is one of these belongs to this realm.",
    )
    org_unit: str | None = Field(
        default=None, description="The cloud organisation unit the account sits in (AWS OU), informative."
    )
    systems: list[Id] = Field(
        default_factory=list,
        description="Ids of the systems that run the realm (domain controllers, the IdP): whoever controls "
        "them can issue or take over any credential of the realm.",
    )
    description: str | None = Field(default=None, description="Free text.")


class AccountRule(Section):
    """Tells whose an account is. Rules are tried in order and the first that matches wins; a rule
    matches when all of its matchers match (a list-valued matcher when any of its values does)."""

    org: Id = Field(description="Id of the organisation that accounts matching this rule belong to.")
    realm: Id | None = Field(default=None, description="Id of the realm these accounts live in.")
    domain: DomainList | None = Field(
        default=None,
        description="NetBIOS or DNS domain name(s) of the account (CORP, corp.example.jp), case-insensitive; "
        "taken from the domain field of an event or from 'DOMAIN\\user'.",
    )
    upn_suffix: UpnSuffixList | None = Field(
        default=None, description="UPN suffix(es) such as '@aff.example.jp', matched on 'user@suffix' names."
    )
    sid_prefix: SidPrefixList | None = Field(
        default=None,
        description="SID prefix(es) such as 'S-1-5-21-111-222-333' (a domain SID); a prefix ends at a '-'.",
    )
    name_pattern: Regex | None = Field(
        default=None,
        description="Regular expression searched in the bare user name (without domain or UPN suffix), "
        "case-insensitive; anchor it with ^ and $. RE2 syntax (no backreferences or lookarounds).",
    )
    description: str | None = Field(default=None, description="Free text.")

    @model_validator(mode="after")
    def _has_a_matcher(self) -> AccountRule:
        if (
            self.domain is None
            and self.upn_suffix is None
            and self.sid_prefix is None
            and self.name_pattern is None
        ):
            raise ValueError("expected at least one matcher: domain, upn_suffix, sid_prefix or name_pattern")
        return self
