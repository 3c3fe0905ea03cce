"""Directory statements: the node directory a gateway serves, made public in the transparency
log (sans-IO; docs/adr/0033-logged-node-directory.md, docs/trust-model.md#consistency).

Each node entry of the directory is admitted on its own (evidence, logged release), but which
entries a device is shown is the gateway's choice. A gateway that showed each device a directory
of its own — a subset of the nodes, different for each — would see in every envelope's
recipients which directory the device had, and so link all of that device's requests, without
reading any. So a device uses a directory only when a **directory statement** naming exactly
its nodes is an entry of the log, proven by an inclusion proof against the checkpoint it trusts:
a directory given to one device only is then in public view, next to every other the gateway
ever logged, and a monitor counts how many were valid at once (:func:`most_valid_at_once`).

Not only which nodes: what the directory says of each shapes the device's choice too (the
features it serves decide which nodes a request of a feature may go to; the hybrid key decides
which key ids the envelope names), so the statement names each node by its key id *and* a
digest of its entry's stable part — everything but the evidence, which a node renews
(:func:`entry_digest`). A gateway that showed one device a node with another feature list, or
without its hybrid key, is refused as for a node left out.

Nor only the nodes: the gateway's OHTTP keys too. Each key is logged on its own (its key
statement), but which of the valid ones a device is shown was the gateway's choice, and the key
a device chooses shows in each of its requests: a key shown to one background admission alone
made a group of one, and the device's memory of a hybrid key withheld since (a downgrade) kept
it there (docs/adr/0009, decision 7, a fourth review). So version 2 names the leaf hash of each
key statement the gateway serves, and a device chooses among exactly those (:func:`named_keys`).

A directory statement, version 2, is the canonical JSON
(:func:`~privcloud.trust.canonical.canonical_json`) of::

    {"schema": "privcloud.node-directory/v2",
     "service": <the gateway's origin, as in its key statements>,
     "nodes": [[<base64 key id>, <base64 entry digest>], ...],   # by key id, no repeats
     "keys": [<base64 leaf hash of a key statement>, ...],       # sorted, no repeats
     "not_before": <unix seconds>, "not_after": <unix seconds>}

Version 1 (no ``keys``) still decodes, for an audit of a log that holds some; a device refuses
it (it names no key).

A node's key id is its classical boot key's (SHA-256 over the KEM id and the public key,
docs/envelope.md); the entry digest is SHA-256 of the canonical JSON of its directory entry
without ``bundle`` and ``evidence`` (node id, both keys and suites, region, provider, TEE,
features). Base64 is standard, padded. The directory document carries the statement's bytes
(:mod:`privcloud.trust.directory`); the log entry *is* those bytes.

Device procedure (:func:`check_directory`, then the log proof in :mod:`privcloud.sdk.keyproofs`):

1. the statement decodes, in canonical form, with a supported schema;
2. its service is the gateway the device talks to;
3. its validity is on the grid every gateway uses — it starts at a multiple of half of
   ``DIRECTORY_STATEMENT_LIFETIME_S`` and lasts that lifetime — and contains now (with
   ``KEY_STATEMENT_SKEW_S`` for a ``not_before`` slightly ahead). Short statements back to
   back would let a gateway give each device that refreshes at another moment a directory of
   its own without ever having many valid at once (:func:`most_valid_at_once`). And it has
   at least half the lifetime left, less ``DIRECTORY_STATEMENT_LATE_S``: the newest step's
   (the one before only for those seconds into a step). A gateway that served every device
   the older of the two valid statements would make every admission end at one grid time,
   and could then fail every device's background admissions in their last minute at once
   (docs/adr/0009, decision 7);
4. the directory's entries are exactly the statement's nodes, each with the logged entry
   digest: none left out, none added, none twice, none changed;
5. the entry is in the log: RFC 9162 inclusion proof against the trusted checkpoint;
6. every key statement it names was served and proven in the log, and the device chooses among
   those alone (:func:`named_keys`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from privcloud import limits
from privcloud.errors import (
    DecodeError,
    DirectoryConsistencyError,
    TooLargeError,
    UnsupportedError,
)
from privcloud.trust.canonical import canonical_json, load_entry
from privcloud.trust.directory import NodeDescriptor
from privcloud.trust.keys import KeyKind, KeyStatement
from privcloud.trust.statement import LoggedStatement

#: ``schema`` of a version-2 directory statement (the one gateways log).
DIRECTORY_SCHEMA: Final = "privcloud.node-directory/v2"
#: ``schema`` of a version-1 one: no ``keys`` (decoded for audits; devices refuse it).
DIRECTORY_SCHEMA_V1: Final = "privcloud.node-directory/v1"

_KEY_ID_SIZE: Final = 32
_DIGEST_SIZE: Final = 32
StatementT = TypeVar("StatementT", bound=LoggedStatement)
#: A node as a statement names it: its key id and the digest of its entry's stable part.
NodeLine = tuple[bytes, bytes]
_FIELDS_V1: Final = frozenset({"schema", "service", "nodes", "not_before", "not_after"})
_FIELDS: Final = _FIELDS_V1 | {"keys"}
_LEAF_HASH_SIZE: Final = 32


def entry_digest(node: NodeDescriptor) -> bytes:
    """SHA-256 of the canonical JSON of ``node``'s entry without its bundle and evidence: what
    the directory says of the node that stays the same while it runs."""
    entry = node.to_json()
    entry.pop("bundle", None)
    entry.pop("evidence", None)
    return hashlib.sha256(canonical_json(entry)).digest()


def node_line(node: NodeDescriptor) -> NodeLine:
    """How a statement names ``node``."""
    return (node.key_id, entry_digest(node))


@dataclass(frozen=True)
class DirectoryStatement(LoggedStatement):
    """One directory statement, valid by construction: nodes sorted by key id, key ids unique,
    ids and digests 32 bytes."""

    service: str
    nodes: tuple[NodeLine, ...]
    not_before: int
    not_after: int
    #: Leaf hashes of the gateway's key statements, sorted (``None``: version 1, no keys).
    keys: tuple[bytes, ...] | None = ()

    def __post_init__(self) -> None:
        self._check_names("directory statement", self.service)
        if self.keys is not None:
            if len(self.keys) > limits.MAX_KEY_STATEMENTS:
                raise TooLargeError("directory statement names too many keys")
            if not all(isinstance(k, bytes) and len(k) == _LEAF_HASH_SIZE for k in self.keys):
                raise DecodeError("directory statement has a malformed key")
            if list(self.keys) != sorted(set(self.keys)):
                raise DecodeError("directory statement keys are not sorted and unique")
        if len(self.nodes) > limits.MAX_DIRECTORY_NODES:
            raise TooLargeError("directory statement lists too many nodes")
        for line in self.nodes:
            if not (isinstance(line, tuple) and len(line) == 2):
                raise DecodeError("directory statement has a malformed node")
            key_id, digest = line
            if not isinstance(key_id, bytes) or len(key_id) != _KEY_ID_SIZE:
                raise DecodeError("directory statement has a malformed key id")
            if not isinstance(digest, bytes) or len(digest) != _DIGEST_SIZE:
                raise DecodeError("directory statement has a malformed entry digest")
        if list(self.key_ids) != sorted(set(self.key_ids)):
            raise DecodeError("directory statement nodes are not sorted by unique key ids")

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """The key id of each node, in order."""
        return tuple(key_id for key_id, _ in self.nodes)

    @classmethod
    def for_nodes(
        cls,
        service: str,
        nodes: Iterable[NodeDescriptor],
        not_before: int,
        not_after: int,
        keys: Iterable[LoggedStatement] = (),
    ) -> DirectoryStatement:
        """The statement of a directory of ``nodes`` whose gateway serves the key statements
        ``keys``. Raises :class:`DecodeError` when two entries share a key (the directory could
        not be the statement's)."""
        lines = [node_line(n) for n in nodes]
        if len({key_id for key_id, _ in lines}) != len(lines):
            raise DecodeError("two directory entries share a key")
        hashes = tuple(sorted({k.leaf_hash for k in keys}))
        return cls(service, tuple(sorted(lines)), not_before, not_after, hashes)

    def encode(self) -> bytes:
        """The log entry: canonical JSON."""
        doc: dict[str, object] = {
            "schema": DIRECTORY_SCHEMA if self.keys is not None else DIRECTORY_SCHEMA_V1,
            "service": self.service,
            "nodes": [[_b64(key_id), _b64(digest)] for key_id, digest in self.nodes],
            "not_before": self.not_before,
            "not_after": self.not_after,
        }
        if self.keys is not None:
            doc["keys"] = [_b64(k) for k in self.keys]
        return canonical_json(doc)

    @classmethod
    def decode(cls, data: bytes) -> DirectoryStatement:
        """Parse a log entry, which must be the canonical form byte for byte.

        Raises :class:`TooLargeError` past ``MAX_DIRECTORY_STATEMENT_BYTES``,
        :class:`UnsupportedError` for another schema, :class:`DecodeError` otherwise.
        """
        v1 = False
        try:
            doc = _load(data, _FIELDS, DIRECTORY_SCHEMA)
        except (DecodeError, UnsupportedError) as exc:
            try:
                doc, v1 = _load(data, _FIELDS_V1, DIRECTORY_SCHEMA_V1), True
            except (DecodeError, UnsupportedError):
                raise exc from None
        nodes = doc["nodes"]
        if not isinstance(nodes, list) or not isinstance(doc["service"], str):
            raise DecodeError("malformed directory statement")
        if len(nodes) > limits.MAX_DIRECTORY_NODES:
            raise TooLargeError("directory statement lists too many nodes")
        lines = []
        for node in nodes:
            if not isinstance(node, list) or len(node) != 2:
                raise DecodeError("malformed directory statement")
            try:
                key_id, digest = (base64.b64decode(_text(v), validate=True) for v in node)
            except (ValueError, binascii.Error) as exc:
                raise DecodeError("malformed directory statement") from exc
            lines.append((key_id, digest))
        keys = None if v1 else tuple(_b64_bytes(k) for k in _list(doc["keys"]))
        statement = cls(doc["service"], tuple(lines), doc["not_before"], doc["not_after"], keys)
        if statement.encode() != data:
            raise DecodeError("directory statement is not in canonical form")
        return statement


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _load(data: bytes, fields: frozenset[str], schema: str) -> dict[str, Any]:
    return load_entry(
        data,
        "directory statement",
        max_bytes=limits.MAX_DIRECTORY_STATEMENT_BYTES,
        fields=fields,
        schema=schema,
    )


def _list(value: object) -> list[object]:
    if not isinstance(value, list) or len(value) > limits.MAX_KEY_STATEMENTS:
        raise DecodeError("malformed directory statement")
    return value


def _b64_bytes(value: object) -> bytes:
    try:
        return base64.b64decode(_text(value), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise DecodeError("malformed directory statement") from exc


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise DecodeError("malformed directory statement")
    return value


def check_directory(
    statement: DirectoryStatement, nodes: Sequence[NodeDescriptor], *, service: str, now: float
) -> None:
    """Steps 2 to 4 of the device procedure (module docstring).

    Raises :class:`DirectoryConsistencyError` for another gateway's statement, a validity off
    the grid (:func:`on_grid`) or not containing ``now``, and served entries that are not
    exactly the statement's nodes.
    """
    # 2.
    if statement.service != service:
        raise DirectoryConsistencyError("directory statement is for another gateway")
    # 3.
    if not on_grid(statement):
        raise DirectoryConsistencyError("directory statement validity is not on the grid")
    if not statement.valid_at(now):
        raise DirectoryConsistencyError("directory statement is not valid now")
    half = limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
    if statement.not_after - now < half - limits.DIRECTORY_STATEMENT_LATE_S:
        raise DirectoryConsistencyError("directory statement is a step old")
    # 4.
    served = [node_line(n) for n in nodes]
    if len({key_id for key_id, _ in served}) != len(served):
        raise DirectoryConsistencyError("the directory lists a node twice")
    if set(served) != set(statement.nodes):
        raise DirectoryConsistencyError("the directory is not the logged one")


def named_keys(
    statement: DirectoryStatement,
    served: Sequence[StatementT],
    proven: Sequence[StatementT],
    now: float,
) -> list[StatementT]:
    """Step 6: of the key statements the gateway ``served`` and the device ``proven``, those
    ``statement`` names, in their order. A device chooses its key among these alone (by a rule
    over the logged statements), so every device shown one directory statement uses one key.
    A named key that has ended on the device's clock, or ends within ``DIRECTORY_KEY_AHEAD_S``
    less the skew (no statement an honest gateway logs now names it: one replayed from earlier
    in the step would keep the device on it past its end, a review), is passed over: its
    validity is logged, so no answer of the gateway decides it.

    Raises :class:`DirectoryConsistencyError` for a statement that names no key (version 1),
    when a key it names was not served (withheld from this device, as a node left out would
    be; its hybrid key: a downgrade), when one named has not begun on the device's clock (an
    honest gateway names a key a skew after it begins: one named earlier would split devices
    by their clocks, a review), when one valid now failed its proof (a log read the gateway
    broke for this device would otherwise take that key out of its choice), and when none
    named is left to choose."""
    if not statement.keys:
        raise DirectoryConsistencyError("the directory statement names no gateway key")
    by_hash = {s.leaf_hash: s for s in served}
    passed = {s.leaf_hash for s in proven}
    lasting = now + limits.DIRECTORY_KEY_AHEAD_S - limits.KEY_STATEMENT_SKEW_S
    chosen_from: set[bytes] = set()
    for key in statement.keys:
        shown = by_hash.get(key)
        if shown is None:
            raise DirectoryConsistencyError("a key the directory statement names was withheld")
        if shown.not_before - limits.KEY_STATEMENT_SKEW_S > now:
            raise DirectoryConsistencyError("a key the directory statement names has not begun")
        if shown.not_after <= lasting:
            continue  # (ended, or ending: passed over)
        if key not in passed:
            raise DirectoryConsistencyError("a key the directory statement names failed its proof")
        chosen_from.add(key)
    named = [s for s in proven if s.leaf_hash in chosen_from]
    if not named:
        raise DirectoryConsistencyError("no key the directory statement names is valid now")
    return named


def on_grid(statement: DirectoryStatement) -> bool:
    """Whether the statement's validity is the one every gateway gives (step 3): from a
    multiple of half of ``DIRECTORY_STATEMENT_LIFETIME_S``, for that lifetime."""
    lifetime = limits.DIRECTORY_STATEMENT_LIFETIME_S
    return (
        statement.not_before % (lifetime // 2) == 0
        and statement.not_after - statement.not_before == lifetime
    )


def most_valid_at_once(statements: Iterable[DirectoryStatement]) -> dict[str, int]:
    """For a monitor reading the whole log: per gateway, the largest number of directory
    statements valid at one instant. A gateway that changes its nodes now and then has one or
    two; one that gave devices directories of their own has as many as it gave."""
    events: dict[str, list[tuple[int, int]]] = {}
    for s in statements:
        # An end sorts before a start at the same instant: [a, b) and [b, c) do not overlap.
        events.setdefault(s.service, []).extend(((s.not_before, 1), (s.not_after, -1)))
    most: dict[str, int] = {}
    for service, points in events.items():
        live = peak = 0
        for _, delta in sorted(points):
            live += delta
            peak = max(peak, live)
        most[service] = peak
    return most


def _covered(windows: Iterable[tuple[int, int]], start: int, end: int, bridge: int) -> bool:
    """Whether the half-open ``windows``, joined across gaps shorter than ``bridge``, cover
    ``[start, end)`` together."""
    spans: list[list[int]] = []
    for begin, until in sorted(windows):
        if spans and begin < spans[-1][1] + bridge:
            spans[-1][1] = max(spans[-1][1], until)
        else:
            spans.append([begin, until])
    return any(begin <= start and until >= end for begin, until in spans)


def downgrades(
    directories: Iterable[tuple[int, DirectoryStatement]],
    keys: Iterable[tuple[int, KeyStatement]],
) -> list[DirectoryStatement]:
    """For a monitor reading the whole log, entries with their log index: the (version 2)
    directory statements that name no hybrid post-quantum OHTTP key while their gateway had
    one that any gateway still offering it would have named whenever in the step it logged
    the statement. A gateway names a key (``named_keys_of``) from ``KEY_STATEMENT_SKEW_S``
    after its start until ``DIRECTORY_KEY_AHEAD_S`` before its end; the hybrid keys of the
    gateway logged before the statement, one or several in turn (a handover), must cover the
    whole step so. A device chooses among the keys named (step 6) and prefers a hybrid one, so
    such a statement moves every device shown it onto a classical key: a downgrade, of all
    devices or of those shown that statement alone, in public view here. A key retired early
    is no excuse: an honest operator that leaves post-quantum keys waits until its hybrid
    key's logged end. A gap between two hybrid keys shorter than ``MAX_HYBRID_KEY_GAP_S`` (a
    successor begun late) counts as none: a gap of a second exempted its step (a review). Not
    caught: a longer gap, in which an honest gateway names no hybrid key either, open to every
    monitor in the keys' statements."""
    hybrid: dict[str, list[tuple[int, KeyStatement]]] = {}
    for index, key in keys:
        if key.kind is KeyKind.OHTTP and key.key_config.post_quantum:
            hybrid.setdefault(key.service, []).append((index, key))
    out = []
    for index, statement in directories:
        if statement.keys is None:
            continue  # (version 1 names no key)
        step_end = statement.not_before + limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
        ours = hybrid.get(statement.service, [])
        named = [
            (
                key.not_before + limits.KEY_STATEMENT_SKEW_S,
                key.not_after - limits.DIRECTORY_KEY_AHEAD_S,
            )
            for logged, key in ours
            if logged < index
        ]
        hashes = {key.leaf_hash for _, key in ours}
        bridge = limits.MAX_HYBRID_KEY_GAP_S
        covered = _covered(named, statement.not_before, step_end, bridge)
        if covered and not hashes & set(statement.keys):
            out.append(statement)
    return out


__all__ = [
    "DIRECTORY_SCHEMA",
    "DIRECTORY_SCHEMA_V1",
    "DirectoryStatement",
    "NodeLine",
    "check_directory",
    "downgrades",
    "entry_digest",
    "most_valid_at_once",
    "named_keys",
    "node_line",
    "on_grid",
]
