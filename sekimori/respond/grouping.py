"""Alerts grouped into incidents: those sharing an account, a host or an organisation close in time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sekimori.detect import Alert

DEFAULT_WINDOW = timedelta(hours=24)

# Key values shared by unrelated alerts: grouping on them would merge everything.
_GENERIC_KEYS = frozenset(
    {
        "",
        "-",
        "n/a",
        "unknown",
        "localhost",
        "127.0.0.1",
        "::1",
        "system",
        "local service",
        "network service",
        "anonymous logon",
        "nt authority\\system",
        "nt authority\\local service",
        "nt authority\\network service",
        "nt authority\\anonymous logon",
    }
)


# -- grouping -------------------------------------------------------------------------------------------


def _keys(alert: Alert) -> Iterator[tuple[str, str]]:
    # Hosts include the source and target of a movement, so the hop joins both ends' alerts.
    candidates = [("account", alert.account)]
    candidates += [("host", h) for h in (alert.host, alert.src_host, alert.target_host)]
    candidates += [("org", o) for o in alert.organisations]
    for kind, value in candidates:
        if value is None:
            continue
        norm = str(value).strip().casefold()
        if norm not in _GENERIC_KEYS:
            yield kind, norm


def group_alerts(alerts: Sequence[Alert], window: timedelta = DEFAULT_WINDOW) -> list[list[Alert]]:
    """Alerts that share an account, a host (``host``, ``src_host``, ``target_host``) or an organisation
    and lie within ``window`` of each other, in one group, transitively (connected components). Each
    group is sorted by time, the groups by their first alert. An alert without a time is a group of its
    own. Generic values (SYSTEM, localhost, '-') join nothing."""
    times = [a.time for a in alerts]
    parent = list(range(len(alerts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, alert in enumerate(alerts):
        if times[i] is not None:
            for key in set(_keys(alert)):
                members[key].append(i)
    for indices in members.values():
        # Sorted by time, linking neighbours within the window gives the same components as all pairs.
        indices.sort(key=lambda i: times[i])  # type: ignore[arg-type, return-value]
        for a, b in pairwise(indices):
            if times[b] - times[a] <= window:  # type: ignore[operator]
                parent[find(b)] = find(a)

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(alerts)):
        groups[find(i)].append(i)

    def order(i: int) -> tuple[bool, datetime, int]:
        t = times[i]
        return (t is None, t or datetime.min.replace(tzinfo=UTC), i)

    sorted_groups = sorted((sorted(g, key=order) for g in groups.values()), key=lambda g: order(g[0]))
    return [[alerts[i] for i in g] for g in sorted_groups]
