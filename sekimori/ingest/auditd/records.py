"""One Linux audit record (a line of ``/var/log/audit/audit.log``) into its type, stamp and fields.

A record is ``[node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value …``. Values are
``"quoted"`` text, bare words, or hex when the kernel / libaudit had to encode them (spaces, quotes,
control characters); those fields are decoded here (``ENCODED``; EXECVE arguments too, including the
``aN[i]`` chunks of a long argument). User-space records carry their own ``msg='key=value …'``, which
is flattened into the record (a closing quote is sometimes missing; the text then runs to the end).
In ``log_format = ENRICHED`` logs a ``\\x1d`` separates the raw fields from the interpreted ones, whose
names are UPPERCASE (``AUID="alice"``, ``SYSCALL=connect``); both are kept. AUOMS (Microsoft's
auditd plug-in) writes the same shape without ``msg=``, which is accepted as well.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sekimori.ingest.fit import BadValue

HEADER_RE = re.compile(
    r"^(?:node=(?P<node>\S+) )?type=(?P<type>\S+) (?:msg=)?audit\((?P<sec>\d+)(?:\.(?P<frac>\d+))?"
    r":(?P<serial>\d+)\):?\s?(?P<body>.*)$",
    re.DOTALL,
)
# key=value; a quoted value ends at a quote followed by a blank, a closing ' or the end (AUOMS nests
# quotes inside ``cmdline="…"``); a single-quoted msg may lack its closing quote.
_KV_RE = re.compile(
    r"""(?:^|(?<=[\s(]))([A-Za-z_][\w\[\].-]*)="""
    r"""("(?:.*?)"(?=[\s']|$)|'.*?(?:'(?=\s|$)|$)|[^\s]*)"""
)
# An SELinux AVC: ``avc:  denied  { read } for …``.
_AVC_RE = re.compile(r"avc:\s+(?P<result>\w+)\s+\{\s*(?P<perms>[^}]*?)\s*\}")
# The ENRICHED separator, and its place when a copy lost the control character (``key=(null)ARCH=``).
ENRICHED_SEP = "\x1d"
_LOST_SEP_RE = re.compile(r"(?<=[)\"'])(?=[A-Z][A-Z0-9_]*=)")
_HEX_RE = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")
_ARG_RE = re.compile(r"^a(\d+)(?:\[(\d+)\]|_len)?$")
_WHOLE_ARG_RE = re.compile(r"^a\d+$")

# Fields the kernel / libaudit write hex-encoded when the value holds a blank, a quote or a control
# character (auparse's ESCAPED / PROCTITLE / KEY field types).
ENCODED = frozenset(
    {
        "name", "cwd", "exe", "comm", "ocomm", "proctitle", "path", "acct", "cmd", "data", "key",
        "watch", "dir", "old-disk", "new-disk", "old-chardev", "new-chardev", "vm", "root_dir",
    }
)  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class AuditRecord:
    type: str
    stamp: str  # "SECONDS.MILLIS:SERIAL" exactly as logged: the event key (with node)
    time: datetime
    serial: int
    node: str | None
    fields: dict[str, Any] = field(default_factory=dict)


def decode_hex(value: str) -> str:
    """Hex-encoded text as text; invalid UTF-8 bytes are kept as ``\\xNN`` escapes."""
    return bytes.fromhex(value).decode("utf-8", errors="backslashreplace")


def _bare(key: str, value: str, execve: bool) -> str:
    if execve and _WHOLE_ARG_RE.match(key):
        # a bare argument was hex-encoded by the kernel; aN[i] chunks stay hex until joined
        return decode_hex(value) if _HEX_RE.match(value) else value
    if key in ENCODED and _HEX_RE.match(value):
        text = decode_hex(value)
        if key == "proctitle":
            return text.rstrip("\x00").replace("\x00", " ")
        return text
    # old PAM form: ``(hostname=?, addr=?, terminal=cron res=success)``
    value = value.rstrip(",")
    if value.endswith(")") and "(" not in value:
        value = value[:-1]
    return value


def parse_fields(body: str, into: dict[str, Any] | None = None, execve: bool = False) -> dict[str, Any]:
    """The key=value pairs of a record body (or of a user-space ``msg='…'``), hex decoded."""
    out: dict[str, Any] = {} if into is None else into
    for key, value in _KV_RE.findall(body):
        first = value[:1]
        if first == '"' and len(value) > 1 and value[-1] == '"':
            out[key] = value[1:-1]
        elif first == "'":
            inner = value[1:-1] if len(value) > 1 and value[-1] == "'" else value[1:]
            if key == "msg":
                parse_fields(inner, out)  # user-space message: its fields belong to the record
            else:
                out[key] = inner
        else:
            out[key] = _bare(key, value, execve)
    return out


def _split_keys(value: str) -> str | list[str]:
    # auditctl joins several -k keys with \x01 (AUDIT_KEY_SEPARATOR)
    parts = value.split("\x01")
    return parts[0] if len(parts) == 1 else parts


def execve_args(fields: dict[str, Any]) -> list[str]:
    """The argv of an EXECVE record: a0..aN, long arguments rebuilt from their aN[i] chunks."""
    whole: dict[int, str] = {}
    chunks: dict[int, dict[int, str]] = {}
    for key, value in fields.items():
        m = _ARG_RE.match(key)
        if not m or key.endswith("_len"):
            continue
        index = int(m.group(1))
        if m.group(2) is None:
            whole[index] = value
        else:
            chunks.setdefault(index, {})[int(m.group(2))] = value
    for index, parts in chunks.items():
        joined = "".join(parts[i] for i in sorted(parts))
        whole[index] = decode_hex(joined) if _HEX_RE.match(joined) else joined
    return [whole[i] for i in sorted(whole)]


def decode_saddr(hexed: str) -> dict[str, Any]:
    """A SOCKADDR ``saddr`` (struct sockaddr in hex) as family, address and port (host byte order
    for the family, network order for the port, as the kernel stores them on little-endian hosts)."""
    try:
        raw = bytes.fromhex(hexed)
    except ValueError:
        return {}
    if len(raw) < 2:
        return {}
    family = int.from_bytes(raw[:2], "little")
    if family == 2 and len(raw) >= 8:
        return {
            "saddr_fam": "inet",
            "laddr": str(ipaddress.IPv4Address(raw[4:8])),
            "lport": int.from_bytes(raw[2:4], "big"),
        }
    if family == 10 and len(raw) >= 24:
        return {
            "saddr_fam": "inet6",
            "laddr": str(ipaddress.IPv6Address(raw[8:24])),
            "lport": int.from_bytes(raw[2:4], "big"),
        }
    if family == 1:
        path = raw[2:]
        abstract = path[:1] == b"\x00"
        path = path[1:] if abstract else path
        text = path.split(b"\x00", 1)[0].decode("utf-8", errors="backslashreplace")
        return {"saddr_fam": "local", "path": ("@" if abstract else "") + text}
    names = {0: "unspecified", 16: "netlink", 17: "packet"}
    return {"saddr_fam": names.get(family, str(family))}


def _time(sec: str, frac: str | None) -> datetime:
    micros = int((frac or "0")[:6].ljust(6, "0"))
    seconds = int(sec)
    if seconds > 253402300799:  # after 9999-12-31
        raise BadValue("msg", f"time stamp {sec} is beyond the year 9999")
    return _EPOCH + timedelta(seconds=seconds, microseconds=micros)


def parse_record(line: str) -> AuditRecord:
    """One audit record line; raises ``BadValue`` when it has no ``type=… msg=audit(t:serial):``."""
    m = HEADER_RE.match(line)
    if m is None:
        if not line.startswith(("type=", "node=")):
            raise BadValue("type", "not an audit record (no type=… msg=audit(…) header)")
        raise BadValue("msg", "no audit(time:serial) stamp")
    body = m.group("body")
    enriched = ""
    if ENRICHED_SEP in body:
        body, _, enriched = body.partition(ENRICHED_SEP)
    else:
        lost = _LOST_SEP_RE.search(body)
        if lost:
            body, enriched = body[: lost.start()], body[lost.start() :]
    rtype = m.group("type")
    fields = parse_fields(body, execve=rtype == "EXECVE")
    if rtype == "AVC":
        avc = _AVC_RE.search(body)
        if avc:
            fields["seresult"] = avc.group("result")
            fields["seperms"] = avc.group("perms")
    if isinstance(fields.get("key"), str):
        fields["key"] = _split_keys(fields["key"])
    if rtype == "SOCKADDR" and isinstance(fields.get("saddr"), str):
        fields.update(decode_saddr(fields["saddr"]))
    if enriched:
        parse_fields(enriched, fields)
    stamp = f"{m.group('sec')}{'.' + m.group('frac') if m.group('frac') else ''}:{m.group('serial')}"
    return AuditRecord(
        type=rtype,
        stamp=stamp,
        time=_time(m.group("sec"), m.group("frac")),
        serial=int(m.group("serial")),
        node=m.group("node"),
        fields=fields,
    )
