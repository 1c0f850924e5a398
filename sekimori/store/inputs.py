"""The input files of a run: walking the paths given, their content digest and decompressed size."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from sekimori.ingest import input_paths


def digest_and_size(
    path: Path, prefix_size: int | None = None, size: int | None = None
) -> tuple[str, str | None, int]:
    """SHA-256 of the file and, given ``prefix_size``, of its first ``prefix_size`` bytes, and its
    decompressed size, cheaply (a zip's directory sizes, a gzip's trailer, else ``size``: by default as
    many bytes as were read), in one opening of the file: a small file costs its opening."""
    full = hashlib.sha256()
    prefix = hashlib.sha256() if prefix_size is not None else None
    remaining = prefix_size or 0
    read = 0
    magic = tail = b""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            full.update(block)
            if prefix is not None and remaining:
                prefix.update(block[:remaining])
                remaining -= min(remaining, len(block))
            if not read:
                magic = block[:4]
            read += len(block)
            tail = (tail + block[-4:])[-4:]
        size = read if size is None else size
        if magic.startswith(b"PK\x03\x04"):
            decompressed = _zip_size(fh, size)
        elif magic.startswith(b"\x1f\x8b") and size >= 18:
            decompressed = max(int.from_bytes(tail, "little"), size)  # the gzip trailer: size mod 2**32
        else:
            decompressed = size
    return (
        full.hexdigest(),
        (prefix.hexdigest() if prefix is not None and not remaining else None),
        decompressed,
    )


def _zip_size(fh: BinaryIO, size: int) -> int:
    try:
        with zipfile.ZipFile(fh) as zf:
            return sum(info.file_size for info in zf.infolist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return size


def iter_input_files(paths: Iterable[str]) -> Iterator[str]:
    """Files named, and files under directories named, in a stable order; paths kept as given.

    Paths that cannot be read (a folder that cannot be listed, a FIFO, a broken link) are yielded too:
    ``Store.ingest`` reports each as failed (see ``sekimori.ingest.walk``)."""
    for path, _ in input_paths(paths):
        yield path
