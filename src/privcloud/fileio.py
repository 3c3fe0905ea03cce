"""Crash-safe local files: one way to replace or create a file's contents, and one way to say
why a file operation failed.

:func:`write_atomic` writes a temporary file beside the target (created 0600 by ``mkstemp``),
``fsync``s it, renames (or, to create without replacing, hard-links) it onto the target and
``fsync``s the directory: after a crash, a full disk or a killed process the file holds either
the old or the new contents, or does not exist — never a part, never nothing. It raises
:class:`OSError`; callers wrap it with :func:`file_error`, which names the file's role and the
cause (disk full, permission, ...), never its contents.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from privcloud.errors import ConfigError

#: What an operator reads for the common causes (``strerror`` for the others).
_CAUSES = {
    errno.ENOSPC: "the disk is full (no space left on device)",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EFBIG: "the file size limit is reached (file too large; see ulimit -f)",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.EIO: "input/output error (a failing disk?)",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENOENT: "it does not exist",
    errno.EMFILE: "too many open files",
}


def os_cause(exc: OSError) -> str:
    """A short, fixed description of why ``exc`` happened (no path, no contents)."""
    if exc.errno in _CAUSES:
        return _CAUSES[exc.errno]
    if exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return type(exc).__name__


def file_error(action: str, what: str, exc: OSError) -> ConfigError:
    """``ConfigError("cannot <action> <what>: <cause>")``; ``what`` names the file by its role
    and name (e.g. "the log key log.key"). The caller raises it ``from exc``."""
    return ConfigError(f"cannot {action} {what}: {os_cause(exc)}")


def write_atomic(
    path: str | os.PathLike[str], data: bytes, *, durable: bool = True, replace: bool = True
) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (0600).

    ``replace=True`` replaces an existing file (rename). ``replace=False`` only creates: it
    raises :class:`FileExistsError` if ``path`` exists, so of several processes creating the
    same file exactly one wins (hard link, which never replaces).
    ``durable=False`` skips the ``fsync`` calls (for data a crash may lose, e.g. a cache).
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
        if replace:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if not replace:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    if durable:
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


__all__ = ["file_error", "os_cause", "write_atomic"]
