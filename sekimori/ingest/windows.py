"""Windows events (Security, Sysmon, System…) → the normalized event schema.

The mapping is data (``WINDOWS_EVENTS``): from it come both the normalizer and the documentation
(``docs/windows-mapping.md``), so the two cannot drift apart. A column's source is an EventData field
name, ``@name`` for a System field, a tuple (first non-empty wins), a quoted literal, ``@status``
(outcome from the status code) or a function of (system, data) for the rare composite value.

Three JSON shapes carry the same Windows record (``DIALECTS``):
- ``evtx``: the ``evtx`` crate's JSON (``Event.System.*``, ``Event.EventData.*``), also
  ``evtx_dump -o jsonl``;
- ``flat``: NXLog-style flattened records as in OTRF Security-Datasets (``EventID``, ``Channel``, the
  fields at the top);
- ``beat``: Winlogbeat / Elastic ECS (``winlog.event_id``, ``winlog.event_data.*``).

A value that does not fit its column (a record id beyond int64, a port that is not a port, an EventID
that is not 16-bit, an object as Channel or Computer) sends its record to the quarantine, naming the
column or field; objects in EventData text fields are kept as JSON text.

Per-record work is a dict lookup per column through precompiled getters (no SQL planning per batch,
which would dominate on corpora of many small files); times are parsed vectorised by Arrow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.ingest.base import Quarantine
from sekimori.ingest.fit import INT64_MAX, INT64_MIN, BadValue, fit_batch, fits_int64, show, whole_number
from sekimori.ingest.logon_source import (
    client_address,
    client_name,
    logon_src_host,
    session_logon_type,
    source_markdown,
    sysmon_src_host,
    sysmon_src_ip,
    sysmon_src_port,
    sysmon_target_host,
    sysmon_target_ip,
    sysmon_target_port,
)
from sekimori.ingest.schema import (
    AUTHENTICATION,
    DATA_ACCESS,
    EVENT_SCHEMA,
    FAILURE,
    GENERIC,
    NETWORK,
    OCSF_CLASSES,
    PROCESS,
    PROVENANCE_COLUMNS,
    SUCCESS,
    TIME_TYPE,
    make_batch,
)

SECURITY = "security"
SYSMON = "microsoft-windows-sysmon/operational"
SYSTEM = "system"
RDP_CONNECTIONS = "microsoft-windows-terminalservices-remoteconnectionmanager/operational"

Fields = Mapping[str, Any]
# Where a column takes its value from (see the module docstring).
# A function takes (system, data), or also the Computer when it says ``needs_computer``.
Source = str | tuple[str, ...] | Callable[[Fields, Fields], Any] | Callable[[Fields, Fields, Any], Any]


@dataclass(frozen=True)
class WindowsEvent:
    """How one Windows event id maps onto the normalized columns."""

    family: str  # lower-cased channel
    event_id: int
    title: str
    category: str
    activity: str
    ocsf_class_uid: int
    columns: dict[str, Source] = field(default_factory=dict)


def _failure_status(system: Fields, data: Fields) -> Any:
    """4625: SubStatus says why when it is set, else Status."""
    sub = _clean(data.get("SubStatus"))
    return sub if sub not in (None, "0x0") else _clean(data.get("Status"))


def _share_path(system: Fields, data: Fields) -> Any:
    """5145: the share and the file inside it, as one path."""
    parts = [p for p in (_clean(data.get("ShareName")), _clean(data.get("RelativeTargetName"))) if p]
    return "\\".join(parts) or None


# Column sources: a field name (``Field``/``@system``), a tuple of them (first non-null wins), a quoted
# literal, ``@status`` (outcome from the status code), or an SQL expression starting with ``=`` using
# ``{Field}``. Branches only pick a value; each column's transform (``_TRANSFORMS``) is applied once,
# which keeps the generated query cheap to plan.
_LOGON: dict[str, Source] = {
    "principal": "TargetUserName",
    "domain": "TargetDomainName",
    "principal_sid": "TargetUserSid",
    "logon_type": "LogonType",
    "logon_id": "TargetLogonId",
    "auth_package": "AuthenticationPackageName",
    "src_host": logon_src_host,  # not for RDP, where it is the target's own name: see logon_source
    "src_ip": "IpAddress",
    "src_port": "IpPort",
    "target_host": "@computer",
    "process": "ProcessName",
    "process_id": "ProcessId",
}
_SUBJECT: dict[str, Source] = {
    "principal": "SubjectUserName",
    "domain": "SubjectDomainName",
    "principal_sid": "SubjectUserSid",
    "logon_id": "SubjectLogonId",
}
_KERBEROS: dict[str, Source] = {
    "principal": "TargetUserName",
    "domain": "TargetDomainName",
    "principal_sid": "TargetSid",
    "src_ip": "IpAddress",
    "src_port": "IpPort",
    "target_host": "@computer",
    "auth_package": "'Kerberos'",
    "object": "ServiceName",
    "object_type": "'SERVICE'",
    "status": "Status",
    "outcome": "@status",
}
_SUCCESS: dict[str, Source] = {"outcome": f"'{SUCCESS}'"}
# 4778/4779: the client of a reconnected or disconnected (RDP) session.
_SESSION: dict[str, Source] = {
    "principal": "AccountName",
    "domain": "AccountDomain",
    "logon_id": "LogonID",
    "logon_type": session_logon_type,
    "src_host": client_name,
    "src_ip": client_address,
    "target_host": "@computer",
    "object": "SessionName",
    "object_type": "'SESSION'",
}

WINDOWS_EVENTS: tuple[WindowsEvent, ...] = (
    WindowsEvent(
        SECURITY,
        4624,
        "An account was successfully logged on",
        AUTHENTICATION,
        "logon",
        3002,
        {**_LOGON, **_SUCCESS},
    ),
    WindowsEvent(
        SECURITY,
        4625,
        "An account failed to log on",
        AUTHENTICATION,
        "logon",
        3002,
        {**_LOGON, "outcome": f"'{FAILURE}'", "status": _failure_status},
    ),
    WindowsEvent(
        SECURITY,
        4634,
        "An account was logged off",
        AUTHENTICATION,
        "logoff",
        3002,
        {
            k: _LOGON[k]
            for k in ("principal", "domain", "principal_sid", "logon_type", "logon_id", "target_host")
        },
    ),
    WindowsEvent(
        SECURITY,
        4647,
        "User initiated logoff",
        AUTHENTICATION,
        "logoff",
        3002,
        {k: _LOGON[k] for k in ("principal", "domain", "principal_sid", "logon_id", "target_host")},
    ),
    WindowsEvent(
        SECURITY,
        4648,
        "A logon was attempted using explicit credentials",
        AUTHENTICATION,
        "explicit_credentials",
        3002,
        {
            "principal": "TargetUserName",
            "domain": "TargetDomainName",
            "logon_id": "SubjectLogonId",
            "src_host": "@computer",
            "target_host": "TargetServerName",
            "target_ip": "IpAddress",
            "target_port": "IpPort",
            "process": "ProcessName",
            "process_id": "ProcessId",
            "object": "TargetInfo",
            **_SUCCESS,
        },
    ),
    WindowsEvent(
        SECURITY,
        4672,
        "Special privileges assigned to new logon",
        AUTHENTICATION,
        "special_privileges",
        3003,
        {
            **_SUBJECT,
            "target_host": "@computer",
            "object": "PrivilegeList",
            "object_type": "'PRIVILEGES'",
            **_SUCCESS,
        },
    ),
    WindowsEvent(
        SECURITY,
        4688,
        "A new process has been created",
        PROCESS,
        "process_start",
        1007,
        {
            **_SUBJECT,
            "process": "NewProcessName",
            "process_id": "NewProcessId",
            "parent_process": "ParentProcessName",
            "command_line": "CommandLine",
        },
    ),
    WindowsEvent(
        SECURITY,
        4768,
        "A Kerberos authentication ticket (TGT) was requested",
        AUTHENTICATION,
        "ticket_request",
        3002,
        _KERBEROS,
    ),
    WindowsEvent(
        SECURITY,
        4769,
        "A Kerberos service ticket was requested",
        AUTHENTICATION,
        "service_ticket",
        3002,
        _KERBEROS,
    ),
    WindowsEvent(
        SECURITY,
        4771,
        "Kerberos pre-authentication failed",
        AUTHENTICATION,
        "preauth",
        3002,
        {**_KERBEROS, "outcome": f"'{FAILURE}'"},
    ),
    WindowsEvent(
        SECURITY,
        4776,
        "The computer attempted to validate the credentials for an account",
        AUTHENTICATION,
        "credential_validation",
        3002,
        {
            "principal": "TargetUserName",
            "src_host": "Workstation",
            "target_host": "@computer",
            "auth_package": "PackageName",
            "status": "Status",
            "outcome": "@status",
        },
    ),
    WindowsEvent(
        SECURITY,
        4778,
        "A session was reconnected to a Window Station",
        AUTHENTICATION,
        "session_reconnect",
        3002,
        {**_SESSION, **_SUCCESS},
    ),
    WindowsEvent(
        SECURITY,
        4779,
        "A session was disconnected from a Window Station",
        AUTHENTICATION,
        "session_disconnect",
        3002,
        {**_SESSION, **_SUCCESS},
    ),
    WindowsEvent(
        RDP_CONNECTIONS,
        1149,
        "Remote Desktop Services: user authentication succeeded",
        AUTHENTICATION,
        "rdp_authentication",
        3002,
        {
            "principal": "Param1",
            "domain": "Param2",
            "src_ip": "Param3",
            "target_host": "@computer",
            "logon_type": "'10'",
            **_SUCCESS,
        },
    ),
    WindowsEvent(
        SECURITY,
        5140,
        "A network share object was accessed",
        DATA_ACCESS,
        "share_access",
        4006,
        {
            **_SUBJECT,
            "src_ip": "IpAddress",
            "src_port": "IpPort",
            "target_host": "@computer",
            "object": "ShareName",
            "object_type": "'SHARE'",
            "action": "AccessMask",
            **_SUCCESS,
        },
    ),
    WindowsEvent(
        SECURITY,
        5145,
        "A network share object was checked for access",
        DATA_ACCESS,
        "file_access",
        1001,
        {
            **_SUBJECT,
            "src_ip": "IpAddress",
            "src_port": "IpPort",
            "target_host": "@computer",
            "object": _share_path,
            "object_type": "'FILE'",
            "action": "AccessList",
        },
    ),
    WindowsEvent(
        SYSTEM,
        7045,
        "A service was installed in the system",
        PROCESS,
        "service_install",
        201004,
        {
            "principal": "AccountName",
            "principal_sid": "@user_sid",
            "target_host": "@computer",
            "object": "ServiceName",
            "object_type": "'SERVICE'",
            "command_line": "ImagePath",
            "action": "'install'",
        },
    ),
    WindowsEvent(
        SYSMON,
        1,
        "Sysmon: process created",
        PROCESS,
        "process_start",
        1007,
        {
            "principal": "User",
            "process": "Image",
            "process_id": "ProcessId",
            "parent_process": "ParentImage",
            "command_line": "CommandLine",
            "logon_id": "LogonId",
        },
    ),
    WindowsEvent(
        SYSMON,
        3,
        "Sysmon: network connection",
        NETWORK,
        "network_connection",
        4001,
        {
            "principal": "User",
            "process": "Image",
            "process_id": "ProcessId",
            "src_host": sysmon_src_host,
            "src_ip": sysmon_src_ip,
            "src_port": sysmon_src_port,
            "target_host": sysmon_target_host,
            "target_ip": sysmon_target_ip,
            "target_port": sysmon_target_port,
            "protocol": "Protocol",
        },
    ),
    WindowsEvent(
        SYSMON,
        10,
        "Sysmon: process accessed",
        PROCESS,
        "process_access",
        1007,
        {
            "principal": "SourceUser",
            "process": "SourceImage",
            "process_id": "SourceProcessId",
            "object": "TargetImage",
            "object_type": "'PROCESS'",
            "action": "GrantedAccess",
        },
    ),
)

# Columns of events no mapping covers: still useful for hunting (who, which process, which command).
_DEFAULTS: dict[str, Source] = {
    "principal": ("SubjectUserName", "TargetUserName", "User", "AccountName"),
    "domain": ("SubjectDomainName", "TargetDomainName"),
    "principal_sid": ("SubjectUserSid", "@user_sid"),
    "process": ("Image", "NewProcessName", "ProcessName"),
    "command_line": "CommandLine",
}


def _clean(value: Any) -> Any:
    """Windows writes '-' or '' for 'no value'."""
    if value is None or value == "-" or value == "":
        return None
    return value


def _text(value: Any) -> str | None:
    value = _clean(value)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _principal(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if "\\" in text:
        return text.split("\\", 1)[1] or None
    if "@" in text:
        return text.split("@", 1)[0] or None
    return text


def _domain_of(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if "\\" in text:
        return text.split("\\", 1)[0] or None
    if "@" in text:
        return text.split("@", 1)[1] or None
    return None


def _ip(value: Any) -> str | None:
    text = _text(value)
    return text[7:] if text is not None and text.startswith("::ffff:") else text


def _host(value: Any) -> str | None:
    text = _text(value)
    return (text.lstrip("\\") or None) if text is not None else None


def _auth_package(value: Any) -> str | None:
    text = _text(value)
    return "NTLM" if text is not None and text.upper() == "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0" else text


# Number columns: a value given but not a whole number in the column's range fails its record (it
# goes to the quarantine naming the column and the source field), never the batch.
_NUMBER_RANGES: dict[str, tuple[int, int]] = {
    "logon_type": (-(2**15), 2**15 - 1),
    "src_port": (0, 65535),
    "target_port": (0, 65535),
    "process_id": (INT64_MIN, INT64_MAX),
}


def _number(value: Any, column: str, source: str) -> int | None:
    value = _clean(value)
    if value is None:
        return None
    low, high = _NUMBER_RANGES[column]
    return whole_number(value, column, source, low, high)


def _label(source: Source) -> str:
    """Where a column's value comes from, for quarantine reasons."""
    if callable(source):
        return source.__name__
    if isinstance(source, tuple):
        return " or ".join(_label(s) for s in source)
    return source.lstrip("@")


