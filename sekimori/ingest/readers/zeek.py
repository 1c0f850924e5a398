"""Zeek network sensor logs, in the default TSV format and as JSON lines.

TSV (Zeek's ``LogAscii`` default): a header block of ``#separator``, ``#set_separator``,
``#empty_field``, ``#unset_field``, ``#path``, ``#open``, ``#fields`` and ``#types`` lines, data lines
split on the separator, and a ``#close`` trailer. A file may hold several header blocks (concatenated
or rotated logs); each block is parsed with its own header. Values are typed by ``#types``; the
unset marker becomes null and the empty marker an empty list (containers) or empty string (strings);
Zeek's ``\\\\`` and ``\\xHH`` escapes are undone. Other lines starting with ``#`` are comments, as in
Zeek's own ASCII input reader.

JSON (``LogAscii::use_json`` or the json-streaming-logs package): one object per line with flat
dotted keys (``id.orig_h``); a nested ``id`` object is accepted too. ``ts`` is an epoch number or an
ISO-8601 string. Which log a record belongs to is told from its content: the ``_path`` key when the
writer adds it, otherwise the record's keys are scored against the field lists of the known Zeek logs
(``_FIELDS``); the file name only breaks ties.

Every record becomes one event (see ``docs/formats/zeek.md`` for the mapping); a line that cannot be
parsed (wrong field count, bad timestamp / port / address / number, invalid JSON) goes to the
quarantine with its line number, byte offset and field, and reading goes on.

TSV data lines are read in chunks of ``batch_size`` lines and converted column-wise with Arrow
(``_tsv_vector``); lines that path does not take on (escapes, control characters, a wrong field count,
values its strict patterns refuse) go through the row path (``_tsv_line``), which is the reference and
the only one that quarantines. Tests hold the two to the same output. JSON is read row by row.
"""

from __future__ import annotations

import calendar
import functools
import ipaddress
import math
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, ClassVar

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.rows import iter_lines
from sekimori.ingest.schema import (
    AUTHENTICATION,
    DATA_ACCESS,
    EVENT_SCHEMA,
    FAILURE,
    GENERIC,
    NETWORK,
    SUCCESS,
    TIME_TYPE,
    make_batch,
    ocsf_name,
)
from sekimori.ingest.source import Source

PROVIDER = "zeek"

# --------------------------------------------------------------------------------------------------
# Value helpers
# --------------------------------------------------------------------------------------------------

# Seconds since the epoch that still give a year 1..9999 (what an ISO string and Arrow can hold).
_MIN_EPOCH = -62_135_596_800
_MAX_EPOCH = 253_402_300_799
_ISO_SECONDS: dict[int, str] = {}
_ESCAPE_RE = re.compile(rb"\\(\\|x[0-9A-Fa-f]{2})")
# Control characters Zeek's JSON writer keeps as they are (everything else below 0x20 is written
# as the text \xHH), so a TSV value unescaped here reads exactly as the same value in Zeek JSON.
_CONTROL_RE = re.compile(r"[\x00-\x07\x0b\x0e-\x1f\x7f]")
_ADDR_OK: set[str] = set()
_ADDR_CACHE_MAX = 200_000


class BadValue(ValueError):
    """A field value that does not parse as its declared type."""


def _iso(micros: int) -> str:
    """ISO-8601 UTC with microseconds, as Zeek's JSON writer prints times."""
    sec, frac = divmod(micros, 1_000_000)
    prefix = _ISO_SECONDS.get(sec)
    if prefix is None:
        if len(_ISO_SECONDS) > 65_536:
            _ISO_SECONDS.clear()
        t = time.gmtime(sec)
        prefix = (
            f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        )
        _ISO_SECONDS[sec] = prefix
    return f"{prefix}.{frac:06d}Z"


def _epoch_micros(value: str) -> int:
    """Microseconds since the epoch from Zeek's ``1521911885.713879`` time text."""
    whole, dot, frac = value.partition(".")
    if (
        whole.isascii() and whole.isdigit() and len(whole) <= 12
        and (not dot or (frac.isascii() and frac.isdigit()))
    ):  # fmt: skip
        micros = int(whole) * 1_000_000 + (int((frac + "000000")[:6]) if frac else 0)
    else:
        try:
            seconds = float(value)
        except ValueError:
            raise BadValue(f"bad timestamp {value!r}") from None
        scaled = seconds * 1_000_000
        if not math.isfinite(scaled):
            raise BadValue(f"bad timestamp {value!r}")
        micros = round(scaled)
    if not _MIN_EPOCH * 1_000_000 <= micros <= _MAX_EPOCH * 1_000_000:
        raise BadValue(f"timestamp out of range {value!r}")
    return micros


def _json_time_micros(value: Any) -> int:
    """Microseconds since the epoch from a JSON ``ts``: epoch seconds (or milliseconds) or ISO-8601."""
    if isinstance(value, bool):
        raise BadValue(f"bad timestamp {value!r}")
    if isinstance(value, int):
        # JSON::TS_MILLIS writes integer milliseconds; seconds this large would be after year 5000.
        micros = value * 1000 if abs(value) >= 100_000_000_000 else value * 1_000_000
    elif isinstance(value, float):
        scaled = value * 1_000_000
        if not math.isfinite(scaled):
            raise BadValue(f"bad timestamp {value!r}")
        micros = round(scaled)
    elif isinstance(value, str):
        return _iso_micros(value)
    else:
        raise BadValue(f"bad timestamp {type(value).__name__}")
    if not _MIN_EPOCH * 1_000_000 <= micros <= _MAX_EPOCH * 1_000_000:
        raise BadValue(f"timestamp out of range {value!r}")
    return micros


_ISO_PARSED: dict[str, int] = {}


