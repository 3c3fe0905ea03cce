"""SQLite storage of the transparency log: entries, the Merkle tree's hashes, the last checkpoint.

:class:`TlogStore` implements :class:`privcloud.transparency.merkle.TreeStore`, so the sans-IO
proof code runs on it unchanged. What it keeps (one file, WAL journal, ``synchronous=FULL``):

* ``leaves(idx, leaf_hash UNIQUE, entry)`` — every entry with its RFC 9162 leaf hash; the unique
  index makes appends idempotent and answers "which index has this hash";
* ``subtrees(level, idx, hash)`` — the hash of every *complete perfect* subtree of ``2**level``
  leaves (level >= 1; level 0 is ``leaves.leaf_hash``), written in the same transaction as the
  leaves that complete it, so any proof for any size is O(log n) point reads, also right after a
  restart;
* ``meta`` — the log's origin (pinned at creation) and the last published checkpoint note;
* ``auth_seen`` — operator request signatures inside their validity window (replay refusal).

Opening reads only the O(log n) "right edge" of the tree (the perfect subtrees that the size's
binary digits cut it into); nothing is rebuilt. Appending hashes O(1) amortised per leaf.

A store is used from one thread at a time (the log service gives it one worker thread). Integrity
of the rows against tampering is not this module's job: auditors re-hash the entries over HTTP
(``privcloud log audit``); :meth:`TlogStore.check_checkpoint` refuses to serve a tree whose root
no longer matches the checkpoint the log signed.

This module also holds the key-file helper the log and witness services share.
"""

from __future__ import annotations

import base64
import binascii
import os
import sqlite3
import stat
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from privcloud import limits
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import ConfigError, UnavailableError, UsageError
from privcloud.storage.sqlite import immediate
from privcloud.transparency.merkle import HASH_SIZE, leaf_hash, node_hash, perfect_subtrees

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS leaves ("
    " idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL UNIQUE, entry BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS subtrees ("
    " level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
    " PRIMARY KEY (level, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS auth_seen ("
    " tag BLOB PRIMARY KEY, expires REAL NOT NULL) WITHOUT ROWID",
)
#: Subtree hashes from this level up are kept in memory once read (1 in 2**level of all nodes),
#: up to ``_CACHE_CAPACITY`` of them (2 MiB): each proof then reads ~level rows from SQLite.
_CACHED_LEVELS_FROM: Final = 8
_CACHE_CAPACITY: Final = 65536
_META_ORIGIN: Final = "origin"
_META_CHECKPOINT: Final = "checkpoint"


@dataclass(frozen=True)
class Appended:
    """One entry's place in the log after :meth:`TlogStore.append`."""

    index: int
    leaf_hash: bytes
    #: ``True`` if the entry was already in the log (the append was idempotent).
    existed: bool


