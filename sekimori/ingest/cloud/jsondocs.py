"""JSON records as cloud audit APIs hand them out: one object per line, or a JSON array of objects
(API pages saved one after another: arrays, numbered on as one).

An array (an API page saved as is, ``ConvertTo-Json`` output) is decoded one element at a time from a
sliding buffer (``JsonStream``, which other readers use for their documents too), so memory stays flat in
the file size; a line-per-record file is parsed with orjson.
Each record comes with its number (line, or position in the array), its byte offset and its original
text, which becomes the event's ``raw`` column unchanged.
"""

from __future__ import annotations

import codecs
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, BinaryIO

import orjson

from sekimori.ingest.base import Quarantine
from sekimori.ingest.fit import BadValue
from sekimori.ingest.rows import iter_lines_bom
from sekimori.ingest.source import Source, SourceError

_WS = b"\xef\xbb\xbf \t\r\n"
_CHUNK = 1 << 20
# Whitespace and the commas between array elements.
_SEPARATORS = re.compile(r"[\s,]*")
_BLANKS = re.compile(r"[\ufeff \t\r\n]*")
_DECODER = json.JSONDecoder()
_LONGEST_TOKEN = 16


def starts_array(head: bytes) -> bool:
    return head.lstrip(_WS).startswith(b"[")


def reads_json_lines(head: bytes) -> bool:
    """Whether ``iter_json_docs`` reads the stream that starts with ``head`` line by line (it is not an
    array), each line on its own and numbered by its line."""
    return not starts_array(head[:4096])


def is_json_lines(source: Source, head: bytes) -> bool:
    """Whether the stream's first non-blank line is a whole JSON value with more after it: then the file
    is one record per line, however long that line (one JSON document holds nothing after its value).

    ``head`` (the first bytes) settles it when it holds the line's end and what follows; else the line
    is read whole from the stream. A stream that cannot be read is left to the reader to report.
    """
    body = head.lstrip(_WS)
    end = body.find(b"\n")
    if end >= 0 and body[end:].strip(_WS):
        return is_json(body[:end])
    try:
        with source.open() as fh:
            first = _first_line_with_more(fh)
    except (SourceError, OSError, EOFError, zlib.error, zipfile.BadZipFile):
        return False
    return first is not None and is_json(first)


def _first_line_with_more(fh: BinaryIO) -> bytes | None:
    """The stream's first non-blank line if anything but blank lines follows it, else None. Read in
    blocks (a one-line document of many megabytes is not worth a ``readline``)."""
    pieces: list[bytes] = []
    while True:
        block = fh.read(_CHUNK)
        if not block:
            return None
        if not pieces:
            block = block.lstrip(_WS)  # blank lines and a byte-order mark before it
        end = block.find(b"\n")
        if end >= 0:
            pieces.append(block[:end])
            rest = block[end:]
            break
        if block:
            pieces.append(block)
    while not rest.strip():
        rest = fh.read(_CHUNK)
        if not rest:
            return None
    return b"".join(pieces)


def is_json(text: bytes) -> bool:
    """Whether ``text`` is one whole JSON value."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def first_object(head: bytes) -> dict[str, Any] | None:
    """The first JSON object of a line-per-record file or of an array, from the first bytes only."""
    text = _first_object_text(head)
    return None if text is None else _object_at(text)


def _object_at(text: str) -> dict[str, Any] | None:
    """``first_object`` of the text from the object's ``{``."""
    try:
        doc, _ = _DECODER.raw_decode(text)
    except json.JSONDecodeError:
        # A first record longer than the head: its first line may still be the whole record.
        try:
            doc = orjson.loads(text.split("\n", 1)[0])
        except orjson.JSONDecodeError:
            return None
    return doc if isinstance(doc, dict) else None


def leading_members(head: bytes) -> dict[str, Any] | None:
    """``first_object(head)``, or when the head ends inside that object, its top-level members that
    the head holds whole: a record longer than the head still shows the keys it starts with."""
    text = _first_object_text(head)
    if text is None:
        return None
    whole = _object_at(text)
    if whole is not None:
        return whole
    members: dict[str, Any] = {}
    pos = 1  # past the '{'
    while (key_at := _KEY_START.match(text, pos)) is not None:
        try:
            key, pos = _DECODER.raw_decode(text, key_at.end())
            colon = _COLON.match(text, pos)
            if colon is None:
                break
            value, pos = _DECODER.raw_decode(text, colon.end())
        except json.JSONDecodeError:
            break  # where the head cuts the record
        members[key] = value
    return members or None


