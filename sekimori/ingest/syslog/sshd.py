"""sshd messages: log-ins, invalid users, disconnects and the other forms OpenSSH writes to auth.log.

This module owns the sshd forms listed in ``sekimori.ingest.readers.syslog``: ``Accepted|Failed
<method> for [invalid user] U from IP port N`` (with the method's short code), ``Invalid user``,
``input_userauth_request: invalid user``, ``Connection closed by``, ``Received disconnect``,
``Disconnected from``, ``Did not receive identification string``, ``reverse mapping checking … POSSIBLE
BREAK-IN ATTEMPT``, ``Too many authentication failures``, ``maximum authentication attempts exceeded``
and ``Connection from``; ``parse_sshd`` turns one message into event fields and parsed details.
"""

from __future__ import annotations

import re
from typing import Any

from sekimori.ingest.schema import FAILURE, SUCCESS
from sekimori.ingest.syslog.event_values import (
    AUTH,
    SSH_NET,
    Match,
    matched_groups,
    port_number,
    source_fields,
    split_address,
)


def _method_code(method: str) -> str:
    base = method.split("/", 1)[0].lower()
    known = {
        "password": "password",
        "publickey": "publickey",
        "keyboard-interactive": "keyboard_interactive",
        "gssapi-with-mic": "gssapi",
        "gssapi-keyex": "gssapi",
        "hostbased": "hostbased",
        "none": "none",
    }
    return known.get(base, "other")


_SSHD_AUTH = re.compile(
    r"(?P<result>Accepted|Failed) (?P<method>\S+) for (?P<invalid>invalid user )?(?P<user>.*?)"
    r" from (?P<ip>\S+) port (?P<port>\d{1,5})(?: (?P<proto>ssh\d?))?(?:: (?P<info>.*))?$"
)
_SSHD_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Invalid user (?P<user>.*?) from (?P<ip>\S+)(?: port (?P<port>\d{1,5}))?$"), "invalid_user"),
    (
        re.compile(r"input_userauth_request: invalid user (?P<user>.*?)(?: \[preauth\])?$"),
        "invalid_user_request",
    ),
    (
        re.compile(
            r"Connection closed by (?:(?P<kind>authenticating|invalid) user (?P<user>.*?) )?(?P<ip>\S+)"
            r"(?: port (?P<port>\d{1,5}))?(?: \[preauth\])?$"
        ),
        "connection_closed",
    ),
    (
        re.compile(
            r"(?:error: )?Received disconnect from (?P<ip>\S+?)(?: port (?P<port>\d{1,5}))?: ?(?P<code>\d+):"
            r" ?(?P<reason>.*?)(?: \[preauth\])?$"
        ),
        "received_disconnect",
    ),
    (
        re.compile(
            r"Disconnected from (?:(?P<kind>authenticating user|invalid user|user) (?P<user>.+?) )?"
            r"(?P<ip>\S+) port (?P<port>\d{1,5})(?: \[preauth\])?$"
        ),
        "disconnected",
    ),
    (
        re.compile(
            r"reverse mapping checking getaddrinfo for (?P<name>\S+) \[(?P<ip>[^\]]+)\] failed"
            r"(?: - POSSIBLE BREAK-IN ATTEMPT!)?$"
        ),
        "reverse_mapping_failed",
    ),
    (
        re.compile(
            r"Address (?P<ip>\S+) maps to (?P<name>\S+), but this does not map back to the address"
            r"(?: - POSSIBLE BREAK-IN ATTEMPT!)?$"
        ),
        "reverse_mapping_failed",
    ),
    (
        re.compile(r"Did not receive identification string from (?P<ip>\S+)(?: port (?P<port>\d{1,5}))?$"),
        "no_identification",
    ),
    (
        re.compile(
            r"(?:error: )?maximum authentication attempts exceeded for (?P<invalid>invalid user )?"
            r"(?P<user>.*?) from (?P<ip>\S+) port (?P<port>\d{1,5})(?: ssh\d)?(?: \[preauth\])?$"
        ),
        "max_auth_attempts",
    ),
    (
        re.compile(
            r"Disconnecting(?: (?:authenticating|invalid) user \S+ (?P<ip>\S+) port (?P<port>\d{1,5}))?:"
            r" Too many authentication failures(?: for (?:invalid user )?(?P<user>.*?))?(?: \[preauth\])?$"
        ),
        "too_many_failures",
    ),
    (
        re.compile(
            r"Connection from (?P<ip>\S+) port (?P<port>\d{1,5}) on (?P<tip>\S+) port (?P<tport>\d{1,5})"
            r"(?: rdomain \S*)?$"
        ),
        "connection_from",
    ),
)


def parse_sshd(msg: str) -> Match:
    m = _SSHD_AUTH.match(msg)
    if m:
        ok = m["result"] == "Accepted"
        method = m["method"]
        ev = {
            **AUTH,
            "event_code": f"sshd.{'accepted' if ok else 'failed'}_{_method_code(method)}",
            "activity": "logon",
            "outcome": SUCCESS if ok else FAILURE,
            "principal": m["user"],
            "auth_package": method,
            "protocol": "ssh",
            "status": "invalid_user" if m["invalid"] else None,
            **source_fields(m["ip"], m["port"]),
        }
        return ev, matched_groups(m)
    for regex, form in _SSHD_FORMS:
        m = regex.match(msg)
        if m:
            return _sshd_form(form, m), matched_groups(m)
    return None


def _sshd_form(form: str, m: re.Match[str]) -> dict[str, Any]:
    g = m.groupdict()
    src = source_fields(g.get("ip"), g.get("port"))
    code = f"sshd.{form}"
    if form in ("invalid_user", "invalid_user_request"):
        return {
            **AUTH,
            **src,
            "event_code": code,
            "activity": "preauth",
            "outcome": FAILURE,
            "status": "invalid_user",
            "principal": g["user"],
            "protocol": "ssh",
        }
    if form in ("connection_closed", "received_disconnect"):
        return {
            **SSH_NET,
            **src,
            "event_code": code,
            "activity": "close",
            "principal": g.get("user"),
            "status": g.get("code"),
        }
    if form == "disconnected":
        if g["kind"] == "user":  # an authenticated session ends
            return {
                **AUTH,
                **src,
                "event_code": code,
                "activity": "logoff",
                "outcome": SUCCESS,
                "principal": g["user"],
                "protocol": "ssh",
            }
        return {**SSH_NET, **src, "event_code": code, "activity": "close", "principal": g["user"]}
    if form == "reverse_mapping_failed":
        ip, _ = split_address(g["ip"])
        return {
            **SSH_NET,
            "event_code": code,
            "activity": "reverse_mapping_failed",
            "src_ip": ip,
            "src_host": g["name"],
            "status": "possible_break_in_attempt",
        }
    if form == "no_identification":
        return {**SSH_NET, **src, "event_code": code, "activity": "fail"}
    if form in ("max_auth_attempts", "too_many_failures"):
        return {
            **AUTH,
            **src,
            "event_code": code,
            "activity": "other",
            "outcome": FAILURE,
            "principal": g.get("user"),
            "status": form,
            "protocol": "ssh",
        }
    # connection_from
    tip, _ = split_address(g["tip"])
    return {
        **SSH_NET,
        **src,
        "event_code": code,
        "activity": "open",
        "target_ip": tip,
        "target_port": port_number(g["tport"]),
    }
