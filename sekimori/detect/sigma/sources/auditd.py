"""Linux audit (``linux/auditd``) and Sysmon-for-Linux categories read from it (``linux/process_creation``,
``linux/file_event``, ``linux/network_connection``).

``linux/auditd`` rules are written for audit.log *records* (``type: EXECVE`` with ``a0``, ``a1``…;
``type: SYSCALL`` with ``exe``, ``key``, ``SYSCALL``; ``type: PATH`` with ``name``), as an engine
reading audit.log line by line sees them. The ``auditd`` reader joins the records of one event
(``msg=audit(time:serial)``) into one row whose ``raw`` holds each record by type (a list where a type
repeats, PATH). For these rules each record is one row again (``type`` its record type, the other fields
its own), so a rule matches an event when one of its records matches, as on audit.log. ``SYSCALL``
(the syscall's name, which only an ENRICHED log writes) falls back to the name the reader gave the
event (``action``) when that is a name, not a number.

The Sysmon-for-Linux categories are sekimori's reading of the same events (no pySigma pipeline maps
auditd to them): ``process_creation`` is an event with an EXECVE record (``Image`` the executable,
``CommandLine`` its decoded arguments joined by spaces, ``CurrentDirectory`` the CWD record, ``User``
the ENRICHED user name, else ``root`` for uid 0, else the reader's principal); ``file_event`` is a PATH
record of a created name (``nametype``/``objtype`` CREATE; ``TargetFilename`` made absolute with the
CWD); ``network_connection`` an event the reader read as a connect or accept (``Initiated`` true for
connect). What audit does not record is not read: ``ParentImage``, ``ParentCommandLine``, ``LogonId``,
``DestinationHostname`` (rules needing them do not match; ``sigma coverage`` names them).
"""

from __future__ import annotations

from typing import ClassVar

from sekimori.detect.sigma.source import NO_VALUE, FieldRead, SigmaSource, json_paths, register

RECORDS = """SELECT * EXCLUDE (_val),
       unnest(CASE WHEN json_type(_val) = 'ARRAY' THEN json_extract(_val, '$[*]') ELSE [_val] END)::VARCHAR
           AS _doc
FROM (SELECT e.*, j.key AS _rtype, j.value AS _val
      FROM (SELECT * FROM {table} WHERE source_format = 'auditd') e, json_each(e.raw) j
      WHERE j.key NOT IN ('node', 'stamp', 'serial'))"""
SYSCALL_SQL = (
    "coalesce(json_extract_string(_doc, '$.SYSCALL'), CASE WHEN _rtype = 'SYSCALL' AND action IS NOT NULL "
    "AND NOT regexp_full_match(action, '[0-9]+') THEN action END)"
)
USER_SQL = (
    "coalesce(json_extract_string(raw, '$.SYSCALL.UID'), "
    "CASE json_extract_string(raw, '$.SYSCALL.uid') WHEN '0' THEN 'root' END, principal)"
)
CWD_SQL = "json_extract_string(raw, '$.CWD.cwd')"
PROCESS: dict[str, str] = {
    "Image": "process",
    "CommandLine": "command_line",
    "CurrentDirectory": CWD_SQL,
    "User": USER_SQL,
    "ProcessId": "CAST(process_id AS VARCHAR)",
}
FILE: dict[str, str] = {
    "TargetFilename": (
        "CASE WHEN starts_with(json_extract_string(_doc, '$.name'), '/') OR "
        f"{CWD_SQL} IS NULL THEN json_extract_string(_doc, '$.name') ELSE "
        f"rtrim({CWD_SQL}, '/') || '/' || json_extract_string(_doc, '$.name') END"
    ),
    "Image": "process",
    "User": USER_SQL,
}
NETWORK: dict[str, str] = {
    "DestinationIp": "target_ip",
    "DestinationPort": "CAST(target_port AS VARCHAR)",
    "SourceIp": "src_ip",
    "SourcePort": "CAST(src_port AS VARCHAR)",
    "Image": "process",
    "User": USER_SQL,
    "Initiated": "CASE activity WHEN 'connect' THEN 'true' ELSE 'false' END",
}
FIELDS = {"process_creation": PROCESS, "file_event": FILE, "network_connection": NETWORK}


@register
class AuditdSource(SigmaSource):
    name: ClassVar[str] = "auditd"
    description: ClassVar[str] = "Linux audit records, and process, file and network events read from them"
    formats: ClassVar[tuple[str, ...]] = ("auditd",)

    def kind_of(self, product: str | None, category: str | None, service: str | None) -> str | None:
        if product != "linux":
            return None
        if service == "auditd" and category is None:
            return "auditd"
        if service is None and category in FIELDS:
            return category
        return None

    def rows(self, kind: str, table: str) -> str:
        records = RECORDS.format(table=table)
        if kind == "auditd":
            return records
        if kind == "file_event":
            return (
                f"SELECT * FROM ({records}) WHERE _rtype = 'PATH' AND upper(coalesce("
                "json_extract_string(_doc, '$.nametype'), json_extract_string(_doc, '$.objtype'))) = 'CREATE'"
            )
        where = "activity = 'process_start'" if kind == "process_creation" else "category = 'network'"
        return f"SELECT *, raw AS _doc FROM {table} WHERE source_format = 'auditd' AND {where}"

    def spark_rows(self, kind: str, table: str) -> str | None:
        if kind not in ("auditd", "file_event"):
            return None
        # RECORDS in Spark SQL: the event's records by type (a map of each top-level value's text), a
        # type given several times (a JSON array) one row per record.
        records = f"""SELECT e.*, r.key AS _rtype, d._doc AS _doc
FROM (SELECT * FROM {table} WHERE source_format = 'auditd') e
LATERAL VIEW explode(from_json(e.raw, 'map<string,string>')) r AS key, value
LATERAL VIEW explode(CASE WHEN startswith(ltrim(r.value), '[')
  THEN coalesce(from_json(r.value, 'array<string>'), array(r.value)) ELSE array(r.value) END) d AS _doc
WHERE r.key NOT IN ('node', 'stamp', 'serial')"""
        if kind == "auditd":
            return records
        return (
            f"SELECT * FROM ({records}) WHERE _rtype = 'PATH' AND upper(coalesce("
            "get_json_object(_doc, '$.nametype'), get_json_object(_doc, '$.objtype'))) = 'CREATE'"
        )

    def read(self, kind: str, field: str) -> FieldRead:
        if kind == "auditd":
            if field == "type":
                return FieldRead(sql="_rtype")
            if field == "SYSCALL":
                return FieldRead(sql=SYSCALL_SQL)
            return FieldRead(paths=json_paths(field))
        sql = FIELDS[kind].get(field)
        return NO_VALUE if sql is None else FieldRead(sql=sql)

    def distinct(self, kind: str) -> bool:
        return kind in ("auditd", "file_event")