class TlogStore:
    """The log's SQLite file. Implements :class:`~privcloud.transparency.merkle.TreeStore`."""

    def __init__(self, path: str | os.PathLike[str], origin: str) -> None:
        """Open (or create) the log database at ``path`` for the log named ``origin``.

        Raises :class:`ConfigError` if the file belongs to another origin, and
        :class:`UnavailableError` if it cannot be opened or is inconsistent.
        """
        if not isinstance(origin, str) or not origin:
            raise UsageError("origin must be a non-empty string")
        try:
            self._db = sqlite3.connect(
                os.fspath(path), isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            for ddl in _SCHEMA:
                self._db.execute(ddl)
        except sqlite3.Error as exc:
            raise UnavailableError("log database cannot be opened") from exc
        with self._transaction():
            stored = self._meta(_META_ORIGIN)
            if stored is None:
                self._set_meta(_META_ORIGIN, origin.encode("utf-8"))
            elif stored != origin.encode("utf-8"):
                raise ConfigError("log database belongs to another origin")
        self.origin = origin
        self._cache: dict[tuple[int, int], bytes] = {}
        self._size = self._count_leaves()
        # The right edge: hashes of the perfect subtrees the size's binary digits cut it into,
        # largest first, as (level, hash). Appends work on it without reading the database.
        self._edge = [
            (lvl, self.perfect_subtree_hash(lvl, s >> lvl))
            for lvl, s in perfect_subtrees(self._size)
        ]

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # --- plumbing ----------------------------------------------------------------------------

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, "log database is unavailable")

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        try:
            row = self._db.execute(sql, args).fetchone()
        except sqlite3.Error as exc:
            raise UnavailableError("log database is unavailable") from exc
        return row

    def _all(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        try:
            return list(self._db.execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            raise UnavailableError("log database is unavailable") from exc

    def _meta(self, key: str) -> bytes | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else bytes(row[0])

    def _set_meta(self, key: str, value: bytes) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _count_leaves(self) -> int:
        row = self._one("SELECT COALESCE(MAX(idx) + 1, 0), COUNT(*) FROM leaves", ())
        if int(row[0]) != int(row[1]):
            raise UnavailableError("log database has a gap in its leaves")
        return int(row[0])

    # --- TreeStore ---------------------------------------------------------------------------

    def size(self) -> int:
        """Number of leaves."""
        return self._size

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Leaf hashes ``start`` (inclusive) to ``end`` (exclusive)."""
        if not 0 <= start <= end <= self._size:
            raise UsageError("leaf range outside the tree")
        rows = self._all(
            "SELECT leaf_hash FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        )
        if len(rows) != end - start:
            raise UnavailableError("log database lost leaves")
        return [bytes(r[0]) for r in rows]

    def perfect_subtree_hash(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree of ``2**level`` leaves starting at ``index * 2**level``."""
        if level < 0 or index < 0 or level >= 64 or (index + 1) << level > self._size:
            raise UsageError("no such complete subtree")
        cached = self._cache.get((level, index))
        if cached is not None:
            return cached
        if level == 0:
            row = self._one("SELECT leaf_hash FROM leaves WHERE idx = ?", (index,))
        else:
            row = self._one("SELECT hash FROM subtrees WHERE level = ? AND idx = ?", (level, index))
        if row is None or len(row[0]) != HASH_SIZE:
            raise UnavailableError("log database lost a tree hash")
        h = bytes(row[0])
        # Upper levels are few and on every proof's path: keep them (they never change).
        if level >= _CACHED_LEVELS_FROM and len(self._cache) < _CACHE_CAPACITY:
            self._cache[(level, index)] = h
        return h

    # --- entries -----------------------------------------------------------------------------

    def append(self, entries: Sequence[bytes]) -> list[Appended]:
        """Append ``entries`` in one transaction; an entry already present keeps its index.

        Either every new entry (with the subtree hashes it completes) is durably stored, or,
        on an error, none is and the store is unchanged. Raises :class:`UnavailableError`.
        """
        size, edge = self._size, list(self._edge)
        out: list[Appended] = []
        with self._transaction() as db:
            for entry in entries:
                if not isinstance(entry, bytes):
                    raise UsageError("an entry is bytes")
                h = leaf_hash(entry)
                row = db.execute("SELECT idx FROM leaves WHERE leaf_hash = ?", (h,)).fetchone()
                if row is not None:
                    out.append(Appended(int(row[0]), h, existed=True))
                    continue
                if size >= limits.MAX_TLOG_TREE_SIZE:
                    raise UsageError("tree is full")
                db.execute(
                    "INSERT INTO leaves (idx, leaf_hash, entry) VALUES (?, ?, ?)", (size, h, entry)
                )
                out.append(Appended(size, h, existed=False))
                size += 1
                # The new leaf closes one perfect subtree per trailing one bit of its index.
                level, node = 0, h
                while edge and edge[-1][0] == level:
                    node = node_hash(edge.pop()[1], node)
                    level += 1
                    db.execute(
                        "INSERT INTO subtrees (level, idx, hash) VALUES (?, ?, ?)",
                        (level, (size >> level) - 1, node),
                    )
                edge.append((level, node))
        self._size, self._edge = size, edge
        return out

    def entries(self, start: int, end: int, max_bytes: int) -> list[bytes]:
        """Entries ``start`` to ``end`` (exclusive), stopping early past ``max_bytes`` in all.

        Always returns at least one entry when ``start < end``.
        """
        if not 0 <= start <= end <= self._size:
            raise UsageError("entry range outside the tree")
        out: list[bytes] = []
        total = 0
        try:
            cursor = self._db.execute(
                "SELECT entry FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
            )
            for (entry,) in cursor:
                if out and total + len(entry) > max_bytes:
                    break
                out.append(bytes(entry))
                total += len(entry)
            cursor.close()
        except sqlite3.Error as exc:
            raise UnavailableError("log database is unavailable") from exc
        return out

    def index_of(self, leaf_hash_: bytes) -> int | None:
        """Index of the leaf with this leaf hash, or ``None``."""
        row = self._one("SELECT idx FROM leaves WHERE leaf_hash = ?", (leaf_hash_,))
        return None if row is None else int(row[0])

    # --- checkpoints and replay tags ---------------------------------------------------------

    def load_checkpoint(self) -> bytes | None:
        """The last checkpoint note :meth:`save_checkpoint` stored, or ``None``."""
        return self._meta(_META_CHECKPOINT)

    def save_checkpoint(self, note: bytes) -> None:
        """Durably store the checkpoint note the log serves (with its cosignatures)."""
        with self._transaction():
            self._set_meta(_META_CHECKPOINT, note)

    def remember_tag(self, tag: bytes, expires: float, now: float, max_tags: int) -> bool:
        """Record a one-time ``tag`` until ``expires``; ``False`` if it is already recorded.

        Expired tags are dropped first. Raises :class:`UnavailableError` if ``max_tags`` live
        tags are already recorded (the caller answers "try later").
        """
        with self._transaction() as db:
            db.execute("DELETE FROM auth_seen WHERE expires < ?", (now,))
            if db.execute("SELECT 1 FROM auth_seen WHERE tag = ?", (tag,)).fetchone():
                return False
            (count,) = db.execute("SELECT COUNT(*) FROM auth_seen").fetchone()
            if int(count) >= max_tags:
                raise UnavailableError("too many recent operator requests")
            db.execute("INSERT INTO auth_seen (tag, expires) VALUES (?, ?)", (tag, expires))
        return True


# --- key files -------------------------------------------------------------------------------

_KEY_HEADER: Final = "privcloud-ed25519-seed-v1 "


def load_or_create_key(path: str | os.PathLike[str]) -> tuple[Ed25519PrivateKey, bool]:
    """Load the Ed25519 key stored at ``path``, or create it (mode 0600) if it does not exist.

    The file is one line: ``privcloud-ed25519-seed-v1 <base64 of the 32-byte seed>``. Returns
    ``(key, created)``. Raises :class:`ConfigError` if the file is malformed or readable by
    anyone but its owner.
    """
    p = Path(path)
    try:
        key = Ed25519PrivateKey.generate()
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_key(p), False
    except OSError as exc:
        raise ConfigError("key file cannot be created") from exc
    try:
        os.write(fd, (_KEY_HEADER + base64.b64encode(key.seed_bytes()).decode() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return key, True


def load_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load a key file written by :func:`load_or_create_key`; :class:`ConfigError` if missing,
    malformed or readable by others."""
    path = Path(path)
    try:
        info = path.stat()
        text = path.read_text("ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("key file cannot be read") from exc
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigError("key file is readable by others (chmod 600)")
    if not text.startswith(_KEY_HEADER) or not text.endswith("\n"):
        raise ConfigError("malformed key file")
    try:
        seed = base64.b64decode(text[len(_KEY_HEADER) : -1], validate=True)
        return Ed25519PrivateKey.from_seed(seed)
    except (binascii.Error, UsageError) as exc:
        raise ConfigError("malformed key file") from exc
