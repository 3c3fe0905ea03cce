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

A store is used from one thread at a time (the log service gives it one worker thread).

Damage at rest (a flipped byte, a lost row) is refused before the log serves: opening runs
SQLite's integrity check (:func:`~privcloud.storage.sqlite.check_integrity`), and
:meth:`TlogStore.verify_tree` re-derives the stored hashes from the entries (all of them up to
:data:`~privcloud.limits.TLOG_VERIFY_ALL_MAX_BYTES`, else the newest and a random sample), so
that the root the log service then matches against its last signed checkpoint vouches for the
entries themselves, not only for the hashes. Auditors still re-hash every entry over HTTP
(``privcloud log audit``): that is the check of a log one does not run.

This module also holds the key-file helpers the log and witness services share.
"""

from __future__ import annotations

import base64
import binascii
import os
import random
import sqlite3
import stat
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

from privcloud import limits
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import ConfigError, PrivcloudError, UnavailableError, UsageError
from privcloud.fileio import file_error, write_atomic
from privcloud.storage.sqlite import ERRORS as SQLITE_ERRORS
from privcloud.storage.sqlite import (
    check_integrity,
    connect,
    corrupt_error,
    immediate,
    sqlite_cause,
)
from privcloud.transparency.merkle import (
    HASH_SIZE,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    tree_root,
    verify_inclusion,
)

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
#: :meth:`TlogStore.verify_tree` reads and re-hashes the leaves in chunks of 2**this (16384).
_VERIFY_CHUNK_LEVEL: Final = 14
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
    """The log's SQLite file. Implements :class:`~privcloud.transparency.merkle.TreeStore`.

    The tree logic and SQL are shared with :class:`~privcloud.storage.pg_tlog.PgTlogStore`,
    which overrides the plumbing (``__init__``, ``_transaction``, ``_database_bytes``,
    ``close``) and guards appends with the single-sequencer lock.
    """

    #: What the database driver raises.
    _ERRORS: ClassVar[tuple[type[Exception], ...]] = (sqlite3.Error,)
    _db: Any

    def __init__(self, path: str | os.PathLike[str], origin: str) -> None:
        """Open (or create) the log database at ``path`` for the log named ``origin``.

        Raises :class:`ConfigError` naming the file and the cause if it cannot be opened, is
        corrupt (SQLite's integrity check, a gap in the leaves, a lost hash of the tree's right
        edge) or belongs to another origin. The entries are checked by :meth:`verify_tree`.
        """
        if not isinstance(origin, str) or not origin:
            raise UsageError("origin must be a non-empty string")
        self.name = os.path.basename(os.fspath(path))
        self._db = connect(path, what="the log database")
        try:
            self._db.execute("PRAGMA synchronous=FULL")
            check_integrity(self._db, "the log database")
            for ddl in _SCHEMA:
                self._db.execute(ddl)
        except SQLITE_ERRORS as exc:
            self._db.close()
            raise ConfigError(f"cannot open {self._what}: {sqlite_cause(exc)}") from exc
        self.origin = origin
        self._cache: dict[tuple[int, int], bytes] = {}
        try:
            self._claim_origin()
            self._size = self._count_leaves()
            # The right edge: hashes of the perfect subtrees the size's binary digits cut it
            # into, largest first, as (level, hash). Appends work on it without reading the
            # database.
            self._edge = self._read_edge()
        except BaseException:
            self._db.close()
            raise

    def _claim_origin(self) -> None:
        """Pin ``self.origin`` in a new database; refuse a database of another origin."""
        try:
            with self._transaction():
                stored = self._meta(_META_ORIGIN)
                if stored is None:
                    self._set_meta(_META_ORIGIN, self.origin.encode("utf-8"))
                elif stored != self.origin.encode("utf-8"):
                    raise ConfigError(f"{self._what} belongs to another origin")
        except UnavailableError as exc:
            cause = exc.__cause__
            detail = self._cause(cause) if isinstance(cause, self._ERRORS) else "unavailable"
            raise ConfigError(f"cannot open {self._what}: {detail}") from exc

    def _read_edge(self) -> list[tuple[int, bytes]]:
        try:
            return [
                (lvl, self.perfect_subtree_hash(lvl, s >> lvl))
                for lvl, s in perfect_subtrees(self._size)
            ]
        except UnavailableError as exc:
            raise self._corrupt("it lost a hash of the tree") from exc

    def _cause(self, exc: BaseException) -> str:
        return sqlite_cause(exc) if isinstance(exc, sqlite3.Error) else type(exc).__name__

    @property
    def _what(self) -> str:
        return f"the log database {self.name}"

    def _corrupt(self, detail: str) -> ConfigError:
        return corrupt_error(self._what, detail)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # --- plumbing ----------------------------------------------------------------------------

    def _transaction(self) -> AbstractContextManager[Any]:
        return immediate(self._db, "log database is unavailable")

    def _database_bytes(self) -> int:
        """The database's size on disk (decides whether :meth:`verify_tree` checks it all)."""
        (pages,) = self._one("PRAGMA page_count", ())
        (page_size,) = self._one("PRAGMA page_size", ())
        return int(pages) * int(page_size)

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        try:
            row = self._db.execute(sql, args).fetchone()
        except self._ERRORS as exc:
            raise UnavailableError("log database is unavailable") from exc
        return row

    def _all(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        try:
            return list(self._db.execute(sql, args).fetchall())
        except self._ERRORS as exc:
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
            raise self._corrupt("a gap in its leaves")
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
        with self._transaction() as db:
            out, size, edge = self._append_in(db, entries)
        self._size, self._edge = size, edge
        return out

    def _append_in(
        self, db: Any, entries: Sequence[bytes]
    ) -> tuple[list[Appended], int, list[tuple[int, bytes]]]:
        """:meth:`append`'s writes inside the caller's transaction ``db``; returns what was
        appended and the new size and right edge (the caller keeps them once committed)."""
        size, edge = self._size, list(self._edge)
        out: list[Appended] = []
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
        return out, size, edge

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
        except self._ERRORS as exc:
            raise UnavailableError("log database is unavailable") from exc
        return out

    def index_of(self, leaf_hash_: bytes) -> int | None:
        """Index of the leaf with this leaf hash, or ``None``."""
        row = self._one("SELECT idx FROM leaves WHERE leaf_hash = ?", (leaf_hash_,))
        return None if row is None else int(row[0])

    # --- start-up verification ---------------------------------------------------------------

    def verify_tree(
        self,
        *,
        all_max_bytes: int = limits.TLOG_VERIFY_ALL_MAX_BYTES,
        edge: int = limits.TLOG_VERIFY_EDGE_LEAVES,
        sample: int = limits.TLOG_VERIFY_SAMPLE_LEAVES,
        rng: random.Random | None = None,
    ) -> str:
        """Check that the stored hashes are those of the stored entries; run before serving.

        A database of at most ``all_max_bytes`` is checked whole (:meth:`_verify_all`): then
        every stored hash is a function of the entries, and the root the log matches against
        its last signed checkpoint vouches for every entry. A bigger one is checked on its
        newest ``edge`` leaves and ``sample`` leaves drawn with ``rng`` (a new draw at every
        start): each entry re-hashed against its leaf hash and its inclusion path, read from the
        stored hashes, recomputed to the tree's root. Returns ``"all"`` or ``"sample"``.
        Raises :class:`ConfigError` naming the file and the first damage found.
        """
        whole = self._database_bytes() <= all_max_bytes
        try:
            if whole:
                self._verify_all()
            else:
                chooser = rng if rng is not None else random.SystemRandom()
                newest = range(max(0, self._size - edge), self._size)
                older = range(0, newest.start)
                drawn = chooser.sample(older, min(sample, len(older)))
                self._verify_leaves([*drawn, *newest])
        except UnavailableError as exc:
            raise self._corrupt("it lost rows of the tree") from exc
        return "all" if whole else "sample"

    def _verify_all(self) -> None:
        """Re-derive every stored hash, a chunk of ``2**_VERIFY_CHUNK_LEVEL`` leaves at a time:

        1. every entry hashes to its stored leaf hash (RFC 9162 §2.1.1);
        2. every stored subtree hash inside the chunk is the node hash of its two children,
           computed from the leaf hashes of step 1, level by level;
        3. above the chunks, the same from the chunks' (now verified) stored subtree hashes.
        """
        tops: list[bytes] = []
        for start in range(0, self._size, 1 << _VERIFY_CHUNK_LEVEL):
            end = min(self._size, start + (1 << _VERIFY_CHUNK_LEVEL))
            rows = self._all(
                "SELECT leaf_hash, entry FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, end),
            )
            hashes = [bytes(h) for h, _ in rows]
            if len(hashes) != end - start:
                raise self._corrupt("it lost leaves")
            for i, (h, (_, entry)) in enumerate(zip(hashes, rows, strict=True)):
                if leaf_hash(bytes(entry)) != h:
                    raise self._corrupt(f"entry {start + i} does not match its leaf hash")
            top = self._verify_levels(hashes, 0, start, _VERIFY_CHUNK_LEVEL)
            if end - start == 1 << _VERIFY_CHUNK_LEVEL:
                tops.append(top[0])
        self._verify_levels(tops, _VERIFY_CHUNK_LEVEL, 0, 64)

    def _verify_levels(self, hashes: list[bytes], level: int, first: int, top: int) -> list[bytes]:
        """``hashes`` are the verified hashes at ``level`` of leaves from ``first`` on: check the
        stored subtree hashes they make, up to ``top``; return the hashes at the last level."""
        while level < top and len(hashes) >= 2:
            parents = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes) - 1, 2)]
            level += 1
            lo = first >> level
            rows = self._all(
                "SELECT hash FROM subtrees WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx",
                (level, lo, lo + len(parents)),
            )
            stored = [bytes(r[0]) for r in rows]
            if stored != parents:
                pairs = zip(stored, parents, strict=False)  # a lost row: stored is shorter
                bad = next((i for i, (a, b) in enumerate(pairs) if a != b), len(stored))
                raise self._corrupt(f"tree hash ({level}, {lo + bad}) does not match its children")
            hashes = parents
        return hashes

    def _verify_leaves(self, indexes: Sequence[int]) -> None:
        root = tree_root(self, self._size)
        for idx in indexes:
            row = self._one("SELECT leaf_hash, entry FROM leaves WHERE idx = ?", (idx,))
            if row is None or leaf_hash(bytes(row[1])) != bytes(row[0]):
                raise self._corrupt(f"entry {idx} does not match its leaf hash")
            try:
                proof = inclusion_proof(self, idx, self._size)
                verify_inclusion(bytes(row[0]), idx, self._size, proof, root)
            except PrivcloudError as exc:
                raise self._corrupt(f"the tree hashes above entry {idx} do not match") from exc

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


