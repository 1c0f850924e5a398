"""The model's first-match rules over many hosts and accounts at once.

:func:`~sekimori.model.matching.first_host_match` and :func:`~sekimori.model.matching.first_account_match`
try each rule in turn on one host or account. Classifying every distinct host and account of a store
that way costs a Python call per rule, condition and host. Here each condition of every rule is read
once per distinct value it looks at (a host name: every name pattern in one RE2 pass; an address: one
look-up per prefix length the rules' networks have; a domain, UPN, SID or user name) into a bit mask
over the rules. A host's or account's rule is the lowest bit set in all its masks: the first rule whose
every condition holds, as before.

:class:`GlobLists` does the same for the host globs of a list of items (systems, grants, data stores,
flows): what :func:`~sekimori.model.keys.glob_matcher` answers per item, with literal names looked up
in a dict.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence

from sekimori.model.fields import ascii_lower
from sekimori.model.keys import glob_forms
from sekimori.model.matching import (
    AccountMatcher,
    HostMatcher,
    IPAddress,
    Principal,
    short_host,
    sid_has_prefix,
)
from sekimori.model.regex import ModelRegexSet

_GLOB_CHARS = re.compile(r"[*?\[]")


def _first(mask: int) -> int:
    """The position of the lowest bit set."""
    return (mask & -mask).bit_length() - 1


class HostIndex:
    """``first(host, address)`` is ``first_host_match(matchers, host, address)``."""

    def __init__(self, matchers: Sequence[HostMatcher]) -> None:
        self.matchers = list(matchers)
        every = (1 << len(self.matchers)) - 1
        named = [(i, m.name_pattern) for i, m in enumerate(self.matchers) if m.name_pattern is not None]
        self._named_bits = [1 << i for i, _ in named]
        self._unnamed = every & ~sum(self._named_bits)
        self._patterns = ModelRegexSet([pattern for _, pattern in named])
        self._anywhere = sum(1 << i for i, m in enumerate(self.matchers) if m.networks is None)
        # (version, prefix length) → network address (an integer) → the rules holding that network
        networks: dict[tuple[int, int], dict[int, int]] = {}
        for i, matcher in enumerate(self.matchers):
            for network in matcher.networks or ():
                rules = networks.setdefault((network.version, network.prefixlen), {})
                start = int(network.network_address)
                rules[start] = rules.get(start, 0) | 1 << i
        self._networks = [
            (version, ((1 << bits) - 1) ^ ((1 << (bits - length)) - 1), rules)
            for (version, length), rules in networks.items()
            for bits in [32 if version == 4 else 128]
        ]
        self._host_masks: dict[str, int] = {}
        self._address_masks: dict[IPAddress, int] = {}

    def first(self, host: str | None, address: IPAddress | None) -> HostMatcher | None:
        mask = self.host_mask(host) & self.address_mask(address)
        return self.matchers[_first(mask)] if mask else None

    def first_rule(self, mask: int) -> int:
        """The position of the first rule in ``mask`` (of a host's ``host_mask & address_mask``), or
        the number of rules if there is none."""
        return _first(mask) if mask else len(self.matchers)

    def host_mask(self, host: str | None) -> int:
        """The rules whose name pattern (if any) matches ``host`` or its first label."""
        if host is None:
            return self._unnamed
        mask = self._host_masks.get(host)
        if mask is None:
            mask = self._unnamed
            if self._named_bits:
                found = self._patterns.search(host)
                short = short_host(host)
                if short != host and len(found) < len(self._named_bits):
                    found |= self._patterns.search(short, frozenset(found))
                for i in found:
                    mask |= self._named_bits[i]
            self._host_masks[host] = mask
        return mask

    def address_mask(self, address: IPAddress | None) -> int:
        """The rules whose networks (if any) hold ``address``."""
        if address is None:
            return self._anywhere
        mask = self._address_masks.get(address)
        if mask is None:
            mask = self._anywhere
            value = int(address)
            for version, netmask, rules in self._networks:
                if version == address.version:
                    mask |= rules.get(value & netmask, 0)
            self._address_masks[address] = mask
        return mask


class AccountIndex:
    """``first(principal)`` is ``first_account_match(matchers, principal)``."""

    def __init__(self, matchers: Sequence[AccountMatcher]) -> None:
        self.matchers = list(matchers)
        every = (1 << len(self.matchers)) - 1
        self._domains = [(1 << i, m.domains) for i, m in enumerate(self.matchers) if m.domains is not None]
        self._suffixes = [
            (1 << i, m.upn_suffixes) for i, m in enumerate(self.matchers) if m.upn_suffixes is not None
        ]
        self._sids = [
            (1 << i, m.sid_prefixes) for i, m in enumerate(self.matchers) if m.sid_prefixes is not None
        ]
        named = [(i, m.name_pattern) for i, m in enumerate(self.matchers) if m.name_pattern is not None]
        self._named_bits = [1 << i for i, _ in named]
        self._patterns = ModelRegexSet([pattern for _, pattern in named])
        self._free = [
            every & ~sum(bit for bit, _ in rules) for rules in (self._domains, self._suffixes, self._sids)
        ] + [every & ~sum(self._named_bits)]
        self._memo: list[dict[str | None, int]] = [{}, {}, {}, {}]

    def first(self, principal: Principal) -> AccountMatcher | None:
        mask = self._mask(0, principal.domain)
        if mask and self._suffixes:
            mask &= self._mask(1, principal.qualified)
        if mask and self._sids:
            mask &= self._mask(2, principal.sid)
        if mask and self._named_bits:
            mask &= self._mask(3, principal.user)
        return self.matchers[_first(mask)] if mask else None

    def _mask(self, part: int, value: str | None) -> int:
        memo = self._memo[part]
        mask = memo.get(value)
        if mask is None:
            mask = self._free[part]
            if value is not None:
                mask |= self._matching(part, value)
            memo[value] = mask
        return mask

    def _matching(self, part: int, value: str) -> int:
        if part == 0:
            lower = ascii_lower(value)
            return sum(bit for bit, domains in self._domains if lower in domains)
        if part == 1:
            lower = ascii_lower(value)
            return sum(bit for bit, suffixes in self._suffixes if lower.endswith(suffixes))
        if part == 2:
            return sum(bit for bit, prefixes in self._sids if any(sid_has_prefix(value, p) for p in prefixes))
        return sum(self._named_bits[i] for i in self._patterns.search(value))


class GlobLists:
    """The items (ids, each with its host globs) whose globs match any name of a host, in item order:
    ``matching(names)`` is ``[i for i, g in items if glob_matcher(g)(names)]``."""

    def __init__(self, items: Iterable[tuple[str, Iterable[str]]]) -> None:
        self.ids: list[str] = []
        self._exact: dict[str, list[int]] = {}  # a literal form → the items naming it
        # a wildcard form's literal start (what a name it matches starts with) → the items with such
        # forms, each with its wildcard forms compiled into one expression
        self._starts: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
        for i, (item, globs) in enumerate(items):
            self.ids.append(item)
            forms = {form for glob in globs for form in glob_forms(glob)}
            wild = sorted(form for form in forms if _GLOB_CHARS.search(form))
            for form in forms.difference(wild):  # fnmatch reads a form without * ? [ as the text itself
                self._exact.setdefault(form, []).append(i)
            if wild:
                pattern = re.compile("|".join(f"(?:{fnmatch.translate(form)})" for form in wild))
                for start in {_GLOB_CHARS.split(form, maxsplit=1)[0] for form in wild}:
                    self._starts.setdefault(start, []).append((i, pattern))
        self._lengths = sorted({len(start) for start in self._starts})
        self.empty = not self._exact and not self._starts

    def matching(self, names: Iterable[str]) -> list[str]:
        found: set[int] = set()
        for name in names:
            found.update(self._exact.get(name, ()))
            for length in self._lengths:
                for i, pattern in self._starts.get(name[:length], ()):
                    if i not in found and pattern.match(name) is not None:
                        found.add(i)
        return [self.ids[i] for i in sorted(found)]


__all__ = ["AccountIndex", "GlobLists", "HostIndex"]