# Whitespace and the comma before a member's key (its opening quote); whitespace and the colon after it.
_KEY_START = re.compile(r'\s*,?\s*(?=")')
_COLON = re.compile(r"\s*:\s*")


def _first_object_text(head: bytes) -> str | None:
    """The head's text from its first object's '{' (past a '[' that opens an array), or None."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        text = text[1:].lstrip()
    return text if text.startswith("{") else None


def lower_keys(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with its keys lower-cased: camelCase, PascalCase and data-lake lower case read alike.

    A dict whose keys are lower case already is handed back as it is (the mappings only read them);
    anything but a dict is empty.
    """
    if not isinstance(doc, dict):
        return {}
    keys = tuple(doc)
    lowered = _LOWERED.get(keys)
    if lowered is None:
        if len(_LOWERED) >= _LOWERED_MAX:
            _LOWERED.clear()  # bounded: memory stays flat whatever the records' key sets
        folded = tuple(map(str.lower, keys))
        lowered = _LOWERED[keys] = () if folded == keys else folded
    if not lowered:
        return doc
    return dict(zip(lowered, doc.values(), strict=True))


# Records of one export repeat the same key sets: their lower-cased spelling is worked out once per set
# (JSON keys are strings; orjson hands out the same key objects, so the look-up compares identities);
# () stands for a set already in lower case.
_LOWERED: dict[tuple[str, ...], tuple[str, ...]] = {}
_LOWERED_MAX = 4096


