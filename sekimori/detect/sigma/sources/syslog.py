"""Linux syslog (``linux/sshd``, ``linux/sudo``, ``linux/cron``, ``linux/auth``, ``linux/syslog``, …,
and ``linux`` rules of no service, which also run on audit events).

These SigmaHQ rules are mostly keywords: they search the log line, read here as the line the
``syslog`` reader kept (``raw.line``; for audit events their record JSON). A service is the program that
wrote the line (``sshd``; ``cron`` also ``CRON``/``crond``); ``auth`` is the programs that write to
Debian's auth.log (the reader does not keep the facility); ``syslog`` is every line. ``USER`` (the sudo
rule) is sudo's ``USER=`` field.
"""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.sigma.source import FieldRead, SigmaSource, in_list, json_paths, register

PROGRAMS: dict[str, tuple[str, ...]] = {
    "sshd": ("sshd",),
    "sudo": ("sudo",),
    "cron": ("cron", "CRON", "crond"),
    "vsftpd": ("vsftpd",),
    "clamav": ("clamd", "freshclam", "clamav", "clamscan"),
    "guacamole": ("guacd", "guacamole"),
    "auth": (
        "sshd", "sudo", "su", "login", "passwd", "chpasswd", "useradd", "userdel", "usermod",
        "groupadd", "groupdel", "gpasswd", "chage", "systemd-logind", "polkitd", "pkexec", "unix_chkpwd",
    ),
}  # fmt: skip
LINE_SQL = "coalesce(json_extract_string(raw, '$.line'), raw)"


@register
class SyslogSource(SigmaSource):
    name: ClassVar[str] = "syslog"
    description: ClassVar[str] = "Linux syslog lines by program (keyword rules)"
    formats: ClassVar[tuple[str, ...]] = ("syslog", "auditd")

    def kind_of(self, product: str | None, category: str | None, service: str | None) -> str | None:
        if product != "linux" or category is not None:
            return None
        if service is None:
            return "any"
        return service if service in PROGRAMS or service == "syslog" else None

    def where(self, kind: str) -> str:
        if kind == "any":
            return in_list("source_format", self.formats)
        if kind == "syslog":
            return "source_format = 'syslog'"
        return f"source_format = 'syslog' AND {in_list('provider', PROGRAMS[kind])}"

    def raw_sql(self, kind: str) -> str:
        return LINE_SQL

    def read(self, kind: str, field: str) -> FieldRead:
        if field == "USER":
            return FieldRead(sql=r"regexp_extract(json_extract_string(raw, '$.message'), 'USER=([^ ;]+)', 1)")
        return FieldRead(paths=json_paths(field, ("$", "$.fields")))
