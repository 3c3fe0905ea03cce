"""The node's I/O-free core: its boot key, its release and evidence, and the one procedure that
turns a sealed request envelope into sealed response chunks (no sockets, no event loop).

:class:`NodeCore` holds what a node is — the HPKE key pair made at boot (never written
anywhere), the release manifest, the INSECURE simulated TEE that signs its evidence, and the
descriptor it publishes. :meth:`NodeCore.open` opens one envelope and returns a
:class:`NodeExchange`, which seals the workload's events as they come: each sealed chunk is one
frame of the response stream and fits, with its Binary HTTP framing, in one chunked-OHTTP chunk
(``limits.MAX_ENVELOPE_CHUNK``), so the gateway forwards the node's chunks as they are.

The aiohttp shell (:mod:`privcloud.services.node`) reads bodies, runs workloads in worker
threads and writes what the exchange returns; tests drive the core in memory.
"""

from __future__ import annotations

import dataclasses

from privcloud import limits
from privcloud.attest import TEE_SIMULATED, NodeClaims
from privcloud.attest.simulated import InsecureSimulatedTee
from privcloud.crypto.hpke import Suite, generate_keypair
from privcloud.envelope import StreamSealer, key_id_for, open_request
from privcloud.errors import PrivcloudError, UsageError
from privcloud.trust.bundle import NodeBundle
from privcloud.trust.directory import NodeDescriptor
from privcloud.trust.release_manifest import ReleaseManifest
from privcloud.wire.message import Event, WorkloadRequest, decode_request, frame_event


@dataclasses.dataclass(frozen=True)
class LogPosition:
    """Where the node's release is in the transparency log: its index, the signed checkpoint
    note (with cosignatures) and the inclusion proof against it."""

    index: int
    checkpoint_note: bytes
    proof: tuple[bytes, ...]


class NodeExchange:
    """One request: the opened workload request (or the error that stopped it) and the sealer
    of its answer."""

    def __init__(self, work: WorkloadRequest | PrivcloudError, sealer: StreamSealer) -> None:
        self.work = work
        self._sealer = sealer

    @property
    def streamed(self) -> bool:
        """Whether the client asked for a streamed answer (partial events as they come)."""
        return isinstance(self.work, WorkloadRequest) and self.work.stream

    def header(self) -> bytes:
        """The response stream's header: the first bytes of the answer."""
        return self._sealer.header()

    def seal(self, event: Event) -> list[bytes]:
        """Seal one event as one or more chunks of at most ``MAX_ENVELOPE_CHUNK`` bytes; the last
        chunk of the final event carries the stream's authenticated final marker."""
        framed = frame_event(event)
        step = limits.MAX_ENVELOPE_CHUNK
        pieces = [framed[i : i + step] for i in range(0, len(framed), step)]
        return [
            self._sealer.seal_chunk(piece, final=event.final and i == len(pieces) - 1)
            for i, piece in enumerate(pieces)
        ]


class NodeCore:
    """What one node is, and how it answers an envelope. ``features`` are what it serves."""

    def __init__(
        self,
        node_id: str,
        *,
        region: str,
        provider: str,
        suite: Suite,
        manifest: ReleaseManifest,
        tee: InsecureSimulatedTee,
        features: tuple[str, ...],
    ) -> None:
        self.manifest = manifest
        self.tee = tee
        self._key = generate_keypair(suite.kem)
        self.key_id = key_id_for(suite.kem, self._key.public_bytes)
        self.log_position: LogPosition | None = None
        self.descriptor = NodeDescriptor(
            node_id=node_id,
            key_id=self.key_id,
            suite=suite,
            public_key=self._key.public_bytes,
            region=region,
            provider=provider,
            tee=TEE_SIMULATED,
            evidence=b"",
            features=features,
        )

    # --- attestation bundle -----------------------------------------------------------------

    def install_log_position(self, position: LogPosition, now: float) -> None:
        """Take the log position of this node's release and (re-)issue the bundle at ``now``."""
        self.log_position = position
        self.reattest(now)

    def reattest(self, now: float) -> None:
        """Issue a new bundle at ``now``: fresh evidence (same key) and the last log position.

        The evidence's report data binds the key and the claims (issue time, region, provider,
        suite), so the bundle's labels are signed too. Raises :class:`UsageError` before the
        release has a log position.
        """
        if self.log_position is None:
            raise UsageError("the node has no log proof of its release yet")
        d = self.descriptor
        claims = NodeClaims(
            public_key=self._key.public_bytes,
            issued_at=int(now),
            region=d.region,
            provider=d.provider,
            suite=(int(d.suite.kem), int(d.suite.kdf), int(d.suite.aead)),
        )
        evidence = self.tee.evidence(claims.report_data(), now=now)
        bundle = NodeBundle(
            issued_at=claims.issued_at,
            evidence=evidence,
            manifest=self.manifest,
            log_index=self.log_position.index,
            checkpoint=self.log_position.checkpoint_note,
            inclusion=self.log_position.proof,
        )
        self.descriptor = dataclasses.replace(d, tee=evidence.tee_type, bundle=bundle)

    # --- requests ---------------------------------------------------------------------------

    def open(self, envelope: bytes) -> NodeExchange:
        """Open a request envelope addressed to this node.

        Envelope errors (tampering, not a recipient) raise our error: the shell answers them in
        the clear with a fixed code. A workload request that does not decode is *not* raised: it
        is sealed inside the answer as an error event, so not even the gateway learns of it.
        """
        plaintext, session = open_request(envelope, self.key_id, self._key)
        try:
            work: WorkloadRequest | PrivcloudError = decode_request(plaintext)
        except PrivcloudError as exc:
            work = exc
        return NodeExchange(work, session.stream_sealer())


__all__ = ["LogPosition", "NodeCore", "NodeExchange"]
