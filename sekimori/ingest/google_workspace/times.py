"""A batch of activity times (RFC 3339 text, see ``shapes.zoned_time``) as one Arrow array of UTC times."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from sekimori.ingest.fit import CONVERSION_ERRORS
from sekimori.ingest.schema import TIME_TYPE

_NS_UTC = pa.timestamp("ns", tz="UTC")


def utc_times(times: list[str | None]) -> tuple[pa.Array, set[int]]:
    """The times as one UTC array, cast by Arrow in one go, and the rows it refuses (null in the array):
    a time Arrow cannot read, or one outside the years 1678-2261 that nanoseconds hold."""
    texts = pa.array(times, pa.string())
    try:
        return texts.cast(_NS_UTC).cast(TIME_TYPE, safe=False), set()
    except CONVERSION_ERRORS:
        pass
    bad = set(_refused(texts, 0))
    good = pa.array([None if i in bad else t for i, t in enumerate(times)], pa.string())
    return good.cast(_NS_UTC).cast(TIME_TYPE, safe=False), bad


def _refused(texts: pa.Array, start: int) -> Iterator[int]:
    """The rows of ``texts`` (a cast Arrow refuses; rows numbered from ``start``) that Arrow cannot cast
    to a UTC time, found by halving: a few bad times in a batch cost a few casts each, not a cast per
    row of the batch. A cast of text to time judges each row alone, so a row fails alone exactly when
    it fails in the whole."""
    if len(texts) == 1:
        yield start
        return
    half = len(texts) // 2
    for offset, part in ((0, texts.slice(0, half)), (half, texts.slice(half))):
        try:
            part.cast(_NS_UTC)
        except CONVERSION_ERRORS:
            yield from _refused(part, start + offset)
