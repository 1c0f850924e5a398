"""The trust model of a corporate group, as pydantic models.

The descriptions below are the reference for the YAML format: they flow into the JSON Schema
(``group.schema.json``) that editors use to complete and check model files.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from sekimori.model.fields import (
    LOGON_TYPE_CODES,
    CidrList,
    Count,
    Country,
    DomainList,
    HostGlob,
    Id,
    LogonType,
    Ports,
    Regex,
    SidPrefixList,
    Text,
    UpnSuffixList,
    ZoneCidrs,
)
from sekimori.model.matching import (
    AccountMatcher,
    HostMatcher,
    clean_host,
    compile_account_rules,
    compile_host_rules,
    first_account_match,
    first_host_match,
    host_name_matches,
    parse_ip,
    split_principal,
)
from sekimori.model.regex import ModelRegex, glob_to_regex, model_regex

if TYPE_CHECKING:
    import pyarrow as pa

FORMAT_VERSION = 1
DatabaseEngine = Literal["mssql", "postgresql", "mysql", "oracle", "mongodb", "redis"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- organisations and contracts ----


class Organisation(_Section):
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


class Contract(_Section):
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


class Realm(_Section):
    """An identity realm: where accounts live and are authenticated."""

    id: Id = Field(description="Unique id of the realm.")
    kind: Literal["ad_domain", "idp_tenant", "ldap", "local"] = Field(
        description="ad_domain: an Active Directory domain; idp_tenant: a cloud identity provider tenant "
        "(Entra ID, Okta…); ldap: an LDAP directory; local: the local accounts of machines."
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
    systems: list[Id] = Field(
        default_factory=list,
        description="Ids of the systems that run the realm (domain controllers, the IdP): whoever controls "
        "them can issue or take over any credential of the realm.",
    )
    description: str | None = Field(default=None, description="Free text.")


class AccountRule(_Section):
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


# --- networks ----


class Zone(_Section):
    """A network zone: a set of networks with one owner."""

    id: Id = Field(description="Unique id of the zone.")
    name: Text = Field(description="Human-readable name.")
    org: Id = Field(description="Id of the organisation that owns the zone.")
    cidrs: ZoneCidrs = Field(
        default_factory=list,
        description="Networks of the zone (IPv4 or IPv6 CIDR, one or a list). An address that no host rule "
        "matches is classified into the zone with the most specific network containing it.",
    )
    description: str | None = Field(default=None, description="Free text.")


class HostRule(_Section):
    """Tells whose a host is and in which zone it sits. Rules are tried in order and the first that
    matches wins; a rule with both matchers needs both to match."""

    org: Id = Field(description="Id of the organisation that owns matching hosts.")
    zone: Id = Field(description="Id of the zone matching hosts are in.")
    name_pattern: Regex | None = Field(
        default=None,
        description="Regular expression searched in the host name as given and in its first label (short "
        "name), case-insensitive. RE2 syntax (no backreferences or lookarounds).",
    )
    cidr: CidrList | None = Field(
        default=None, description="Network(s) the host address is in (IPv4 or IPv6 CIDR, one or a list)."
    )
    description: str | None = Field(default=None, description="Free text.")

    @model_validator(mode="after")
    def _has_a_matcher(self) -> HostRule:
        if self.name_pattern is None and self.cidr is None:
            raise ValueError("expected at least one matcher: name_pattern or cidr")
        return self


class Flow(_Section):
    """A network flow the firewalls allow between two zones."""

    id: Id = Field(description="Unique id of the flow.")
    from_zone: Id = Field(alias="from", description="Id of the zone connections start from.")
    to_zone: Id = Field(alias="to", description="Id of the zone connections go to.")
    ports: Annotated[Ports, PlainSerializer(lambda ports: "any" if ports is None else ports)] = Field(
        description="Destination ports: a list of port numbers, one port, or 'any'."
    )
    protocol: Literal["tcp", "udp", "any"] = Field(description="Transport protocol.")
    bidirectional: bool = Field(
        default=False,
        description="Whether connections are also allowed from 'to' to 'from' (from its to_hosts to its "
        "from_hosts when it names them).",
    )
    from_hosts: list[HostGlob] = Field(
        default_factory=list,
        description="Host names or globs the flow is restricted to as sources (none: any host of 'from').",
    )
    to_hosts: list[HostGlob] = Field(
        default_factory=list,
        description="Host names or globs the flow is restricted to as destinations (none: any host of 'to').",
    )
    description: str | None = Field(default=None, description="Free text: why the flow exists.")


# --- systems, access and data ----


class System(_Section):
    """A system (application or service) and the hosts it runs on."""

    id: Id = Field(description="Unique id of the system.")
    name: Text = Field(description="Human-readable name.")
    owner: Id = Field(description="Id of the organisation that owns the system.")
    zone: Id = Field(description="Id of the zone the system is in.")
    hosts: list[HostGlob] = Field(
        default_factory=list,
        description="Host names or globs ('*' any characters, '?' one) of the system's hosts, matched "
        "case-insensitively against the full and the short host name.",
    )
    crown_jewel: bool = Field(
        default=False, description="Whether compromise of this system is a top-level risk."
    )
    description: str | None = Field(default=None, description="Free text.")


class Grant(_Section):
    """Permission for one organisation's principals to log on to systems."""

    id: Id = Field(description="Unique id of the grant.")
    org: Id = Field(description="Id of the organisation whose principals are granted access.")
    systems: list[Id] = Field(default_factory=list, description="Ids of the systems the grant covers.")
    hosts: list[HostGlob] = Field(
        default_factory=list,
        description="Host names or globs the grant covers, for hosts outside any system.",
    )
    logon_types: list[LogonType] = Field(
        default_factory=list,
        description="How principals may log on: interactive, network, batch, service, remote_interactive, "
        "… or the Windows logon type numbers (2, 3, 4, 5, 10, …). Interactive kinds give control of the "
        "hosts and their cached credentials; a network logon gives control only with an admin right on "
        "the system, else a session (its file shares).",
    )
    access: list[Literal["application", "database"]] = Field(
        default_factory=list,
        description="Access other than a logon: 'application' (using the system's application: its data as "
        "the user, not its hosts) and 'database' (a database credential: the data of its database stores).",
    )
    via_realm: Id | None = Field(default=None, description="Id of the realm the logons authenticate through.")
    expires: date | None = Field(default=None, description="Last day the grant is valid (YYYY-MM-DD).")
    owner: Text = Field(description="Person or role accountable for the grant.")
    reviewed: date | None = Field(default=None, description="When the grant was last reviewed (YYYY-MM-DD).")
    description: str | None = Field(default=None, description="Free text: why the access is needed.")

    @field_validator("logon_types")
    @classmethod
    def _without_repeats(cls, logon_types: list[str]) -> list[str]:
        return list(dict.fromkeys(logon_types))  # 'network' and 3 are the same logon type

    @model_validator(mode="after")
    def _covers_something(self) -> Grant:
        if not self.systems and not self.hosts:
            raise ValueError("expected at least one system id in 'systems' or one host in 'hosts'")
        if not self.logon_types and not self.access:
            raise ValueError("expected at least one logon type in 'logon_types' or one kind in 'access'")
        return self

    def valid_on(self, day: date | None) -> bool:
        """Whether the grant still holds on ``day`` (always, when no day is given)."""
        return day is None or self.expires is None or self.expires >= day

    @property
    def logon_type_codes(self) -> list[int]:
        """The Windows logon type numbers of ``logon_types``."""
        return [LOGON_TYPE_CODES[name] for name in self.logon_types]


