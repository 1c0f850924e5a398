"""Messages of sudo, su, login, ftpd and klogind: privilege changes and log-ins outside sshd.

This module owns the per-program parsers other than sshd's and PAM's: sudo (``alice : TTY=pts/0 ;
PWD=/ ; USER=root ; COMMAND=/bin/ls`` and its refusals), su (util-linux and shadow forms), login
(``ROOT LOGIN ON tty2``, ``LOGIN ON … BY``, ``FAILED LOGIN``), ftpd (connections and anonymous
log-ins) and klogind (Kerberos failures). Each ``parse_<program>`` turns one message into event fields
and parsed details, or None when the message is none of its forms.
"""

from __future__ import annotations

import re
from typing import Any

from sekimori.ingest.schema import FAILURE, NETWORK, PROCESS, SUCCESS
from sekimori.ingest.syslog.event_values import AUTH, Match, matched_groups, source_fields

_SUDO_RE = re.compile(r"\s*(?P<user>\S+) : (?P<body>.*)$")
_SUDO_SPLIT = re.compile(r"\s*;\s*")


def parse_sudo(msg: str) -> Match:
    m = _SUDO_RE.match(msg)
    if not m:
        return None
    body = m["body"]
    idx = body.find("COMMAND=")
    command = body[idx + len("COMMAND=") :].strip() if idx >= 0 else None
    head = body[:idx] if idx >= 0 else body
    kv: dict[str, str] = {}
    reasons = []
    for part in _SUDO_SPLIT.split(head.strip().rstrip(";")):
        item = part.strip()
        key, eq, value = item.partition("=")
        if eq and key.isupper():
            kv[key] = value
        elif item:
            reasons.append(item)
    if command is None and not kv:
        return None
    reason = "; ".join(reasons) or None
    details = {"user": m["user"], **kv, "COMMAND": command, "reason": reason}
    ev: dict[str, Any] = {
        "principal": m["user"],
        "object": kv.get("USER"),
        "object_type": "USER" if kv.get("USER") else None,
        "command_line": command,
        "process": command.split()[0] if command else None,
        "status": reason,
    }
    if reason is None:
        ev.update(
            category=PROCESS,
            ocsf_class_uid=1007,
            activity="process_start",
            outcome=SUCCESS,
            event_code="sudo.command",
        )
    elif "incorrect password attempt" in reason:
        ev.update(
            AUTH,
            activity="logon",
            outcome=FAILURE,
            event_code="sudo.incorrect_password",
            auth_package="sudo",
            process=None,
        )
    else:
        lowered = reason.lower()
        code = (
            "sudo.not_in_sudoers"
            if "not in sudoers" in lowered
            else "sudo.not_allowed"
            if "not allowed" in lowered
            else "sudo.password_required"
            if "password is required" in lowered
            else "sudo.denied"
        )
        ev.update(
            category=PROCESS, ocsf_class_uid=1007, activity="process_start", outcome=FAILURE, event_code=code
        )
    return ev, details


_SU_FORMS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (re.compile(r"\(to (?P<target>\S+)\) (?P<user>\S+) on (?P<tty>\S+)$"), True),
    (re.compile(r"FAILED SU \(to (?P<target>\S+)\) (?P<user>\S+) on (?P<tty>\S+)$"), False),
    (re.compile(r"Successful su for (?P<target>\S+) by (?P<user>\S+)$"), True),
    (re.compile(r"FAILED su for (?P<target>\S+) by (?P<user>\S+)$"), False),
    (re.compile(r"(?P<sign>[+-]) (?P<tty>\S+) (?P<user>[^:\s]+):(?P<target>\S+)$"), True),
)


def parse_su(msg: str) -> Match:
    for regex, ok in _SU_FORMS:
        m = regex.match(msg)
        if m:
            if m.groupdict().get("sign") == "-":
                ok = False
            ev = {
                **AUTH,
                "event_code": "su.success" if ok else "su.failed",
                "activity": "logon",
                "outcome": SUCCESS if ok else FAILURE,
                "principal": m["user"],
                "object": m["target"],
                "object_type": "USER",
                "auth_package": "su",
            }
            return ev, matched_groups(m)
    return None


_LOGIN_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"ROOT LOGIN (?:ON|on) (?P<tty>\S+)(?: FROM (?P<src>\S+))?$"), "login.root_login"),
    (re.compile(r"LOGIN ON (?P<tty>\S+) BY (?P<user>\S+)(?: FROM (?P<src>\S+))?$"), "login.login"),
    (
        re.compile(r"FAILED LOGIN (?:\d+|SESSION) FROM (?P<src>\S+) FOR (?P<user>.*?), (?P<reason>.*)$"),
        "login.failed",
    ),
)


def parse_login(msg: str) -> Match:
    for regex, code in _LOGIN_FORMS:
        m = regex.match(msg)
        if m:
            ok = code != "login.failed"
            src = m["src"]
            ev = {
                **AUTH,
                **(source_fields(src) if src and not src.startswith(("tty", "/dev")) else {}),
                "event_code": code,
                "activity": "logon",
                "outcome": SUCCESS if ok else FAILURE,
                "principal": m.groupdict().get("user") or "root",
                "status": m.groupdict().get("reason"),
            }
            return ev, matched_groups(m)
    return None


_FTPD_CONN = re.compile(r"connection from (?P<ip>\S+) \((?P<name>[^)]*)\)")
_FTPD_ANON = re.compile(r"ANONYMOUS FTP LOGIN FROM (?P<ip>[^,\s]+), *(?P<ident>.*)$")


def parse_ftpd(msg: str) -> Match:
    m = _FTPD_CONN.match(msg)
    if m:
        return {
            "category": NETWORK,
            "ocsf_class_uid": 4001,
            "event_code": "ftpd.connection",
            "activity": "open",
            "protocol": "ftp",
            **source_fields(m["ip"]),
        }, matched_groups(m)
    m = _FTPD_ANON.match(msg)
    if m:
        return {
            **AUTH,
            "event_code": "ftpd.anonymous_login",
            "activity": "logon",
            "outcome": SUCCESS,
            "principal": "anonymous",
            "protocol": "ftp",
            **source_fields(m["ip"]),
        }, matched_groups(m)
    return None


_KLOGIND_FAIL = re.compile(r"Authentication failed from (?P<ip>\S+) \((?P<name>[^)]*)\): ?(?P<reason>.*?)$")


def parse_klogind(msg: str) -> Match:
    m = _KLOGIND_FAIL.match(msg)
    if m:
        return {
            **AUTH,
            "event_code": "klogind.auth_failed",
            "activity": "logon",
            "outcome": FAILURE,
            "auth_package": "kerberos",
            "status": m["reason"] or None,
            **source_fields(m["ip"]),
        }, matched_groups(m)
    if msg.startswith("Kerberos authentication failed"):
        return {
            **AUTH,
            "event_code": "klogind.kerberos_failed",
            "activity": "logon",
            "outcome": FAILURE,
            "auth_package": "kerberos",
        }, {}
    return None
