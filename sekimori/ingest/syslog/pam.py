"""PAM messages: authentication failures, unknown users and sessions, whichever program logged them.

This module owns the PAM forms, both under the ``pam_unix(sshd:auth): …`` prefix (``PAM_PREFIX_RE``)
and under the older ``sshd(pam_unix)[pid]: …`` tag: ``authentication failure; … user=``, ``check pass;
user unknown``, ``session opened|closed for user`` and ``N more authentication failures``
(``PAM_MORE_RE``, which also appears bare). ``parse_pam`` turns one message of a PAM module into event
fields (``auth_package`` ``pam_<module>``) and parsed details, the ``key=value`` pairs among them.
"""

from __future__ import annotations

import re

from sekimori.ingest.schema import FAILURE, SUCCESS
from sekimori.ingest.syslog.event_values import AUTH, Match, matched_groups, source_fields

PAM_PREFIX_RE = re.compile(r"pam_(?P<module>[\w-]+)\((?P<svc>[^:)]+):(?P<ptype>\w+)\): ?(?P<msg>.*)$")
_KV_RE = re.compile(r"(\w+)=(\S*)")

_PAM_AUTH_FAIL = re.compile(r"authentication failure; ?(?P<kv>.*)$")
PAM_MORE_RE = re.compile(r"(?:PAM )?(?P<n>\d+) more authentication failures?; ?(?P<kv>.*)$")
_PAM_UNKNOWN = re.compile(r"check pass; user unknown$")
_PAM_OPENED = re.compile(
    r"session opened for user (?P<user>[^\s(]+)(?:\(uid=(?P<uid>\d+)\))?"
    r"(?: by (?P<by>[^\s(]*)(?:\(uid=(?P<byuid>\d+)\))?)?$"
)
_PAM_CLOSED = re.compile(r"session closed for user (?P<user>[^\s(]+)(?:\(uid=\d+\))?$")


def parse_pam(msg: str, module: str) -> Match:
    package = f"pam_{module}"
    m = _PAM_AUTH_FAIL.match(msg) or PAM_MORE_RE.match(msg)
    if m:
        kv = dict(_KV_RE.findall(m["kv"]))
        parsed = {k: v for k, v in matched_groups(m).items() if k != "kv"}
        more = "n" in m.groupdict()
        ev = {
            **AUTH,
            **source_fields(kv.get("rhost") or None),
            "event_code": "pam.more_failures" if more else "pam.auth_failure",
            "activity": "other" if more else "logon",
            "outcome": FAILURE,
            "principal": kv.get("user") or None,
            "auth_package": package,
            "status": f"{m['n']}_more_failures" if more else None,
        }
        return ev, {**parsed, **kv}
    if _PAM_UNKNOWN.match(msg):
        return {
            **AUTH,
            "event_code": "pam.user_unknown",
            "activity": "preauth",
            "outcome": FAILURE,
            "status": "user_unknown",
            "auth_package": package,
        }, {}
    m = _PAM_OPENED.match(msg)
    if m:
        return {
            **AUTH,
            "event_code": "pam.session_opened",
            "activity": "logon",
            "outcome": SUCCESS,
            "principal": m["user"],
            "auth_package": package,
        }, matched_groups(m)
    m = _PAM_CLOSED.match(msg)
    if m:
        return {
            **AUTH,
            "event_code": "pam.session_closed",
            "activity": "logoff",
            "outcome": SUCCESS,
            "principal": m["user"],
            "auth_package": package,
        }, matched_groups(m)
    return None
