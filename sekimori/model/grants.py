"""Who may reach what: logon grants of one organisation's principals to systems, credentials held on
hosts for systems, and administrative rights over realms and systems."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sekimori.model.fields import LOGON_TYPE_CODES, HostGlob, Id, LogonType, Regex, Text
from sekimori.model.section import Section


class Grant(Section):
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

    def covers(self, day: date | None) -> bool:
        """Whether the grant can be shown to have held for access seen on ``day``; with no day (a record
        without a time), only a grant that never expires can (as the boundary rules' SQL judges an edge
        without a time: ``expires >= NULL`` is not true)."""
        return self.expires is None if day is None else self.valid_on(day)

    @property
    def logon_type_codes(self) -> list[int]:
        """The Windows logon type numbers of ``logon_types``."""
        return [LOGON_TYPE_CODES[name] for name in self.logon_types]


class Credential(Section):
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


class AdminRight(Section):
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
