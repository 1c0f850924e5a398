"""Containment actions and the connectors that carry them out: the typed interface between them.

An :class:`Action` is what a playbook proposes (reset a password, block a route…) for one target. A
connector plugin (``sekimori/respond/connectors/``, registered with :data:`CONNECTORS`) turns it into a
:class:`Plan` (the exact changes, without making them: the dry-run), executes it, verifies that it took
effect, and rolls it back. The case workflow (approval by a second person, the audit trail) lives in
:mod:`sekimori.respond.cases`; connectors know nothing of it.

Credentials never travel in an Action: a connector reads its own settings from the environment or a
secrets file (:func:`connector_settings`), and nothing it logs or returns contains them.
"""

from __future__ import annotations

import os
import tomllib
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from sekimori.plugins import Registry


class ActionKind(StrEnum):
    reset_password = "reset_password"
    disable_account = "disable_account"
    revoke_sessions = "revoke_sessions"  # force re-login
    block_route = "block_route"  # traffic from one network to another
    isolate_host = "isolate_host"
    remove_grant = "remove_grant"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    target: str  # an account ('CORP\\alice' or a DN), a host, a route 'SRC_CIDR->DST_CIDR[:port]', a grant id
    reason: str = ""  # why: the scope hop or alert that proposed it
    params: dict[str, Any] = field(default_factory=dict)  # kind-specific, never a secret

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": str(self.kind)}


@dataclass(frozen=True)
class Plan:
    """What executing an action would change, exactly, as a connector sees it (the dry-run)."""

    action: Action
    connector: str
    changes: list[str]  # one line per change, e.g. "replace userPassword of uid=alice,ou=people,dc=ex"
    reversible: bool = True
    state: dict[str, Any] = field(default_factory=dict)  # what rollback needs (no secrets)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str
    state: dict[str, Any] = field(default_factory=dict)  # after execute: what rollback needs (no secrets)


class ConnectorError(RuntimeError):
    """A connector could not act: down, refused, misconfigured. The message names the connector and what
    failed, never a credential. ``state``: what was applied before the failure (for rollback), if any."""

    def __init__(self, message: str, state: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.state = state


class Connector(ABC):
    """A containment connector plugin: one system it acts on (a directory, a firewall, a webhook)."""

    name: ClassVar[str]
    description: ClassVar[str]
    kinds: ClassVar[frozenset[ActionKind]]  # the actions it can carry out

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = settings if settings is not None else connector_settings(self.name)

    @abstractmethod
    def plan(self, action: Action) -> Plan:
        """The exact changes, without making them (reads the current state where it needs to)."""

    @abstractmethod
    def execute(self, plan: Plan) -> Outcome:
        """Make the changes; on a partial failure undo what was done and raise ConnectorError."""

    @abstractmethod
    def verify(self, plan: Plan, outcome: Outcome) -> Outcome:
        """Check, independently of execute's own report, that the change took effect."""

    @abstractmethod
    def rollback(self, plan: Plan, outcome: Outcome) -> Outcome:
        """Undo an executed plan."""

    def check(self) -> None:  # noqa: B027 - optional hook
        """Raise ConnectorError if the connector cannot reach what it acts on."""


CONNECTORS: Registry[type[Connector]] = Registry(
    "connector", "sekimori.respond.connectors", "sekimori.connectors"
)
register = CONNECTORS.register


def connector_settings(name: str, secrets_file: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Settings of connector ``name``: the ``[name]`` table of the secrets file (``SEKIMORI_SECRETS``,
    TOML, which must not be readable by others), overridden by ``SEKIMORI_<NAME>_<KEY>`` environment
    variables (e.g. ``SEKIMORI_LDAP_BIND_PASSWORD``). Never from the command line."""
    settings: dict[str, Any] = {}
    path = secrets_file or os.environ.get("SEKIMORI_SECRETS")
    if path:
        file = Path(path)
        try:
            mode = file.stat().st_mode
        except OSError as exc:
            raise ConnectorError(f"{file}: secrets file: {exc.strerror or exc}") from None
        if mode & 0o077:
            raise ConnectorError(f"{file}: secrets file must not be readable by group or others (chmod 600)")
        try:
            with file.open("rb") as fh:
                settings.update(tomllib.load(fh).get(name, {}))
        except tomllib.TOMLDecodeError:
            # The parser's message may quote the file (a secret): say no more than that it is invalid.
            raise ConnectorError(f"{file}: secrets file is not valid TOML") from None
    prefix = f"SEKIMORI_{name.upper()}_"
    for key, value in os.environ.items():
        if key.startswith(prefix):
            settings[key[len(prefix) :].lower()] = value
    return settings


def redact(text: str, settings: dict[str, Any]) -> str:
    """``text`` with every secret-looking setting value replaced (for messages and logs)."""
    for key, value in settings.items():
        secret = any(w in key for w in ("password", "secret", "token", "key")) and not key.endswith(
            ("_dir", "_path", "_file")
        )
        # A very short value would blank out unrelated text; such a secret is worthless anyway.
        if secret and isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, "***")
    return text