def _iso_micros(value: str) -> int:
    # Fast path for Zeek's own "2018-03-24T17:18:05.713879Z".
    if len(value) == 27 and value[19] == "." and value[26] == "Z" and value[10] == "T":
        head, frac = value[:19], value[20:26]
        sec = _ISO_PARSED.get(head)
        if sec is None:
            try:
                sec = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
            except ValueError:
                raise BadValue(f"bad timestamp {value!r}") from None
            if len(_ISO_PARSED) > 65_536:
                _ISO_PARSED.clear()
            _ISO_PARSED[head] = sec
        if frac.isascii() and frac.isdigit():
            return sec * 1_000_000 + int(frac)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        # Plain epoch seconds written as a string.
        return _epoch_micros(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        delta = parsed - datetime(1970, 1, 1, tzinfo=UTC)
    except OverflowError:
        raise BadValue(f"timestamp out of range {value!r}") from None
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if not _MIN_EPOCH * 1_000_000 <= micros <= _MAX_EPOCH * 1_000_000:
        raise BadValue(f"timestamp out of range {value!r}")
    return micros


def _check_addr(value: str) -> str:
    if value in _ADDR_OK:
        return value
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise BadValue(f"bad address {value!r}") from None
    if len(_ADDR_OK) > _ADDR_CACHE_MAX:
        _ADDR_OK.clear()
    _ADDR_OK.add(value)
    return value


def _unescape(value: str) -> str:
    """Undo Zeek's TSV escaping (``\\\\`` and ``\\xHH``); bytes that are not UTF-8 and control
    characters come out as the text ``\\xHH``, as Zeek's JSON writer prints them."""
    data = _ESCAPE_RE.sub(
        lambda m: b"\\" if m.group(1) == b"\\" else bytes((int(m.group(1)[1:], 16),)), value.encode()
    )
    text = data.decode("utf-8", errors="backslashreplace")
    if _CONTROL_RE.search(text):
        text = _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text


def _string(value: str) -> str:
    return _unescape(value) if "\\" in value else value


def _count(value: str) -> int:
    if value.isascii() and value.isdigit() and len(value) <= 20:
        number = int(value)
        if number < 1 << 64:
            return number
    raise BadValue(f"bad count {value!r}")


def _int(value: str) -> int:
    digits = value[1:] if value[:1] in "+-" else value
    if digits.isascii() and digits.isdigit() and len(digits) <= 19:
        number = int(value)
        if -(1 << 63) <= number < 1 << 63:
            return number
    raise BadValue(f"bad integer {value!r}")


def _port(value: str) -> int:
    if value.isascii() and value.isdigit() and len(value) <= 5:
        port = int(value)
        if port <= 65535:
            return port
    raise BadValue(f"bad port {value!r}")


def _double(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        raise BadValue(f"bad number {value!r}") from None
    return number if math.isfinite(number) else None


def _bool(value: str) -> bool:
    if value == "T":
        return True
    if value == "F":
        return False
    raise BadValue(f"bad bool {value!r}")


def _time(value: str) -> str:
    return _iso(_epoch_micros(value))


def _addr(value: str) -> str:
    return _check_addr(_string(value))


_SCALARS: dict[str, Callable[[str], Any]] = {
    "string": _string,
    "enum": _string,
    "subnet": _string,
    "pattern": _string,
    "addr": _addr,
    "port": _port,
    "count": _count,
    "counter": _count,
    "int": _int,
    "double": _double,
    "interval": _double,
    "time": _time,
    "bool": _bool,
}


# --------------------------------------------------------------------------------------------------
# Log identification (JSON) and normalization (both forms)
# --------------------------------------------------------------------------------------------------

# Keys every log may carry (connection id, uid, writer metadata); they say nothing about the log.
_COMMON_KEYS = frozenset(
    {"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "id.vlan", "id.vlan_inner",
     "community_id", "_path", "_write_ts", "_system_name", "_node_name", "_node", "id"}
)  # fmt: skip

# Fields of the Zeek 6 default logs (without the common keys), used to tell a JSON record's log.
_FIELDS: dict[str, frozenset[str]] = {
    name: frozenset(fields.split())
    for name, fields in {
        "conn": "proto service duration orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes "
        "history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents ip_proto orig_l2_addr "
        "resp_l2_addr",
        "dns": "proto trans_id rtt query qclass qclass_name qtype qtype_name rcode rcode_name AA TC RD RA Z "
        "answers TTLs rejected",
        "kerberos": "request_type client service success error_msg from till cipher forwardable renewable "
        "client_cert_subject client_cert_fuid server_cert_subject server_cert_fuid",
        "ntlm": "username hostname domainname server_nb_computer_name server_dns_computer_name "
        "server_tree_name success status",
        "rdp": "cookie result security_protocol client_channels keyboard_layout client_build client_name "
        "client_dig_product_id desktop_width desktop_height requested_color_depth cert_type cert_count "
        "cert_permanent encryption_level encryption_method",
        "smb_mapping": "path service native_file_system share_type",
        "smb_files": "fuid action path name size prev_name times.modified times.accessed times.created "
        "times.changed",
        "ssh": "version auth_success auth_attempts direction client server cipher_alg mac_alg "
        "compression_alg kex_alg host_key_alg host_key remote_location.country_code "
        "remote_location.region remote_location.city remote_location.latitude remote_location.longitude",
        "dce_rpc": "rtt named_pipe endpoint operation",
        "http": "trans_depth method host uri referrer version user_agent origin request_body_len "
        "response_body_len status_code status_msg info_code info_msg tags username password proxied "
        "orig_fuids orig_filenames orig_mime_types resp_fuids resp_filenames resp_mime_types",
        "files": "fuid source depth analyzers mime_type filename duration local_orig is_orig seen_bytes "
        "total_bytes missing_bytes overflow_bytes timedout parent_fuid md5 sha1 sha256 extracted "
        "extracted_cutoff extracted_size tx_hosts rx_hosts conn_uids",
        "ssl": "version cipher curve server_name resumed last_alert next_protocol established ssl_history "
        "cert_chain_fps client_cert_chain_fps sni_matches_cert validation_status subject issuer "
        "client_subject client_issuer cert_chain_fuids client_cert_chain_fuids",
        "x509": "fingerprint certificate.version certificate.serial certificate.subject certificate.issuer "
        "certificate.not_valid_before certificate.not_valid_after certificate.key_alg certificate.sig_alg "
        "certificate.key_type certificate.key_length certificate.exponent certificate.curve san.dns "
        "san.uri san.email san.ip basic_constraints.ca basic_constraints.path_len host_cert client_cert",
        "dhcp": "uids client_addr server_addr mac host_name client_fqdn domain requested_addr assigned_addr "
        "lease_time client_message server_message msg_types duration",
        "smtp": "trans_depth helo mailfrom rcptto date from to cc reply_to msg_id in_reply_to subject "
        "x_originating_ip first_received second_received last_reply path user_agent tls fuids is_webmail",
        "ftp": "user password command arg mime_type file_size reply_code reply_msg data_channel.passive "
        "data_channel.orig_h data_channel.resp_h data_channel.resp_p fuid",
        "weird": "name addl notice peer source",
        "notice": "fuid file_mime_type file_desc proto note msg sub src dst p n peer_descr actions "
        "email_dest suppress_for remote_location.country_code remote_location.region "
        "remote_location.city remote_location.latitude remote_location.longitude",
        "analyzer": "cause analyzer_kind analyzer_name fuid failure_reason failure_data",
        "dpd": "proto analyzer failure_reason packet_segment",
        "ntp": "version mode stratum poll precision root_delay root_disp ref_id ref_time org_time rec_time "
        "xmt_time num_exts",
        "snmp": "duration version community get_requests get_bulk_requests get_responses set_requests "
        "display_string up_since",
        "syslog": "proto facility severity message",
        "modbus": "tid unit func pdu_type exception",
        "rfb": "client_major_version client_minor_version server_major_version server_minor_version "
        "authentication_method auth share_flag desktop_name width height",
        "ldap_search": "message_id scope deref_aliases base_object result_count result diagnostic_message "
        "filter attributes",
        "ldap": "message_id version opcode result diagnostic_message object argument",
        "pe": "machine compile_ts os subsystem is_exe is_64bit uses_aslr uses_dep uses_code_integrity "
        "uses_seh has_import_table has_export_table has_cert_table has_debug_data section_names",
        "ocsp": "hashAlgorithm issuerNameHash issuerKeyHash serialNumber certStatus revoketime revokereason "
        "thisUpdate nextUpdate",
        "software": "host host_p software_type name version.major version.minor version.minor2 "
        "version.minor3 version.addl unparsed_version",
        "known_hosts": "host",
        "known_services": "host port_num port_proto service",
        "known_certs": "host port_num subject issuer_subject serial",
        "capture_loss": "ts_delta peer gaps acks percent_lost",
        "stats": "peer mem pkts_proc bytes_recv pkts_dropped pkts_link pkt_lag pkts_filtered events_proc "
        "events_queued active_tcp_conns active_udp_conns active_icmp_conns tcp_conns udp_conns "
        "icmp_conns timers active_timers files active_files dns_requests active_dns_requests "
        "reassem_tcp_size reassem_file_size reassem_frag_size reassem_unknown_size",
        "packet_filter": "node filter init success failure_reason",
        "loaded_scripts": "name",
        "tunnel": "tunnel_type action",
        "sip": "trans_depth method uri date request_from request_to response_from response_to reply_to "
        "call_id seq subject request_path response_path user_agent status_code status_msg warning "
        "request_body_len response_body_len content_type",
        "radius": "username mac framed_addr tunnel_client remote_ip connect_info reply_msg result ttl",
        "irc": "nick user command value addl dcc_file_name dcc_file_size dcc_mime_type fuid",
        "mysql": "cmd arg success rows response",
        "socks": "version user password status request.host request.name request_p bound.host bound.name "
        "bound_p",
        "dnp3": "fc_request fc_reply iin",
        "tls": "version cipher",
    }.items()
}
_FIELD_COUNTS = {name: len(fields) for name, fields in _FIELDS.items()}


def infer_path(keys: tuple[str, ...] | frozenset[str], hint: str | None = None) -> str | None:
    """The Zeek log whose fields fit ``keys`` best; ``hint`` (from the file name) breaks ties only.

    Score: fields of the log present minus keys foreign to it (common keys do not count); the log
    must score above zero. Among the logs with the top score the hint wins, else the log with the
    larger share of its fields present, else the first by name.
    """
    specific = [k for k in keys if k not in _COMMON_KEYS]
    if not specific:
        return hint if hint in _FIELDS else None
    scored: list[tuple[int, float, str]] = []
    for name, fields in _FIELDS.items():
        hits = sum(1 for k in specific if k in fields)
        score = 2 * hits - len(specific)  # hits - misses
        if hits and score > 0:
            scored.append((score, hits / _FIELD_COUNTS[name], name))
    if not scored:
        return None
    top = max(s[0] for s in scored)
    tied = [s for s in scored if s[0] == top]
    if any(s[2] == hint for s in tied):
        return hint
    return min(tied, key=lambda s: (-s[1], s[2]))[2]


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
_SPECIFIC = (
    "category", "activity", "ocsf_class_uid", "principal", "domain", "auth_package", "outcome", "status",
    "src_host", "target_host", "protocol", "object", "object_type", "action",
)  # fmt: skip
_COMMON = (
    "time", "record_id", "channel", "provider", "event_code", "host", "src_ip", "src_port", "target_ip",
    "target_port", "raw",
)  # fmt: skip
_COLUMNS = (*_COMMON, *_SPECIFIC, "ocsf_class_name")
_SENSOR_KEYS = ("_system_name", "_node_name", "_node")


def _specific_row(normalized: Normalized) -> tuple[Any, ...]:
    row = tuple(map(normalized.get, _SPECIFIC))
    return (*row, ocsf_name(normalized.get("ocsf_class_uid")))


_GENERIC_ROW = _specific_row(_generic({}))


def _host(rec: dict[str, Any]) -> str | None:
    for key in _SENSOR_KEYS:
        value = rec.get(key)
        if isinstance(value, str) and value:
            return value
    return None


# --------------------------------------------------------------------------------------------------
# TSV header blocks
# --------------------------------------------------------------------------------------------------

_DIRECTIVES = frozenset(
    {"separator", "set_separator", "empty_field", "unset_field", "path", "open", "close", "fields", "types"}
)
_HEX_RE = re.compile(r"\\x([0-9A-Fa-f]{2})")
_DIRECTIVE_RE = re.compile(r"#([a-z_]+)")
# Types whose text repeats a lot (ports, counts, flags, addresses): converted once per distinct text.
_MEMO_TYPES = frozenset({"port", "count", "counter", "int", "bool", "addr"})
_MEMO_MAX = 8192
# Fields whose type is fixed whatever #types says, so that the typed event columns stay typed.
_FORCED_TYPES = {
    "ts": "time",
    "id.orig_h": "addr",
    "id.orig_p": "port",
    "id.resp_h": "addr",
    "id.resp_p": "port",
    **dict.fromkeys(_SENSOR_KEYS, "string"),
}
_CONTAINERS = ("set[", "vector[", "table[")

# One column of a header block for the row path: name, converter (None: plain string, taken as
# is), memo of converted values (or None), and what the empty marker stands for: an empty container,
# an empty string, or (None) nothing, so it goes through the converter, which refuses it.
Column = tuple[str, Callable[[str], Any] | None, dict[str, Any] | None, tuple[()] | str | None]


def _header_value(value: str) -> str:
    return _HEX_RE.sub(lambda m: chr(int(m.group(1), 16)), value)


def _split_type(typ: str) -> tuple[bool, str]:
    for prefix in _CONTAINERS:
        if typ.startswith(prefix) and typ.endswith("]"):
            return True, typ[len(prefix) : -1]
    return False, typ


class _Block:
    """The state of one TSV header block and the column plans derived from it."""

    def __init__(self, separator: str = "\t") -> None:
        self.sep = separator
        self.set_sep = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.path: str | None = None
        self.fields: list[str] | None = None
        self.types: list[str] | None = None
        self.error: str | None = None
        # ``plain`` is used for lines without a backslash (strings need no unescaping), ``escaped``
        # for the others; ``kinds`` are (container, scalar type) for the vectorised path.
        self.plain: list[Column] | None = None
        self.escaped: list[Column] = []
        self.kinds: list[tuple[bool, str]] = []
        self.ts_index: int | None = None
        self.has_sensor = False
        self.inferred_path = "unknown"

    def reset_plan(self) -> None:
        self.plain = None

    def build(self, hint: str | None) -> bool:
        """Compile the column plans once the block's #fields (and #types) are known."""
        fields = self.fields
        if fields is None:
            self.error = "data line before a #fields header"
            return False
        types = self.types if self.types is not None else ["string"] * len(fields)
        if len(types) != len(fields):
            self.error = f"#fields has {len(fields)} names but #types has {len(types)}"
            return False
        if len(set(fields)) != len(fields):
            self.error = "#fields repeats a name"
            return False
        plain: list[Column] = []
        escaped: list[Column] = []
        kinds: list[tuple[bool, str]] = []
        for name, declared in zip(fields, types, strict=True):
            container, inner = _split_type(_FORCED_TYPES.get(name, declared))
            kinds.append((container, inner))
            conv = _SCALARS.get(inner, _string)
            if container:
                conv = self._container(conv)
                plain.append((name, conv, {}, ()))
                escaped.append((name, conv, {}, ()))
            elif conv is _string:
                plain.append((name, None, None, ""))
                escaped.append((name, _unescape, None, ""))
            else:
                memo: dict[str, Any] | None = {} if inner in _MEMO_TYPES else None
                plain.append((name, conv, memo, None))
                escaped.append((name, conv, memo, None))
        self.plain, self.escaped, self.kinds = plain, escaped, kinds
        self.error = None
        self.ts_index = fields.index("ts") if "ts" in fields else None
        self.has_sensor = any(k in fields for k in _SENSOR_KEYS)
        if self.path is None:  # a block without #path: tell the log from its #fields
            self.inferred_path = infer_path(tuple(fields), hint) or _fallback_path(hint)
        return True

    def _container(self, conv: Callable[[str], Any]) -> Callable[[str], tuple[Any, ...]]:
        set_sep, unset = self.set_sep, self.unset

        def convert(value: str) -> tuple[Any, ...]:
            return tuple(None if item == unset else conv(item) for item in value.split(set_sep))

        return convert

    @property
    def log_path(self) -> str:
        return self.path or self.inferred_path


def _fallback_path(hint: str | None) -> str:
    # A log none of the known field lists fits: the file name may say what it is, unless it names
    # a known log the content contradicts.
    return hint if hint and hint not in _FIELDS else "unknown"


# --------------------------------------------------------------------------------------------------
# Vectorised TSV: a chunk of data lines of one header block, converted column-wise with Arrow.
# It gives the same events as the row path (``ZeekReader._tsv_line``), which stays the reference:
# lines with escapes or control characters, a wrong field count or any value the strict patterns
# below do not accept are handed to the row path, which converts or quarantines them.
# --------------------------------------------------------------------------------------------------

_RE_TIME = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"
_RE_TIME_PARTS = r"^(?P<s>[0-9]+)(?:\.(?P<f>[0-9]*))?$"
_RE_UINT = r"^[0-9]{1,18}$"
_RE_INT = r"^-?[0-9]{1,18}$"
_RE_DOUBLE = r"^-?[0-9]{1,15}(\.[0-9]{1,17})?$"
_NULL_STR = pa.scalar(None, pa.string())
_NULL_BOOL = pa.scalar(None, pa.bool_())
_NULL_INT = pa.scalar(None, pa.int64())
_NULL_FLOAT = pa.scalar(None, pa.float64())


# Arrow scalars made once: pyarrow converts a Python literal argument anew at every call, and
# that conversion is slow next to the kernels on a chunk.
@functools.lru_cache(maxsize=1024)
def _s(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.string())


@functools.lru_cache(maxsize=1024)
def _i(value: int) -> pa.Scalar:
    return pa.scalar(value, pa.int64())


_VECTOR_KINDS = {
    "addr": "addr",
    "port": "port",
    "count": "uint",
    "counter": "uint",
    "int": "int",
    "double": "double",
    "interval": "double",
    "time": "time",
    "bool": "bool",
}


class _VecColumn:
    """One converted column: ``values`` as the row path would give them (for normalizers and the
    typed event columns), ``frags`` the JSON text of each value for ``raw``, ``bad`` the rows the
    strict patterns refused (or None), ``micros`` for time columns."""

    __slots__ = ("bad", "container", "empty", "frags", "micros", "unset", "values")

    def __init__(
        self,
        values: pa.Array,
        frags: pa.Array,
        bad: pa.Array | None = None,
        micros: pa.Array | None = None,
        container: bool = False,
        unset: pa.Array | None = None,
        empty: pa.Array | None = None,
    ) -> None:
        self.values, self.frags, self.bad, self.micros = values, frags, bad, micros
        self.container, self.unset, self.empty = container, unset, empty

    def filter(self, keep: pa.Array) -> _VecColumn:
        def f(a: pa.Array | None) -> pa.Array | None:
            return None if a is None else a.filter(keep)

        return _VecColumn(
            self.values.filter(keep), self.frags.filter(keep), None, f(self.micros), self.container,
            f(self.unset), f(self.empty),
        )  # fmt: skip

    def pylist(self) -> list[Any]:
        values = self.values.to_pylist()
        if not self.container:
            return values
        assert self.unset is not None and self.empty is not None
        return [
            None if u else () if e else tuple(v)
            for v, u, e in zip(values, self.unset.to_pylist(), self.empty.to_pylist(), strict=True)
        ]


def _quoted(col: pa.Array) -> pa.Array:
    # Only lines without backslashes and control characters get here: '"' is all JSON escapes.
    return pc.binary_join_element_wise(_s('"'), pc.replace_substring(col, '"', '\\"'), _s('"'), _s(""))


def _vec_scalar(kind: str, col: pa.Array, unset: str, empty: str | None) -> _VecColumn:
    """Convert a string column of scalar ``kind``; ``empty`` None: no empty marker (set elements)."""
    is_unset = pc.equal(col, _s(unset))
    vkind = _VECTOR_KINDS.get(kind, "str")
    if vkind == "str":
        values, frags = col, _quoted(col)
        if empty is not None:
            is_empty = pc.equal(col, _s(empty))
            values = pc.if_else(is_empty, _s(""), values)
            frags = pc.if_else(is_empty, _s('""'), frags)
        return _VecColumn(pc.if_else(is_unset, _NULL_STR, values), pc.if_else(is_unset, _s("null"), frags))
    if vkind == "addr":
        distinct = pc.unique(col.filter(pc.invert(is_unset))).to_pylist()
        refused = [v for v in distinct if not _addr_ok(v)]
        bad = pc.and_(pc.is_in(col, value_set=pa.array(refused, pa.string())), pc.invert(is_unset))
        return _VecColumn(
            pc.if_else(is_unset, _NULL_STR, col), pc.if_else(is_unset, _s("null"), _quoted(col)), bad
        )
    if vkind == "bool":
        is_true, is_false = pc.equal(col, _s("T")), pc.equal(col, _s("F"))
        valid = pc.or_(is_true, is_false)
        values = pc.if_else(valid, is_true, _NULL_BOOL)
        frags = pc.if_else(valid, pc.if_else(is_true, _s("true"), _s("false")), _s("null"))
        return _VecColumn(values, frags, pc.and_(pc.invert(valid), pc.invert(is_unset)))
    pattern = {"time": _RE_TIME, "uint": _RE_UINT, "port": _RE_UINT, "int": _RE_INT, "double": _RE_DOUBLE}[
        vkind
    ]
    valid = pc.match_substring_regex(col, pattern)
    safe = pc.if_else(valid, col, _s("0"))
    micros = None
    if vkind == "time":
        parts = pc.extract_regex(safe, _RE_TIME_PARTS)
        seconds = pc.cast(pc.struct_field(parts, [0]), pa.int64())
        fraction = pc.cast(pc.utf8_rpad(pc.struct_field(parts, [1]), 6, "0"), pa.int64())
        number = pc.add(pc.multiply(seconds, _i(1_000_000)), fraction)
        valid = pc.and_(valid, pc.less_equal(number, _i(_MAX_EPOCH * 1_000_000)))
        number = pc.if_else(valid, number, _i(0))
        micros = pc.if_else(valid, number, _NULL_INT)
        # "2018-03-24 17:15:20.865716" (always six digits for microseconds) -> Zeek's ISO form
        text = pc.cast(pc.cast(number, pa.timestamp("us")), pa.string())
        iso = pc.replace_substring(text, " ", "T", max_replacements=1)
        values = pc.if_else(valid, pc.binary_join_element_wise(iso, _s("Z"), _s("")), _NULL_STR)
        frags = pc.binary_join_element_wise(_s('"'), values, _s('"'), _s(""))
    elif vkind == "double":
        number = pc.cast(safe, pa.float64())
        values = pc.if_else(valid, number, _NULL_FLOAT)
        text = pc.cast(values, pa.string())
        frags = pc.if_else(
            pc.match_substring_regex(text, "[.eE]"), text, pc.binary_join_element_wise(text, _s(".0"), _s(""))
        )
    else:
        number = pc.cast(safe, pa.int64())
        if vkind == "port":
            valid = pc.and_(valid, pc.less_equal(number, _i(65535)))
        values = pc.if_else(valid, number, _NULL_INT)
        frags = pc.cast(values, pa.string())
    bad = pc.and_(pc.invert(valid), pc.invert(is_unset))
    return _VecColumn(values, pc.fill_null(frags, _s("null")), bad, micros)


def _vec_container(kind: str, col: pa.Array, block: _Block, rows: pa.Array) -> _VecColumn:
    is_unset, is_empty = pc.equal(col, _s(block.unset)), pc.equal(col, _s(block.empty))
    special = pc.or_(is_unset, is_empty)
    lists = pc.split_pattern(col, block.set_sep)
    items = _vec_scalar(kind, pc.list_flatten(lists), block.unset, None)
    bad = None
    if items.bad is not None and pc.any(items.bad).as_py():
        parents = pc.list_parent_indices(lists).filter(items.bad)
        bad = pc.and_(pc.is_in(rows, value_set=pc.unique(parents)), pc.invert(special))
    offsets = lists.offsets
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, items.frags), _s(","))
    frags = pc.binary_join_element_wise(_s("["), joined, _s("]"), _s(""))
    frags = pc.if_else(is_unset, _s("null"), pc.if_else(is_empty, _s("[]"), frags))
    values = pa.ListArray.from_arrays(offsets, items.values)
    return _VecColumn(values, frags, bad, None, True, is_unset, is_empty)