_NESTED = (dict, list)


def _nested_header(channel: Any, provider: Any, computer: Any) -> None:
    """Raise for the System text field that holds a JSON object or array."""
    for name, value in (("Channel", channel), ("Provider", provider), ("Computer", computer)):
        if type(value) in _NESTED:
            raise BadValue(name, f"{name} is a JSON {type(value).__name__}, not text: {show(value)}")


def _event_id(value: Any) -> str | None:
    if type(value) is int and 0 <= value <= 65535:  # the common case, first
        return str(value)
    value = _clean(value)
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) <= 65535:
        return value
    return str(whole_number(value, "EventID", "EventID", 0, 65535))  # Windows event ids are 16-bit


_TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    "principal": _principal,
    "src_ip": _ip,
    "target_ip": _ip,
    "src_host": _host,
    "target_host": _host,
    "auth_package": _auth_package,
}
_COLUMNS = [
    c
    for c in EVENT_SCHEMA.names
    if c not in PROVENANCE_COLUMNS and c not in ("time", "raw", "ocsf_class_name")
]
_HEADER = ("channel", "event_id", "provider", "computer", "record_id", "time")
Header = tuple[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class Dialect:
    """Where one JSON shape keeps the System fields and the EventData."""

    name: str
    split: Callable[[dict[str, Any]], tuple[Fields, Fields]]  # record → (system, data)
    system: Callable[[Fields, str], Any]  # (system, name) → value
    fast_header: Callable[[Fields], Header] | None = None  # the _HEADER fields in one call
    record_key: str = "EventRecordID"  # where the record id is kept, named in quarantine reasons

    def header(self, system: Fields) -> Header:
        if self.fast_header is not None:
            return self.fast_header(system)
        get = self.system
        channel, event_id, provider, computer, record_id, time = (get(system, name) for name in _HEADER)
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


def _flat_header(system: Fields) -> Header:
    def first(keys: tuple[str, ...]) -> Any:
        for key in keys:
            value = system.get(key)
            if value is not None and value != "" and value != "-":
                return value
        return None

    return (
        system.get("Channel"),
        system.get("EventID"),
        first(_FLAT_SYSTEM["provider"]),
        first(_FLAT_SYSTEM["computer"]),
        first(_FLAT_SYSTEM["record_id"]),
        first(_FLAT_SYSTEM["time"]),
    )


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


class WindowsNormalizer:
    """Normalizes parsed Windows records of one dialect into event columns.

    Each event mapping is compiled once into a small Python function (generated source, ``exec``) that
    fills a row with plain dict lookups: no per-column closures or getter chains per record, which
    made up most of the normalization time.
    """

    def __init__(self, dialect: str) -> None:
        self.dialect = DIALECTS[dialect]
        self._fills: dict[str, Callable[[Fields, Fields, list[Any]], None]] = {}
        for ev in WINDOWS_EVENTS:
            self._fills[f"{ev.family}:{ev.event_id}"] = self._compile(ev.columns, ev)
        self._default = self._compile(_DEFAULTS, None)

    def _compile(self, columns: Mapping[str, Source], ev: WindowsEvent | None) -> Callable[..., None]:
        namespace: dict[str, Any] = {
            "_text": _text,
            "_first": _first,
            "_domain_value": _domain_value,
            "_status_outcome": _status_outcome,
            "_sys": self.dialect.system,
            "_number": _number,
            **{f"_t_{name}": fn for name, fn in _TRANSFORMS.items()},
        }

        def expr(source: Source | None) -> str:
            if source is None:
                return "None"
            if callable(source):
                name = f"_fn_{len(namespace)}"
                namespace[name] = source
                if getattr(source, "needs_computer", False):  # the Computer, already in the row
                    return f"{name}(system, data, row[{_COLUMNS.index('host')}])"
                return f"{name}(system, data)"
            if isinstance(source, tuple):
                return "_first(" + ", ".join(expr(s) for s in source) + ")"
            if source == "@status":
                return "_status_outcome(system, data)"
            if source.startswith("'"):
                return repr(source.strip("'"))
            if source.startswith("@"):
                return f"_sys(system, {source[1:]!r})"
            return f"g({source!r})"

        fixed = {
            "category": ev.category if ev else GENERIC,
            "activity": ev.activity if ev else None,
            "ocsf_class_uid": ev.ocsf_class_uid if ev else 0,
        }
        lines = ["def fill(system, data, row):", "    g = data.get"]
        lines += [f"    row[{_COLUMNS.index(col)}] = {value!r}" for col, value in fixed.items()]
        lines.append(f"    principal = {expr(columns.get('principal'))}")
        for col, source in columns.items():
            if col == "domain":
                continue
            value = "principal" if col == "principal" else expr(source)
            if col in _NUMBER_RANGES:
                call = f"_number({value}, {col!r}, {_label(source)!r})"
            else:
                call = f"_t_{col}({value})" if col in _TRANSFORMS else f"_text({value})"
            lines.append(f"    row[{_COLUMNS.index(col)}] = {call}")
        lines.append(
            f"    row[{_COLUMNS.index('domain')}] = _domain_value({expr(columns.get('domain'))}, principal)"
        )
        exec("\n".join(lines), namespace)  # trusted: generated from the mapping table above
        fill: Callable[..., None] = namespace["fill"]
        return fill

    def normalize(
        self,
        docs: list[dict[str, Any]],
        record_hints: list[int | None] | None = None,
        record_fallbacks: list[int] | None = None,
    ) -> tuple[dict[str, list[Any]], list[Any], dict[int, tuple[str, str]]]:
        """Column lists (without ``time``/``raw``), the raw time values, one entry per doc, and the
        docs with a value that does not fit its column (index → (column, reason); their row is empty).

        ``record_id`` is the hint when given, else the record's own id (EventRecordID), else the
        fallback (the EVTX record header's number, or the line of a JSON export).
        """
        header = self.dialect.header
        split = self.dialect.split
        n_cols = len(_COLUMNS)
        rows: list[list[Any]] = []
        times: list[Any] = []
        fills = self._fills
        default = self._default
        i_record, i_channel, i_provider, i_code, i_host = (
            _COLUMNS.index(c) for c in ("record_id", "channel", "provider", "event_code", "host")
        )
        record_key = self.dialect.record_key
        bad: dict[int, tuple[str, str]] = {}
        for i, doc in enumerate(docs):
            row: list[Any] = [None] * n_cols
            time = None
            try:
                system, data = split(doc)
                channel, code, provider, computer, record_id, time = header(system)
                if type(channel) in _NESTED or type(provider) in _NESTED or type(computer) in _NESTED:
                    _nested_header(channel, provider, computer)
                channel = _text(channel)
                code = _event_id(code)
                row[i_channel] = channel
                row[i_code] = code
                row[i_provider] = _text(provider)
                row[i_host] = _text(computer)
                hint = record_hints[i] if record_hints is not None else None
                if hint is None:
                    record_id = _clean(record_id)
                    if record_id is not None:
                        hint = whole_number(record_id, "record_id", record_key, 0, INT64_MAX)
                    elif record_fallbacks is not None:
                        hint = record_fallbacks[i]
                        if hint is not None and not fits_int64(hint):
                            reason = f"record number {hint} does not fit record_id (int64)"
                            raise BadValue("record_id", reason)
                row[i_record] = hint
                fills.get(f"{channel.lower()}:{code}" if channel else "", default)(system, data, row)
            except BadValue as exc:  # this record only: its row stays empty and is dropped later
                bad[i] = (exc.field, exc.reason)
                row = [None] * n_cols
            rows.append(row)
            times.append(time)
        if not rows:
            return {c: [] for c in _COLUMNS}, times, bad
        return dict(zip(_COLUMNS, map(list, zip(*rows, strict=True)), strict=True)), times, bad


def _first(*values: Any) -> Any:
    for value in values:
        value = _clean(value)
        if value is not None:
            return value
    return None


def _domain_value(domain: Any, principal: Any) -> str | None:
    value = _text(domain)
    return value if value is not None else _domain_of(principal)


def _status_outcome(system: Fields, data: Fields) -> Any:
    status = _text(data.get("Status"))
    if status is None:
        return None
    return SUCCESS if status.lower() in ("0x0", "0", "0x00000000") else FAILURE


def parse_times(values: list[Any]) -> pa.Array:
    """Timestamps from ISO-8601 strings (with Z or an offset; no offset means UTC), vectorised."""
    texts = pa.array([v if isinstance(v, str) else None for v in values], pa.string())
    try:
        return pc.cast(texts, TIME_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out = []
    for v in texts.to_pylist():  # slow path: a batch with an odd value; parse one by one
        out.append(_parse_time(v))
    return pa.array(out, TIME_TYPE)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace(" UTC", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00: before year 1 in UTC
        return None


def normalize_docs(
    dialect: str,
    docs: list[dict[str, Any]],
    raws: list[str],
    quarantine: Quarantine,
    record_numbers: list[int] | None = None,
    record_hints: list[int | None] | None = None,
) -> pa.RecordBatch | None:
    """Normalize parsed records; records without a usable time or event id go to the quarantine.

    ``record_numbers`` (e.g. line numbers) name records in the quarantine; otherwise the record id.
    """
    columns, time_values, unfit = _normalizer(dialect).normalize(docs, record_hints, record_numbers)
    times = parse_times(time_values)
    codes = columns["event_code"]
    bad = [i for i in range(len(docs)) if i in unfit or not times[i].is_valid or codes[i] is None]
    if bad:
        for i in bad:
            if i in unfit:
                fieldname, reason = unfit[i]
            elif not times[i].is_valid:
                fieldname, reason = "time", "no parseable event time (TimeCreated / @timestamp)"
            else:
                fieldname, reason = "EventID", "no EventID"
            record = record_numbers[i] if record_numbers is not None else columns["record_id"][i]
            quarantine.add(reason, record=record, field=fieldname, data=raws[i])
        keep = sorted(set(range(len(docs))) - set(bad))
        columns = {k: [v[i] for i in keep] for k, v in columns.items()}
        times = times.take(pa.array(keep, pa.int64()))
        raws = [raws[i] for i in keep]
        if record_numbers is not None:
            record_numbers = [record_numbers[i] for i in keep]
    if not raws:
        return None
    columns = {**columns, "time": times, "raw": raws}
    # Any value still unfit for Arrow (e.g. a time past year 9999) fails its record, not the batch.
    return fit_batch(make_batch, columns, len(raws), quarantine, records=record_numbers, data=raws)


_NORMALIZERS: dict[str, WindowsNormalizer] = {}


def _normalizer(dialect: str) -> WindowsNormalizer:
    norm = _NORMALIZERS.get(dialect)
    if norm is None:
        norm = _NORMALIZERS[dialect] = WindowsNormalizer(dialect)
    return norm


def mapping_markdown() -> str:
    """The mapping table as Markdown (docs/windows-mapping.md is generated from this)."""
    lines = [
        "# Windows events → sekimori event schema",
        "",
        "Generated by `python -m sekimori.ingest.windows > docs/windows-mapping.md`.",
        "A plain name is an EventData field, `@computer` the System `Computer`, `@user_sid` the System",
        "`Security/UserID`; a tuple takes the first non-empty. `-` and empty values become null;",
        "`principal` drops a `DOMAIN\\` prefix or `@domain` suffix and `domain` falls back to it; IPs lose",
        "`::ffff:`; `@status` maps Status `0x0` to success, anything else to failure. Every event also gets",
        "`time`, `record_id`, `channel`, `provider`, `event_code`, `host` (= `Computer`) and `raw`.",
        "",
    ]
    for ev in WINDOWS_EVENTS:
        lines.append(f"## {ev.family} {ev.event_id}: {ev.title}")
        lines.append("")
        lines.append(
            f"category `{ev.category}`, activity `{ev.activity}`, OCSF {ev.ocsf_class_uid} "
            f"({OCSF_CLASSES[ev.ocsf_class_uid]})"
        )
        lines.append("")
        lines.append("| column | from |")
        lines.append("|---|---|")
        for col, source in ev.columns.items():
            lines.append(f"| `{col}` | {_describe(source)} |")
        lines.append("")
    lines += source_markdown()
    lines.append("## Any other event id")
    lines.append("")
    lines.append("| column | from |")
    lines.append("|---|---|")
    for col, source in _DEFAULTS.items():
        lines.append(f"| `{col}` | {_describe(source)} |")
    return "\n".join(lines) + "\n"


def _describe(source: Source) -> str:
    if callable(source):
        return (source.__doc__ or source.__name__).strip()
    if isinstance(source, tuple):
        return " or ".join(f"`{s}`" for s in source)
    return f"`{source}`"


if __name__ == "__main__":
    print(mapping_markdown(), end="")
