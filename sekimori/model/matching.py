"""First-match-wins classification of accounts and hosts, in Python.

The SQL macros in :mod:`sekimori.model.sql` implement exactly the same steps; every normalisation
here (trimming, the ``-`` placeholder, ``DOMAIN\\user`` and UPN splitting, IPv4-mapped IPv6) has a
counterpart there, and the tests check that both agree. Regexes run with RE2, as in DuckDB
(:mod:`sekimori.model.regex`): in time linear in the name, whatever the pattern.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from sekimori.model.fields import ascii_lower, ascii_upper, parse_network
from sekimori.model.regex import ModelRegex, model_regex

if TYPE_CHECKING:
    from sekimori.model.network import HostRule, Zone
    from sekimori.model.organisations import AccountRule

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Whitespace trimmed from every value taken from a log (the SQL side trims the same four characters).
TRIMMED = " \t\r\n"
# Windows writes "-" for an empty account, domain or workstation field.
PLACEHOLDERS = ("", "-")


def clean_text(value: str | None) -> str | None:
    """A log value trimmed, or None when it is empty or the ``-`` placeholder."""
    if value is None:
        return None
    value = value.strip(TRIMMED)
    return None if value in PLACEHOLDERS else value


@dataclass(frozen=True, slots=True)
class Principal:
    """An account name taken apart: ``CORP\\alice`` or ``alice@aff.example.jp`` or ``alice``."""

    user: str | None  # the bare user name, matched by name_pattern
    domain: str | None  # the domain given separately, else the one before '\'
    qualified: str | None  # the name without 'DOMAIN\': 'alice@aff.example.jp' for a UPN
    sid: str | None  # upper-cased (ASCII letters)


def split_principal(name: str | None, domain: str | None = None, sid: str | None = None) -> Principal:
    cleaned = clean_text(name)
    name_domain: str | None = None
    qualified = cleaned
    if cleaned is not None and "\\" in cleaned:
        before, _, qualified = cleaned.partition("\\")
        name_domain = clean_text(before)
    user = qualified
    if qualified is not None and "@" in qualified:
        user = qualified.rpartition("@")[0]
    cleaned_sid = clean_text(sid)
    return Principal(
        user=user or None,
        domain=clean_text(domain) or name_domain,
        qualified=qualified,
        sid=ascii_upper(cleaned_sid) if cleaned_sid is not None else None,
    )


def clean_host(name: str | None) -> str | None:
    """A host name as found in logs, without '\\\\' in front or the root '.' at the end."""
    cleaned = clean_text(name)
    if cleaned is None:
        return None
    return cleaned.lstrip("\\").rstrip(".") or None


def short_host(name: str) -> str:
    """The first label of a host name: 'ws01' for 'ws01.corp.example.jp'."""
    return name.split(".", 1)[0]


# A dotted-quad IPv4 address as ipaddress reads one (decimal octets up to 255, no leading zero).
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


@lru_cache(maxsize=1 << 16)  # the same few addresses recur across a run's events and edges
def parse_ip(value: str | None) -> IPAddress | None:
    """An address from a log, IPv4-mapped IPv6 (::ffff:10.0.0.1, as Windows logs it) as IPv4."""
    if value is not None and _IPV4.fullmatch(value):  # most addresses: nothing to trim, IPv4
        a, b, c, d = value.split(".")
        return ipaddress.IPv4Address(int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d))
    cleaned = clean_text(value)
    if cleaned is None:
        return None
    try:
        address = ipaddress.ip_address(cleaned)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def host_name_matches(pattern: ModelRegex, name: str) -> bool:
    """Host patterns match the name as given (often the FQDN) or its first label."""
    return pattern.search(name) or pattern.search(short_host(name))


# --- accounts ----


@dataclass(frozen=True)
class AccountMatcher:
    """One ``accounts`` rule, ready to match. A rule matches when every matcher it has matches;
    a list-valued matcher matches when any of its values does."""

    rule_order: int
    org: str
    realm: str | None
    domains: tuple[str, ...] | None
    upn_suffixes: tuple[str, ...] | None
    sid_prefixes: tuple[str, ...] | None
    name_pattern: ModelRegex | None

    def matches(self, principal: Principal) -> bool:
        if self.domains is not None and (
            principal.domain is None or ascii_lower(principal.domain) not in self.domains
        ):
            return False
        if self.upn_suffixes is not None and (
            principal.qualified is None or not ascii_lower(principal.qualified).endswith(self.upn_suffixes)
        ):
            return False
        if self.sid_prefixes is not None and (
            principal.sid is None or not any(sid_has_prefix(principal.sid, p) for p in self.sid_prefixes)
        ):
            return False
        return self.name_pattern is None or (
            principal.user is not None and self.name_pattern.search(principal.user)
        )


def sid_has_prefix(sid: str, prefix: str) -> bool:
    """Prefixes end at a '-': S-1-5-21-1-2-3 covers S-1-5-21-1-2-3-1104, not S-1-5-21-1-2-34."""
    return sid == prefix or sid.startswith(prefix + "-")


def compile_account_rules(rules: Sequence[AccountRule]) -> list[AccountMatcher]:
    return [
        AccountMatcher(
            rule_order=order,
            org=rule.org,
            realm=rule.realm,
            domains=tuple(rule.domain) if rule.domain is not None else None,
            upn_suffixes=tuple(rule.upn_suffix) if rule.upn_suffix is not None else None,
            sid_prefixes=tuple(rule.sid_prefix) if rule.sid_prefix is not None else None,
            name_pattern=model_regex(rule.name_pattern) if rule.name_pattern is not None else None,
        )
        for order, rule in enumerate(rules)
    ]


def first_account_match(matchers: Iterable[AccountMatcher], principal: Principal) -> AccountMatcher | None:
    return next((m for m in matchers if m.matches(principal)), None)


def signed_in_account_match(
    matchers: Iterable[AccountMatcher], principal: str, domain: str | None
) -> AccountMatcher | None:
    """The account rule of an account an identity provider or cloud log names: on the name as logged,
    then as the UPN ``name@domain`` a reader split (not for a ``DOMAIN\\user`` name)."""
    tries = [split_principal(principal, domain, None)]
    if domain and "@" not in principal and "\\" not in principal:
        tries.append(split_principal(f"{principal}@{domain}", None, None))
    for attempt in tries:
        match = first_account_match(matchers, attempt)
        if match is not None:
            return match
    return None


_ROLE_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def role_account(role: str | None) -> str | None:
    """The AWS account id in a role's ARN (``arn:aws:iam::123456789012:role/x``), else None."""
    match = _ROLE_ACCOUNT.match(role or "")
    return match.group(1) if match else None


