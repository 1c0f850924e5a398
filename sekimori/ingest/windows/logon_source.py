"""Where a Windows logon comes from: the fields that carry the client (source) per event kind.

This module owns the logon semantics of the mapping: the column functions that pick a logon's source
and target where Windows does not write them in one field, and the per-event source/target table of
``docs/windows-mapping.md``. Why each event needs what it does:

Windows does not write the client of a logon in one field. Per Microsoft's documentation of the events
and as the real records show (tests/ingest/test_rdp_sources.py reads them):

- 4624/4625, network logons (type 3, also with NLA) and the rest: ``WorkstationName`` is the client's
  NetBIOS name, ``IpAddress``/``IpPort`` its address.
- 4624/4625 RemoteInteractive (10), CachedRemoteInteractive (12), and Unlock (7) with an address (the
  unlock of a reconnected RDP session): Windows writes the *target's own name* as ``WorkstationName``;
  the client is ``IpAddress``/``IpPort`` only. Taking the workstation name as the source made every RDP
  logon look local. The own name is dropped from ``src_host``; a workstation name that is not the
  target's own (older Windows wrote the client's) is kept.
- 4648: the source is the recording computer itself; ``TargetServerName`` is the target and
  ``IpAddress``/``IpPort`` the target's address (in ``events.py``).
- 4778/4779 (session reconnected / disconnected): ``ClientName``/``ClientAddress`` are the client;
  Windows writes ``Unknown`` for a console session, which is no source.
- 1149 of TerminalServices-RemoteConnectionManager/Operational (RDP user authentication succeeded):
  ``Param1`` user, ``Param2`` domain, ``Param3`` the client address.
- Sysmon 3: ``SourceIp``/``SourceHostname`` are the source, except for the record of an accepted RDP
  connection that Sysmon writes with the listening side (port 3389) as *source* and
  ``Initiated=false``: there the client is the ``Destination*`` side, and the two are swapped.

A loopback ``IpAddress`` (127.0.0.1, ::1) on an RDP logon stays as it is: it says the RDP came
through the host itself (a tunnel such as plink or a web shell forwarding 3389), not where from.

Each column function takes ``(system, data)`` (EventData fields) and, where it says so with
``needs_computer``, the recording computer's name.
"""

from __future__ import annotations

from typing import Any

from sekimori.ingest.windows.values import Fields

RDP_PORT = 3389
# Logon types whose WorkstationName is the target's own name (see the module's text).
OWN_NAME_TYPES = frozenset({10, 12})
UNLOCK = 7
_NO_VALUE = ("", "-", "unknown")


def _value(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() in _NO_VALUE):
        return None
    return value


