"""The trust model of a corporate group, as pydantic models: :class:`GroupModel` and its sections
(:mod:`~sekimori.model.organisations`, :mod:`~sekimori.model.network`, :mod:`~sekimori.model.systems`,
:mod:`~sekimori.model.grants`).

The descriptions of the fields are the reference for the YAML format: they flow into the JSON Schema
(``group.schema.json``) that editors use to complete and check model files.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator
from pydantic_core import ValidationError

from sekimori.model.fields import Text
from sekimori.model.grants import AdminRight, Credential, Grant
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
from sekimori.model.network import Flow, HostRule, Zone
from sekimori.model.organisations import AccountRule, Contract, Organisation, Realm
from sekimori.model.references import reference_errors
from sekimori.model.regex import ModelRegex, glob_to_regex, model_regex
from sekimori.model.section import Section
from sekimori.model.systems import DataStore, System

if TYPE_CHECKING:
    import pyarrow as pa

FORMAT_VERSION = 1


class GroupModel(Section):
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
        errors = list(reference_errors(self))
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
