"""What one audit event (its records joined) means, as event-schema columns.

* user-space authentication and account records (USER_LOGIN, USER_AUTH, USER_ACCT, USER_CMD,
  CRED_*, USER_START/END, ADD_USER, …, and the kernel's LOGIN) → ``authentication`` (OCSF 3002):
  principal = ``acct`` (else ``id``, else the login uid), ``src_ip`` = ``addr``, outcome = ``res``;
* SYSCALL with EXECVE (or an execve/execveat syscall) → ``process`` ``process_start`` (OCSF 1007):
  process = ``exe``, command line = the decoded argv joined by blanks (PROCTITLE when there is no
  EXECVE record), process id = ``pid`` (the parent's ``ppid`` stays in ``raw``);
* connect / accept / accept4 with an IPv4/IPv6 SOCKADDR → ``network`` (OCSF 4001): the peer is the
  target of a connect and the source of an accept;
* everything else (CONFIG_CHANGE, AVC, ANOM_*, NETFILTER_CFG, SERVICE_START, other syscalls, …) →
  ``generic`` (OCSF 0) with the record type as event code and the syscall / operation as action.

Kernel events name their principal by the login uid (``auid``) when set, else ``uid``: the
interpreted name of an ENRICHED log (``AUID``/``UID``; AUOMS ``audit_user``/``user``) when present,
else the number. ``raw`` is one JSON object: ``node``, ``stamp``, ``serial``, and each record's fields
under its type (a list when the type occurs more than once, PATH always a list).
"""

from __future__ import annotations

from typing import Any

import orjson

from sekimori.ingest.auditd.assemble import AuditEvent
from sekimori.ingest.auditd.records import execve_args
from sekimori.ingest.auditd.tables import (
    AUTH_ACTIVITIES,
    AUXILIARY,
    EXEC_SYSCALLS,
    NETWORK_SYSCALLS,
    NO_ACCOUNT,
    RESULTS,
    UNSET_IDS,
    syscall_name,
)
from sekimori.ingest.schema import AUTHENTICATION, GENERIC, NETWORK, PROCESS

OCSF_AUTHENTICATION, OCSF_PROCESS, OCSF_NETWORK, OCSF_BASE = 3002, 1007, 4001, 0
_OBJECT_KEYS = ("name", "path", "dev", "table", "unit", "op", "audit_backlog_limit")


def raw_object(event: AuditEvent) -> dict[str, Any]:
    first = event.records[0]
    out: dict[str, Any] = {"node": first.node, "stamp": first.stamp, "serial": first.serial}
    for rec in event.records:
        have = out.get(rec.type)
        if have is None:
            out[rec.type] = [rec.fields] if rec.type == "PATH" else rec.fields
        elif isinstance(have, list):
            have.append(rec.fields)
        else:
            out[rec.type] = [have, rec.fields]
    if event.envelope is not None:
        out["envelope"] = event.envelope
    return out


def _set(value: Any) -> str | None:
    return value if isinstance(value, str) and value not in UNSET_IDS else None


def who(fields: dict[str, Any]) -> str | None:
    """The account a kernel record is about: the login uid when set, else the uid (names first)."""
    if _set(fields.get("auid")) or _set(fields.get("audit_user")):
        return _set(fields.get("AUID")) or _set(fields.get("audit_user")) or _set(fields.get("auid"))
    return _set(fields.get("UID")) or _set(fields.get("user")) or _set(fields.get("uid"))


def _outcome(primary: dict[str, Any], syscall: dict[str, Any]) -> str | None:
    for value in (primary.get("res"), primary.get("result"), syscall.get("success")):
        if isinstance(value, str) and value.lower() in RESULTS:
            return RESULTS[value.lower()]
    if primary.get("seresult") == "denied" or primary.get("apparmor") == "DENIED":
        return "failure"
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) < 19:
        return int(value)
    return None


def _addr(value: Any) -> str | None:
    return value if isinstance(value, str) and value not in NO_ACCOUNT else None


def _first_path(paths: list[dict[str, Any]]) -> str | None:
    named = [p for p in paths if isinstance(p.get("name"), str) and p["name"] != "(null)"]
    for p in named:
        if (p.get("nametype") or p.get("objtype")) not in ("PARENT", "UNKNOWN"):
            return str(p["name"])
    return str(named[0]["name"]) if named else None


