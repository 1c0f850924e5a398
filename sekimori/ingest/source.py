"""Input files as readers see them: one ``Source`` per log stream, archives opened transparently.

A path on the command line may be a plain file, a gzip stream, or a zip / tar(.gz) archive of several
logs (the OTRF Security-Datasets ship zipped NDJSON). ``expand`` turns it into the streams inside, so
readers only ever see decompressed bytes and never choose by file name.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tarfile
import tempfile
import threading
import weakref
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

HEAD_BYTES = 64 * 1024
_BUFFER = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"


class SourceError(Exception):
    """A file or archive member that cannot be opened at all (corrupt archive, unreadable file)."""


@dataclass(frozen=True)
class Source:
    """One log stream: a file, a gzip stream or an archive member."""

    path: str  # as given on the command line
    fs_path: Path
    member: str | None = None  # member name inside a zip/tar archive
    archive: str | None = None  # "zip" | "tar" | None
    gzipped: bool = False  # the file (not an archive) is a gzip stream
    # A tar member's data: where it starts in the (uncompressed) archive and its length. Opened by
    # offset, a member costs its own bytes: through ``tarfile`` each open scanned the headers from the
    # start, and in a .tar.gz decompressed everything before the member (quadratic in the members).
    offset: int | None = None
    size: int | None = None
    shared: SharedArchive | None = field(default=None, compare=False, repr=False)
    # A slice of a plain file (``offset``/``size`` with no archive) starts at a line: which one. Such a
    # slice is one part of a large file of independent lines read by several processes at once; its
    # lines keep their numbers and byte offsets in the whole file.
    first_line: int = 1
    # A plain file's first HEAD_BYTES, read by ``expand`` when it opened the file: ``head`` then costs
    # no second opening (a small file costs its openings).
    first_bytes: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def display(self) -> str:
        return f"{self.path}!{self.member}" if self.member else self.path

    def open(self) -> BinaryIO:
        """A fresh binary stream of the decompressed content."""
        try:
            if self.archive == "zip":
                # The archive object stays open as long as the member stream does.
                zf = self.shared.zip() if self.shared else zipfile.ZipFile(self.fs_path)
                # ZipExtFile.readline is pure Python; a C BufferedReader on top is ~5x faster per line.
                return cast(BinaryIO, io.BufferedReader(zf.open(self.member or ""), _BUFFER))
            if self.is_slice:
                assert self.offset is not None and self.size is not None
                return cast(
                    BinaryIO, io.BufferedReader(_Slice(self.fs_path, self.offset, self.size), _BUFFER)
                )
            if self.archive == "tar" and self.offset is not None and self.size is not None:
                base = self.shared.unpacked() if self.shared else self.fs_path
                return cast(BinaryIO, io.BufferedReader(_Slice(base, self.offset, self.size), _BUFFER))
            if self.archive == "tar":
                tf = tarfile.open(self.fs_path, mode="r:*")  # noqa: SIM115
                extracted = tf.extractfile(self.member or "")
                if extracted is None:
                    raise SourceError(f"{self.display}: not a regular file in the archive")
                return cast(BinaryIO, io.BufferedReader(extracted, _BUFFER))
            if self.gzipped:
                return gzip.open(self.fs_path, "rb")  # type: ignore[return-value]
            return open(self.fs_path, "rb")
        except (OSError, zipfile.BadZipFile, tarfile.TarError, KeyError, EOFError) as exc:
            raise SourceError(f"{self.display}: cannot open: {exc}") from exc

    def head(self, size: int = HEAD_BYTES) -> bytes:
        """The first bytes of the decompressed content, for sniffing."""
        if self.first_bytes is not None and size <= HEAD_BYTES:
            return self.first_bytes[:size]
        with self.open() as fh:
            try:
                return fh.read(size)
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise SourceError(f"{self.display}: cannot read: {exc}") from exc

    def is_plain_file(self) -> bool:
        return self.archive is None and not self.gzipped

    @property
    def is_slice(self) -> bool:
        """A slice of a plain file's lines (see ``first_line``): readers read it as lines, whatever its
        first line looks like (the whole file's layout was decided from the file's start)."""
        return self.archive is None and self.offset is not None

    def line_start(self) -> tuple[int, int]:
        """(byte offset, line number) of the stream's first line, as records are numbered: (0, 1) but
        for a slice."""
        return (self.offset or 0, self.first_line) if self.is_slice else (0, 1)


def _is_tar(head: bytes) -> bool:
    return len(head) > 262 and head[257:262] == b"ustar"


def expand(path: str) -> Iterator[Source]:
    """The log streams in ``path``; raises ``SourceError`` for an archive that cannot be listed. The
    members of an archive share it (``SharedArchive``): a zip stays open, and a .tar.gz's unpacked copy
    stays on disk, while any of its sources lives, so read one file's sources and let them go before
    the next file's (as ``sekimori.store`` does)."""
    fs_path = Path(path)
    try:
        with open(fs_path, "rb") as fh:  # one opening: a small file costs its openings
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise SourceError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    magic = head[:4]
    if magic.startswith(ZIP_MAGIC):
        try:
            zf = zipfile.ZipFile(fs_path)  # kept open for the members, closed with them
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise SourceError(f"{path}: corrupt zip archive: {exc}") from exc
        shared = SharedArchive(fs_path, zf)
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        for name in sorted(names):
            if not _skip_member(name):
                yield Source(path, fs_path, member=name, archive="zip", shared=shared)
        return
    if magic.startswith(GZIP_MAGIC):
        try:
            with gzip.open(fs_path, "rb") as gz:
                head = gz.read(512)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{path}: corrupt gzip stream: {exc}") from exc
        if _is_tar(head):
            yield from _tar_members(path, fs_path, compressed=True)
            return
        yield Source(path, fs_path, gzipped=True)
        return
    if _is_tar(head):
        yield from _tar_members(path, fs_path)
        return
    yield Source(path, fs_path, first_bytes=head)


