"""Zeek records to event columns: what each log's record means as an authentication, network or
data-access event.

This module owns the mapping described in ``docs/formats/zeek.md``: one normalizer per log with a
meaning of its own (conn, dns, kerberos, ntlm, rdp, smb_mapping, smb_files, ssh, dce_rpc; other logs
are ``generic`` events), the record fields each one reads (``NORMALIZER_INPUTS``, so the vectorised
path can hand it only those), and the layout of the normalized columns (``SPECIFIC_COLUMNS``) and of a
row of the row paths (``ROW_COLUMNS``). Normalizers take a record of already parsed values, whichever
form (TSV or JSON) it came from.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from sekimori.ingest.schema import (
    AUTHENTICATION,
    DATA_ACCESS,
    FAILURE,
    GENERIC,
    NETWORK,
    SUCCESS,
    ocsf_name,
)
from sekimori.ingest.zeek.fields import SENSOR_KEYS

PROVIDER = "zeek"


def _text(value: Any) -> str | None:
    """A value as text for a string column; null for unset / empty."""
    if value is None or value == "" or isinstance(value, bool | dict):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        parts = [str(v) for v in value if v is not None and v != ""]
        return ",".join(parts) if parts else None
    return str(value)


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("T", "true", "True", 1):
        return True
    if value in ("F", "false", "False", 0):
        return False
    return None


def _outcome(flag: bool | None) -> str | None:
    return None if flag is None else (SUCCESS if flag else FAILURE)


def _split_account(account: str | None) -> tuple[str | None, str | None]:
    """``DOMAIN\\user`` or ``user@domain`` → (user, domain)."""
    if not account:
        return None, None
    if "\\" in account:
        domain, _, user = account.partition("\\")
        return user or None, domain or None
    if "@" in account:
        user, _, domain = account.rpartition("@")
        return user or None, domain or None
    return account, None


# conn_state → (activity, outcome). Outcomes only for TCP, where the handshake says something.
_CONN_STATES: dict[str, tuple[str, str | None]] = {
    "S0": ("fail", FAILURE),  # SYN seen, no reply
    "REJ": ("refuse", FAILURE),  # SYN answered by RST
    "RSTOS0": ("fail", FAILURE),  # originator SYN then RST, no SYN-ACK
    "SH": ("fail", FAILURE),  # originator SYN then FIN, no SYN-ACK
    "S1": ("open", SUCCESS),  # established, not terminated
    "SF": ("close", SUCCESS),  # normal establishment and termination
    "S2": ("close", SUCCESS),  # established, originator close attempt
    "S3": ("close", SUCCESS),  # established, responder close attempt
    "RSTO": ("reset", SUCCESS),  # established, originator aborted
    "RSTR": ("reset", SUCCESS),  # established, responder aborted
    "RSTRH": ("reset", None),  # responder SYN-ACK then RST, no SYN seen
    "SHR": ("close", None),  # responder SYN-ACK then FIN, no SYN seen
    "OTH": ("traffic", None),  # midstream, no SYN
}

_KERBEROS_ACTIVITY = {"AS": "ticket_request", "TGS": "service_ticket"}

Normalized = dict[str, Any]


def _conn(rec: dict[str, Any]) -> Normalized:
    proto = _text(rec.get("proto"))
    state = _text(rec.get("conn_state"))
    activity, outcome = _CONN_STATES.get(state or "", ("traffic", None))
    if proto != "tcp":
        activity, outcome = "traffic", None
    return {
        "category": NETWORK,
        "activity": activity,
        "ocsf_class_uid": 4001,
        "protocol": _text(rec.get("service")) or proto,
        "status": state,
        "outcome": outcome,
    }


def _dns(rec: dict[str, Any]) -> Normalized:
    rcode = rec.get("rcode")
    outcome = None
    if isinstance(rcode, int) and not isinstance(rcode, bool):
        outcome = SUCCESS if rcode == 0 else FAILURE
    return {
        "category": NETWORK,
        "activity": "query",
        "ocsf_class_uid": 4003,
        "protocol": "dns",
        "object": _text(rec.get("query")),
        "object_type": "DNS_QUERY",
        "action": _text(rec.get("qtype_name")),
        "status": _text(rec.get("rcode_name")),
        "outcome": outcome,
    }


def _kerberos(rec: dict[str, Any]) -> Normalized:
    client = _text(rec.get("client"))
    principal = domain = None
    if client:
        if "/" in client:  # Zeek prints the client principal as name/REALM
            name, _, realm = client.rpartition("/")
            principal, domain = name or None, realm or None
        else:
            principal, domain = _split_account(client)
    request = _text(rec.get("request_type"))
    return {
        "category": AUTHENTICATION,
        "activity": _KERBEROS_ACTIVITY.get(request or "", request.lower() if request else None),
        "ocsf_class_uid": 3002,
        "principal": principal,
        "domain": domain,
        "auth_package": "Kerberos",
        "outcome": _outcome(_truth(rec.get("success"))),
        "status": _text(rec.get("error_msg")),
        "protocol": "kerberos",
        "object": _text(rec.get("service")),
        "object_type": "SERVICE",
    }


def _ntlm(rec: dict[str, Any]) -> Normalized:
    success = _truth(rec.get("success"))
    status = _text(rec.get("status"))  # Zeek < 2.6 logged a status string instead of success
    if success is None and status:
        success = status.upper() == "SUCCESS"
    return {
        "category": AUTHENTICATION,
        "activity": "logon",
        "ocsf_class_uid": 3002,
        "principal": _text(rec.get("username")),
        "domain": _text(rec.get("domainname")),
        "auth_package": "NTLM",
        "outcome": _outcome(success),
        "status": status,
        "src_host": _text(rec.get("hostname")),
        "target_host": _text(rec.get("server_nb_computer_name"))
        or _text(rec.get("server_dns_computer_name")),
        "protocol": "ntlm",
    }


def _rdp(rec: dict[str, Any]) -> Normalized:
    principal, domain = _split_account(_text(rec.get("cookie")))
    result = _text(rec.get("result"))
    # "encrypted": the session went encrypted before Zeek could see the outcome.
    outcome = (
        None if result is None or result == "encrypted" else (SUCCESS if result == "Success" else FAILURE)
    )
    return {
        "category": AUTHENTICATION,
        "activity": "remote_logon",
        "ocsf_class_uid": 4005,
        "principal": principal,
        "domain": domain,
        "outcome": outcome,
        "status": result,
        "src_host": _text(rec.get("client_name")),
        "protocol": "rdp",
    }


def _unc_server(path: str | None) -> str | None:
    if not path or not path.startswith("\\\\"):
        return None
    server = path[2:].split("\\", 1)[0]
    if not server:
        return None
    try:
        ipaddress.ip_address(server)
    except ValueError:
        return server
    return None


def _smb_mapping(rec: dict[str, Any]) -> Normalized:
    path = _text(rec.get("path"))
    return {
        "category": DATA_ACCESS,
        "activity": "share_connect",
        "ocsf_class_uid": 4006,
        "protocol": "smb",
        "object": path,
        "object_type": "SHARE",
        "action": "TREE_CONNECT",
        "target_host": _unc_server(path),
    }


def _smb_files(rec: dict[str, Any]) -> Normalized:
    share = _text(rec.get("path"))
    name = _text(rec.get("name"))
    if share and name:
        obj: str | None = share.rstrip("\\") + "\\" + name.lstrip("\\")
    else:
        obj = name or share
    action = _text(rec.get("action"))
    if action and action.startswith("SMB::"):
        action = action[5:]
    return {
        "category": DATA_ACCESS,
        "activity": "file_access",
        "ocsf_class_uid": 1001,
        "protocol": "smb",
        "object": obj,
        "object_type": "PIPE" if action and action.startswith("PIPE_") else "FILE",
        "action": action,
        "target_host": _unc_server(share),
    }


def _ssh(rec: dict[str, Any]) -> Normalized:
    return {
        "category": AUTHENTICATION,
        "activity": "remote_logon",
        "ocsf_class_uid": 4007,
        "outcome": _outcome(_truth(rec.get("auth_success"))),
        "protocol": "ssh",
    }


def _dce_rpc(rec: dict[str, Any]) -> Normalized:
    return {
        "category": NETWORK,
        "activity": "rpc",
        "ocsf_class_uid": 4001,
        "protocol": "dce_rpc",
        "object": _text(rec.get("endpoint")),
        "object_type": "RPC_ENDPOINT",
        "action": _text(rec.get("operation")),
    }


def _generic(rec: dict[str, Any]) -> Normalized:
    return {"category": GENERIC, "ocsf_class_uid": 0}


NORMALIZERS: dict[str, Callable[[dict[str, Any]], Normalized]] = {
    "conn": _conn,
    "dns": _dns,
    "kerberos": _kerberos,
    "ntlm": _ntlm,
    "rdp": _rdp,
    "smb_mapping": _smb_mapping,
    "smb_files": _smb_files,
    "ssh": _ssh,
    "dce_rpc": _dce_rpc,
}

# Fields each normalizer reads: the vectorised TSV path hands it only these (a test checks that
# the normalizers read nothing else).
NORMALIZER_INPUTS: dict[str, tuple[str, ...]] = {
    "conn": ("proto", "service", "conn_state"),
    "dns": ("query", "qtype_name", "rcode", "rcode_name"),
    "kerberos": ("client", "request_type", "success", "error_msg", "service"),
    "ntlm": (
        "username",
        "domainname",
        "hostname",
        "server_nb_computer_name",
        "server_dns_computer_name",
        "success",
        "status",
    ),
    "rdp": ("cookie", "result", "client_name"),
    "smb_mapping": ("path",),
    "smb_files": ("path", "name", "action"),
    "ssh": ("auth_success",),
    "dce_rpc": ("endpoint", "operation"),
}

# Columns a normalizer may fill, besides the common ones filled for every record.
SPECIFIC_COLUMNS = (
    "category", "activity", "ocsf_class_uid", "principal", "domain", "auth_package", "outcome", "status",
    "src_host", "target_host", "protocol", "object", "object_type", "action",
)  # fmt: skip
_COMMON_COLUMNS = (
    "time", "record_id", "channel", "provider", "event_code", "host", "src_ip", "src_port", "target_ip",
    "target_port", "raw",
)  # fmt: skip
# The order of a row gathered by the row paths: common columns, then the normalizer's.
ROW_COLUMNS = (*_COMMON_COLUMNS, *SPECIFIC_COLUMNS, "ocsf_class_name")


def specific_row(normalized: Normalized) -> tuple[Any, ...]:
    row = tuple(map(normalized.get, SPECIFIC_COLUMNS))
    return (*row, ocsf_name(normalized.get("ocsf_class_uid")))


GENERIC_ROW = specific_row(_generic({}))


def sensor_host(rec: dict[str, Any]) -> str | None:
    for key in SENSOR_KEYS:
        value = rec.get(key)
        if isinstance(value, str) and value:
            return value
    return None
