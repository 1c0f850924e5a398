"""Building blocks of the syslog message parsers: the event values and details they share.

This module owns what every per-program parser (``sshd``, ``pam``, ``programs``) returns and the
pieces they build it from: the ``Match`` result type (event fields and parsed details, or None), the
event values shared by many forms (``AUTH``, ``SSH_NET``), a source address that may be an IP or a
host name with its port (``source_fields``), and the named groups a pattern matched (``matched_groups``).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

from sekimori.ingest.schema import AUTHENTICATION, NETWORK

# A message form's result: (event fields, parsed details for raw), or None when the form does not fit.
Match = tuple[dict[str, Any], dict[str, Any]] | None

# event values shared by many forms
AUTH = {"category": AUTHENTICATION, "ocsf_class_uid": 3002}
SSH_NET = {"category": NETWORK, "ocsf_class_uid": 4007, "protocol": "ssh"}


def port_number(value: str | None) -> int | None:
    if not value:
        return None
    n = int(value)
    return n if 0 <= n <= 65535 else None


@functools.lru_cache(maxsize=65_536)
def split_address(value: str | None) -> tuple[str | None, str | None]:
    """(ip, host name) from an address field that may hold either."""
    if not value:
        return None, None
    try:
        return str(ipaddress.ip_address(value)), None
    except ValueError:
        return None, value


def source_fields(ip_or_host: str | None, port: str | None = None) -> dict[str, Any]:
    ip, name = split_address(ip_or_host)
    return {"src_ip": ip, "src_host": name, "src_port": port_number(port)}


def matched_groups(m: re.Match[str]) -> dict[str, Any]:
    return {k: v for k, v in m.groupdict().items() if v is not None}
