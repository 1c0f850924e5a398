"""The shapes CloudTrail records arrive in, told apart by content (never by file name).

* S3 delivery: one JSON object ``{"Records": [record, …]}`` per file (gzip; ``Source`` opens it).
* Digest files (``CloudTrail-Digest/…json.gz``): ``awsAccountId``, ``digestStartTime``,
  ``digestS3Object``, ``logFiles`` … — integrity data, no events: recognised and skipped.
* One record per line (CloudTrail Lake / Athena / SIEM exports, Logstash output, Panther's data lake),
  camelCase or all-lowercase keys.
* EventBridge events: ``{"version", "id", "detail-type": "AWS API Call via CloudTrail", "source",
  "account", "time", "region", "resources", "detail": record}``.
* CloudWatch Logs (a trail's log group): the subscription-filter payload ``{"messageType":
  "DATA_MESSAGE", "logGroup", "logStream", "logEvents": [{"id", "timestamp", "message": "<record
  JSON>"}]}`` (``CONTROL_MESSAGE`` payloads hold no events); ``filter-log-events`` / ``get-log-events``
  output ``{"events": [{"timestamp", "message"}]}``; and the S3 export task's lines
  ``2024-01-01T00:00:00.000Z {record}``.
* ``aws cloudtrail lookup-events`` output:
  ``{"Events": [{"EventId", …, "CloudTrailEvent": "<record JSON>"}]}``.
* A JSON array of any of the above.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

# A CloudWatch Logs export task writes each log event as "<ISO time> <message>".
EXPORT_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ")
DIGEST_KEYS = frozenset({"digestStartTime", "digestEndTime", "digestS3Object", "digestSignatureAlgorithm"})
# Fields of a CloudTrail record that, beside eventName, say "this is CloudTrail".
RECORD_KEYS = frozenset(
    {"eventSource", "eventVersion", "userIdentity", "awsRegion", "recipientAccountId", "eventID"}
)
RECORD_KEYS_LOWER = frozenset(k.lower() for k in RECORD_KEYS)
ENVELOPE = re.compile(rb'^\s*\{\s*"Records"\s*:\s*\[')
# The keys ``unwrap`` tells an envelope or a digest by: a document holding none of them is a record.
ENVELOPE_KEYS = frozenset({"Records", "detail", "logEvents", "events", "Events"}) | DIGEST_KEYS

# Kinds of document
DIGEST = "digest"
CONTROL = "control"  # CloudWatch Logs control message: no events
TEXT_SHAPES = frozenset({"cloudwatch", "lookup"})  # envelopes holding each record as JSON text


def strip_export_prefix(line: str) -> str:
    if not line[:1].isdigit():
        return line  # a JSON line: no regex run
    match = EXPORT_PREFIX.match(line)
    return line[match.end() :] if match else line


def is_digest(doc: dict[str, Any]) -> bool:
    # four look-ups, not a pass over the record's keys
    return sum(key in doc for key in DIGEST_KEYS) >= 2 or ("digestS3Object" in doc and "logFiles" in doc)


def looks_like_record(doc: Any) -> bool:
    """A CloudTrail record by its keys: eventName plus at least one other CloudTrail field."""
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("eventName"), str):
        return not RECORD_KEYS.isdisjoint(doc)
    if isinstance(doc.get("eventname"), str):
        return not RECORD_KEYS_LOWER.isdisjoint(doc)
    return False


def unwrap(doc: Any) -> tuple[str, list[Any]]:
    """(shape, items): the records inside one JSON document. An item is a record object, or the JSON
    text of one (CloudWatch Logs ``message``, lookup-events ``CloudTrailEvent``) still to be parsed."""
    if isinstance(doc, list):
        items: list[Any] = []
        for element in doc:
            _, inner = unwrap(element) if isinstance(element, dict) else ("item", [element])
            items.extend(inner)
        return "array", items
    if not isinstance(doc, dict):
        return "item", [doc]
    if doc.keys().isdisjoint(ENVELOPE_KEYS):
        return "record", [doc]  # most documents: a look-up per envelope key, in C
    records = doc.get("Records")
    if isinstance(records, list):
        return "s3", records
    if is_digest(doc):
        return DIGEST, []
    detail = doc.get("detail")
    if isinstance(detail, dict) and "detail-type" in doc:
        return "eventbridge", [detail]
    log_events = doc.get("logEvents")
    if isinstance(log_events, list) and "messageType" in doc:
        if doc.get("messageType") == "CONTROL_MESSAGE":
            return CONTROL, []
        return "cloudwatch", [e.get("message") if isinstance(e, dict) else e for e in log_events]
    events = doc.get("events")
    if isinstance(events, list) and events and all(isinstance(e, dict) and "message" in e for e in events):
        return "cloudwatch", [e["message"] for e in events]
    lookup = doc.get("Events")
    if isinstance(lookup, list) and all(isinstance(e, dict) and "CloudTrailEvent" in e for e in lookup):
        return "lookup", [e["CloudTrailEvent"] for e in lookup]
    return "record", [doc]


def sniff_json(head: bytes) -> float:
    """How sure the head of a JSON stream is CloudTrail (0 = not)."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if ENVELOPE.match(stripped):
        return 0.95
    if not stripped.startswith((b"{", b"[", b"1", b"2")):
        return 0.0
    if stripped.startswith(b"[") or not stripped.split(b"\n", 1)[0].rstrip().endswith((b"}", b"]")):
        # one document (an array, pretty-printed): judge by the field names in the head
        if (b'"digestS3Object"' in head and b'"digestStartTime"' in head) or b'"CloudTrailEvent"' in head:
            return 0.85
        for quote in (b'"', b'\\"'):  # record keys, or keys inside a record held as JSON text
            name, source, identity = (
                quote + k + quote for k in (b"eventName", b"eventSource", b"userIdentity")
            )
            if name in head and (source in head or identity in head):
                return 0.85
        return 0.0
    lines = head.split(b"\n")
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of the head may be cut
    seen = hits = 0
    for raw in lines[:20]:
        line = raw.strip()
        if not line:
            continue
        seen += 1
        try:
            doc = orjson.loads(strip_export_prefix(line.decode("utf-8", "replace")))
        except orjson.JSONDecodeError:
            continue
        if is_claimed(doc):
            hits += 1
    if not seen or hits == 0:
        return 0.0
    return 0.9 if hits * 2 >= seen else 0.6


def is_claimed(doc: Any) -> bool:
    """A document this reader recognises: a record, or an envelope holding records, or a digest."""
    if not isinstance(doc, dict):
        return False
    shape, items = unwrap(doc)
    if shape == DIGEST:
        return True
    if shape == CONTROL:
        return doc.get("owner") == "CloudwatchLogs"
    for item in items[:3]:
        if isinstance(item, str):
            try:
                item = orjson.loads(item)
            except orjson.JSONDecodeError:
                continue
        if looks_like_record(item):
            return True
    return False
