"""Values shared by the cloud audit readers (Okta, Microsoft 365): times, accounts, addresses."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

from sekimori.ingest.fit import BadValue, show

# Placeholders the services write where they know no value.
_NO_VALUE = frozenset({"", "unknown", "null", "none", "n/a", "-"})
_IPV4 = re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$")


def text(value: Any) -> str | None:
    """A non-empty string, or None (placeholders such as Okta's ``unknown`` count as none)."""
    if value is None:
        return None
    if isinstance(value, str):
        out = value.strip()
        if len(out) > 7:
            return out  # the common case: longer than any placeholder
    elif isinstance(value, dict | list):
        return None
    else:
        out = str(value).strip()
    if len(out) > 7 or out[:1].isdigit():
        return out  # longer than any placeholder
    return None if out.lower() in _NO_VALUE else out


def parse_time(value: Any, field: str) -> datetime:
    """An ISO 8601 time (``T`` or space, 0-9 fraction digits, ``Z``/offset or none = UTC) in UTC.

    Raises ``BadValue`` naming ``field`` when there is no time or it does not parse.
    """
    if not isinstance(value, str) or not value.strip():
        raise BadValue(field, f"no {field} time")
    raw = value.strip()
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise BadValue(field, f"{field} {show(value)} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def split_account(value: Any) -> tuple[str | None, str | None]:
    """(user, domain) of ``user@domain`` or ``DOMAIN\\user``; a bare name has no domain."""
    name = text(value)
    if name is None:
        return None, None
    if "@" in name:
        user, _, domain = name.rpartition("@")
        return (user or None), (domain.lower() or None)
    if "\\" in name:
        domain, _, user = name.partition("\\")
        return (user or None), (domain or None)
    return name, None


def clean_ip(value: Any) -> str | None:
    """The address in ``1.2.3.4``, ``1.2.3.4:5678``, ``[2001:db8::1]:443`` or ``2001:db8::1``.

    None for anything that is not an IP address (the original stays in ``raw``).
    """
    addr = text(value)
    if addr is None:
        return None
    if addr.startswith("["):
        addr = addr[1:].partition("]")[0]
    elif addr.count(":") == 1:
        addr = addr.partition(":")[0]
    if _IPV4.match(addr):
        return addr
    try:
        return str(ipaddress.ip_address(addr.partition("%")[0]))
    except ValueError:
        return None
