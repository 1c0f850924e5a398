"""Containment proposed from a case's scope, as in the seed incident's response: reset the passwords that
may have been used and force re-login, disable the outside organisations' compromised accounts, isolate
the compromised hosts of outside organisations, and block the routes from their networks into the
organisations whose data was reached.

Each proposal says which connector would carry it out and why (the scope hop). Nothing is executed here:
the case workflow plans (dry-run), has a second person approve, executes and verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sekimori.respond.actions import Action, ActionKind
from sekimori.respond.scope import Scope

if TYPE_CHECKING:
    from sekimori.model import GroupModel

# Which connector carries out which kind, unless configured otherwise.
DEFAULT_CONNECTORS = {
    ActionKind.reset_password: "ldap",
    ActionKind.disable_account: "ldap",
    ActionKind.revoke_sessions: "ldap",
    ActionKind.block_route: "nftables",
    ActionKind.isolate_host: "nftables",
    ActionKind.remove_grant: "webhook",
}


@dataclass(frozen=True)
class Proposal:
    action: Action
    connector: str


def propose_containment(
    scope: Scope,
    model: GroupModel | None = None,
    home: str | None = None,
    host_ips: dict[str, str] | None = None,
) -> list[Proposal]:
    """The containment steps for ``scope``. ``home``: the organisation whose systems are protected
    (default: the model's parent); ``host_ips``: host key → address, for isolating hosts by address."""
    if home is None and model is not None:
        home = next((o.id for o in model.organisations if o.kind == "parent"), None)
    host_ips = host_ips or {}
    out: list[Proposal] = []

    def add(kind: ActionKind, target: str, reason: str, **params: object) -> None:
        action = Action(kind=kind, target=target, reason=reason, params=dict(params))
        if all(p.action != action for p in out):
            out.append(Proposal(action, DEFAULT_CONNECTORS[kind]))

    for account in scope.accounts:
        outside = home is not None and account.org is not None and account.org != home
        add(ActionKind.reset_password, account.label, account.via)
        add(ActionKind.revoke_sessions, account.label, f"force re-login after: {account.via}")
        if outside:
            add(
                ActionKind.disable_account,
                account.label,
                f"outside organisation {account.org}: {account.via}",
            )
    outside_orgs: set[str] = set()
    for host in scope.hosts:
        if home is not None and host.org is not None and host.org != home:
            outside_orgs.add(host.org)
            add(
                ActionKind.isolate_host,
                host_ips.get(host.key, host.label),
                f"compromised {host.via}",
                host=host.key,
            )
    if model is not None and home is not None:
        home_zones = [z for z in model.zones if z.org == home]
        for org in sorted(outside_orgs):
            for zone in (z for z in model.zones if z.org == org):
                for home_zone in home_zones:
                    for src in zone.cidrs:
                        for dst in home_zone.cidrs:
                            add(
                                ActionKind.block_route,
                                f"{src}->{dst}",
                                f"compromised hosts of {org} in {zone.id}; block it from {home_zone.id}",
                                from_zone=zone.id,
                                to_zone=home_zone.id,
                            )
    return out


def _address(text: str) -> str | None:
    import ipaddress

    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _model_address(model: GroupModel, host: str) -> str | None:
    """The address a host rule pins a host to (a /32 or /128 CIDR in a rule that names the host)."""
    import ipaddress

    from sekimori.model import model_regex  # RE2, as the model's classifiers: linear time

    for rule in model.hosts:
        if rule.name_pattern and rule.cidr and model_regex(rule.name_pattern).search(host):
            for cidr in rule.cidr:
                net = ipaddress.ip_network(cidr, strict=False)
                if net.num_addresses == 1:
                    return str(net.network_address)
    return None
