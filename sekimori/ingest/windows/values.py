"""Windows values made fit for the event columns: "no value" markers, text, names, addresses, numbers.

This module owns how one value of a Windows record becomes a column value, whichever event it comes
from: ``-`` and empty strings as null (``clean``), objects in text fields as JSON text (``as_text``),
``DOMAIN\\user`` and ``user@domain`` split into principal and domain, ``::ffff:`` dropped from IPs,
``\\\\`` from host names, the NTLM package's long name shortened (``TRANSFORMS``), whole numbers in a
column's range (``number_value``; a value out of range raises ``BadValue`` for the quarantine), 16-bit
event ids, System text fields that hold an object, and the outcome from a status code. It knows
nothing of which field feeds which column (``sekimori.ingest.windows.events``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from sekimori.ingest.fit import INT64_MAX, INT64_MIN, BadValue, show, whole_number
from sekimori.ingest.schema import FAILURE, SUCCESS

# The System fields and the EventData fields of one record, as parsed from JSON.
Fields = Mapping[str, Any]


def clean(value: Any) -> Any:
    """Windows writes '-' or '' for 'no value'."""
    if value is None or value == "-" or value == "":
        return None
    return value


def as_text(value: Any) -> str | None:
    value = clean(value)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _principal(value: Any) -> str | None:
    text = as_text(value)
    if text is None:
        return None
    if "\\" in text:
        return text.split("\\", 1)[1] or None
    if "@" in text:
        return text.split("@", 1)[0] or None
    return text


def _domain_of(value: Any) -> str | None:
    text = as_text(value)
    if text is None:
        return None
    if "\\" in text:
        return text.split("\\", 1)[0] or None
    if "@" in text:
        return text.split("@", 1)[1] or None
    return None


def _ip(value: Any) -> str | None:
    text = as_text(value)
    return text[7:] if text is not None and text.startswith("::ffff:") else text


def _host(value: Any) -> str | None:
    text = as_text(value)
    return (text.lstrip("\\") or None) if text is not None else None


def _auth_package(value: Any) -> str | None:
    text = as_text(value)
    return "NTLM" if text is not None and text.upper() == "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0" else text


# Text columns with more to do than ``as_text``.
TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    "principal": _principal,
    "src_ip": _ip,
    "target_ip": _ip,
    "src_host": _host,
    "target_host": _host,
    "auth_package": _auth_package,
}

# For a transform, a condition on a text ``v`` (neither ``-`` nor empty) under which it gives ``v`` as it
# is: the generated code tests it inline and calls the transform only otherwise (most values).
KEPT_AS_IS: dict[str, str] = {
    "principal": "'\\\\' not in v and '@' not in v",
    "src_ip": "not v.startswith('::ffff:')",
    "target_ip": "not v.startswith('::ffff:')",
    "src_host": "v[0] != '\\\\'",
    "target_host": "v[0] != '\\\\'",
}

# Number columns: a value given but not a whole number in the column's range fails its record (it
# goes to the quarantine naming the column and the source field), never the batch.
NUMBER_RANGES: dict[str, tuple[int, int]] = {
    "logon_type": (-(2**15), 2**15 - 1),
    "src_port": (0, 65535),
    "target_port": (0, 65535),
    "process_id": (INT64_MIN, INT64_MAX),
}


def number_value(value: Any, column: str, source: str) -> int | None:
    value = clean(value)
    if value is None:
        return None
    low, high = NUMBER_RANGES[column]
    return whole_number(value, column, source, low, high)


NESTED = (dict, list)


def check_nested_header(channel: Any, provider: Any, computer: Any) -> None:
    """Raise for the System text field that holds a JSON object or array."""
    for name, value in (("Channel", channel), ("Provider", provider), ("Computer", computer)):
        if type(value) in NESTED:
            raise BadValue(name, f"{name} is a JSON {type(value).__name__}, not text: {show(value)}")


def event_id_text(value: Any) -> str | None:
    if type(value) is int and 0 <= value <= 65535:  # the common case, first
        return str(value)
    value = clean(value)
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) <= 65535:
        return value
    return str(whole_number(value, "EventID", "EventID", 0, 65535))  # Windows event ids are 16-bit


def first_value(*values: Any) -> Any:
    for value in values:
        value = clean(value)
        if value is not None:
            return value
    return None


def domain_value(domain: Any, principal: Any) -> str | None:
    value = as_text(domain)
    return value if value is not None else _domain_of(principal)


def status_outcome(system: Fields, data: Fields) -> Any:
    status = as_text(data.get("Status"))
    if status is None:
        return None
    return SUCCESS if status.lower() in ("0x0", "0", "0x00000000") else FAILURE
