"""The JSON shapes that carry a Windows record, and where each keeps the System fields and EventData.

This module owns ``DIALECTS``: how a parsed record of each shape splits into (System fields,
EventData fields) and where it keeps the channel, event id, provider, computer, record id, time and
user SID. The shapes:

- ``evtx``: the ``evtx`` crate's JSON (``Event.System.*``, ``Event.EventData.*`` or ``UserData``), also
  ``evtx_dump -o jsonl``;
- ``flat``: NXLog-style flattened records as in OTRF Security-Datasets (``EventID``, ``Channel``, the
  fields at the top);
- ``beat``: Winlogbeat / Elastic ECS (``winlog.event_id``, ``winlog.event_data.*``); ``beat6`` the
  Winlogbeat 6 layout (``event_data``, ``log_name``).

It only finds values; making them fit a column is ``sekimori.ingest.windows.values``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sekimori.ingest.windows.values import Fields

# The System fields every record needs, in the order ``Dialect.header`` gives them.
HEADER = ("channel", "event_id", "provider", "computer", "record_id", "time")
Header = tuple[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class Dialect:
    """Where one JSON shape keeps the System fields and the EventData."""

    name: str
    split: Callable[[dict[str, Any]], tuple[Fields, Fields]]  # record → (system, data)
    system: Callable[[Fields, str], Any]  # (system, name) → value
    fast_header: Callable[[Fields], Header] | None = None  # the HEADER fields in one call
    record_key: str = "EventRecordID"  # where the record id is kept, named in quarantine reasons

    def header(self, system: Fields) -> Header:
        if self.fast_header is not None:
            return self.fast_header(system)
        get = self.system
        channel, event_id, provider, computer, record_id, time = (get(system, name) for name in HEADER)
        return channel, event_id, provider, computer, record_id, time


def _evtx_split(doc: dict[str, Any]) -> tuple[Fields, Fields]:
    event = doc.get("Event")
    if not isinstance(event, dict):
        return {}, {}
    system = event.get("System")
    data = event.get("EventData")
    if data is None and isinstance(event.get("UserData"), dict):
        # UserData holds one provider-specific element whose children are the fields.
        inner = next(iter(event["UserData"].values()), None)
        data = inner if isinstance(inner, dict) else None
    return (system if isinstance(system, dict) else {}), (data if isinstance(data, dict) else {})


def _attr(node: Any, name: str) -> Any:
    if isinstance(node, dict):
        attrs = node.get("#attributes")
        if isinstance(attrs, dict):
            return attrs.get(name)
        return node.get(name)
    return None


def _evtx_system(system: Fields, name: str) -> Any:
    if name == "event_id":
        value = system.get("EventID")
        return value.get("#text") if isinstance(value, dict) else value
    if name == "time":
        return _attr(system.get("TimeCreated"), "SystemTime")
    if name == "provider":
        return _attr(system.get("Provider"), "Name")
    if name == "user_sid":
        return _attr(system.get("Security"), "UserID")
    return system.get(_EVTX_SYSTEM_KEYS[name])


_EVTX_SYSTEM_KEYS = {"channel": "Channel", "computer": "Computer", "record_id": "EventRecordID"}


def _flat_split(doc: dict[str, Any]) -> tuple[Fields, Fields]:
    return doc, doc


_FLAT_SYSTEM = {
    "event_id": ("EventID",),
    "channel": ("Channel",),
    "computer": ("Hostname", "Computer", "computer_name"),
    "provider": ("SourceName", "ProviderName", "Provider"),
    "record_id": ("RecordNumber", "EventRecordID"),
    "time": ("TimeCreated", "@timestamp", "EventTime", "UtcTime"),
    "user_sid": ("UserID",),
}


def _given(get: Callable[[str], Any], keys: tuple[str, ...]) -> Any:
    """The first value of ``keys`` that is given (not None, empty or ``-``)."""
    for key in keys:
        value = get(key)
        if value is not None and value != "" and value != "-":
            return value
    return None


_PROVIDER, _COMPUTER, _RECORD_ID, _TIME = (
    _FLAT_SYSTEM[k] for k in ("provider", "computer", "record_id", "time")
)


def _flat_header(system: Fields) -> Header:
    # The first given value of each key list (as ``_flat_system``); no closure made per record. The
    # first key, which holds it in most records, is looked up here; ``_given`` tries the others.
    get = system.get
    provider, computer, record_id, time = (
        get(_PROVIDER[0]),
        get(_COMPUTER[0]),
        get(_RECORD_ID[0]),
        get(_TIME[0]),
    )
    if provider is None or provider == "" or provider == "-":
        provider = _given(get, _PROVIDER[1:])
    if computer is None or computer == "" or computer == "-":
        computer = _given(get, _COMPUTER[1:])
    if record_id is None or record_id == "" or record_id == "-":
        record_id = _given(get, _RECORD_ID[1:])
    if time is None or time == "" or time == "-":
        # NXLog exports give no TimeCreated: the next key, which holds it in those, tried here too
        time = get(_TIME[1])
        if time is None or time == "" or time == "-":
            time = _given(get, _TIME[2:])
    return get("Channel"), get("EventID"), provider, computer, record_id, time


def _flat_system(system: Fields, name: str) -> Any:
    for key in _FLAT_SYSTEM[name]:
        value = system.get(key)
        if value not in (None, "", "-"):
            return value
    return None


def _beat_split(doc: dict[str, Any]) -> tuple[Fields, Fields]:
    winlog = doc.get("winlog")
    if not isinstance(winlog, dict):
        return {}, {}
    data = winlog.get("event_data")
    return {**winlog, "@timestamp": doc.get("@timestamp"), "event": doc.get("event")}, (
        data if isinstance(data, dict) else {}
    )


def _beat_system(system: Fields, name: str) -> Any:
    if name == "event_id":
        event = system.get("event")
        code = event.get("code") if isinstance(event, dict) else None
        return system.get("event_id", code)
    if name == "time":
        return system.get("@timestamp") or system.get("time_created")
    if name == "user_sid":
        user = system.get("user")
        return user.get("identifier") if isinstance(user, dict) else None
    return system.get(_BEAT_SYSTEM_KEYS[name])


_BEAT_SYSTEM_KEYS = {
    "channel": "channel",
    "computer": "computer_name",
    "provider": "provider_name",
    "record_id": "record_id",
}


def _beat6_split(doc: dict[str, Any]) -> tuple[Fields, Fields]:
    data = doc.get("event_data")
    return doc, (data if isinstance(data, dict) else {})


_BEAT6_SYSTEM_KEYS = {
    "event_id": "event_id",
    "channel": "log_name",
    "computer": "computer_name",
    "provider": "source_name",
    "record_id": "record_number",
    "time": "@timestamp",
}


def _beat6_system(system: Fields, name: str) -> Any:
    if name == "user_sid":
        user = system.get("user")
        return user.get("identifier") if isinstance(user, dict) else None
    return system.get(_BEAT6_SYSTEM_KEYS[name])


def _evtx_header(system: Fields) -> Header:
    event_id = system.get("EventID")
    if isinstance(event_id, dict):
        event_id = event_id.get("#text")
    return (
        system.get("Channel"),
        event_id,
        _attr(system.get("Provider"), "Name"),
        system.get("Computer"),
        system.get("EventRecordID"),
        _attr(system.get("TimeCreated"), "SystemTime"),
    )


DIALECTS = {
    "evtx": Dialect("evtx", _evtx_split, _evtx_system, _evtx_header),
    "beat6": Dialect("beat6", _beat6_split, _beat6_system, record_key="record_number"),
    "flat": Dialect("flat", _flat_split, _flat_system, _flat_header, "RecordNumber/EventRecordID"),
    "beat": Dialect("beat", _beat_split, _beat_system, record_key="winlog.record_id"),
}