# --- hosts ----


@dataclass(frozen=True)
class HostMatcher:
    """One host rule, ready to match: an explicit ``hosts`` rule, or a zone's CIDR used as a fallback."""

    rule_order: int
    org: str
    zone: str
    name_pattern: ModelRegex | None
    networks: tuple[IPNetwork, ...] | None
    source: Literal["hosts", "zones"]

    def matches(self, host: str | None, address: IPAddress | None) -> bool:
        if self.name_pattern is not None and (host is None or not host_name_matches(self.name_pattern, host)):
            return False
        return self.networks is None or (address is not None and any(address in n for n in self.networks))


def compile_host_rules(rules: Sequence[HostRule], zones: Sequence[Zone]) -> list[HostMatcher]:
    """The ``hosts`` rules in order, then every zone CIDR, most specific first, so that an address no
    rule names still lands in the zone (and with the organisation) that owns its network."""
    matchers = [
        HostMatcher(
            rule_order=order,
            org=rule.org,
            zone=rule.zone,
            name_pattern=model_regex(rule.name_pattern) if rule.name_pattern is not None else None,
            networks=tuple(parse_network(c) for c in rule.cidr) if rule.cidr is not None else None,
            source="hosts",
        )
        for order, rule in enumerate(rules)
    ]
    zone_networks = [
        (parse_network(cidr), zone_index, cidr_index, zone)
        for zone_index, zone in enumerate(zones)
        for cidr_index, cidr in enumerate(zone.cidrs)
    ]
    zone_networks.sort(key=lambda item: (-item[0].prefixlen, item[1], item[2]))
    for network, _, _, zone in zone_networks:
        matchers.append(
            HostMatcher(
                rule_order=len(matchers),
                org=zone.org,
                zone=zone.id,
                name_pattern=None,
                networks=(network,),
                source="zones",
            )
        )
    return matchers


def first_host_match(
    matchers: Iterable[HostMatcher], host: str | None, address: IPAddress | None
) -> HostMatcher | None:
    return next((m for m in matchers if m.matches(host, address)), None)
