"""Generate tests/vectors/envelope_v1.json, the golden vectors of sealed envelope v1.

Provenance: produced by this script from privcloud.envelope with deterministic inputs, then
frozen. ``tests/vectors/test_envelope_vectors.py`` recomputes every byte from the inputs stored
in the JSON, so any change to the wire format, the labels or the key schedule fails that test. Only
regenerate (``python tests/vectors/make_envelope_vectors.py``) for a deliberate new version of
the format, and never for v1.

Determinism:

* Recipient keys come from ``DeriveKeyPair(ikm)`` (RFC 9180 §7.1.3) with fixed IKMs.
* Randomness is injected: ``rand(n)`` returns the next ``n`` bytes of the SHAKE-256 output
  stream of a fixed seed (``request_seed`` for ``seal_request``, which draws the CEK first and
  then each recipient's ephemeral IKM in order; ``response_seed`` for the stream sealer, which
  draws the 32-byte response nonce).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from privcloud.crypto.hpke import (
    X25519_SHA256_AES128GCM,
    X25519_SHA256_CHACHA20,
    Suite,
    derive_keypair,
)
from privcloud.envelope import Recipient, key_id_for, open_request, seal_request

OUT = Path(__file__).with_name("envelope_v1.json")


class SeededRandom:
    """``rand(n)``: the next ``n`` bytes of SHAKE-256(seed)."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._pos = 0

    def __call__(self, n: int) -> bytes:
        out = hashlib.shake_256(self._seed).digest(self._pos + n)[self._pos :]
        self._pos += n
        return out


def _ikm(name: str, i: int) -> bytes:
    return hashlib.sha256(f"privcloud envelope v1 vector {name} recipient {i}".encode()).digest()


def _suite_json(suite: Suite) -> dict[str, int]:
    return {"kem_id": int(suite.kem), "kdf_id": int(suite.kdf), "aead_id": int(suite.aead)}


def make_vector(
    name: str,
    suite: Suite,
    k: int,
    opener: int,
    plaintext: bytes,
    chunks: list[bytes],
    *,
    pad: bool,
) -> dict[str, Any]:
    """One positive vector: seal, open by recipient ``opener``, answer with ``chunks``."""
    request_seed = f"{name} request".encode()
    response_seed = f"{name} response".encode()
    keys = [derive_keypair(suite.kem, _ikm(name, i)) for i in range(k)]
    recipients = [Recipient.from_public_key(key.public_bytes, suite) for key in keys]
    envelope, client = seal_request(recipients, plaintext, rand=SeededRandom(request_seed), pad=pad)
    opened, node = open_request(envelope, recipients[opener].key_id, keys[opener])
    assert opened == plaintext
    sealer = node.stream_sealer(rand=SeededRandom(response_seed), pad=pad)
    stream = sealer.header() + b"".join(
        sealer.seal_chunk(c, final=i == len(chunks) - 1) for i, c in enumerate(chunks)
    )
    assert client.open_response(stream) == chunks
    return {
        "name": name,
        "suite": _suite_json(suite),
        "pad": pad,
        "recipients": [
            {
                "ikm": _ikm(name, i).hex(),
                "public_key": key.public_bytes.hex(),
                "key_id": key_id_for(suite.kem, key.public_bytes).hex(),
            }
            for i, key in enumerate(keys)
        ],
        "opened_by": opener,
        "request_seed": request_seed.hex(),
        "plaintext": plaintext.hex(),
        "envelope": envelope.hex(),
        "request_hash": hashlib.sha256(envelope).hexdigest(),
        "response_seed": response_seed.hex(),
        "chunks": [c.hex() for c in chunks],
        "stream": stream.hex(),
    }


def _chunk_spans(stream: bytes) -> list[tuple[int, int]]:
    """(start, end) of each framed chunk after the 33-byte stream header."""
    spans = []
    pos = 33
    while pos < len(stream):
        end = pos + 5 + int.from_bytes(stream[pos + 1 : pos + 5], "big")
        spans.append((pos, end))
        pos = end
    return spans