def _tar_members(path: str, fs_path: Path, compressed: bool = False) -> Iterator[Source]:
    try:
        with tarfile.open(fs_path, mode="r:*") as tf:
            members = {m.name: (m.offset_data, m.size) for m in tf.getmembers() if m.isfile()}
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceError(f"{path}: corrupt tar archive: {exc}") from exc
    shared = SharedArchive(fs_path) if compressed else None
    for name in sorted(members):
        if not _skip_member(name):
            offset, size = members[name]
            yield Source(path, fs_path, member=name, archive="tar", offset=offset, size=size, shared=shared)


class SharedArchive:
    """What the members of one archive share, released when no ``Source`` of the archive is left:
    - a zip's directory, read once: each ``ZipFile()`` reads the whole central directory again, so
      opening members one archive object each was quadratic in the members (4,000: 131 s);
    - a .tar.gz's uncompressed copy in the temporary folder, so that its members open by offset:
      written on the first open of a member (one decompression for the archive, not one per member).
      It takes the archive's uncompressed size on disk meanwhile."""

    def __init__(self, archive: Path, zip_file: zipfile.ZipFile | None = None) -> None:
        self.archive = archive
        self._zip = zip_file
        self._unpacked: Path | None = None
        self._lock = threading.Lock()
        if zip_file is not None:
            weakref.finalize(self, zip_file.close)

    def zip(self) -> zipfile.ZipFile:
        with self._lock:
            if self._zip is None:
                self._zip = zipfile.ZipFile(self.archive)
                weakref.finalize(self, self._zip.close)
            return self._zip

    def unpacked(self) -> Path:
        with self._lock:
            if self._unpacked is None:
                fd, name = tempfile.mkstemp(prefix="sekimori-unpacked-", suffix=".tar")
                weakref.finalize(self, _remove, name)
                with os.fdopen(fd, "wb") as out, open(self.archive, "rb") as src:
                    _gunzip(src, out)
                self._unpacked = Path(name)
            return self._unpacked


def _gunzip(src: BinaryIO, out: BinaryIO) -> None:
    """The gzip stream's content (its members one after another), as ``tarfile`` reads it: bytes after
    the last member (some archives carry a newline) are ignored, and a stream cut short gives what
    precedes the cut (a member that runs past it then fails when read: ``_Slice``)."""
    inflate = zlib.decompressobj(wbits=31)
    data = src.read(_BUFFER)
    while data:
        try:
            out.write(inflate.decompress(data))
        except zlib.error:
            return
        if not inflate.eof:
            data = src.read(_BUFFER)
            continue
        rest = inflate.unused_data
        while len(rest) < len(GZIP_MAGIC) and (more := src.read(_BUFFER)):
            rest += more
        if not rest.startswith(GZIP_MAGIC):
            return
        inflate, data = zlib.decompressobj(wbits=31), rest
    out.write(inflate.flush())


def _remove(name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name)


class _Slice(io.RawIOBase):
    """``size`` bytes of a file from ``start``: a tar member's data, seekable within itself."""

    def __init__(self, path: Path, start: int, size: int) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed with the slice
        self._start, self._size, self._pos = start, size, 0
        self._fh.seek(start)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        left = self._size - self._pos
        if left <= 0:
            return 0
        view = memoryview(buffer).cast("B")[:left]
        n = self._fh.readinto(view) or 0
        if n == 0:
            raise EOFError(f"the archive ends {left} bytes before the member does")
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        self._fh.seek(self._start + min(self._pos, self._size))
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._fh.close()
        super().close()


def _skip_member(name: str) -> bool:
    # macOS resource forks and similar metadata are not logs.
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store"
