"""The node directory: what the gateway publishes about each node, and clients verify.

JSON document (``application/json``)::

    {"version": 1, "nodes": [ {"node_id": "...", "key_id": b64, "kem": 32, "kdf": 1,
      "aead": 1, "public_key": b64, "region": "...", "provider": "...", "tee": "...",
      "evidence": b64, "features": ["echo", ...], "bundle": {...}}, ... ]}

``pq`` (optional within version 1, docs/adr/0014) is the node's second, hybrid post-quantum
boot key: ``{"key_id": b64, "kem": 25722, "kdf": 1, "aead": 3, "public_key": b64}``
(ML-KEM-768 + X25519); its evidence binds it beside the classical key (``NodeClaims`` v2).

``statement`` (optional within version 1) is the base64 of the logged directory statement
naming exactly these nodes (:mod:`privcloud.trust.directory_statement`, docs/adr/0033); a device
refuses a directory without one unless told to accept unlogged directories (INSECURE).

``bundle`` (optional within version 1, so older documents still parse) is the node's
attestation bundle (:class:`privcloud.trust.bundle.NodeBundle`): evidence, release manifest,
log inclusion proof and checkpoint. A node without one is refused by admission. The legacy
``evidence`` field is kept for older readers; admission reads the bundle's evidence only.

The gateway never holds node private keys; it only relays what each node published about itself.
Nothing here is trusted until :mod:`privcloud.trust.admission` has checked it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from privcloud import limits
from privcloud.crypto.hpke import KemId, Suite, check_public_key
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.envelope import key_id_for
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError
from privcloud.trust.bundle import NodeBundle
from privcloud.trust.canonical import b64_text, from_b64_text
from privcloud.wire import jsonio

DIRECTORY_VERSION = 1
#: Size of a node key id: SHA-256 over the KEM id and the public key (docs/envelope.md).
_KEY_ID_SIZE = 32
#: KEMs a node key may use (those the envelope's HPKE wraps are tested with).
_ENVELOPE_KEMS = frozenset({KemId.DHKEM_X25519_HKDF_SHA256, KemId.DHKEM_P256_HKDF_SHA256})
_LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")
_PQ_FIELDS = frozenset({"key_id", "kem", "kdf", "aead", "public_key"})


@dataclass(frozen=True)
class NodeKey:
    """A node's hybrid post-quantum HPKE key: its id, suite and public key."""

    key_id: bytes
    suite: Suite
    public_key: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": b64_text(self.key_id),
            "kem": int(self.suite.kem),
            "kdf": int(self.suite.kdf),
            "aead": int(self.suite.aead),
            "public_key": b64_text(self.public_key),
        }

    @classmethod
    def from_json(cls, obj: object) -> NodeKey:
        """Parse the ``pq`` entry: a post-quantum KEM, a valid key, a key id that commits to it
        (``SHA-256(u16 kem || key)``). Raises :class:`DecodeError`/:class:`UnsupportedError`."""
        if not isinstance(obj, dict) or set(obj) != _PQ_FIELDS:
            raise DecodeError("node entry has a malformed post-quantum key")
        try:
            suite = Suite(KemId(obj["kem"]), KdfId(obj["kdf"]), AeadId(obj["aead"]))
        except (ValueError, TypeError) as exc:
            raise UnsupportedError("node entry has an unsupported post-quantum suite") from exc
        key_id, public_key = from_b64_text(obj["key_id"]), from_b64_text(obj["public_key"])
        if not suite.kem.post_quantum or suite.aead == AeadId.EXPORT_ONLY:
            raise DecodeError("node entry's post-quantum key is not post-quantum")
        if len(public_key) != suite.kem.public_key_size:
            raise DecodeError("node entry has a malformed post-quantum key")
        check_public_key(suite.kem, public_key)
        if key_id != key_id_for(suite.kem, public_key):
            raise DecodeError("node entry's post-quantum key id does not commit to its key")
        return cls(key_id, suite, public_key)


