"""Value parsing shared by the Entra sign-in and audit mappings.

Entra records reach us in several casings (Graph camelCase, Log Analytics PascalCase, Panther's
all-lowercase data-lake keys) and with nested objects either as JSON or as JSON *strings* (Log Analytics
exports of ``dynamic`` columns). Every lookup therefore goes through ``keyed`` (keys folded to lower
case, one level), a column through ``nested`` and an object inside one through ``inner_object`` (a JSON
string parsed), and values shown in the portal's display form ("Not Applied", "B2B collaboration") are
folded to the Graph enum form by ``enum_value``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson

from sekimori.ingest.cloud.jsondocs import lower_keys
from sekimori.ingest.fit import BadValue

_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2}|UTC)?$",
    re.IGNORECASE,
)
_WORD_BREAKS = re.compile(r"[\s_-]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
# The portal's CSV may write US-style times without a zone ("7/23/2024, 3:19:52 PM"): read as UTC.
_US_TIME_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AP]M)?$", re.I)


def keyed(value: Any) -> dict[str, Any]:
    """A dict with its keys folded to lower case (``lower_keys``: a dict whose keys are lower case
    already is handed back as it is); anything else is empty."""
    return lower_keys(value)


def inner_object(value: Any, field: str) -> dict[str, Any]:
    """``keyed`` of an object inside a nested column (``initiatedBy.user``, an item of
    ``targetResources``, ``authenticationDetails`` or ``additionalDetails``), which an export may have
    encoded once more as a JSON string.

    Only a string starting with ``{`` can be such an object: one that does not parse is a ``BadValue``
    naming ``field``. Any other string (``[2001:db8::1]:443``, a name, a JSON array) is no object and
    gives nothing, like a number would; the record keeps it in ``raw``.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            return {}
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise BadValue(field, f"{field} is not valid JSON: {exc}") from exc
    return lower_keys(value)


def as_obj(value: Any) -> Any:
    """A JSON string holding an object or array (Log Analytics ``dynamic`` columns) parsed; else as is.

    A string that starts like JSON but does not parse raises ``ValueError``.
    """
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            return orjson.loads(text)
    return value


def nested(record: dict[str, Any], name: str) -> Any:
    """``record[name]`` (``name`` lower case) parsed; a malformed JSON string is a ``BadValue``."""
    try:
        return as_obj(record.get(name))
    except orjson.JSONDecodeError as exc:
        raise BadValue(name, f"{name} is not valid JSON: {exc}") from exc


def text(value: Any) -> str | None:
    """A non-empty string, or None (empty strings, nulls and containers say nothing)."""
    if type(value) is str:  # the common case first
        return value.strip() or None
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    out = str(value).strip()
    return out or None


def first(record: dict[str, Any], *names: str) -> str | None:
    """The first of ``names`` (lower case) that has a non-empty value."""
    for name in names:
        value = record.get(name)
        if value is None:
            continue  # the common case (a field the record does not have) without a call
        value = value.strip() if type(value) is str else text(value)
        if value:
            return value
    return None


def enum_value(value: str | None) -> str | None:
    """The Graph enum spelling of a value: "Not Applied" → notApplied, "B2B collaboration" →
    b2bCollaboration; a value already in that form is kept."""
    if value is None:
        return None
    return _enum_value(value)


@lru_cache(maxsize=4096)  # enum values: a handful of distinct ones, seen on every record
def _enum_value(value: str) -> str:
    words = _WORD_BREAKS.split(value.strip())
    if len(words) == 1:
        word = words[0]
        return word[:1].lower() + word[1:] if word[:1].isupper() and not word.isupper() else word
    head, *rest = words
    return head.lower() + "".join(w[:1].upper() + w[1:].lower() for w in rest)


def squash(value: str | None) -> str:
    """Lower case letters only, to compare enum values written either way."""
    return _squash(value or "")


@lru_cache(maxsize=4096)
def _squash(value: str) -> str:
    return _NOT_ALNUM.sub("", value.lower())


def parse_time(value: Any, field: str) -> datetime:
    """An Entra time stamp (ISO 8601 with up to 9 fraction digits, 'T' or space, zone or none = UTC)."""
    raw = text(value)
    if raw is None:
        raise BadValue(field, f"no time ({field} is missing)")
    try:  # the common forms (Graph's "…Z", up to 6 fraction digits) without the regex
        moment = datetime.fromisoformat(raw)
    except ValueError:
        pass
    else:
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    m = _TIME_RE.match(raw)
    if m:
        year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
        second = int(m.group(6) or 0)
        micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
        zone = (m.group(8) or "Z").upper()
        try:
            moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
        except ValueError as exc:
            raise BadValue(field, f"{field} {raw!r} is not a date: {exc}") from exc
        if zone not in ("Z", "UTC"):
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return moment
    m = _US_TIME_RE.match(raw)
    if m:
        month, day, year, hour, minute = (int(m.group(i)) for i in range(1, 6))
        second = int(m.group(6) or 0)
        half = (m.group(7) or "").upper()
        if half == "PM" and hour < 12:
            hour += 12
        elif half == "AM" and hour == 12:
            hour = 0
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError as exc:
            raise BadValue(field, f"{field} {raw!r} is not a date: {exc}") from exc
    raise BadValue(field, f"{field} {raw!r} is not an ISO 8601 time")


def error_code(value: Any, field: str) -> int | None:
    """A sign-in error code (``status.errorCode`` / ``ResultType``): an int, or None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadValue(field, f"{field} {value!r} is not an error code")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise BadValue(field, f"{field} {value!r} is not an error code")


def split_upn(upn: str | None) -> tuple[str | None, str | None]:
    """``user@domain`` → (user, domain); a name without '@' is all principal."""
    if upn is None:
        return None, None
    user, sep, domain = upn.rpartition("@")
    if not sep or not user:
        return upn, None
    return user, domain or None