def load_or_create_key(
    path: str | os.PathLike[str], *, role: str = "the key file"
) -> tuple[Ed25519PrivateKey, bool]:
    """Load the Ed25519 key stored at ``path``, or create it (mode 0600) if it does not exist.

    The file is one line: ``privcloud-ed25519-seed-v1 <base64 of the 32-byte seed>``, written
    atomically (:func:`~privcloud.fileio.write_atomic`): a full disk or a crash leaves either
    the whole key or no file, never an empty one; of processes starting together, one creates
    it and the others load it. Returns ``(key, created)``. Raises :class:`ConfigError` naming
    ``role`` (e.g. "the log key"), the file's name and the cause when it cannot be created or
    read, is malformed or is readable by anyone but its owner.
    """
    p = Path(path)
    key = Ed25519PrivateKey.generate()
    text = _KEY_HEADER + base64.b64encode(key.seed_bytes()).decode() + "\n"
    try:
        write_atomic(p, text.encode("ascii"), replace=False)
    except FileExistsError:
        return load_key(p, role=role), False
    except OSError as exc:
        raise file_error("create", f"{role} {p.name}", exc) from exc
    return key, True


def load_key(path: str | os.PathLike[str], *, role: str = "the key file") -> Ed25519PrivateKey:
    """Load a key file written by :func:`load_or_create_key`; :class:`ConfigError` naming
    ``role``, the file's name and the fault if it is missing, unreadable, malformed or readable
    by others."""
    path = Path(path)
    what = f"{role} {path.name}"
    try:
        info = path.stat()
        raw = path.read_bytes()
    except OSError as exc:
        raise file_error("read", what, exc) from exc
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigError(f"{what} is readable by others: chmod 600 it")
    if not raw:
        raise ConfigError(
            f"{what} is empty (left by a start that failed while writing it): remove it, "
            "and a new key is made at the next start"
        )
    text = raw.decode("ascii", errors="replace")
    if not text.startswith(_KEY_HEADER) or not text.endswith("\n"):
        raise ConfigError(f"{what} is malformed (not a privcloud Ed25519 key file)")
    try:
        seed = base64.b64decode(text[len(_KEY_HEADER) : -1], validate=True)
        return Ed25519PrivateKey.from_seed(seed)
    except (binascii.Error, ValueError, UsageError) as exc:
        raise ConfigError(f"{what} is malformed (not a privcloud Ed25519 key file)") from exc