class PersonalData(_Section):
    """Personal data held in a data store, per category of data subject."""

    category: Literal["user", "business_partner", "employee", "other"] = Field(
        description="Whose data: users (customers), business partners, employees, or other people."
    )
    items: list[Text] = Field(
        min_length=1, description="What is held: name, email, internal_id, address, phone, …"
    )
    records: Count = Field(description="Number of people (or records) held.")
    secrecy_of_communications: bool = Field(
        default=False, description="Whether it includes communications content protected as 通信の秘密."
    )
    sensitive: bool = Field(
        default=False, description="Whether it includes 要配慮個人情報 (special care-required data)."
    )
    financial: bool = Field(
        default=False,
        description="Whether it includes financial data (card numbers, bank accounts) whose leak is to be "
        "reported (under APPI when it may be misused for property damage).",
    )
    tables: list[str] = Field(default_factory=list, description="Database tables holding the data.")
    paths: list[str] = Field(default_factory=list, description="File or object paths holding the data.")
    population: Id | None = Field(
        default=None,
        description="Id of the set of people these records are about. Entries with the same population and "
        "category (in any data store) hold records of the same people, each a subset of the largest, so "
        "they are counted once. Default: '<data store id>.<category>', the store's own people.",
    )


class DataStore(_Section):
    """A database, file share, SaaS or object store, and the personal data in it."""

    id: Id = Field(description="Unique id of the data store.")
    name: Text = Field(description="Human-readable name.")
    system: Id = Field(description="Id of the system the data store belongs to.")
    owner: Id = Field(description="Id of the organisation that owns the data store.")
    kind: Literal["database", "file_share", "saas", "object_store"] = Field(
        description="What kind of store it is."
    )
    hosts: list[HostGlob] = Field(
        default_factory=list, description="Host names or globs of the store's hosts."
    )
    engine: DatabaseEngine | None = Field(
        default=None,
        description="Database engine (mssql, postgresql, mysql, oracle, mongodb, redis): the port a "
        "database credential needs. None: any of them.",
    )
    personal_data: list[PersonalData] = Field(default_factory=list, description="Personal data held.")
    description: str | None = Field(default=None, description="Free text.")

    def people(self) -> dict[str, int]:
        """People held per category: the largest entry of each population (entries of one population
        are the same people), summed over the store's populations (80,000 own + 40,000 shared with
        another store are 120,000)."""
        largest: dict[tuple[str, str], int] = {}
        for pd in self.personal_data:
            key = (pd.category, pd.population or f"{self.id}.{pd.category}")
            largest[key] = max(largest.get(key, 0), pd.records)
        out: dict[str, int] = {}
        for (category, _), records in largest.items():
            out[category] = out.get(category, 0) + records
        return out


