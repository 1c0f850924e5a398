"""CloudTrail events as CSV: a header row naming CloudTrail fields in words ("Event Name", "Event
Time", "Source IP address", "User name", "AWS access key", …), one event per row.

Two kinds are met: CloudTrail's own event-history download (``Event ID, Event time, User name, Event
name, Resource type, Resource name, AWS access key, AWS region, Error code, Source IP address, …``) and
tools that flatten records to CSV, such as the honey-bucket alert export in OTRF's
``aws_s3_honeybucketlogs.zip`` (``Event Type, Event Name, Request ID, User ID, Request Parameters,
Alert, Event ID, Event DateTime, Alarm DateTime, Source IP, Request User Agent, Repeated Attempts``).
A header is read by normalised name (lower case, no spaces, ``_`` or ``-``); a row becomes a record
with CloudTrail's own field names, so the mapping is the one of JSON records. Cells holding an object
(``User ID``, ``Request Parameters``) are JSON or a Python literal (``{'type': 'AWSAccount'}``, as the
honey-bucket export writes them) and are read with ``ast.literal_eval`` — literals only, no code runs.
Columns that name no CloudTrail field are kept in the record under their header text.
"""

from __future__ import annotations

import ast
import csv
import re
from typing import Any

import orjson

# normalised header → CloudTrail field ("userIdentity.x" fills the identity object)
COLUMNS: dict[str, str] = {
    "eventid": "eventID",
    "eventtime": "eventTime",
    "eventdatetime": "eventTime",
    "eventname": "eventName",
    "eventsource": "eventSource",
    "eventtype": "eventType",
    "eventcategory": "eventCategory",
    "awsregion": "awsRegion",
    "region": "awsRegion",
    "sourceip": "sourceIPAddress",
    "sourceipaddress": "sourceIPAddress",
    "useragent": "userAgent",
    "requestuseragent": "userAgent",
    "errorcode": "errorCode",
    "errormessage": "errorMessage",
    "requestid": "requestID",
    "requestparameters": "requestParameters",
    "responseelements": "responseElements",
    "readonly": "readOnly",
    "recipientaccountid": "recipientAccountId",
    "userid": "userIdentity",
    "useridentity": "userIdentity",
    "username": "userIdentity.userName",
    "awsaccesskey": "userIdentity.accessKeyId",
    "accesskeyid": "userIdentity.accessKeyId",
}
OBJECT_FIELDS = frozenset({"userIdentity", "requestParameters", "responseElements"})
WHOLE_RECORD = "cloudtrailevent"  # the event-history download's column holding the record JSON
_NORMAL = re.compile(r"[\s_\-]+")


def normal(header: str) -> str:
    return _NORMAL.sub("", header.strip().lstrip("\ufeff")).lower()


def is_cloudtrail_header(row: list[str]) -> bool:
    names = [normal(h) for h in row]
    fields = {COLUMNS[n] for n in names if n in COLUMNS}
    return "eventName" in fields and len(fields) >= 3 and len(names) <= 64


def sniff_csv(head: bytes) -> float:
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
    if b"," not in first or first.lstrip().startswith((b"{", b"[")):
        return 0.0
    try:
        row = next(csv.reader([first.decode("utf-8", "replace")]))
    except (csv.Error, StopIteration):
        return 0.0
    return 0.85 if is_cloudtrail_header(row) else 0.0


def cell_object(value: str) -> Any:
    """A cell holding an object: JSON, else a Python literal; else the text itself."""
    text = value.strip()
    if not text.startswith(("{", "[")):
        return value
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def row_record(header: list[str], row: list[str]) -> dict[str, Any]:
    """One CSV row as a CloudTrail record (empty cells left out)."""
    record: dict[str, Any] = {}
    identity: dict[str, Any] = {}
    for name, value in zip(header, row, strict=False):
        if value == "":
            continue
        key = normal(name)
        if key == WHOLE_RECORD:
            whole = cell_object(value)
            if isinstance(whole, dict):
                record = {**whole, **record}
            continue
        field = COLUMNS.get(key)
        if field is None:
            record[name.strip().lstrip("\ufeff")] = value
        elif field.startswith("userIdentity."):
            identity[field.split(".", 1)[1]] = value
        elif field in OBJECT_FIELDS:
            record[field] = cell_object(value)
        else:
            record[field] = value.strip()
    if identity:
        existing = record.get("userIdentity")
        record["userIdentity"] = {**identity, **existing} if isinstance(existing, dict) else identity
    return record
