"""Node bundles: what a node shows a client so that it can admit the node (sans-IO).

**Node bundle**, version 1: what a node publishes about itself so that a client can admit it
(:mod:`privcloud.trust.admission`) — its attestation evidence, its release manifest with the
manifest's log index, an RFC 9162 inclusion proof and the signed checkpoint (with witness
cosignatures) the proof was made against, and the time the node issued the bundle::

    {"version": 1, "issued_at": <unix seconds>,
     "evidence": {"tee": "...", "report": b64, "certificates": b64},
     "release": {"index": <n>, "manifest": {...the manifest as above...}},
     "log": {"checkpoint": "<signed note text>", "inclusion": [b64, ...]},
     "gpus": [{"id": b64, "report": b64, "certificates": b64}, ...],   only when it names GPUs
     "rims": [b64, ...]}     NVIDIA RIMs the GPUs need (signed SWID tags), only with "gpus"

``gpus`` (docs/trust-model.md#gpu-evidence): the GPUs the node names in its claims, each with
its NVIDIA evidence (an empty report means none was sent: admission refuses the node).

Every size is bounded (:mod:`privcloud.limits`). Nothing here is trusted: decoding only proves
the shape. The HPKE key a bundle vouches for travels beside it, in the node descriptor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from privcloud import limits
from privcloud.attest import Evidence
from privcloud.attest.nvidia import TEE_NVIDIA_GPU, GpuEvidence
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError, UsageError
from privcloud.transparency.merkle import HASH_SIZE
from privcloud.trust.canonical import MAX_INT, b64_text, from_b64_text, json_object, loads_strict
from privcloud.trust.release_manifest import TEE_LABEL, ReleaseManifest

#: Version of the node bundle format.
BUNDLE_VERSION: Final = 1


@dataclass(frozen=True)
class NodeBundle:
    """Everything a client needs to admit a node, besides the node's HPKE key. Not trusted.

    ``checkpoint`` is the signed checkpoint note (with witness cosignatures) that ``inclusion``
    proves ``manifest`` at ``log_index`` against; ``issued_at`` is when the node issued the bundle
    (Unix seconds, the node's clock: authenticated only as far as the evidence's own time is).
    """

    issued_at: int
    evidence: Evidence
    manifest: ReleaseManifest
    log_index: int
    checkpoint: bytes
    inclusion: tuple[bytes, ...]
    #: The GPUs the node names in its claims, with their evidence.
    gpus: tuple[GpuEvidence, ...] = ()
    #: NVIDIA RIMs (signed SWID tags) for those GPUs; which count is the release's word.
    rims: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        for n in (self.issued_at, self.log_index):
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_INT:
                raise UsageError("bundle time and index must be non-negative ints")
        if not isinstance(self.evidence, Evidence) or not TEE_LABEL.match(self.evidence.tee_type):
            raise UsageError("bundle evidence is invalid")
        if len(self.evidence.raw) > limits.MAX_ATTEST_EVIDENCE_BYTES:
            raise UsageError("evidence too large")
        if len(self.evidence.certificates) > limits.MAX_ATTEST_EVIDENCE_CERTIFICATES_BYTES:
            raise UsageError("evidence certificates too large")
        if not isinstance(self.manifest, ReleaseManifest):
            raise UsageError("bundle manifest is invalid")
        if not isinstance(self.checkpoint, bytes) or not self.checkpoint:
            raise UsageError("bundle checkpoint must be non-empty bytes")
        proof = tuple(self.inclusion)
        if len(proof) > limits.MAX_TLOG_PROOF_HASHES or not all(
            isinstance(h, bytes) and len(h) == HASH_SIZE for h in proof
        ):
            raise UsageError("inclusion proof must be at most 64 hashes of 32 bytes")
        object.__setattr__(self, "inclusion", proof)
        gpus = tuple(self.gpus)
        if len(gpus) > limits.MAX_NODE_GPUS or not all(isinstance(g, GpuEvidence) for g in gpus):
            raise UsageError("bundle GPUs are invalid")
        for gpu in gpus:
            if len(gpu.evidence.raw) > limits.MAX_ATTEST_EVIDENCE_BYTES or (
                len(gpu.evidence.certificates) > limits.MAX_ATTEST_EVIDENCE_CERTIFICATES_BYTES
            ):
                raise UsageError("GPU evidence too large")
        object.__setattr__(self, "gpus", gpus)
        rims = tuple(self.rims)
        if len(rims) > limits.MAX_NVIDIA_RIMS or not all(
            isinstance(r, bytes) and 0 < len(r) <= limits.MAX_NVIDIA_RIM_BYTES for r in rims
        ):
            raise UsageError("bundle RIMs are invalid")
        object.__setattr__(self, "rims", rims)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": BUNDLE_VERSION,
            "issued_at": self.issued_at,
            "evidence": {
                "tee": self.evidence.tee_type,
                "report": b64_text(self.evidence.raw),
                "certificates": b64_text(self.evidence.certificates),
            },
            "release": {"index": self.log_index, "manifest": self.manifest.to_json()},
            "log": {
                "checkpoint": self.checkpoint.decode("utf-8"),
                "inclusion": [b64_text(h) for h in self.inclusion],
            },
            **({"gpus": [_gpu_json(g) for g in self.gpus]} if self.gpus else {}),
            **({"rims": [b64_text(r) for r in self.rims]} if self.rims else {}),
        }

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> NodeBundle:
        """Parse a bundle document (bounded by ``limits.MAX_NODE_BUNDLE_BYTES``)."""
        if len(data) > limits.MAX_NODE_BUNDLE_BYTES:
            raise TooLargeError("node bundle too large")
        return cls.from_json(loads_strict(data, "node bundle", limits.MAX_NODE_BUNDLE_BYTES))

    @classmethod
    def from_json(cls, doc: object) -> NodeBundle:
        """Build a bundle from its JSON object. :class:`DecodeError`, :class:`TooLargeError`,
        :class:`UnsupportedError` (another version)."""
        if not isinstance(doc, dict):
            raise DecodeError("node bundle is not an object")
        if doc.get("version") != BUNDLE_VERSION:
            raise UnsupportedError("unknown node bundle version")
        keys = {"version", "issued_at", "evidence", "release", "log"}
        obj = json_object(doc, "node bundle", keys | ({"gpus", "rims"} & set(doc)))
        ev = json_object(obj["evidence"], "bundle evidence", {"tee", "report", "certificates"})
        release = json_object(obj["release"], "bundle release", {"index", "manifest"})
        log = json_object(obj["log"], "bundle log", {"checkpoint", "inclusion"})
        report, certs = from_b64_text(ev["report"]), from_b64_text(ev["certificates"])
        if len(report) > limits.MAX_ATTEST_EVIDENCE_BYTES:
            raise TooLargeError("evidence too large")
        if len(certs) > limits.MAX_ATTEST_EVIDENCE_CERTIFICATES_BYTES:
            raise TooLargeError("evidence certificates too large")
        proof = log["inclusion"]
        if not isinstance(proof, list) or len(proof) > limits.MAX_TLOG_PROOF_HASHES:
            raise DecodeError("malformed inclusion proof")
        checkpoint = log["checkpoint"]
        if not isinstance(checkpoint, str) or not checkpoint:
            raise DecodeError("malformed checkpoint")
        if not isinstance(ev["tee"], str):
            raise DecodeError("malformed TEE type")
        manifest = ReleaseManifest.from_json(release["manifest"])
        try:
            return cls(
                issued_at=obj["issued_at"],
                evidence=Evidence(ev["tee"], report, certs),
                manifest=manifest,
                log_index=release["index"],
                checkpoint=checkpoint.encode("utf-8"),
                inclusion=tuple(from_b64_text(h) for h in proof),
                gpus=_gpus_from_json(obj["gpus"]) if "gpus" in obj else (),
                rims=_rims_from_json(obj["rims"]) if "rims" in obj else (),
            )
        except (UsageError, UnicodeEncodeError) as exc:
            raise DecodeError("node bundle holds an invalid value") from exc


# --- small codecs ------------------------------------------------------------------------------


def _gpu_json(gpu: GpuEvidence) -> dict[str, str]:
    return {
        "id": b64_text(gpu.gpu_id),
        "report": b64_text(gpu.evidence.raw),
        "certificates": b64_text(gpu.evidence.certificates),
    }


def _rims_from_json(value: object) -> tuple[bytes, ...]:
    """The bundle's ``rims`` list (present only when non-empty)."""
    if not isinstance(value, list) or not value:
        raise DecodeError("malformed RIM list")
    if len(value) > limits.MAX_NVIDIA_RIMS:
        raise TooLargeError("bundle carries too many RIMs")
    rims = tuple(from_b64_text(r) for r in value)
    if any(len(r) > limits.MAX_NVIDIA_RIM_BYTES for r in rims):
        raise TooLargeError("bundle RIM too large")
    return rims


def _gpus_from_json(value: object) -> tuple[GpuEvidence, ...]:
    """The bundle's ``gpus`` list (present only when non-empty): :class:`DecodeError`,
    :class:`TooLargeError`, and :class:`UsageError` for a bad id (the caller maps it)."""
    if not isinstance(value, list) or not value:
        raise DecodeError("malformed GPU list")
    if len(value) > limits.MAX_NODE_GPUS:
        raise TooLargeError("bundle names too many GPUs")
    out = []
    for item in value:
        entry = json_object(item, "bundle GPU", {"id", "report", "certificates"})
        report, certs = from_b64_text(entry["report"]), from_b64_text(entry["certificates"])
        if len(report) > limits.MAX_ATTEST_EVIDENCE_BYTES:
            raise TooLargeError("GPU evidence too large")
        if len(certs) > limits.MAX_ATTEST_EVIDENCE_CERTIFICATES_BYTES:
            raise TooLargeError("GPU evidence certificates too large")
        evidence = Evidence(TEE_NVIDIA_GPU, report, certs)
        out.append(GpuEvidence(from_b64_text(entry["id"]), evidence))
    return tuple(out)