class Credential(_Section):
    """A credential held on a host for a system: a service account's password in a config file, a
    database connection string, an API key. Whoever controls the host can use it."""

    id: Id = Field(description="Unique id of the credential.")
    on_host: HostGlob = Field(description="Host name or glob of the host(s) holding the credential.")
    for_system: Id = Field(description="Id of the system the credential opens.")
    kind: Literal["interactive", "network_admin", "network", "application", "database"] = Field(
        description="What it opens: 'database' (the system's database stores), 'application' (its "
        "application's data), 'network' (a session), 'network_admin' or 'interactive' (its hosts)."
    )
    description: str | None = Field(default=None, description="Free text.")


class AdminRight(_Section):
    """Administrative rights: principals of an organisation that control a realm or systems."""

    id: Id = Field(description="Unique id of the admin right.")
    org: Id = Field(description="Id of the organisation whose principals hold the right.")
    accounts: Regex | None = Field(
        default=None,
        description="Regular expression searched in the bare user name of the accounts that hold the right "
        "(e.g. '^(administrator|da-.*)$'), case-insensitive; none: any principal of the organisation.",
    )
    realm: Id | None = Field(
        default=None, description="Id of a realm the principals administer (e.g. Domain Admins)."
    )
    systems: list[Id] = Field(
        default_factory=list, description="Ids of the systems the principals administer."
    )
    description: str | None = Field(default=None, description="Free text.")

    @model_validator(mode="after")
    def _covers_something(self) -> AdminRight:
        if self.realm is None and not self.systems:
            raise ValueError("expected a realm or at least one system id in 'systems'")
        return self


# --- the whole model ----


