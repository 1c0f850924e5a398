"""The one normalized event schema every reader produces (Arrow), and the quarantine schema.

Readers fill the typed common columns they know and leave the rest null; the store fills the
provenance columns (``uid``, ``source_*``). ``raw`` keeps the full original record as JSON so that
Sigma rules (issue 3) can reach any field of the source format.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sekimori.ingest.fit import columns_arrays, null_array_sized

# Event categories: the first column a later stage filters on.
AUTHENTICATION = "authentication"
PROCESS = "process"
NETWORK = "network"
DATA_ACCESS = "data_access"
GENERIC = "generic"
CATEGORIES = (AUTHENTICATION, PROCESS, NETWORK, DATA_ACCESS, GENERIC)

SUCCESS = "success"
FAILURE = "failure"

# OCSF 1.x class uids used by sekimori, with their names (https://schema.ocsf.io/classes).
OCSF_CLASSES: dict[int, str] = {
    0: "Base Event",
    1001: "File System Activity",
    1007: "Process Activity",
    3001: "Account Change",
    3002: "Authentication",
    3003: "Authorize Session",
    4001: "Network Activity",
    4003: "DNS Activity",
    4005: "RDP Activity",
    4006: "SMB Activity",
    4007: "SSH Activity",
    6003: "API Activity",
    6005: "Datastore Activity",
    201004: "Windows Service Activity",
}

TIME_TYPE = pa.timestamp("us", tz="UTC")

# (name, type, meaning) — the order is the column order in Parquet.
EVENT_FIELDS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("uid", pa.string(), "stable id of the event: <file digest prefix>:<ordinal in file>"),
    ("time", TIME_TYPE, "when the event happened, UTC"),
    ("source_format", pa.string(), "reader that parsed it (evtx, otrf_json, syslog, lanl, zeek, pgaudit…)"),
    ("source_file", pa.string(), "the path as given at ingest"),
    ("source_member", pa.string(), "member inside an archive (zip/tar), else null"),
    ("record_id", pa.int64(), "record id as in the log (EventRecordID, line number, …)"),
    ("channel", pa.string(), "log channel / stream (Security, Sysmon, sshd, zeek log path…)"),
    ("provider", pa.string(), "event provider / program"),
    ("event_code", pa.string(), "event id or code in the source (4624, 1, accepted_password…)"),
    ("category", pa.string(), "authentication | process | network | data_access | generic"),
    ("activity", pa.string(), "what happened, e.g. logon, logoff, process_start, query"),
    ("ocsf_class_uid", pa.int32(), "OCSF class uid"),
    ("ocsf_class_name", pa.string(), "OCSF class name"),
    ("host", pa.string(), "host that recorded the event"),
    ("principal", pa.string(), "account the event is about (user name without domain)"),
    ("domain", pa.string(), "domain / realm of the principal"),
    ("principal_sid", pa.string(), "SID of the principal when known"),
    ("logon_type", pa.int16(), "Windows logon type (2, 3, 10…) when known"),
    ("logon_id", pa.string(), "logon session id"),
    ("auth_package", pa.string(), "NTLM, Kerberos, Negotiate, password, publickey…"),
    ("outcome", pa.string(), "success | failure | null"),
    ("status", pa.string(), "status / failure reason code in the source"),
    ("src_host", pa.string(), "source host name"),
    ("src_ip", pa.string(), "source IP address"),
    ("src_port", pa.int32(), "source port"),
    ("target_host", pa.string(), "target host name"),
    ("target_ip", pa.string(), "target IP address"),
    ("target_port", pa.int32(), "target port"),
    ("protocol", pa.string(), "network protocol / service"),
    ("process", pa.string(), "process image path or name"),
    ("process_id", pa.int64(), "process id"),
    ("parent_process", pa.string(), "parent process image"),
    ("command_line", pa.string(), "command line / statement"),
    ("object", pa.string(), "object accessed: share, file, table, service, target process"),
    ("object_type", pa.string(), "FILE, SHARE, TABLE, SERVICE, PROCESS, …"),
    ("action", pa.string(), "operation on the object: READ, SELECT, INSTALL…"),
    ("database", pa.string(), "database name for data-access events"),
    # Identity providers and cloud audit (sign-ins, role assumptions): who came from which tenant into which.
    ("tenant", pa.string(), "the principal's home tenant / account (Entra tenant id, Okta org, AWS account)"),
    ("resource_tenant", pa.string(), "tenant / account of the resource signed in to (recipient account)"),
    ("cross_tenant", pa.string(), "cross-tenant access type (b2bCollaboration, b2bDirectConnect, …)"),
    ("application", pa.string(), "application signed in to or called (app name or id, AWS eventSource)"),
    ("user_agent", pa.string(), "client user agent"),
    ("mfa_used", pa.bool_(), "a second factor was used (null: the log does not say)"),
    ("mfa_method", pa.string(), "how: the factor or authentication method (push, totp, fido2, …)"),
    ("conditional_access", pa.string(), "conditional-access / policy result (success, failure, notApplied)"),
    ("role", pa.string(), "role assumed or granted (AWS role ARN, directory role)"),
    ("raw", pa.string(), "the full original record as JSON"),
)

EVENT_SCHEMA = pa.schema([pa.field(name, typ) for name, typ, _ in EVENT_FIELDS])
EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)
_EVENT_COLUMN_SET = frozenset(EVENT_COLUMNS)
_NAMES_TYPES = [(f.name, f.type) for f in EVENT_SCHEMA]
_OCSF_NAME_INDEX = EVENT_COLUMNS.index("ocsf_class_name")
_OCSF_UID_INDEX = EVENT_COLUMNS.index("ocsf_class_uid")
# Columns the store fills; readers leave them out.
PROVENANCE_COLUMNS = ("uid", "source_format", "source_file", "source_member")

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string()),
        pa.field("source_member", pa.string()),
        pa.field("source_format", pa.string()),
        pa.field("record", pa.int64()),  # record number / line number, when known
        pa.field("offset", pa.int64()),  # byte offset, when known
        pa.field("field", pa.string()),  # field that was wrong, when known
        pa.field("reason", pa.string()),
        pa.field("excerpt", pa.string()),  # short, escaped excerpt of the bad input
    ]
)


def ocsf_name(uid: int | None) -> str | None:
    return None if uid is None else OCSF_CLASSES.get(uid, "Unknown")


_OCSF_UIDS = pa.array(list(OCSF_CLASSES), pa.int32())
_OCSF_NAMES = pa.array(list(OCSF_CLASSES.values()), pa.string())


# Up to this many rows, the names are looked up one by one: five Arrow calls cost more.
_OCSF_ROWS_BY_ROW = 64


def ocsf_names(uids: pa.Array) -> pa.Array:
    """Class names for an array of class uids, vectorised (null stays null, unknown is 'Unknown')."""
    if len(uids) <= _OCSF_ROWS_BY_ROW:
        return pa.array([ocsf_name(uid) for uid in uids.to_pylist()], pa.string())
    index = pc.index_in(uids.cast(pa.int32()), value_set=_OCSF_UIDS)
    names = _OCSF_NAMES.take(index)
    unknown = pc.and_(pc.is_valid(uids), pc.is_null(index))
    return pc.if_else(unknown, pa.scalar("Unknown", pa.string()), names)


def make_batch(
    columns: Mapping[str, Sequence[Any] | pa.Array], num_rows: int | None = None
) -> pa.RecordBatch:
    """Build an event batch from the columns a reader knows; the rest are null.

    Values are cast to the schema's types (e.g. ints for ports given as strings are *not*
    converted here: readers clean values first and quarantine what does not parse). Values that do
    not fit their column raise ``UnfitValues`` naming the rows; ``fit.fit_batch`` quarantines them.
    """
    if num_rows is None:
        num_rows = len(next(iter(columns.values()))) if columns else 0
    if not _EVENT_COLUMN_SET.issuperset(columns):
        raise KeyError(f"not event columns: {sorted(set(columns) - _EVENT_COLUMN_SET)}")
    given = columns_arrays(columns, EVENT_SCHEMA)
    arrays: list[pa.Array] = []
    sizes: list[int] = []
    for name, typ in _NAMES_TYPES:
        arr = given.get(name)
        if arr is None:
            arr, size = null_array_sized(num_rows, typ)
        else:
            size = arr.nbytes
        arrays.append(arr)
        sizes.append(size)
    name_idx, uid_idx = _OCSF_NAME_INDEX, _OCSF_UID_INDEX
    if arrays[name_idx].null_count == num_rows and arrays[uid_idx].null_count < num_rows:
        # Readers give the class uid; the name follows from it.
        arrays[name_idx] = ocsf_names(arrays[uid_idx])
        sizes[name_idx] = arrays[name_idx].nbytes
    batch = pa.RecordBatch.from_arrays(arrays, schema=EVENT_SCHEMA)
    key = id(batch)
    _NBYTES[key] = (weakref.ref(batch, lambda _: _NBYTES.pop(key, None)), sum(sizes), sizes)
    return batch


# The nbytes of the live batches ``make_batch`` built, and of each of their columns, by id (see
# ``batch_nbytes``).
_NBYTES: dict[int, tuple[weakref.ref[pa.RecordBatch], int, list[int]]] = {}


def batch_nbytes(batch: pa.RecordBatch) -> int:
    """``batch.nbytes``. Arrow's is the sum of its columns' (a compute call each, some 2 µs: 130 µs
    for a small file's batch of 48 columns); for a batch of ``make_batch``, that sum was taken as it
    was built, the shared all-null columns' sizes known from their cache."""
    known = _NBYTES.get(id(batch))
    if known is not None and known[0]() is batch:
        return known[1]
    return int(batch.nbytes)


def column_nbytes(batch: pa.RecordBatch, i: int) -> int:
    """``batch.column(i).nbytes``, known without a compute call for a batch of ``make_batch``."""
    known = _NBYTES.get(id(batch))
    if known is not None and known[0]() is batch:
        return known[2][i]
    return int(batch.column(i).nbytes)
