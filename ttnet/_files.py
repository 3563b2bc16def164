"""Atomic file writes shared by the data downloads and the training checkpoints.

A file that is written in place can be left half-written by a crash or a
``kill -9``; a reader later cannot tell it from a complete one. Writing to a
temporary file in the same directory, ``fsync``-ing it and renaming it over
the target with ``os.replace`` (atomic on POSIX and Windows) means a reader
sees either the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from typing import IO, Callable


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Create or replace the file ``path`` atomically with what ``write(file)`` writes.

    ``write`` receives a binary file object open on a temporary file
    ``.<name>.<pid>.<random>.tmp`` in the same directory (same file system,
    so the rename is atomic). After ``write`` returns the data is flushed and
    ``fsync``-ed, the temporary file is renamed over ``path`` with
    ``os.replace`` and the directory entry is ``fsync``-ed. If ``write`` (or
    anything else) fails, the temporary file is removed and ``path`` is left
    as it was.

    Parameters
    ----------
    path : str or path-like
        Target file; its directory must exist.
    write : callable(file) -> None
        Writes the content into the (binary) file object it is given.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}."
                                  f"{secrets.token_hex(4)}.tmp")
    # os.open with mode 0o666 lets the umask decide the final permissions
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(directory)


def fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (POSIX; a no-op where that is impossible)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