class GroupModel(_Section):
    """The trust model of a corporate group: its organisations, their contracts, identity realms,
    networks, systems, grants and the personal data at stake."""

    version: Literal[1] = Field(description="Version of the model file format; currently 1.")
    group: Text = Field(description="Name of the corporate group.")
    description: str | None = Field(default=None, description="Free text.")
    organisations: list[Organisation] = Field(
        min_length=1, description="Companies of the group and contractors."
    )
    contracts: list[Contract] = Field(default_factory=list, description="Outsourcing contracts between them.")
    realms: list[Realm] = Field(default_factory=list, description="Identity realms.")
    accounts: list[AccountRule] = Field(
        default_factory=list, description="Ordered rules telling whose an account is; the first match wins."
    )
    zones: list[Zone] = Field(default_factory=list, description="Network zones.")
    hosts: list[HostRule] = Field(
        default_factory=list, description="Ordered rules telling whose a host is; the first match wins."
    )
    flows: list[Flow] = Field(default_factory=list, description="Allowed network flows between zones.")
    systems: list[System] = Field(default_factory=list, description="Systems and their hosts.")
    grants: list[Grant] = Field(default_factory=list, description="Who may log on to which systems, and how.")
    data_stores: list[DataStore] = Field(
        default_factory=list, description="Data stores and their personal data."
    )
    admin_rights: list[AdminRight] = Field(
        default_factory=list, description="Who administers realms and systems."
    )
    credentials: list[Credential] = Field(
        default_factory=list, description="Service credentials held on hosts for systems."
    )

    @model_validator(mode="after")
    def _references_resolve(self) -> GroupModel:
        errors = list(_reference_errors(self))
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    # --- classification ---

    @cached_property
    def account_matchers(self) -> list[AccountMatcher]:
        """The ``accounts`` rules compiled, in order."""
        return compile_account_rules(self.accounts)

    @cached_property
    def host_matchers(self) -> list[HostMatcher]:
        """The ``hosts`` rules compiled, in order, followed by the zones' networks (most specific first)."""
        return compile_host_rules(self.hosts, self.zones)

    def classify_account(
        self, name: str | None, domain: str | None = None, sid: str | None = None
    ) -> str | None:
        """Id of the organisation an account belongs to, or None if no rule matches.

        ``name`` may be a bare user name, ``DOMAIN\\user`` or ``user@upn.suffix``; ``domain`` (if
        given) takes precedence over a domain in ``name``. Empty values and ``-`` count as missing.
        """
        match = first_account_match(self.account_matchers, split_principal(name, domain, sid))
        return match.org if match is not None else None

    def classify_host(self, name: str | None = None, ip: str | None = None) -> tuple[str | None, str | None]:
        """(organisation id, zone id) of a host given by name (short or FQDN) and/or IP address;
        (None, None) if no rule matches."""
        match = first_host_match(self.host_matchers, clean_host(name), parse_ip(ip))
        return (match.org, match.zone) if match is not None else (None, None)

    def systems_for_host(self, name: str) -> list[str]:
        """Ids of the systems whose ``hosts`` match a host name."""
        host = clean_host(name)
        if host is None:
            return []
        return [
            system_id
            for system_id, patterns in self.system_host_patterns.items()
            if any(host_name_matches(pattern, host) for pattern in patterns)
        ]

    @cached_property
    def system_host_patterns(self) -> dict[str, list[ModelRegex]]:
        """The ``hosts`` globs of each system, as compiled regexes."""
        return {system.id: [model_regex(glob_to_regex(g)) for g in system.hosts] for system in self.systems}

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> GroupModel:
        """A copy (see pydantic), without the compiled rules, which ``update`` may have made stale."""
        copy = super().model_copy(update=update, deep=deep)
        for name in _COMPILED:
            copy.__dict__.pop(name, None)
        return copy

    # --- export ---

    def tables(self) -> dict[str, pa.Table]:
        """The model as Arrow tables (see :mod:`sekimori.model.tables`) for joining with events."""
        from sekimori.model.tables import model_tables

        return model_tables(self)


# The cached_property attributes of GroupModel.
_COMPILED = ("account_matchers", "host_matchers", "system_host_patterns")


# --- cross-references ----

_SECTIONS_WITH_IDS = (
    "organisations",
    "contracts",
    "realms",
    "zones",
    "flows",
    "systems",
    "grants",
    "data_stores",
    "admin_rights",
    "credentials",
)