@dataclass(frozen=True)
class NodeDescriptor:
    """What one node says about itself: its boot-time HPKE key and where it runs."""

    node_id: str
    key_id: bytes
    suite: Suite
    public_key: bytes
    region: str
    provider: str
    tee: str
    evidence: bytes = b""
    features: tuple[str, ...] = ()
    #: The attestation bundle admission checks; ``None`` for a node that published none.
    bundle: NodeBundle | None = None
    #: The node's hybrid post-quantum key, bound by its evidence beside the classical one.
    pq_key: NodeKey | None = None

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """The ids of every key of the node (an envelope may be sealed to either)."""
        return (self.key_id,) if self.pq_key is None else (self.key_id, self.pq_key.key_id)

    def sealing(self, post_quantum: bool) -> NodeDescriptor:
        """This descriptor with the key to seal to in front: the hybrid key when
        ``post_quantum`` (:class:`UsageError`-free: callers check ``pq_key`` first)."""
        if not post_quantum or self.pq_key is None:
            return self
        pq = self.pq_key
        return dataclasses.replace(self, key_id=pq.key_id, suite=pq.suite, public_key=pq.public_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "key_id": b64_text(self.key_id),
            "kem": int(self.suite.kem),
            "kdf": int(self.suite.kdf),
            "aead": int(self.suite.aead),
            "public_key": b64_text(self.public_key),
            "region": self.region,
            "provider": self.provider,
            "tee": self.tee,
            "evidence": b64_text(self.evidence),
            "features": list(self.features),
            **({} if self.bundle is None else {"bundle": self.bundle.to_json()}),
            **({} if self.pq_key is None else {"pq": self.pq_key.to_json()}),
        }

    @classmethod
    def from_json(cls, obj: object) -> NodeDescriptor:
        """Parse one node entry; raises :class:`DecodeError` on any malformed field."""
        if not isinstance(obj, dict):
            raise DecodeError("node entry is not an object")
        try:
            suite = Suite(KemId(obj["kem"]), KdfId(obj["kdf"]), AeadId(obj["aead"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise UnsupportedError("node entry has an unsupported suite") from exc
        features = obj.get("features", [])
        if not isinstance(features, list) or not all(
            isinstance(f, str) and _LABEL_RE.match(f) for f in features
        ):
            raise DecodeError("node entry has malformed features")
        evidence = from_b64_text(_field(obj, "evidence"))
        if len(evidence) > limits.MAX_NODE_EVIDENCE:
            raise TooLargeError("node evidence too large")
        key_id = from_b64_text(_field(obj, "key_id"))
        public_key = from_b64_text(_field(obj, "public_key"))
        # Shapes are checked here, so that one malformed entry is refused on its own and never
        # reaches key handling as a usage error that would stop the whole directory.
        if len(key_id) != _KEY_ID_SIZE:
            raise DecodeError("node entry has a malformed key id")
        if suite.kem not in _ENVELOPE_KEMS or len(public_key) != suite.kem.public_key_size:
            raise DecodeError("node entry has a malformed public key")
        return cls(
            node_id=_label(obj, "node_id"),
            key_id=key_id,
            suite=suite,
            public_key=public_key,
            region=_label(obj, "region"),
            provider=_label(obj, "provider"),
            tee=_label(obj, "tee"),
            evidence=evidence,
            features=tuple(features),
            bundle=None if obj.get("bundle") is None else NodeBundle.from_json(obj["bundle"]),
            pq_key=None if obj.get("pq") is None else NodeKey.from_json(obj["pq"]),
        )


def encode_directory(nodes: list[NodeDescriptor], statement: bytes | None = None) -> bytes:
    """Serialize a directory document, with the logged ``statement`` of its nodes if given."""
    doc: dict[str, Any] = {"version": DIRECTORY_VERSION, "nodes": [n.to_json() for n in nodes]}
    if statement is not None:
        doc["statement"] = b64_text(statement)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def decode_directory(data: bytes) -> list[NodeDescriptor]:
    """The node entries of a directory document (:func:`decode_directory_document`)."""
    return decode_directory_document(data)[0]


def decode_directory_document(data: bytes) -> tuple[list[NodeDescriptor], bytes | None]:
    """Parse a directory document (bounded by ``limits.MAX_NODE_DIRECTORY_BYTES``): its node
    entries and the bytes of its directory statement (None when it carries none; they are
    decoded and checked by :mod:`privcloud.trust.directory_statement`).

    Raises :class:`TooLargeError` past the bounds, :class:`UnsupportedError` for another
    version and :class:`DecodeError` otherwise (malformed or too deeply nested JSON, a bad
    entry)."""
    if len(data) > limits.MAX_NODE_DIRECTORY_BYTES:
        raise TooLargeError("directory too large")
    doc = jsonio.loads(data, max_bytes=limits.MAX_NODE_DIRECTORY_BYTES)
    if not isinstance(doc, dict) or doc.get("version") != DIRECTORY_VERSION:
        raise UnsupportedError("unknown directory version")
    nodes = doc.get("nodes")
    if not isinstance(nodes, list):
        raise DecodeError("directory has no node list")
    if len(nodes) > limits.MAX_DIRECTORY_NODES:
        raise TooLargeError("directory lists too many nodes")
    statement = doc.get("statement")
    if statement is not None:
        statement = from_b64_text(statement)
        if len(statement) > limits.MAX_DIRECTORY_STATEMENT_BYTES:
            raise TooLargeError("directory statement too large")
    return [NodeDescriptor.from_json(n) for n in nodes], statement


def encode_descriptor(node: NodeDescriptor) -> bytes:
    return json.dumps(node.to_json(), separators=(",", ":"), sort_keys=True).encode()


def decode_descriptor(data: bytes) -> NodeDescriptor:
    """Parse one node's descriptor (bounded by ``limits.MAX_DIRECTORY_BYTES``); raises
    :class:`TooLargeError` or :class:`DecodeError` as :func:`decode_directory` does."""
    if len(data) > limits.MAX_DIRECTORY_BYTES:
        raise TooLargeError("node descriptor too large")
    obj = jsonio.loads(data, max_bytes=limits.MAX_DIRECTORY_BYTES)
    return NodeDescriptor.from_json(obj)


def _field(obj: dict[str, Any], name: str) -> object:
    if name not in obj:
        raise DecodeError("node entry misses a field")
    return obj[name]


def _label(obj: dict[str, Any], name: str) -> str:
    value = _field(obj, name)
    if not isinstance(value, str) or not _LABEL_RE.match(value):
        raise DecodeError("node entry has a malformed label")
    return value
