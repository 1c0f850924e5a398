"""Cross-references of a group model: every id unique in its section, every reference to a defined id
(with a close match suggested), reported as pydantic errors at the referring field."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic_core import InitErrorDetails, PydanticCustomError

if TYPE_CHECKING:
    from sekimori.model.group import GroupModel

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


def reference_errors(model: GroupModel) -> Iterator[InitErrorDetails]:
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
        yield from realms.check(("systems", i, "tenant"), system.tenant)
    yield from _tenant_errors(model)
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


def _tenant_errors(model: GroupModel) -> Iterator[InitErrorDetails]:
    """A tenant id names one realm: the same id in two realms would make a sign-in's realm ambiguous."""
    first: dict[str, str] = {}
    for i, realm in enumerate(model.realms):
        for j, tenant in enumerate(realm.tenant_ids):
            if tenant in first and first[tenant] != realm.id:
                message = f"tenant id {tenant!r} is already realm {first[tenant]!r}'s"
                yield _error("duplicate_tenant", ("realms", i, "tenant_ids", j), message, tenant)
            first.setdefault(tenant, realm.id)


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
