"""Per-segment derived files: what a later stage computes once from one segment and reads back instead of
the segment's events (e.g. the aggregates detection judges).

Layout::

    STORE/derived/<kind>/<segment>.<fingerprint>.parquet

A segment is immutable once committed, so its derived file stays right as long as the segment is there
unchanged. The fingerprint (of the segment's manifest and event files) is in the file's name: a segment
rewritten under the same name no longer finds its file, and ``prune`` drops the files of segments that are
gone or were rewritten. The store only keeps the files; what they hold is the caller's business.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from sekimori.store.errors import StoreError

DERIVED = "derived"


def fingerprint(segment: Path) -> str:
    """What identifies a segment's content without reading it: its manifest and its event files' names
    and sizes (a segment is written once; any rewrite changes the manifest)."""
    h = hashlib.sha256()
    h.update((segment / "manifest.json").read_bytes())
    for part in sorted(segment.glob("events-*.parquet")):
        h.update(f"\0{part.name}\0{part.stat().st_size}".encode())
    return h.hexdigest()[:16]


def kind_dir(root: Path, kind: str) -> Path:
    if not kind.isidentifier():
        raise StoreError(f"{kind!r} is not a valid derived kind")
    return root / DERIVED / kind


def file_name(segment: Path) -> str:
    return f"{segment.name}.{fingerprint(segment)}.parquet"


def derived_files(root: Path, segments: list[Path], kind: str) -> dict[str, Path]:
    """Segment name → its up-to-date derived file, for the segments that have one."""
    folder = kind_dir(root, kind)
    if not folder.is_dir():
        return {}
    present = {p.name for p in folder.glob("*.parquet")}
    out = {}
    for seg in segments:
        name = file_name(seg)
        if name in present:
            out[seg.name] = folder / name
    return out


@contextmanager
def derived_target(root: Path, segment: Path, kind: str) -> Iterator[Path]:
    """A temporary path to write the segment's derived file to; published (one atomic rename) when the
    block ends without an error, so a reader sees the whole file or none."""
    folder = kind_dir(root, kind)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{segment.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        yield tmp
        os.replace(tmp, folder / file_name(segment))
    finally:
        if tmp.exists():
            tmp.unlink()


def prune(root: Path, segments: list[Path], kind: str) -> list[str]:
    """Remove the derived files (and leftover temporaries) of segments that are gone or rewritten; the
    names removed."""
    folder = kind_dir(root, kind)
    if not folder.is_dir():
        return []
    keep = {file_name(seg) for seg in segments}
    removed = []
    for path in sorted(folder.iterdir()):
        if path.name not in keep:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


# ---- rollups: one derived file standing for several segments -------------------------------------
ROLLUP_GRACE = 3600.0
# ``STORE/derived/<kind>/<name>.parquet`` with ``<name>.json`` beside it listing the segments (with their
# fingerprints) the file was computed from. The listing is published after the file and removed before
# it, so a listed rollup always has its file; one whose segment is gone or rewritten is not handed out.


class Rollup(NamedTuple):
    name: str
    path: Path
    segments: tuple[str, ...]  # the segments it stands for, by name, sorted
    current: bool  # whether they are all in the store unchanged (otherwise it is stale: never read)


def rollups(root: Path, segments: list[Path], kind: str) -> list[Rollup]:
    """The ``kind`` rollups, by name."""
    folder = kind_dir(root, kind)
    if not folder.is_dir():
        return []
    present = {seg.name: seg for seg in segments}
    out = []
    for listing in sorted(folder.glob("rollup-*.json")):
        try:
            covered = json.loads(listing.read_text())["segments"]
            current = bool(covered) and all(
                s in present and fingerprint(present[s]) == f for s, f in covered.items()
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            covered, current = {}, False  # unreadable: stale
        out.append(Rollup(listing.stem, listing.with_suffix(".parquet"), tuple(sorted(covered)), current))
    return out


@contextmanager
def rollup_target(root: Path, segments: list[Path], kind: str) -> Iterator[Path]:
    """A temporary path to write a rollup of ``segments`` to; published with its listing when the block
    ends without an error."""
    folder = kind_dir(root, kind)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"rollup-{uuid.uuid4().hex[:16]}"
    tmp = folder / f".{name}.tmp"
    try:
        yield tmp
        os.replace(tmp, folder / f"{name}.parquet")
        listing = {"segments": {seg.name: fingerprint(seg) for seg in segments}}
        (folder / f".{name}.json.tmp").write_text(json.dumps(listing, sort_keys=True))
        os.replace(folder / f".{name}.json.tmp", folder / f"{name}.json")
    finally:
        tmp.unlink(missing_ok=True)


def drop_rollup(root: Path, kind: str, name: str, now: float | None = None) -> None:
    """Unlist rollup ``name``. Its file stays for ``ROLLUP_GRACE`` seconds: a run that listed it before
    may still be reading it; files unlisted longer ago (and temporaries as old) are removed now."""
    folder = kind_dir(root, kind)
    (folder / f"{name}.json").unlink(missing_ok=True)
    cutoff = (time.time() if now is None else now) - ROLLUP_GRACE
    listed = {p.stem for p in folder.glob("rollup-*.json")}
    for path in [*folder.glob("rollup-*.parquet"), *folder.glob(".rollup-*.tmp")]:
        if path.stem not in listed and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