def iter_json_docs(source: Source, quarantine: Quarantine) -> Iterator[tuple[int, int, str, dict[str, Any]]]:
    """(record number from 1, byte offset or -1, original text, object) for each JSON object: of a JSON
    array (or arrays one after another), else of each line (always of a slice: see ``reads_json_lines``).

    Lines / elements that are not JSON objects go to the quarantine with their number; the run goes on.
    """
    try:
        with source.open() as fh:
            start = fh.read(4096)
    except (SourceError, OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
        quarantine.add(f"cannot read: {exc}", record=1, offset=0)
        return
    if not reads_json_lines(start) and not source.is_slice:
        yield from _array_docs(source, quarantine)
        return
    for lineno, offset, text in iter_lines_bom(source, quarantine):
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            quarantine.add(f"not JSON: {exc}", record=lineno, offset=offset, field="record", data=text)
            continue
        if not isinstance(doc, dict):
            quarantine.add("not a JSON object", record=lineno, offset=offset, field="record", data=text)
            continue
        yield lineno, offset, text, doc


def _array_docs(source: Source, quarantine: Quarantine) -> Iterator[tuple[int, int, str, dict[str, Any]]]:
    number = 0
    try:
        fh = source.open()
    except SourceError as exc:
        quarantine.add(str(exc), record=1, offset=0)
        return
    with fh:
        stream = JsonStream(
            fh, lambda exc: quarantine.add(f"stream broke off: {exc}", record=number + 1, field="record")
        )
        stream.skip()
        stream.pos += 1  # past the '['
        try:
            for doc, text in _arrays(stream):
                number += 1
                if not isinstance(doc, dict):
                    quarantine.add("not a JSON object", record=number, field="record", data=text[:200])
                    continue
                yield number, -1, text, doc
        except BrokenJson as broken:
            # nothing after a broken element can be placed reliably
            quarantine.add(broken.reason, record=number + 1, field="record", data=broken.excerpt)


def _arrays(stream: JsonStream) -> Iterator[tuple[Any, str]]:
    """The elements of the array whose ``[`` is just passed, and of the arrays right after it (API pages
    saved one after another, one array a line), numbered on as one; anything else after them is broken."""
    while True:
        yield from stream.elements()
        char = stream.skip()
        if not char:
            return
        if char != "[":
            excerpt = stream.text[stream.pos : stream.pos + 200]
            raise BrokenJson("not JSON: more after the JSON array's end", stream.offset(), excerpt)
        stream.pos += 1


class BrokenJson(ValueError):
    """Where a JSON text read by ``JsonStream`` stops being JSON: the reason, the byte offset in the
    stream and the text from the value that broke (None when the stream ended)."""

    def __init__(self, reason: str, offset: int, excerpt: str | None) -> None:
        super().__init__(reason)
        self.reason, self.offset, self.excerpt = reason, offset, excerpt


class JsonStream:
    """One JSON text read through a sliding window of 1 MiB blocks: values are decoded one at a time
    (``value``; ``elements`` of an array, ``members`` of an object), so memory is bounded by the largest
    value, not by the file. ``on_break`` is told when the stream itself breaks off (truncated gzip).
    """

    def __init__(self, fh: IO[bytes], on_break: Callable[[Exception], None]) -> None:
        self.text = ""
        self.pos = 0
        self.eof = False
        self._fh = fh
        self._on_break = on_break
        self._dropped = 0  # bytes of the stream before ``text``
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")

    def more(self) -> bool:
        """Read the next block into the window (dropping what is before ``pos``); False at the end."""
        try:
            chunk = self._fh.read(_CHUNK)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
            self._on_break(exc)
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self._dropped += len(self.text[: self.pos].encode("utf-8", "surrogateescape"))
        self.text = self.text[self.pos :] + self._decoder.decode(chunk)
        self.pos = 0
        return True

    def offset(self, pos: int | None = None) -> int:
        """The byte offset in the stream of ``pos`` in the window (default: the position)."""
        at = self.pos if pos is None else pos
        return self._dropped + len(self.text[:at].encode("utf-8", "surrogateescape"))

    def skip(self, pattern: re.Pattern[str] = _BLANKS) -> str:
        """Move past what ``pattern`` matches (reading on at the window's end); the next character, or ""
        at the end of the stream."""
        self.pos = pattern.match(self.text, self.pos).end()  # type: ignore[union-attr]
        while self.pos >= len(self.text) and not self.eof:
            self.more()
            self.pos = pattern.match(self.text, self.pos).end()  # type: ignore[union-attr]
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def value(self) -> tuple[Any, str]:
        """The JSON value at the position and its text; ``BrokenJson`` when there is none."""
        while True:
            try:
                doc, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # Cut by the window's end: inside a string, or in a literal/number (``fa`` of false).
                cut_short = exc.pos >= len(self.text) - _LONGEST_TOKEN or exc.msg.startswith("Unterminated")
                if cut_short and not self.eof and self.more():
                    continue  # the value runs past the window: read on and decode it again
                excerpt = self.text[self.pos : self.pos + 200]
                raise BrokenJson(f"not JSON: {exc.msg}", self.offset(exc.pos), excerpt) from exc
            if end > len(self.text) - _LONGEST_TOKEN and not self.eof and self.more():
                continue  # a number cut by the window's end ("1." of 1.5) may go on in the next block
            text = self.text[self.pos : end]
            self.pos = end
            return doc, text

    def elements(self) -> Iterator[tuple[Any, str]]:
        """(value, text) of each element of the array whose ``[`` is just passed, up to its ``]``."""
        while True:
            char = self.skip(_SEPARATORS)
            if not char:
                raise BrokenJson("JSON array not closed (truncated file)", self.offset(), None)
            if char == "]":
                self.pos += 1
                return
            yield self.value()

    def members(self) -> Iterator[str]:
        """The keys of the object whose ``{`` is just passed, up to its ``}``; after each key the caller
        reads its value (``value`` or ``elements``)."""
        char = self.skip()
        while char != "}":
            key, _ = self.value()
            if not isinstance(key, str) or self.skip() != ":":
                raise BrokenJson(
                    "not JSON: expected a key and ':'", self.offset(), self.text[self.pos : self.pos + 200]
                )
            self.pos += 1
            self.skip()
            yield key
            char = self.skip()
            if char == ",":
                self.pos += 1
                char = self.skip()
            elif char != "}":
                reason = (
                    "JSON object not closed (truncated file)" if not char else "not JSON: expected ',' or '}'"
                )
                raise BrokenJson(reason, self.offset(), self.text[self.pos : self.pos + 200] or None)
        self.pos += 1


def mapped_values(
    records: Iterable[tuple[int, int | None, str, dict[str, Any]]],
    to_values: Callable[[dict[str, Any]], tuple[Any, ...]],
    quarantine: Quarantine,
) -> Iterator[tuple[Any, ...]]:
    """``(record_id, raw, *to_values(record))`` of each (number, offset, original text, record); a record
    ``to_values`` refuses (``BadValue``) goes to the quarantine naming its number and field."""
    for number, offset, raw, record in records:
        try:
            values = to_values(record)
        except BadValue as bad:
            quarantine.add(bad.reason, record=number, offset=offset, field=bad.field, data=raw)
            continue
        yield (number, raw, *values)
