"""Crash-safe local files: one way to replace a file's contents.

:func:`write_atomic` writes a temporary file beside the target (created 0600 by ``mkstemp``),
``fsync``s it, renames it over the target and ``fsync``s the directory: after a crash the file
holds either the old or the new contents, never a part. It raises :class:`OSError`; callers wrap
it in an error of ours that names the file's role (never its contents).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically, readable by the owner only (0600).

    ``durable=False`` skips the two ``fsync`` calls (for data a crash may lose, e.g. a cache).
    Raises :class:`OSError`; the temporary file never stays behind.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


__all__ = ["write_atomic"]
