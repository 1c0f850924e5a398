"""Zeek network sensor logs, in the default TSV format and as JSON lines.

TSV (Zeek's ``LogAscii`` default): a header block of ``#separator``, ``#set_separator``,
``#empty_field``, ``#unset_field``, ``#path``, ``#open``, ``#fields`` and ``#types`` lines, data lines
split on the separator, and a ``#close`` trailer. A file may hold several header blocks (concatenated
or rotated logs); each block is parsed with its own header. Values are typed by ``#types``; the
unset marker becomes null and the empty marker an empty list (containers) or empty string (strings);
Zeek's ``\\\\`` and ``\\xHH`` escapes are undone. Other lines starting with ``#`` are comments, as in
Zeek's own ASCII input reader.

JSON (``LogAscii::use_json`` or the json-streaming-logs package): one object per line with flat
dotted keys (``id.orig_h``); a nested ``id`` object is accepted too. ``ts`` is an epoch number or an
ISO-8601 string. Which log a record belongs to is told from its content: the ``_path`` key when the
writer adds it, otherwise the record's keys are scored against the field lists of the known Zeek logs
(``sekimori.ingest.zeek.fields``); the file name only breaks ties.

Every record becomes one event (see ``docs/formats/zeek.md`` for the mapping); a line that cannot be
parsed (wrong field count, bad timestamp / port / address / number, invalid JSON) goes to the
quarantine with its line number, byte offset and field, and reading goes on.

TSV data lines are read in chunks of ``batch_size`` lines and converted column-wise with Arrow
(``sekimori.ingest.zeek.vector``); lines that path does not take on (control characters, a wrong
field count, values its strict patterns refuse) go through the row path (``_tsv_line``), which is
the reference and the only one that quarantines. JSON lines are read the same way: chunks converted by
Arrow's JSON reader (``sekimori.ingest.zeek.jsonvec``), the lines it does not take by the row path
(``_json_line``). Tests hold the paths to the same output. Lines come in blocks
(``sekimori.ingest.zeek.lines``), not one ``readline`` each.

This module is the reader plugin; its support modules live in ``sekimori.ingest.zeek`` (outside the
plugin folder, which the registry imports module by module): ``values`` (field values), ``fields``
(which log), ``normalize`` (records to event columns), ``header`` (TSV header blocks), ``vector`` and
``columns`` (the column-wise TSV path), ``jsonvec`` (the column-wise JSON path) and ``lines`` (lines
read in blocks).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, ClassVar

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sekimori.ingest.base import Quarantine, Reader, register
from sekimori.ingest.schema import make_batch
from sekimori.ingest.source import Source
from sekimori.ingest.zeek.fields import COMMON_KEYS, LOG_FIELDS, fallback_path, infer_path
from sekimori.ingest.zeek.header import MEMO_MAX, HeaderBlock, apply_directive, directive
from sekimori.ingest.zeek.jsonvec import json_chunk
from sekimori.ingest.zeek.lines import LineRun, PendingLines, iter_line_blocks
from sekimori.ingest.zeek.normalize import (
    GENERIC_ROW,
    NORMALIZER_INPUTS,
    NORMALIZERS,
    PROVIDER,
    ROW_COLUMNS,
    sensor_host,
    specific_row,
)
from sekimori.ingest.zeek.values import BadValue, epoch_micros, json_addr, json_port, json_time_micros
from sekimori.ingest.zeek.vector import vector_chunk


def _name_hint(source: Source) -> str | None:
    name = PurePosixPath(source.member or str(source.fs_path)).name
    stem = name.split(".", 1)[0].lower()
    return stem or None


def _looks_zeek_json(obj: Any) -> float:
    """How sure a parsed JSON line is a Zeek record."""
    if not isinstance(obj, dict):
        return 0.0
    ts = obj.get("ts")
    ts_ok = False
    if ts is not None:
        try:
            json_time_micros(ts)
            ts_ok = True
        except BadValue:
            ts_ok = False
    if isinstance(obj.get("_path"), str) and ("_write_ts" in obj or ts_ok):
        return 0.95
    if not ts_ok:
        return 0.0
    nested = obj.get("id")
    if ("id.orig_h" in obj and "id.resp_h" in obj) or (isinstance(nested, dict) and "orig_h" in nested):
        uid = obj.get("uid")
        return 0.9 if isinstance(uid, str) and uid[:1] in ("C", "F") else 0.8
    keys = tuple(obj)
    known = all(k in COMMON_KEYS or any(k in fields for fields in LOG_FIELDS.values()) for k in keys)
    return 0.5 if known and infer_path(keys) is not None else 0.0


@register
class ZeekReader(Reader):
    name = "zeek"
    description = "Zeek logs: default TSV (#fields/#types headers) and JSON lines"
    # Chunks of fewer lines go through the row path (the vectorised one has a fixed cost); for JSON also
    # the parts of a chunk Arrow could not parse, once split down to this size.
    vector_min_rows: ClassVar[int] = 64
    # Failed parses of the JSON fast path per chunk and log while it looks for the lines it cannot take.
    json_parse_failures: ClassVar[int] = 24

    @classmethod
    def sniff(cls, head: bytes, source: Source) -> float:
        text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")
        if text.startswith(b"#separator "):
            return 1.0
        if text.startswith(b"#fields") or (text.startswith(b"#") and b"\n#fields" in text):
            return 0.9
        if not text.startswith(b"{"):
            return 0.0
        lines = text.split(b"\n")
        if len(lines) > 1:
            lines = lines[:-1]  # the last line may be cut off by the head limit
        scores = []
        for line in lines[:5]:
            if not line.strip():
                continue
            try:
                scores.append(_looks_zeek_json(orjson.loads(line)))
            except orjson.JSONDecodeError:
                scores.append(0.0)
        return max(scores, default=0.0)

    def read(self, source: Source, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        self._hint = _name_hint(source)
        self._json_paths: dict[tuple[str, ...], str | None] = {}
        self._json_slow: set[str] = set()  # groups of JSON lines the fast path gave up on
        self._rows: list[tuple[Any, ...]] = []
        self._specific: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        size = self.batch_size
        # Data lines not converted yet: JSON lines before any TSV header, else TSV lines of ``block``.
        pending = PendingLines()
        block: HeaderBlock | None = None
        for lines, plain in iter_line_blocks(source, quarantine):
            if plain and not (lines.numbers[0] == 1 and lines.item(0)[2][0] == "\ufeff"):
                pending.extend(lines)  # no '#' line and no byte-order mark: data lines only
            else:
                for lineno, offset, text in lines.items():
                    if lineno == 1 and text[0] == "\ufeff":  # a byte-order mark some tools write
                        text = text[1:]
                        if not text.strip():
                            quarantine.add("a byte-order mark and nothing else", record=lineno, offset=offset)
                            continue
                    if text[0] == "#":
                        name = directive(text)
                        if name is not None:
                            if pending:
                                yield from self._chunk(block, pending.take(), quarantine)
                            block = apply_directive(block, name, text, lineno, offset, quarantine)
                        # other '#' lines are comments, as for Zeek's own ASCII reader
                        continue
                    pending.add((lineno, offset, text))
                    if len(pending) >= size:
                        yield from self._chunk(block, pending.take(), quarantine)
            while len(pending) >= size:
                yield from self._chunk(block, pending.take(size), quarantine)
        if pending:
            yield from self._chunk(block, pending.take(), quarantine)
        yield from self._flush()

    def _chunk(
        self, block: HeaderBlock | None, chunk: LineRun, quarantine: Quarantine
    ) -> Iterator[pa.RecordBatch]:
        if block is None:
            return self._json_chunk(chunk, quarantine)
        return self._tsv_chunk(block, chunk, quarantine)

    def _flush(self, vector: pa.RecordBatch | list[pa.RecordBatch] | None = None) -> Iterator[pa.RecordBatch]:
        """The rows gathered by the row paths (and the vectorised batches), in line order."""
        rows = self._rows
        pieces = [vector] if isinstance(vector, pa.RecordBatch) else list(vector or [])
        if rows:
            pieces.append(make_batch(dict(zip(ROW_COLUMNS, zip(*rows, strict=True), strict=True)), len(rows)))
            rows.clear()
        if len(pieces) < 2:
            yield from pieces
            return
        table = pa.Table.from_batches(pieces)
        table = table.take(pc.sort_indices(table["record_id"])).combine_chunks()
        yield from table.to_batches()

    def _emit(
        self,
        path: str,
        rec: dict[str, Any],
        micros: int | None,
        lineno: int,
        host: str | None,
        ids: tuple[Any, Any, Any, Any],
        raw: str,
    ) -> None:
        normalize = NORMALIZERS.get(path)
        if normalize is None:
            specific = GENERIC_ROW
        else:
            # The normalized columns depend only on the declared inputs, which repeat a lot. Their
            # types are part of the key: 0 == False == 0.0, but a normalizer may tell them apart.
            values = tuple(map(rec.get, NORMALIZER_INPUTS[path]))
            key = (path, *values, *map(type, values))
            hashable = True
            try:
                cached = self._specific.get(key)
            except TypeError:  # a list or object among the inputs (JSON)
                cached, hashable = None, False
            if cached is None:
                cached = specific_row(normalize(rec))
                if hashable:
                    if len(self._specific) >= MEMO_MAX:
                        self._specific.clear()
                    self._specific[key] = cached
            specific = cached
        self._rows.append((micros, lineno, path, PROVIDER, path, host, *ids, raw, *specific))

    # ---- TSV: data lines ----------------------------------------------------------------------

    def _tsv_chunk(
        self, block: HeaderBlock, chunk: LineRun, quarantine: Quarantine
    ) -> Iterator[pa.RecordBatch]:
        if block.plain is None and not block.build(self._hint):
            for lineno, offset, text in chunk.items():
                quarantine.add(block.error or "no usable header", record=lineno, offset=offset, data=text)
            yield from self._flush()
            return
        vector = None
        rest: list[tuple[int, int, str]] | None = None
        if len(chunk) >= self.vector_min_rows and block.unset and block.set_sep:
            try:
                vector, rest = vector_chunk(block, chunk)
            except (pa.ArrowException, ValueError, TypeError, IndexError, KeyError):
                # Not expected; the row path is the reference and copes with anything.
                vector, rest = None, None
        if rest is None:
            rest = chunk.items()
        for lineno, offset, text in rest:
            self._tsv_line(block, lineno, offset, text, quarantine)
        yield from self._flush(vector)

    def _tsv_line(
        self, block: HeaderBlock, lineno: int, offset: int, text: str, quarantine: Quarantine
    ) -> None:
        """The row path: one data line to one event (or one quarantine row)."""
        if block.plain is None and not block.build(self._hint):
            quarantine.add(block.error or "no usable header", record=lineno, offset=offset, data=text)
            return
        plan = block.plain if "\\" not in text else block.escaped
        assert plan is not None
        parts = text.split(block.sep)
        if len(parts) != len(plan):
            quarantine.add(
                f"expected {len(plan)} fields, got {len(parts)}", record=lineno, offset=offset, data=text
            )
            return
        unset, empty = block.unset, block.empty
        rec: dict[str, Any] = {}
        name = ""
        try:
            for (name, conv, memo, empty_value), value in zip(plan, parts, strict=True):
                if value == unset:
                    rec[name] = None
                elif value == empty and empty_value is not None:
                    rec[name] = empty_value
                elif conv is None:
                    rec[name] = value
                elif memo is None:
                    rec[name] = conv(value)
                else:
                    got = memo.get(value, memo)
                    if got is memo:
                        got = conv(value)
                        if len(memo) < MEMO_MAX:
                            memo[value] = got
                    rec[name] = got
            micros = None
            ts_index = block.ts_index
            if ts_index is not None and parts[ts_index] != unset:
                name = "ts"
                micros = epoch_micros(parts[ts_index])
        except BadValue as exc:
            quarantine.add(str(exc), record=lineno, offset=offset, field=name, data=text)
            return
        get = rec.get
        self._emit(
            block.log_path,
            rec,
            micros,
            lineno,
            sensor_host(rec) if block.has_sensor else None,
            (get("id.orig_h"), get("id.orig_p"), get("id.resp_h"), get("id.resp_p")),
            orjson.dumps(rec).decode(),  # str at once: keeping many orjson bytes alive is slow
        )

    # ---- JSON ---------------------------------------------------------------------------------

    def _json_chunk(self, chunk: LineRun, quarantine: Quarantine) -> Iterator[pa.RecordBatch]:
        batches: list[pa.RecordBatch] = []
        rest: list[tuple[int, int, str]] | None = None
        if len(chunk) >= self.vector_min_rows:
            try:
                batches, rest = json_chunk(
                    chunk, self.vector_min_rows, self._json_slow, self.json_parse_failures
                )
            except (pa.ArrowException, ValueError, TypeError, IndexError, KeyError):
                # Not expected; the row path is the reference and copes with anything.
                batches, rest = [], None
        for lineno, offset, text in chunk.items() if rest is None else rest:
            self._json_line(lineno, offset, text, quarantine)
        yield from self._flush(batches)

    def _json_line(self, lineno: int, offset: int, text: str, quarantine: Quarantine) -> None:
        try:
            rec = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            quarantine.add(f"invalid JSON: {exc}", record=lineno, offset=offset, data=text)
            return
        if not isinstance(rec, dict):
            quarantine.add(
                f"JSON {type(rec).__name__} is not an object", record=lineno, offset=offset, data=text
            )
            return
        nested = rec.get("id")
        if isinstance(nested, dict) and "id.orig_h" not in rec:
            rec = {**{f"id.{k}": v for k, v in nested.items()}, **{k: v for k, v in rec.items() if k != "id"}}
        field = "ts"
        try:
            ts = rec.get("ts")
            micros = None if ts is None else json_time_micros(ts)
            field = "id.orig_h"
            orig_h = json_addr(rec.get("id.orig_h"))
            field = "id.orig_p"
            orig_p = json_port(rec.get("id.orig_p"))
            field = "id.resp_h"
            resp_h = json_addr(rec.get("id.resp_h"))
            field = "id.resp_p"
            resp_p = json_port(rec.get("id.resp_p"))
        except BadValue as exc:
            quarantine.add(str(exc), record=lineno, offset=offset, field=field, data=text)
            return
        path = rec.get("_path")
        if not isinstance(path, str) or not path:
            keys = tuple(rec)
            if keys in self._json_paths:
                path = self._json_paths[keys]
            else:
                path = self._json_paths[keys] = infer_path(keys, self._hint)
            if path is None:
                path = fallback_path(self._hint)
        self._emit(path, rec, micros, lineno, sensor_host(rec), (orig_h, orig_p, resp_h, resp_p), text)
