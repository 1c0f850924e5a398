"""Okta System Log events, as the System Log API (``/api/v1/logs``) returns them: a JSON array of
``LogEvent`` objects (one API page saved as is), or one event per line (the API pages concatenated, log
streaming to a SIEM, data-lake exports). Keys are read in any case (Okta's camelCase and the
all-lowercase ``eventtype``/``displaymessage`` of data lakes).

Sign-in events (``user.session.*``, ``user.authentication.*``, MFA verification, sign-on policy
evaluation) become ``authentication`` events (OCSF 3002 Authentication); account, credential, factor
and privilege changes OCSF 3001 Account Change; everything else OCSF 6003 API Activity. The mapping is
``sekimori.ingest.okta.events``; it is documented in ``docs/formats/okta.md``.

Okta Log Streaming to Amazon EventBridge delivers each event as the ``detail`` of an EventBridge
envelope; the event inside is read (and kept as ``raw``).

A record without ``eventType`` (a fragment) or without a usable ``published`` time goes to the
quarantine with its record number and that field; lines that are not JSON objects too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.cloud.jsondocs import first_object, iter_json_docs, reads_json_lines
from sekimori.ingest.fit import BadValue
from sekimori.ingest.okta.events import COLUMNS, okta_values, pick
from sekimori.ingest.rows import TupleBatches
from sekimori.ingest.source import Source

# Okta event types are dotted lower-case names: user.session.start, app.oauth2.as.token.grant, …
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")
_COLUMNS = ("record_id", "raw", *COLUMNS)
_KEY_MARKERS = (b'"eventType"', b'"eventtype"')
_CONTEXT_MARKERS = (b'"legacyEventType"', b'"legacyeventtype"', b'"displayMessage"', b'"displaymessage"')


def event_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The LogEvent itself: Okta Log Streaming to Amazon EventBridge wraps it as ``detail`` of an
    EventBridge event (``detail-type: SystemLog``); anything else is taken as it is."""
    detail = doc.get("detail")
    if isinstance(detail, dict) and "detail-type" in doc and pick(detail, "eventType") is not None:
        return detail
    return doc


@register
class OktaReader(Reader):
    name = "okta"
    description = "Okta System Log events (API JSON array or JSON lines; camelCase or lower-case keys)"
    batch_size = 4096

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        if not any(m in head for m in _KEY_MARKERS):
            return 0.0
        doc = first_object(head)
        doc = event_of(doc) if doc is not None else None
        if doc is None:
            # A first record longer than the head: Okta's key names still say it.
            return 0.6 if any(m in head for m in _CONTEXT_MARKERS) and b'"actor"' in head else 0.0
        etype = pick(doc, "eventType")
        if not isinstance(etype, str) or not _EVENT_TYPE.match(etype):
            return 0.0
        if pick(doc, "eventSource") is not None or pick(doc, "eventName") is not None:
            return 0.0  # AWS CloudTrail also has an eventType
        actor = pick(doc, "actor")
        okta_shape = (
            pick(doc, "published") is not None
            or pick(doc, "legacyEventType") is not None
            or pick(doc, "displayMessage") is not None
            or (isinstance(actor, dict) and pick(actor, "alternateId") is not None)
        )
        return 0.95 if okta_shape else 0.0

    @classmethod
    def reads_lines(cls, source: Source, head: bytes) -> bool:
        return reads_json_lines(head)  # JSON Lines; an EventBridge envelope is one line too

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        yield from TupleBatches(_COLUMNS, self.batch_size, quarantine).batches(_rows(source, quarantine))


def _rows(source: Source, quarantine: Quarantine) -> Iterator[tuple[Any, ...]]:
    """``(record_id, raw, *okta_values)`` of each LogEvent (taken out of its EventBridge envelope, its
    own text then the raw); one that ``okta_values`` refuses goes to the quarantine, naming the field."""
    for number, offset, raw, doc in iter_json_docs(source, quarantine):
        event = event_of(doc)
        if event is not doc:
            doc, raw = event, orjson.dumps(event).decode()
        try:
            values = okta_values(doc)
        except BadValue as bad:
            at = None if offset < 0 else offset
            quarantine.add(bad.reason, record=number, offset=at, field=bad.field, data=raw)
            continue
        yield (number, raw, *values)