def _reference_errors(model: GroupModel) -> Iterator[InitErrorDetails]:
    for section in _SECTIONS_WITH_IDS:
        first_index: dict[str, int] = {}
        for index, item in enumerate(getattr(model, section)):
            if item.id in first_index:
                yield _error(
                    "duplicate_id",
                    (section, index, "id"),
                    f"duplicate id {item.id!r}: {section}[{first_index[item.id]}] already uses it",
                    item.id,
                )
            else:
                first_index[item.id] = index

    orgs = _Known("organisation", [o.id for o in model.organisations])
    realms = _Known("realm", [r.id for r in model.realms])
    zones = _Known("zone", [z.id for z in model.zones])
    systems = _Known("system", [s.id for s in model.systems])

    for i, contract in enumerate(model.contracts):
        yield from orgs.check(("contracts", i, "entrusting"), contract.entrusting)
        yield from orgs.check(("contracts", i, "entrusted"), contract.entrusted)
        yield from systems.check_all(("contracts", i, "systems"), contract.systems)
    for i, realm in enumerate(model.realms):
        yield from orgs.check_all(("realms", i, "shared_by"), realm.shared_by)
        yield from orgs.check(("realms", i, "owner"), realm.owner)
        yield from systems.check_all(("realms", i, "systems"), realm.systems)
    for i, account in enumerate(model.accounts):
        yield from orgs.check(("accounts", i, "org"), account.org)
        yield from realms.check(("accounts", i, "realm"), account.realm)
    for i, zone in enumerate(model.zones):
        yield from orgs.check(("zones", i, "org"), zone.org)
    for i, host in enumerate(model.hosts):
        yield from orgs.check(("hosts", i, "org"), host.org)
        yield from zones.check(("hosts", i, "zone"), host.zone)
    for i, flow in enumerate(model.flows):
        yield from zones.check(("flows", i, "from"), flow.from_zone)
        yield from zones.check(("flows", i, "to"), flow.to_zone)
    for i, system in enumerate(model.systems):
        yield from orgs.check(("systems", i, "owner"), system.owner)
        yield from zones.check(("systems", i, "zone"), system.zone)
    for i, grant in enumerate(model.grants):
        yield from orgs.check(("grants", i, "org"), grant.org)
        yield from systems.check_all(("grants", i, "systems"), grant.systems)
        yield from realms.check(("grants", i, "via_realm"), grant.via_realm)
    for i, store in enumerate(model.data_stores):
        yield from systems.check(("data_stores", i, "system"), store.system)
        yield from orgs.check(("data_stores", i, "owner"), store.owner)
    for i, right in enumerate(model.admin_rights):
        yield from orgs.check(("admin_rights", i, "org"), right.org)
        yield from realms.check(("admin_rights", i, "realm"), right.realm)
        yield from systems.check_all(("admin_rights", i, "systems"), right.systems)
    for i, credential in enumerate(model.credentials):
        yield from systems.check(("credentials", i, "for_system"), credential.for_system)


class _Known:
    """The ids defined in one section, to check references against."""

    def __init__(self, what: str, ids: Sequence[str]) -> None:
        self.what = what
        self.ids = ids
        self.id_set = set(ids)

    def check(self, loc: tuple[str | int, ...], value: str | None) -> Iterator[InitErrorDetails]:
        if value is not None and value not in self.id_set:
            yield _error("unknown_reference", loc, self._unknown(value), value)

    def check_all(self, loc: tuple[str | int, ...], values: Sequence[str]) -> Iterator[InitErrorDetails]:
        for index, value in enumerate(values):
            yield from self.check((*loc, index), value)

    def _unknown(self, value: str) -> str:
        message = f"unknown {self.what} {value!r}"
        close = difflib.get_close_matches(value, self.ids, n=1)
        if close:
            return f"{message}: did you mean {close[0]!r}?"
        if not self.ids:
            return f"{message}: no {self.what} is defined"
        if len(self.ids) <= 8:
            return f"{message}: expected one of {', '.join(self.ids)}"
        return message


def _error(error_type: str, loc: tuple[str | int, ...], message: str, value: Any) -> InitErrorDetails:
    # The message goes through the context so that braces in it are not read as placeholders.
    return InitErrorDetails(
        type=PydanticCustomError(error_type, "{message}", {"message": message}), loc=loc, input=value
    )
