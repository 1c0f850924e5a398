"""One syslog message to event fields: which parser a message goes to, and what it gives when none fits.

This module owns the dispatch of ``normalize_message``: a ``message repeated N times: [ … ]`` wrapper
is unwrapped (its count kept in the details), PAM messages go to ``sekimori.ingest.syslog.pam`` by their
prefix, subsystem or bare form, the others to the parser of their program (``PROGRAMS``; a message
without a tag may still be login's), and a message no parser takes is a ``generic`` event.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sekimori.ingest.schema import GENERIC
from sekimori.ingest.syslog.event_values import Match
from sekimori.ingest.syslog.pam import PAM_MORE_RE, PAM_PREFIX_RE, parse_pam
from sekimori.ingest.syslog.programs import parse_ftpd, parse_klogind, parse_login, parse_su, parse_sudo
from sekimori.ingest.syslog.sshd import parse_sshd

_REPEATED_RE = re.compile(r"message repeated (?P<n>\d+) times: \[ ?(?P<msg>.*?) ?\]$")


PROGRAMS: dict[str, Callable[[str], Match]] = {
    "sshd": parse_sshd,
    "sshd-session": parse_sshd,
    "sshd-auth": parse_sshd,
    "sudo": parse_sudo,
    "su": parse_su,
    "login": parse_login,
    "ftpd": parse_ftpd,
    "in.ftpd": parse_ftpd,
    "klogind": parse_klogind,
}


def normalize_message(
    program: str | None, sub: str | None, msg: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Event fields and parsed details for one syslog message; ``event_code`` ``generic`` if unknown."""
    text = msg.rstrip()
    repeated = _REPEATED_RE.match(text)
    details: dict[str, Any] = {}
    if repeated:
        text = repeated["msg"]
        details["repeated"] = int(repeated["n"])
    found: Match = None
    pam = PAM_PREFIX_RE.match(text)
    if pam:
        details.update(pam_module=pam["module"], pam_service=pam["svc"], pam_type=pam["ptype"])
        found = parse_pam(pam["msg"].rstrip(), pam["module"])
    elif sub and sub.startswith("pam_"):
        found = parse_pam(text, sub[4:])
    elif text.startswith("PAM ") and PAM_MORE_RE.match(text):
        found = parse_pam(text, "unix")
    if found is None:
        # A line without a tag may still be login(1)'s ("-- root[2421]: ROOT LOGIN ON tty2").
        handler = PROGRAMS.get(program if program is not None else "login")
        if handler is not None:
            found = handler(text)
    if found is None:
        return {"category": GENERIC, "ocsf_class_uid": 0, "event_code": "generic"}, details
    ev, parsed = found
    details.update(parsed)
    return ev, details