def event_columns(event: AuditEvent) -> dict[str, Any]:
    """The schema columns of one joined event (``raw`` included)."""
    types: dict[str, list[dict[str, Any]]] = {}
    for rec in event.records:
        types.setdefault(rec.type, []).append(rec.fields)
    first = event.records[0]
    primary_type = next((r.type for r in event.records if r.type not in AUXILIARY), None)
    primary_type = primary_type or ("SYSCALL" if "SYSCALL" in types else first.type)
    primary = types[primary_type][0]
    syscall = types.get("SYSCALL", [{}])[0]
    kernel = syscall or primary
    name = syscall_name(kernel)
    proctitle = types.get("PROCTITLE", [{}])[0].get("proctitle")
    cols: dict[str, Any] = {
        "time": first.time,
        "record_id": event.first_line,
        "channel": "auditd",
        "provider": "linux-audit",
        "event_code": primary_type,
        "host": first.node or primary.get("node"),
        "principal": who(kernel),
        "logon_id": _set(kernel.get("ses")),
        "outcome": _outcome(primary, kernel),
        "process": kernel.get("exe") or kernel.get("comm"),
        "process_id": _int(kernel.get("pid")),
        "command_line": proctitle,
    }
    if isinstance(kernel.get("exit"), str):
        cols["status"] = kernel["exit"]  # the syscall's return value: an errno when negative
    if primary_type in AUTH_ACTIVITIES:
        _authentication(cols, primary_type, primary)
    elif "EXECVE" in types or name in EXEC_SYSCALLS:
        argv = execve_args(types["EXECVE"][0]) if "EXECVE" in types else []
        cols.update(category=PROCESS, activity="process_start", ocsf_class_uid=OCSF_PROCESS)
        # a failed execve has no EXECVE record: the caller's proctitle is not the new command line
        cols["command_line"] = " ".join(argv) if argv else primary.get("cmdline")
        if not argv and not primary.get("cmdline"):
            cols["object"] = _first_path(types.get("PATH", [])) or primary.get("name")
            cols["object_type"] = "FILE" if cols["object"] else None
        cols["event_code"] = "EXECVE" if "EXECVE" in types else primary_type
        cols["action"] = name
    elif name in NETWORK_SYSCALLS and types.get("SOCKADDR", [{}])[0].get("laddr"):
        _network(cols, NETWORK_SYSCALLS[name], types["SOCKADDR"][0])
    else:
        cols.update(category=GENERIC, activity=(primary_type.lower()), ocsf_class_uid=OCSF_BASE)
        cols["action"] = name if primary_type == "SYSCALL" else (
            primary.get("op") or primary.get("operation") or primary.get("seperms") or name
        )  # fmt: skip
        target = _first_path(types.get("PATH", [])) if "PATH" in types else None
        if target is None:
            target = next((primary[k] for k in _OBJECT_KEYS if isinstance(primary.get(k), str)), None)
            cols["object_type"] = None if target is None else "FILE" if "name" in primary else None
        else:
            cols["object_type"] = "FILE"
        cols["object"] = target
        if "addr" in primary:
            cols["src_ip"] = _addr(primary.get("addr"))
    cols["raw"] = orjson.dumps(raw_object(event), option=orjson.OPT_NON_STR_KEYS).decode()
    return cols


def _authentication(cols: dict[str, Any], rtype: str, rec: dict[str, Any]) -> None:
    cols.update(category=AUTHENTICATION, activity=AUTH_ACTIVITIES[rtype], ocsf_class_uid=OCSF_AUTHENTICATION)
    acct = rec.get("acct")
    if isinstance(acct, str) and acct not in NO_ACCOUNT:
        cols["principal"] = acct
    elif _set(rec.get("ID")) or _set(rec.get("id")):
        cols["principal"] = _set(rec.get("ID")) or _set(rec.get("id"))
    elif acct is not None:
        cols["principal"] = None  # "(invalid user)", "?": the log names no account
    hostname, addr = _addr(rec.get("hostname")), _addr(rec.get("addr"))
    cols["src_ip"] = addr
    cols["src_port"] = _int(rec.get("rport"))  # sshd's USER_AUTH / CRYPTO records name the client port
    cols["src_host"] = hostname if hostname != addr else None
    cols["target_host"] = cols.get("host")
    if rtype == "USER_CMD":
        cols["command_line"] = rec.get("cmd")
    else:
        cols["command_line"] = None
    op = rec.get("op")
    if isinstance(op, str):
        cols["action"] = op
        cols["auth_package"] = "pam" if op.startswith("PAM") else "publickey" if "pubkey" in op else None


def _network(cols: dict[str, Any], activity: str, sockaddr: dict[str, Any]) -> None:
    cols.update(category=NETWORK, activity=activity, ocsf_class_uid=OCSF_NETWORK, action=activity)
    side = "target" if activity == "connect" else "src"
    cols[f"{side}_ip"] = sockaddr.get("laddr")
    cols[f"{side}_port"] = sockaddr.get("lport")
