"""The Windows event mapping as data: which record field feeds which event column, per channel and id.

This module owns ``WINDOWS_EVENTS``, one ``WindowsEvent`` per (channel, event id) with its title,
category, activity, OCSF class and column sources, and ``DEFAULTS`` for the event ids no mapping
covers. A column's source is an EventData field name, ``@name`` for a System field, a tuple (first
non-empty wins), a quoted literal, ``@status`` (outcome from the status code) or a function of
(system, data) for the rare composite value (the logon sources are in
``sekimori.ingest.windows.logon_source``). The normalizer (``sekimori.ingest.windows.normalize``) and
the documentation (``docs/windows-mapping.md``) are both made from it, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sekimori.ingest.schema import AUTHENTICATION, DATA_ACCESS, FAILURE, NETWORK, PROCESS, SUCCESS
from sekimori.ingest.windows.logon_source import (
    client_address,
    client_name,
    logon_src_host,
    session_logon_type,
    sysmon_src_host,
    sysmon_src_ip,
    sysmon_src_port,
    sysmon_target_host,
    sysmon_target_ip,
    sysmon_target_port,
)
from sekimori.ingest.windows.values import Fields, as_text, clean

SECURITY = "security"
SYSMON = "microsoft-windows-sysmon/operational"
SYSTEM = "system"
RDP_CONNECTIONS = "microsoft-windows-terminalservices-remoteconnectionmanager/operational"

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
    sub = clean(data.get("SubStatus"))
    return sub if sub not in (None, "0x0") else clean(data.get("Status"))


def _share_path(system: Fields, data: Fields) -> Any:
    """5145: the share and the file inside it, as one path."""
    # each as text: an export may have typed them (a number, an object)
    parts = [p for p in (as_text(data.get("ShareName")), as_text(data.get("RelativeTargetName"))) if p]
    return "\\".join(parts) or None


# Column sources (see ``Source``). Sources only pick a value; each column's transform
# (``values.TRANSFORMS``) is applied once, in the normalizer's generated code.
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
DEFAULTS: dict[str, Source] = {
    "principal": ("SubjectUserName", "TargetUserName", "User", "AccountName"),
    "domain": ("SubjectDomainName", "TargetDomainName"),
    "principal_sid": ("SubjectUserSid", "@user_sid"),
    "process": ("Image", "NewProcessName", "ProcessName"),
    "command_line": "CommandLine",
}
