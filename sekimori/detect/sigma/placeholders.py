"""Values for Sigma ``|expand`` placeholders drawn from the group model, so that a rule written for
"our domain controllers" or "our tenants" runs on this group without hand-kept lists:

- ``known_cdcs`` (SigmaHQ's name for the domain controllers a certificate request may legitimately
  come from): the hosts of the systems that run an AD domain realm (``realms[].systems``); host globs
  stay globs, which Sigma reads as the same wildcards (``*``, ``?``);
- ``home_tenant_ids``: the tenant ids of the group's identity-provider tenants;
- ``group_cloud_accounts``: the account ids of the group's cloud accounts;
- ``group_tenant_ids``: both.

A placeholder with no value in the model is left out (the rule then still fails to compile, saying
so); values in the detector's settings replace the model's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sekimori.model import GroupModel


def model_placeholders(model: GroupModel | None) -> dict[str, list[str]]:
    if model is None:
        return {}
    systems = {s.id: s for s in model.systems}
    dcs = [
        host
        for realm in model.realms
        if realm.kind == "ad_domain"
        for sid in realm.systems
        if sid in systems
        for host in systems[sid].hosts
    ]
    tenants = [t for r in model.realms if r.kind == "idp_tenant" for t in r.tenant_ids]
    accounts = [t for r in model.realms if r.kind == "cloud_account" for t in r.tenant_ids]
    values = {
        "known_cdcs": dcs,
        "home_tenant_ids": tenants,
        "group_cloud_accounts": accounts,
        "group_tenant_ids": tenants + accounts,
    }
    return {k: list(dict.fromkeys(str(x) for x in v)) for k, v in values.items() if v}


def placeholders_for(
    model: GroupModel | None, settings: Mapping[str, list[str]] | None
) -> dict[str, list[str]] | None:
    """The model's placeholder values with the settings' on top; None when there are none."""
    merged = {**model_placeholders(model), **{k: list(v) for k, v in (settings or {}).items()}}
    return merged or None