def _int(value: Any) -> int | None:
    value = _value(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def netbios(name: Any) -> str | None:
    """A host name's NetBIOS form: the first label, upper case, at most 15 characters."""
    if not isinstance(name, str):
        return None
    text = name.strip().lstrip("\\").split(".", 1)[0]
    return text[:15].upper() or None


def _own_name_logon(data: Fields) -> bool:
    """Whether this 4624/4625 is of a kind whose WorkstationName is the target's own name."""
    logon_type = _int(data.get("LogonType"))
    if logon_type in OWN_NAME_TYPES:
        return True
    return logon_type == UNLOCK and _value(data.get("IpAddress")) is not None


def logon_src_host(system: Fields, data: Fields, computer: Any) -> Any:
    """4624/4625: `WorkstationName`, the client's name — except for RDP (logon type 10, 12, and 7 with
    an `IpAddress`), where Windows writes the target's own name there: that is no source (the client
    is `IpAddress`)."""
    name = _value(data.get("WorkstationName"))
    if name is not None and _own_name_logon(data) and netbios(name) == netbios(computer):
        return None
    return name


logon_src_host.needs_computer = True  # type: ignore[attr-defined]


def client_name(system: Fields, data: Fields) -> Any:
    """4778/4779: `ClientName` (`Unknown` for a console session: none)."""
    return _value(data.get("ClientName"))


def client_address(system: Fields, data: Fields) -> Any:
    """4778/4779: `ClientAddress` (`Unknown` for a console session: none)."""
    return _value(data.get("ClientAddress"))


def session_logon_type(system: Fields, data: Fields) -> Any:
    """4778/4779: 10 (RemoteInteractive) for an `RDP-Tcp#n` session, else none."""
    session = _value(data.get("SessionName"))
    return 10 if isinstance(session, str) and session.upper().startswith("RDP-") else None


def _accepted_rdp(data: Fields) -> bool:
    """A Sysmon 3 record of an accepted RDP connection written with the listener as the source."""
    initiated = data.get("Initiated")
    inbound = initiated is False or (isinstance(initiated, str) and initiated.strip().lower() == "false")
    return (
        inbound and _int(data.get("SourcePort")) == RDP_PORT and _int(data.get("DestinationPort")) != RDP_PORT
    )


def _sysmon_side(own: str, other: str) -> Any:
    def pick(system: Fields, data: Fields) -> Any:
        return data.get(other if _accepted_rdp(data) else own)

    pick.__name__ = own
    pick.__doc__ = (
        f"`{own}`; `{other}` when the record is an accepted RDP connection written with the listener "
        "(port 3389) as source and `Initiated` false"
    )
    return pick


sysmon_src_host = _sysmon_side("SourceHostname", "DestinationHostname")
sysmon_src_ip = _sysmon_side("SourceIp", "DestinationIp")
sysmon_src_port = _sysmon_side("SourcePort", "DestinationPort")
sysmon_target_host = _sysmon_side("DestinationHostname", "SourceHostname")
sysmon_target_ip = _sysmon_side("DestinationIp", "SourceIp")
sysmon_target_port = _sysmon_side("DestinationPort", "SourcePort")


# Per event: which fields give the source (client) and the target, for docs/windows-mapping.md.
SOURCE_AND_TARGET: tuple[tuple[str, str, str], ...] = (
    (
        "security 4624, 4625 (logon types 2, 3, 4, 5, 8, 9, 11; 7 without an address)",
        "`WorkstationName` (the client's NetBIOS name; with NLA too), `IpAddress`, `IpPort`",
        "the recording computer",
    ),
    (
        "security 4624, 4625 (logon types 10, 12; 7 with an address: an RDP session unlocked)",
        "`IpAddress`, `IpPort`; `WorkstationName` only when it is not the recording computer's own name "
        "(for RDP Windows writes the target's own name there). A loopback `IpAddress` is kept: the RDP "
        "came through the host itself (a tunnel), the client is not in the event",
        "the recording computer",
    ),
    (
        "security 4648",
        "the recording computer (the process that used the credentials runs there)",
        "`TargetServerName` (`TargetInfo` as object); `IpAddress`, `IpPort` are the target's",
    ),
    (
        "security 4776",
        "`Workstation`",
        "the recording computer (the validating domain controller)",
    ),
    (
        "security 4768, 4769, 4771",
        "`IpAddress`, `IpPort`",
        "the recording computer (the KDC); the service in `ServiceName`",
    ),
    (
        "security 5140, 5145",
        "`IpAddress`, `IpPort`",
        "the recording computer (the file server)",
    ),
    (
        "security 4778, 4779",
        "`ClientName`, `ClientAddress` (`Unknown` for a console session: none)",
        "the recording computer; `SessionName` `RDP-Tcp#n` gives logon type 10",
    ),
    (
        "microsoft-windows-terminalservices-remoteconnectionmanager/operational 1149",
        "`Param3` (the client address); the user is `Param1`, the domain `Param2`",
        "the recording computer",
    ),
    (
        "microsoft-windows-sysmon/operational 3",
        "`SourceHostname`, `SourceIp`, `SourcePort` — the `Destination*` side for an accepted RDP "
        "connection written with the listener (port 3389) as source and `Initiated` false",
        "`DestinationHostname`, `DestinationIp`, `DestinationPort` (swapped likewise)",
    ),
)


def source_markdown() -> list[str]:
    """The per-event source and target table, as Markdown lines."""
    lines = [
        "## Source and target of a logon, per event",
        "",
        "Where the client (`src_host`, `src_ip`, `src_port`) and the target (`target_host`, `target_ip`) of",
        "an authentication or connection come from (see `sekimori/ingest/windows/logon_source.py`). Zeek's",
        "`rdp.log` gives the client as `id.orig_h` (`src_ip`) and `client_name` (`src_host`), the server",
        "as `id.resp_h` (`target_ip`): see `docs/formats/zeek.md`.",
        "",
        "| event | source (client) | target |",
        "|---|---|---|",
    ]
    lines += [f"| {event} | {source} | {target} |" for event, source, target in SOURCE_AND_TARGET]
    lines.append("")
    return lines
