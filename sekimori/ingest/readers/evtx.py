"""Windows EVTX files, every channel, parsed by the Rust ``evtx`` crate.

The crate's per-record JSON is normalized by ``sekimori.ingest.windows``. Parsing stays on the calling
thread: the crate holds the GIL while it parses, so a parse thread would only add GIL hand-offs (each
up to the 5 ms switch interval), which dominate on corpora of many small files.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from typing import IO, Any

import evtx
import orjson
import pyarrow as pa

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.fit import safe_str
from sekimori.ingest.source import Source
from sekimori.ingest.windows import NormalizedRows, normalized_batch, normalized_rows

EVTX_MAGIC = b"ElfFile\x00"
CHUNK_MAGIC = b"ElfChnk\x00"
HEADER_BLOCK = 4096  # the file header's block; chunks of 64 KiB follow it
CHUNK = 65536
_RECORD_NO = re.compile(r"record number (\d+)")


@register
class EvtxReader(Reader):
    name = "evtx"
    description = "Windows EVTX (any channel), via the Rust evtx parser"
    batch_size = 8192
    sniff_order = 0  # a magic number: cheap and certain

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        return 1.0 if head.startswith(EVTX_MAGIC) else 0.0

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        try:
            path = str(source.fs_path)
            # The crate takes a path as UTF-8: a file name that is not is read through a Python file.
            by_path = source.is_plain_file() and safe_str(path) == path
            handle: Any = path if by_path else source.open()
            records = evtx.PyEvtxParser(handle).records_json()
        except Exception as exc:  # header unreadable: the whole file is quarantined, not the run
            quarantine.add(f"not a readable EVTX file: {_short(str(exc))}")
            return
        read = errors = 0
        ids: list[int] = []
        raws: list[str] = []
        # Each record is normalized as soon as it is decoded (what ``normalize_docs`` does for a list):
        # its dict is freed then, and no list of dicts is kept.
        rows = normalized_rows("evtx")
        add = rows.add
        while True:
            try:
                rec = next(records)
            except StopIteration:
                break
            except Exception as exc:  # the crate raises RuntimeError for a record it cannot parse
                errors += 1
                msg = str(exc)
                m = _RECORD_NO.search(msg)
                # chrono's error for a FILETIME it cannot place: the record's time is what is wrong
                field = "time" if "out-of-range date" in msg else None
                quarantine.add(_short(msg), record=int(m.group(1)) if m else None, field=field)
                continue
            if rec is None:
                continue
            try:
                doc = orjson.loads(rec["data"])
            except orjson.JSONDecodeError as exc:  # not expected from the crate; cost: this record only
                reason = f"the parser's JSON does not load: {exc}"
                quarantine.add(reason, record=rec["event_record_id"], data=rec["data"])
                continue
            read += 1
            record_id = rec["event_record_id"]
            ids.append(record_id)
            raws.append(rec["data"])
            add(doc, None, record_id)
            if len(raws) >= self.batch_size:
                yield from _batch(rows, raws, ids, quarantine)
                ids, raws = [], []
                rows = normalized_rows("evtx")
                add = rows.add
        if raws:
            yield from _batch(rows, raws, ids, quarantine)
        if not read and not errors:
            # The crate checks little of the header and ends quietly when no whole chunk follows
            # it: noise after the magic, or a copy cut inside its first chunk, would give "0 events"
            # and nothing reported. An empty log with a sound header stays empty and unreported.
            unread = unread_reason(source)
            if unread:
                quarantine.add(unread)
        else:
            # The crate reads whole chunks only: the records of a chunk cut short are dropped quietly.
            cut = cut_chunk_reason(source)
            if cut:
                quarantine.add(cut)


def _batch(
    rows: NormalizedRows, raws: list[str], ids: list[int], quarantine: Quarantine
) -> Iterator[pa.RecordBatch]:
    batch = normalized_batch(rows, raws, quarantine, record_numbers=ids)
    if batch is not None:
        yield batch


def unread_reason(source: Source) -> str | None:
    """Why an EVTX file that gave no record and no error holds none, or None for a sound empty log."""
    with source.open() as fh:
        header = fh.read(HEADER_BLOCK)
        size = content_size(source) if source.is_plain_file() else len(header) + _stream_size(fh)
    if len(header) < 128:
        return f"not a readable EVTX file: {len(header)} bytes, shorter than the 128-byte header"
    header_size, _minor, major, block_size, chunks = struct.unpack_from("<IHHHH", header, 32)
    (checksum,) = struct.unpack_from("<I", header, 124)
    wrong = [
        f"{name} {got} (expected {want})"
        for name, got, want in (
            ("header size", header_size, 128),
            ("major version", major, 3),
            ("header block size", block_size, HEADER_BLOCK),
        )
        if got != want
    ]
    if zlib.crc32(header[:120]) != checksum:
        wrong.append("header checksum does not match")
    if wrong:
        return "not a readable EVTX file: " + "; ".join(wrong)
    body = size - HEADER_BLOCK
    if body % CHUNK:
        return (
            f"no record could be read: the file ends {body % CHUNK} bytes into a 65536-byte chunk"
            f" (the header declares {chunks} chunks): a truncated copy"
        )
    return None


def cut_chunk_reason(source: Source) -> str | None:
    """Why records of a file that gave some were left unread: the file ends inside a chunk whose header
    says it holds records (a copy cut short). None when the file is header plus whole chunks, or the
    partial chunk at its end is not one (never written, or not a chunk header)."""
    body = content_size(source) - HEADER_BLOCK
    if body <= 0 or body % CHUNK == 0:
        return None
    whole = body // CHUNK
    with source.open() as fh:  # a file, an archive member or a gzip stream: each can seek
        fh.seek(HEADER_BLOCK + whole * CHUNK)
        tail = fh.read(40)
    if len(tail) < 40 or not tail.startswith(CHUNK_MAGIC):
        return None
    # The chunk header: magic, first and last record number, first and last record id (the records'
    # own headers' ids, the crate's event_record_id; not always the XML's EventRecordID).
    first, last = struct.unpack_from("<QQ", tail, 24)
    if last == 0 or last < first:
        return None
    return (
        f"{last - first + 1} records (record ids {first}–{last} in the chunk's header) were not read: "
        f"the file ends {body % CHUNK} bytes into its chunk "
        f"{whole} (a chunk is 65536 bytes): a truncated copy"
    )


def content_size(source: Source) -> int:
    """The size of the file's content: a plain file's from the file system, a stream's by reading it."""
    if source.is_plain_file():
        return source.fs_path.stat().st_size
    with source.open() as fh:
        return _stream_size(fh)


def _stream_size(fh: IO[bytes]) -> int:
    """The bytes left in ``fh``, read through."""
    return sum(len(b) for b in iter(lambda: fh.read(1 << 20), b""))


def _short(msg: str, limit: int = 300) -> str:
    msg = " ".join(msg.split())
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"
