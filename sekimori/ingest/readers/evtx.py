"""Windows EVTX files, every channel, parsed by the Rust ``evtx`` crate.

The crate's per-record JSON is normalized by ``sekimori.ingest.windows``. Parsing runs in a background
thread so that the crate's native work overlaps with normalization of the previous batch.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from typing import Any

import evtx
import orjson
import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.source import Source
from sekimori.ingest.windows import normalize_docs

EVTX_MAGIC = b"ElfFile\x00"
_RECORD_NO = re.compile(r"record number (\d+)")
_DONE = object()


@register
class EvtxReader(Reader):
    name = "evtx"
    description = "Windows EVTX (any channel), via the Rust evtx parser"
    batch_size = 8192

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        return 1.0 if head.startswith(EVTX_MAGIC) else 0.0

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        chunks: queue.Queue[Any] = queue.Queue(maxsize=4)
        stop = threading.Event()
        thread = threading.Thread(
            target=self._parse, args=(source, chunks, stop), name="evtx-parse", daemon=True
        )
        thread.start()
        try:
            while True:
                item = chunks.get()
                if item is _DONE:
                    break
                if isinstance(item, tuple) and item[0] == "bad":
                    _, reason, record = item
                    quarantine.add(reason, record=record)
                    continue
                ids, raws = item
                docs = [orjson.loads(r) for r in raws]  # the crate emits valid JSON
                batch = normalize_docs("evtx", docs, raws, quarantine, record_numbers=ids)
                if batch is not None:
                    yield batch
        finally:
            stop.set()
            while thread.is_alive():  # unblock the producer if we stopped early
                try:
                    chunks.get_nowait()
                except queue.Empty:
                    thread.join(timeout=0.05)

    def _parse(self, source: Source, out: queue.Queue[Any], stop: threading.Event) -> None:
        ids: list[int | None] = []
        raws: list[str] = []
        try:
            fh = source.open() if not source.is_plain_file() else None
            parser = evtx.PyEvtxParser(fh if fh is not None else str(source.fs_path))
            records = parser.records_json()
            while not stop.is_set():
                try:
                    rec = next(records)
                except StopIteration:
                    break
                except Exception as exc:  # the crate raises RuntimeError for a record it cannot parse
                    msg = str(exc)
                    m = _RECORD_NO.search(msg)
                    out.put(("bad", _short(msg), int(m.group(1)) if m else None))
                    continue
                if rec is None:
                    continue
                ids.append(rec["event_record_id"])
                raws.append(rec["data"])
                if len(raws) >= self.batch_size:
                    out.put((ids, raws))
                    ids, raws = [], []
            if raws:
                out.put((ids, raws))
        except Exception as exc:  # header unreadable: the whole file is quarantined, not the run
            out.put(("bad", f"not a readable EVTX file: {_short(str(exc))}", None))
        finally:
            out.put(_DONE)


def _short(msg: str, limit: int = 300) -> str:
    msg = " ".join(msg.split())
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"