def _split_csv(lines: list[str], sep: str, n: int) -> list[pa.Array]:
    """Columns of lines that each hold ``n`` fields, by Arrow's CSV parser with quoting off (lines
    with CR, LF or a BOM, which it would treat specially, never get here)."""
    table = pacsv.read_csv(
        pa.py_buffer("\n".join(lines).encode()),
        read_options=pacsv.ReadOptions(
            column_names=[f"f{i}" for i in range(n)], block_size=1 << 24, use_threads=False
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=sep, quote_char=False, double_quote=False, escape_char=False, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={f"f{i}": pa.string() for i in range(n)},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if table.num_rows != len(lines):
        raise ValueError("CSV parser split the lines differently")
    return [table.column(i).combine_chunks() for i in range(n)]


def _split_pattern(lines: pa.Array, sep: str, n: int) -> list[pa.Array]:
    """Columns of lines that each hold ``n`` fields, for separators the CSV parser cannot take."""
    flat = pc.list_flatten(pc.split_pattern(lines, sep))
    starts = pc.multiply(pa.array(range(len(lines)), pa.int64()), _i(n))
    return [flat.take(pc.add(starts, _i(i))) for i in range(n)]


def _addr_ok(value: str) -> bool:
    try:
        _check_addr(value)
    except BadValue:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------------------


def _name_hint(source: Source) -> str | None:
    name = PurePosixPath(source.member or str(source.fs_path)).name
    stem = name.split(".", 1)[0].lower()
    return stem or None


def _looks_zeek_json(obj: Any) -> float:
    """How sure a parsed JSON line is a Zeek record."""
    if not isinstance(obj, dict):
        return 0.0
    ts = obj.get("ts")
    ts_ok = False
    if ts is not None:
        try:
            _json_time_micros(ts)
            ts_ok = True
        except BadValue:
            ts_ok = False
    if isinstance(obj.get("_path"), str) and ("_write_ts" in obj or ts_ok):
        return 0.95
    if not ts_ok:
        return 0.0
    nested = obj.get("id")
    if ("id.orig_h" in obj and "id.resp_h" in obj) or (isinstance(nested, dict) and "orig_h" in nested):
        uid = obj.get("uid")
        return 0.9 if isinstance(uid, str) and uid[:1] in ("C", "F") else 0.8
    keys = tuple(obj)
    known = all(k in _COMMON_KEYS or any(k in fields for fields in _FIELDS.values()) for k in keys)
    return 0.5 if known and infer_path(keys) is not None else 0.0


@register
class ZeekReader(Reader):
    name = "zeek"
    description = "Zeek logs: default TSV (#fields/#types headers) and JSON lines"
    # Chunks of fewer TSV lines go through the row path (the vectorised one has a fixed cost).
    vector_min_rows: ClassVar[int] = 64

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")
        if text.startswith(b"#separator "):
            return 1.0
        if text.startswith(b"#fields") or (text.startswith(b"#") and b"\n#fields" in text):
            return 0.9
        if not text.startswith(b"{"):
            return 0.0
        lines = text.split(b"\n")
        if len(lines) > 1:
            lines = lines[:-1]  # the last line may be cut off by the head limit
        scores = []
        for line in lines[:5]:
            if not line.strip():
                continue
            try:
                scores.append(_looks_zeek_json(orjson.loads(line)))
            except orjson.JSONDecodeError:
                scores.append(0.0)
        return max(scores, default=0.0)

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        self._hint = _name_hint(source)
        self._json_paths: dict[tuple[str, ...], str | None] = {}
        self._rows: list[tuple[Any, ...]] = []
        self._specific: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        size = self.batch_size
        pending: list[tuple[int, int, str]] = []  # TSV data lines of the current header block
        block: _Block | None = None
        for lineno, offset, text in iter_lines(source, quarantine):
            if lineno == 1 and text[0] == "\ufeff":  # a byte-order mark some tools write
                text = text[1:]
                if not text.strip():
                    quarantine.add("a byte-order mark and nothing else", record=lineno, offset=offset)
                    continue
            if text[0] == "#":
                match = _DIRECTIVE_RE.match(text)
                if match and match.group(1) in _DIRECTIVES:
                    if pending:
                        assert block is not None
                        yield from self._tsv_chunk(block, pending, quarantine)
                        pending = []
                    block = self._header(block, match.group(1), text, lineno, offset, quarantine)
                # other '#' lines are comments, as for Zeek's own ASCII reader
                continue
            if block is None:
                self._json_line(lineno, offset, text, quarantine)
                if len(self._rows) >= size:
                    yield from self._flush()
            else:
                pending.append((lineno, offset, text))
                if len(pending) >= size:
                    yield from self._tsv_chunk(block, pending, quarantine)
                    pending = []
        if pending:
            assert block is not None
            yield from self._tsv_chunk(block, pending, quarantine)
        yield from self._flush()

    def _flush(self, vector: pa.RecordBatch | None = None) -> Iterator[pa.RecordBatch]:
        """The rows gathered by the row paths (and a vectorised batch), in line order."""
        rows = self._rows
        batch = None
        if rows:
            batch = make_batch(dict(zip(_COLUMNS, zip(*rows, strict=True), strict=True)), len(rows))
            rows.clear()
        if vector is None or batch is None:
            single = vector if vector is not None else batch
            if single is not None:
                yield single
            return
        table = pa.Table.from_batches([vector, batch])
        table = table.take(pc.sort_indices(table["record_id"])).combine_chunks()
        yield from table.to_batches()

    def _emit(
        self,
        path: str,
        rec: dict[str, Any],
        micros: int | None,
        lineno: int,
        host: str | None,
        ids: tuple[Any, Any, Any, Any],
        raw: str,
    ) -> None:
        normalize = NORMALIZERS.get(path)
        if normalize is None:
            specific = _GENERIC_ROW
        else:
            # The normalized columns depend only on the declared inputs, which repeat a lot. Their
            # types are part of the key: 0 == False == 0.0, but a normalizer may tell them apart.
            values = tuple(map(rec.get, NORMALIZER_INPUTS[path]))
            key = (path, *values, *map(type, values))
            hashable = True
            try:
                cached = self._specific.get(key)
            except TypeError:  # a list or object among the inputs (JSON)
                cached, hashable = None, False
            if cached is None:
                cached = _specific_row(normalize(rec))
                if hashable:
                    if len(self._specific) >= _MEMO_MAX:
                        self._specific.clear()
                    self._specific[key] = cached
            specific = cached
        self._rows.append((micros, lineno, path, PROVIDER, path, host, *ids, raw, *specific))

    # ---- TSV: headers -------------------------------------------------------------------------

    def _header(
        self,
        block: _Block | None,
        directive: str,
        text: str,
        lineno: int,
        offset: int,
        quarantine: Quarantine,
    ) -> _Block:
        if directive == "separator":
            value = text[len("#separator") :]
            value = value[1:] if value[:1] in (" ", "\t") else value
            sep = _header_value(value)
            if not sep:
                quarantine.add(
                    "empty #separator; using tab", record=lineno, offset=offset, field="#separator", data=text
                )
                sep = "\t"
            return _Block(sep)
        if block is None:
            block = _Block()
        values = text.split(block.sep)[1:]
        if directive == "fields":
            block.fields = values
            block.types = None
        elif directive == "types":
            block.types = values
        elif directive in ("set_separator", "empty_field", "unset_field", "path"):
            value = _header_value(values[0]) if values else ""
            if directive == "set_separator":
                block.set_sep = value or ","
            elif directive == "empty_field":
                block.empty = value
            elif directive == "unset_field":
                block.unset = value
            else:
                block.path = value or None
        block.reset_plan()  # rebuilt at the next data line
        return block

    # ---- TSV: data lines ----------------------------------------------------------------------

    def _tsv_chunk(
        self, block: _Block, chunk: list[tuple[int, int, str]], quarantine: Quarantine
    ) -> Iterator[pa.RecordBatch]:
        if block.plain is None and not block.build(self._hint):
            for lineno, offset, text in chunk:
                quarantine.add(block.error or "no usable header", record=lineno, offset=offset, data=text)
            yield from self._flush()
            return
        vector = None
        rest: list[tuple[int, int, str]] = chunk
        if len(chunk) >= self.vector_min_rows and block.unset and block.set_sep:
            try:
                vector, rest = self._tsv_vector(block, chunk)
            except (pa.ArrowException, ValueError, TypeError, IndexError, KeyError):
                # Not expected; the row path is the reference and copes with anything.
                vector, rest = None, chunk
        for lineno, offset, text in rest:
            self._tsv_line(block, lineno, offset, text, quarantine)
        yield from self._flush(vector)

    def _tsv_line(self, block: _Block, lineno: int, offset: int, text: str, quarantine: Quarantine) -> None:
        """The row path: one data line to one event (or one quarantine row)."""
        if block.plain is None and not block.build(self._hint):
            quarantine.add(block.error or "no usable header", record=lineno, offset=offset, data=text)
            return
        plan = block.plain if "\\" not in text else block.escaped
        assert plan is not None
        parts = text.split(block.sep)
        if len(parts) != len(plan):
            quarantine.add(
                f"expected {len(plan)} fields, got {len(parts)}", record=lineno, offset=offset, data=text
            )
            return
        unset, empty = block.unset, block.empty
        rec: dict[str, Any] = {}
        name = ""
        try:
            for (name, conv, memo, empty_value), value in zip(plan, parts, strict=True):
                if value == unset:
                    rec[name] = None
                elif value == empty and empty_value is not None:
                    rec[name] = empty_value
                elif conv is None:
                    rec[name] = value
                elif memo is None:
                    rec[name] = conv(value)
                else:
                    got = memo.get(value, memo)
                    if got is memo:
                        got = conv(value)
                        if len(memo) < _MEMO_MAX:
                            memo[value] = got
                    rec[name] = got
            micros = None
            ts_index = block.ts_index
            if ts_index is not None and parts[ts_index] != unset:
                name = "ts"
                micros = _epoch_micros(parts[ts_index])
        except BadValue as exc:
            quarantine.add(str(exc), record=lineno, offset=offset, field=name, data=text)
            return
        get = rec.get
        self._emit(
            block.log_path,
            rec,
            micros,
            lineno,
            _host(rec) if block.has_sensor else None,
            (get("id.orig_h"), get("id.orig_p"), get("id.resp_h"), get("id.resp_p")),
            orjson.dumps(rec).decode(),  # str at once: keeping many orjson bytes alive is slow
        )

    def _tsv_vector(
        self, block: _Block, chunk: list[tuple[int, int, str]]
    ) -> tuple[pa.RecordBatch | None, list[tuple[int, int, str]]]:
        """The vectorised path: a batch for the regular lines, and the lines left to the row path."""
        assert block.plain is not None and block.fields is not None
        fields, n = block.fields, len(block.fields)
        texts = [item[2] for item in chunk]
        lines = pa.array(texts, pa.string())
        controls = "\\x00-\\x08\\x0a-\\x1f\\x7f" if block.sep == "\t" else "\\x00-\\x1f\\x7f"
        irregular = pc.or_(
            pc.not_equal(pc.count_substring(lines, block.sep), _i(n - 1)),
            pc.match_substring_regex(lines, f"[{controls}\\\\\\x{{feff}}]"),
        )
        index = pc.indices_nonzero(pc.invert(irregular))  # positions in the chunk
        m = len(index)
        if m == 0:
            return None, chunk
        if len(block.sep) == 1 and block.sep not in '\r\n"':
            split = _split_csv([texts[i] for i in index.to_pylist()], block.sep, n)
        else:
            split = _split_pattern(lines.filter(pc.invert(irregular)), block.sep, n)
        rows = pa.array(range(m), pa.int64())
        columns: dict[str, _VecColumn] = {}
        for name, (container, kind), col in zip(fields, block.kinds, split, strict=True):
            if container:
                columns[name] = _vec_container(kind, col, block, rows)
            else:
                columns[name] = _vec_scalar(kind, col, block.unset, block.empty)
        bads = [c.bad for c in columns.values() if c.bad is not None]
        if bads:
            bad = bads[0]
            for other in bads[1:]:
                bad = pc.or_(bad, other)
            if pc.any(bad).as_py():
                keep = pc.invert(bad)
                index = index.filter(keep)
                columns = {name: c.filter(keep) for name, c in columns.items()}
                m = len(index)
        positions = index.to_pylist()
        taken = set(positions)
        rest = [item for i, item in enumerate(chunk) if i not in taken]
        if m == 0:
            return None, rest
        return self._vector_batch(block, columns, [chunk[i][0] for i in positions], m), rest

    def _vector_batch(
        self, block: _Block, columns: dict[str, _VecColumn], linenos: list[int], m: int
    ) -> pa.RecordBatch:
        path = block.log_path
        raw_parts: list[Any] = []
        for i, (name, col) in enumerate(columns.items()):
            raw_parts.append(_s(("{" if i == 0 else ",") + orjson.dumps(name).decode() + ":"))
            raw_parts.append(col.frags)
        raw_parts.append(_s("}"))
        out: dict[str, Any] = {
            "record_id": pa.array(linenos, pa.int64()),
            "channel": pa.repeat(_s(path), m),
            "provider": pa.repeat(_s(PROVIDER), m),
            "event_code": pa.repeat(_s(path), m),
            "raw": pc.binary_join_element_wise(*raw_parts, _s("")),
        }
        ts = columns.get("ts")
        if ts is not None and ts.micros is not None:
            out["time"] = pc.cast(ts.micros, TIME_TYPE)
        for column, name in (("src_ip", "id.orig_h"), ("src_port", "id.orig_p"), ("target_ip", "id.resp_h"),
                             ("target_port", "id.resp_p")):  # fmt: skip
            if name in columns:
                out[column] = columns[name].values
        if block.has_sensor:
            host: pa.Array = pa.nulls(m, pa.string())
            for sensor in reversed(_SENSOR_KEYS):
                if sensor in columns:
                    value = columns[sensor].values
                    host = pc.if_else(pc.fill_null(pc.not_equal(value, _s("")), False), value, host)
            out["host"] = host
        # The normalized columns: computed once per distinct combination of the normalizer's inputs,
        # then spread to the rows by index.
        normalize = NORMALIZERS.get(path)
        distinct: list[tuple[Any, ...]] = [_GENERIC_ROW]
        indices = None
        if normalize is not None:
            present = [name for name in NORMALIZER_INPUTS[path] if name in columns]
            values = [columns[name].pylist() for name in present]
            keys: Iterator[tuple[Any, ...]] = zip(*values, strict=True) if present else iter([()] * m)
            position: dict[tuple[Any, ...], int] = {}
            index = []
            for key in keys:
                slot = position.get(key)
                if slot is None:
                    slot = position[key] = len(distinct) - 1
                    normalized = normalize(dict(zip(present, key, strict=True)))
                    distinct.append(_specific_row(normalized))
                index.append(slot)
            distinct = distinct[1:]
            indices = pa.array(index, pa.int32())
        for j, name in enumerate((*_SPECIFIC, "ocsf_class_name")):
            typ = EVENT_SCHEMA.field(name).type
            if indices is None:
                value = distinct[0][j]
                out[name] = pa.nulls(m, typ) if value is None else pa.repeat(pa.scalar(value, typ), m)
            else:
                out[name] = pa.array([row[j] for row in distinct], typ).take(indices)
        return make_batch(out, m)

    # ---- JSON ---------------------------------------------------------------------------------

    def _json_line(self, lineno: int, offset: int, text: str, quarantine: Quarantine) -> None:
        try:
            rec = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            quarantine.add(f"invalid JSON: {exc}", record=lineno, offset=offset, data=text)
            return
        if not isinstance(rec, dict):
            quarantine.add(
                f"JSON {type(rec).__name__} is not an object", record=lineno, offset=offset, data=text
            )
            return
        nested = rec.get("id")
        if isinstance(nested, dict) and "id.orig_h" not in rec:
            rec = {**{f"id.{k}": v for k, v in nested.items()}, **{k: v for k, v in rec.items() if k != "id"}}
        field = "ts"
        try:
            ts = rec.get("ts")
            micros = None if ts is None else _json_time_micros(ts)
            field = "id.orig_h"
            orig_h = _json_addr(rec.get("id.orig_h"))
            field = "id.orig_p"
            orig_p = _json_port(rec.get("id.orig_p"))
            field = "id.resp_h"
            resp_h = _json_addr(rec.get("id.resp_h"))
            field = "id.resp_p"
            resp_p = _json_port(rec.get("id.resp_p"))
        except BadValue as exc:
            quarantine.add(str(exc), record=lineno, offset=offset, field=field, data=text)
            return
        path = rec.get("_path")
        if not isinstance(path, str) or not path:
            keys = tuple(rec)
            if keys in self._json_paths:
                path = self._json_paths[keys]
            else:
                path = self._json_paths[keys] = infer_path(keys, self._hint)
            if path is None:
                path = _fallback_path(self._hint)
        self._emit(path, rec, micros, lineno, _host(rec), (orig_h, orig_p, resp_h, resp_p), text)


def _json_addr(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadValue(f"bad address {value!r}")
    return _check_addr(value)


def _json_port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535:
        return value
    if isinstance(value, str):
        return _port(value)
    raise BadValue(f"bad port {value!r}")
