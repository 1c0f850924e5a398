"""Identity keys: one host or account, however a log or the model names it, is one key in every stage.

A host is known by its FQDN, its short name (first label), its NetBIOS name (the short name cut to 15
characters, as Windows logs ``WorkstationName``) and its addresses, case-folded. The logs tie these
together: a 4624 gives ``WorkstationName`` with ``IpAddress``, a Zeek or Kerberos record a name with an
address. :class:`HostDirectory` keeps what was seen together, so that a model name or glob matches a host
logged under any of its names or only by an address the logs pair with one of them.

An account is ``DOMAIN\\user``, ``user@domain.fqdn``, a bare ``user`` or a SID. :func:`account_key` folds
the first three to ``domain\\user`` with the domain's first label, without the model; :class:`AccountKeys`
also folds the domains one account rule names together (``CORP``, ``corp.parent.example`` and the UPN
suffix ``@parent.example`` of one rule are one domain), a bare name to the domain of the rule it matches
when that rule is tied to a realm, and a SID to the name the logs gave with it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sekimori.model.matching import clean_host, first_account_match, parse_ip, split_principal

if TYPE_CHECKING:
    from sekimori.model.group import GroupModel

# Windows NetBIOS computer names are at most 15 characters.
NETBIOS_LENGTH = 15


_IPV4_CHARS = frozenset("0123456789.")
# A name of ASCII letters, digits, '_' and '-' in dot-separated labels, starting with a letter, digit or
# '_': nothing to trim or fold but case, and (with a character other than a digit or '.') no address.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")


def is_address(text: str) -> bool:
    """Whether a (lower-case) host text is an IP address rather than a name."""
    # most texts are names: only digits and dots (IPv4) or a colon (IPv6) can be an address
    if ":" not in text and not _IPV4_CHARS.issuperset(text.strip()):
        return False
    return parse_ip(text) is not None


def host_key(name: str) -> str:
    """The key of a host: its short name in lower case (an address stays whole, IPv4-mapped as IPv4)."""
    cleaned = (clean_host(name) or "").lower()
    if is_address(cleaned):
        return str(parse_ip(cleaned))
    return cleaned.split(".", 1)[0]


def host_names(name: str | None) -> frozenset[str]:
    """Every name a host name stands for, case-folded: as given (FQDN), short, NetBIOS."""
    cleaned = (clean_host(name) or "").lower()
    if not cleaned:
        return frozenset()
    if is_address(cleaned):
        return frozenset({str(parse_ip(cleaned))})
    short = cleaned.split(".", 1)[0]
    return frozenset({cleaned, short, short[:NETBIOS_LENGTH]})


def glob_forms(glob: str) -> frozenset[str]:
    """The lower-case patterns a model host name or glob stands for: a literal name written as an FQDN
    also stands for its short and NetBIOS names (a glob and an address only for themselves)."""
    pattern = glob.lower().rstrip(".")
    forms = {pattern}
    if not any(ch in pattern for ch in "*?[") and not is_address(pattern):
        forms |= host_names(pattern)
    return frozenset(forms)


def glob_matches(glob: str, names: Iterable[str]) -> bool:
    """Whether a model host name or glob (``*``, ``?``; case-insensitive) matches any of ``names``.
    A literal model name written as an FQDN also matches the host's short name and the reverse, so
    ``orn-jump-01`` and ``orn-jump-01.corp.example`` are one host whichever side is short."""
    forms = glob_forms(glob)
    return any(fnmatch.fnmatchcase(n, f) for n in names for f in forms)


def glob_matcher(globs: Iterable[str]) -> Callable[[Iterable[str]], bool]:
    """``names -> any(glob_matches(g, names) for g in globs)``, compiled once: one regular expression
    for every form of every glob (what ``fnmatchcase`` compiles each form to), so that a model's lists
    are matched against many hosts without a Python call per (glob, form, name)."""
    forms = sorted({form for glob in globs for form in glob_forms(glob)})
    if not forms:
        return lambda names: False
    pattern = re.compile("|".join(f"(?:{fnmatch.translate(form)})" for form in forms))
    return lambda names: any(pattern.match(name) is not None for name in names)


@dataclass
class HostDirectory:
    """Hosts as the logs name them: names and addresses seen together are one host.

    An address the logs pair with exactly one host (short name) belongs to it; an address seen with
    several hosts (NAT, DHCP churn) stays apart, as the graph did before."""

    _names_of: dict[str, set[str]] = field(default_factory=dict)  # host key → every name and address
    _hosts_of_ip: dict[str, set[str]] = field(default_factory=dict)  # address → host keys seen with it
    # host key → the addresses seen with it alone; built when first asked for after an ``add`` (asking
    # every address per host made classifying the hosts of a large store quadratic)
    _sole_ips: dict[str, set[str]] | None = None
    # each distinct name and address read once: name → (its names, its host key unless it is an
    # address), address → its normal text
    _read_names: dict[str | None, tuple[frozenset[str], str | None]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _read_ips: dict[str | None, str | None] = field(default_factory=dict, repr=False, compare=False)

    def _name(self, name: str | None) -> tuple[frozenset[str], str | None]:
        read = self._read_names.get(name)
        if read is None:
            if name is not None and _PLAIN_NAME.fullmatch(name) and not _IPV4_CHARS.issuperset(name):
                # what host_names and host_key come to for a plain ASCII name (most names): nothing to
                # trim, not an address, and neither is any of its names
                cleaned = name.lower()
                short = cleaned.split(".", 1)[0]
                names = frozenset({cleaned, short, short[:NETBIOS_LENGTH]})
                read = (names, next(iter(names)).split(".", 1)[0])
            else:
                names = host_names(name)
                first = next(iter(names)) if names else None
                read = (names, host_key(first) if first is not None and not is_address(first) else None)
            self._read_names[name] = read
        return read

    def _ip(self, ip: str | None) -> str | None:
        if ip not in self._read_ips:
            address = parse_ip(ip) if ip else None
            self._read_ips[ip] = str(address) if address is not None else None
        return self._read_ips[ip]

    def add(self, name: str | None, ip: str | None = None) -> None:
        self._sole_ips = None
        names, key = self._name(name)
        address = self._ip(ip)
        if key is not None:
            known = self._names_of.get(key)
            if known is None:
                self._names_of[key] = set(names)
            else:
                known |= names
            if address is not None:
                owners = self._hosts_of_ip.get(address)
                if owners is None:
                    self._hosts_of_ip[address] = {key}
                else:
                    owners.add(key)
        elif address is not None or names:
            text = address if address is not None else next(iter(names))
            self._hosts_of_ip.setdefault(text, set())

    def key(self, name: str | None, ip: str | None = None) -> str | None:
        """The key of the host a log names by ``name`` and/or ``ip``."""
        names, key = self._name(name)
        if key is not None:
            return key
        address = self._ip(ip)
        text = address if address is not None else (next(iter(names)) if names else None)
        if text is None:
            return None
        owners = self._hosts_of_ip.get(text, set())
        return next(iter(owners)) if len(owners) == 1 else text

    def names(self, key: str) -> frozenset[str]:
        """Every name and address of a host key (the key itself included)."""
        if self._sole_ips is None:
            self._sole_ips = {}
            for ip, owners in self._hosts_of_ip.items():
                if len(owners) == 1:
                    self._sole_ips.setdefault(next(iter(owners)), set()).add(ip)
        return frozenset(self._names_of.get(key, set()) | {key} | self._sole_ips.get(key, set()))

    def keys(self) -> list[str]:
        return sorted(set(self._names_of) | {self.key(None, ip) or ip for ip in self._hosts_of_ip})

    def matching(self, glob: str) -> list[str]:
        """The host keys one of whose names or addresses a model name or glob matches."""
        return [k for k in self.keys() if glob_matches(glob, self.names(k))]


def account_key(name: str) -> str:
    """The key of an account without the model: ``domain\\user`` in lower case, the domain's first label
    (``CORP\\alice`` and ``alice@corp.example`` are one key); a bare name stays bare."""
    text = name.strip().lower()
    if "\\" in text:
        domain, _, user = text.partition("\\")
        return f"{domain.split('.', 1)[0]}\\{user}" if domain else user
    if "@" in text:
        user, _, domain = text.rpartition("@")
        return f"{domain.split('.', 1)[0]}\\{user}"
    return text


def _label(domain: str) -> str:
    return domain.lower().lstrip("@").split(".", 1)[0]


class AccountKeys:
    """Account keys as the model's rules fold them (see the module's text)."""

    def __init__(self, model: GroupModel) -> None:
        self.model = model
        self._by_sid: dict[str, str] = {}
        # The realm's canonical domain label: that of the first rule naming the realm with a domain.
        self._realm_label: dict[str, str] = {}
        for rule in model.accounts:
            label = self._rule_label(rule)
            if rule.realm and label and rule.realm not in self._realm_label:
                self._realm_label[rule.realm] = label
        for realm in model.realms:
            if realm.kind in ("ad_domain", "idp_tenant") and realm.id not in self._realm_label:
                self._realm_label[realm.id] = _label(realm.name)

    @staticmethod
    def _rule_label(rule: object) -> str | None:
        domains = getattr(rule, "domain", None) or getattr(rule, "upn_suffix", None)
        return _label(domains[0]) if domains else None

    def key(self, name: str | None, domain: str | None = None, sid: str | None = None) -> str | None:
        """One key per account: ``domain\\user`` with the domain the model says it is, or the SID when
        the event names no user and the logs never paired the SID with a name."""
        principal = split_principal(name, domain, sid)
        if principal.user is None:
            return self._by_sid.get(principal.sid or "") or (principal.sid.lower() if principal.sid else None)
        match = first_account_match(self.model.account_matchers, principal)
        if match is None and principal.domain is None and principal.qualified and "@" in principal.qualified:
            # user@corp.parent.example: a rule listing corp.parent.example as a domain names it too
            upn_domain = principal.qualified.rpartition("@")[2]
            match = first_account_match(
                self.model.account_matchers, split_principal(principal.user, upn_domain, principal.sid)
            )
        label: str | None = None
        if match is not None:
            rule = self.model.accounts[match.rule_order]
            label = (self._realm_label.get(match.realm) if match.realm else None) or self._rule_label(rule)
        if label is None:
            if principal.domain:
                label = _label(principal.domain)
            elif principal.qualified and "@" in principal.qualified:
                label = _label(principal.qualified.rpartition("@")[2])
        key = f"{label}\\{principal.user.lower()}" if label else principal.user.lower()
        if principal.sid:
            self._by_sid.setdefault(principal.sid, key)
        return key


def same_host(a: str, b: str) -> bool:
    """Whether two host texts name one host by name (FQDN vs short vs NetBIOS)."""
    return bool(host_names(a) & host_names(b))


def normal_ip(ip: str | None) -> str | None:
    address = parse_ip(ip)
    return str(address) if address is not None else None


__all__ = [
    "NETBIOS_LENGTH",
    "AccountKeys",
    "HostDirectory",
    "account_key",
    "glob_forms",
    "glob_matches",
    "host_key",
    "host_names",
    "is_address",
    "normal_ip",
    "same_host",
]