def make_negative(vectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Negative vectors derived from the positive ones; each names the error it must raise."""
    v = next(x for x in vectors if x["name"] == "three-recipients-multi-chunk")
    env = bytes.fromhex(v["envelope"])
    stream = bytes.fromhex(v["stream"])
    spans = _chunk_spans(stream)
    header_len = 8 + 32 * 3
    wrap_len = 32 + 32 + 16
    # Remove recipient 0: fix the count, drop its key id and its wrap.
    removed = env[:7] + bytes([2]) + env[8 + 32 : header_len] + env[header_len + wrap_len :]
    flipped = bytearray(env)
    flipped[-1] ^= 0x01
    s0, s1, s2 = (stream[a:b] for a, b in spans[:3])
    first_final = bytearray(s0)
    first_final[0] = 0x01
    out: list[dict[str, Any]] = [
        {
            "name": "request-unknown-version",
            "of": v["name"],
            "kind": "request",
            "data": (bytes([2]) + env[1:]).hex(),
            "error": "UnsupportedError",
        },
        {
            "name": "request-recipient-removed",
            "of": v["name"],
            "kind": "request",
            "data": removed.hex(),
            "error": "CryptoError",
        },
        {
            "name": "request-content-bit-flipped",
            "of": v["name"],
            "kind": "request",
            "data": bytes(flipped).hex(),
            "error": "CryptoError",
        },
        {
            "name": "stream-truncated-before-final",
            "of": v["name"],
            "kind": "stream",
            "data": stream[: spans[-1][0]].hex(),
            "error": "TruncatedStreamError",
        },
        {
            "name": "stream-chunks-reordered",
            "of": v["name"],
            "kind": "stream",
            "data": (stream[:33] + s1 + s0 + s2 + stream[spans[3][0] :]).hex(),
            "error": "CryptoError",
        },
        {
            "name": "stream-forged-final-flag",
            "of": v["name"],
            "kind": "stream",
            "data": (stream[:33] + bytes(first_final)).hex(),
            "error": "CryptoError",
        },
        {
            "name": "stream-trailing-byte",
            "of": v["name"],
            "kind": "stream",
            "data": (stream + b"\x00").hex(),
            "error": "DecodeError",
        },
    ]
    return out


def build() -> dict[str, Any]:
    """The whole vector document."""
    vectors = [
        make_vector(
            "one-recipient-single-chunk",
            X25519_SHA256_AES128GCM,
            k=1,
            opener=0,
            plaintext=b"Summarize: the meeting moved to Thursday 10:00.",
            chunks=[b"Meeting moved to Thursday at 10:00."],
            pad=True,
        ),
        make_vector(
            "three-recipients-multi-chunk",
            X25519_SHA256_AES128GCM,
            k=3,
            opener=2,
            plaintext=bytes(range(256)) + b"transcribe this audio please",
            chunks=[b"Hello", b", this is", b" a live transcript.", b""],
            pad=True,
        ),
        make_vector(
            "three-recipients-chacha-unpadded",
            X25519_SHA256_CHACHA20,
            k=3,
            opener=1,
            plaintext=b"translate: bonjour",
            chunks=[b"hello", b" (French)"],
            pad=False,
        ),
    ]
    return {
        "description": (
            "Golden vectors for the privcloud sealed envelope v1 (docs/envelope.md). "
            "Generated by tests/vectors/make_envelope_vectors.py; all byte strings are hex."
        ),
        "rand": "rand(n) = next n bytes of SHAKE-256(seed); seal_request draws the CEK (Nh) "
        "then each recipient's ephemeral IKM (32) in order; the stream sealer draws the "
        "response nonce (32)",
        "recipient_keys": "DeriveKeyPair(ikm), RFC 9180 section 7.1.3",
        "vectors": vectors,
        "negative": make_negative(vectors),
    }


def main() -> int:
    OUT.write_text(json.dumps(build(), indent=2) + "\n")
    sys.stdout.write(f"wrote {OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
