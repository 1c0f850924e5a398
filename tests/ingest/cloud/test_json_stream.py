"""``JsonStream`` on texts handed out a few bytes at a time, so that every value, key and separator
crosses the window's edge somewhere; the expectation is ``json.loads`` of the same text."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from sekimori.ingest.cloud.jsondocs import BrokenJson, JsonStream


class _Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read, whatever is asked."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def read(self, size: int = -1) -> bytes:
        chunk = self._data[self._pos : self._pos + self._step]
        self._pos += len(chunk)
        return chunk


def _stream(text: str, step: int) -> JsonStream:
    breaks: list[Exception] = []
    return JsonStream(_Trickle(text.encode(), step), breaks.append)  # type: ignore[arg-type]


def _object(stream: JsonStream) -> dict[str, Any]:
    assert stream.skip() == "{"
    stream.pos += 1
    return {key: stream.value()[0] for key in stream.members()}


DOC = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
    "count": 1234567890123,
    "ratio": -0.000123e-5,
    "flags": [True, False, None],
    "name": 'ñandú 東京 😀 "quoted"',
    "empty": {},
}


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64])
def test_values_across_the_window_edge(step: int) -> None:
    text = json.dumps(DOC, indent=2, ensure_ascii=False)
    assert _object(_stream(text, step)) == DOC


@pytest.mark.parametrize("step", [1, 5, 1000])
def test_array_elements_and_their_text(step: int) -> None:
    items = [DOC, {"n": 10**12}, 12345, "s"]
    stream = _stream("\ufeff [ " + " ,\n".join(json.dumps(i) for i in items) + " ] ", step)
    assert stream.skip() == "["
    stream.pos += 1
    got = list(stream.elements())
    assert [value for value, _ in got] == items
    assert [json.loads(text) for _, text in got] == items
    assert stream.skip() == ""


def test_a_break_names_its_byte_offset() -> None:
    text = '{"a": "é", "b": tru'
    stream = _stream(text, 4)
    with pytest.raises(BrokenJson) as broken:
        _object(stream)
    assert broken.value.offset == len(text[: text.index("tru")].encode())


def test_an_object_not_closed() -> None:
    stream = _stream('{"a": 1, ', 3)
    with pytest.raises(BrokenJson) as broken:
        _object(stream)
    assert broken.value.reason.startswith("not JSON")
