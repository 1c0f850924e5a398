"""The files named for ingest, folders walked; every path that cannot be read is reported, none skipped.

``input_paths`` yields ``(path, problem)``: ``problem`` is None for a regular file to read, else why the
path cannot be read, and the store records it as a failed file. Reported, never opened:
- a folder that cannot be listed (permissions) or a path that cannot be looked at;
- a FIFO, socket or device: the file type is checked with ``stat`` first, because opening a FIFO
  blocks until a writer comes and a device may never end;
- a broken symbolic link, or a loop of links.

Symbolic links are followed, to files and to folders (as ``cat`` and ``find -L`` do): a link names what
the user wants read. A folder reached again through a link inside itself is a loop: reported once, not
walked again. Paths are kept as given; a folder's files come first, then its sub-folders, each sorted.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator

Input = tuple[str, str | None]  # (path as given or joined under a folder, problem or None)


def input_paths(paths: Iterable[str]) -> Iterator[Input]:
    for given in paths:
        yield from _visit(given, None)


def _folders_above(path: str) -> frozenset[tuple[int, int]]:
    """The folders a path is inside, so that a looping link named directly (as the CLI passes the
    paths it listed) is known for one as it is during the walk."""
    keys = set()
    parent, child = os.path.dirname(os.path.abspath(path)), ""
    while parent != child:
        try:
            st = os.stat(parent)
        except OSError:
            pass
        else:
            keys.add((st.st_dev, st.st_ino))
        parent, child = os.path.dirname(parent), parent
    return frozenset(keys)


def _visit(path: str, ancestors: frozenset[tuple[int, int]] | None) -> Iterator[Input]:
    try:
        st = os.stat(path)  # follows links; never opens the file
    except OSError as exc:
        yield path, _stat_problem(path, exc)
        return
    if stat.S_ISREG(st.st_mode):
        yield path, None
        return
    if not stat.S_ISDIR(st.st_mode):
        yield path, f"not a regular file ({_kind(st.st_mode)}): not opened"
        return
    key = (st.st_dev, st.st_ino)
    if ancestors is None:
        ancestors = _folders_above(path)
    if key in ancestors:
        yield path, "symbolic link loop: a link to a folder it is inside; not walked again"
        return
    try:
        with os.scandir(path) as entries:
            listing = [(entry.name, _is_dir(entry)) for entry in entries]
    except OSError as exc:
        yield path, f"cannot list folder: {exc.strerror or exc}"
        return
    inside = ancestors | {key}
    for want_dirs in (False, True):
        for name, is_dir in sorted(listing):
            if is_dir == want_dirs:
                yield from _visit(os.path.join(path, name), inside)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows links
    except OSError:
        return False  # reported as a file: _visit says why it cannot be read


def _stat_problem(path: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop: the link never reaches a file"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return f"broken symbolic link to {os.readlink(path)!r}"
    return f"cannot read: {exc.strerror or exc}"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"
