"""The node's I/O-free core: its boot key, its release and evidence, and the one procedure that
turns a sealed request envelope into sealed response chunks (no sockets, no event loop).

:class:`NodeCore` holds what a node is — the HPKE key pair made at boot (never written
anywhere), the release manifest, the INSECURE simulated TEE that signs its evidence, and the
descriptor it publishes. :meth:`NodeCore.open` opens one envelope and returns a
:class:`NodeExchange`, which seals the workload's events as they come: each sealed chunk is one
frame of the response stream and fits, with its Binary HTTP framing, in one chunked-OHTTP chunk
(``limits.MAX_ENVELOPE_CHUNK``), so the gateway forwards the node's chunks as they are.

An envelope opens once per boot (:class:`ReplayCache`), only within a time window of the issue
time sealed inside it, and its request runs until its deadline (docs/envelope.md §8).

The aiohttp shell (:mod:`privcloud.services.node`) reads bodies, runs workloads in worker
threads and writes what the exchange returns; tests drive the core in memory.
"""

from __future__ import annotations

import dataclasses
import heapq

from privcloud import limits
from privcloud.attest import TEE_SIMULATED, NodeClaims
from privcloud.attest.simulated import InsecureSimulatedTee
from privcloud.crypto.hpke import (
    MLKEM768X25519_SHA256_CHACHA20,
    PrivateKey,
    Suite,
    generate_keypair,
)
from privcloud.envelope import StreamSealer, key_id_for, open_request, parse_header
from privcloud.errors import (
    PrivcloudError,
    RateLimitedError,
    ReplayError,
    RequestTimeoutError,
    UnknownKeyError,
    UsageError,
)
from privcloud.trust.bundle import NodeBundle
from privcloud.trust.directory import NodeDescriptor, NodeKey
from privcloud.trust.release_manifest import ReleaseManifest
from privcloud.wire.message import (
    Event,
    WorkloadRequest,
    decode_request,
    default_deadline_s,
    frame_event,
)


@dataclasses.dataclass(frozen=True)
class LogPosition:
    """Where the node's release is in the transparency log: its index, the signed checkpoint
    note (with cosignatures) and the inclusion proof against it."""

    index: int
    checkpoint_note: bytes
    proof: tuple[bytes, ...]


class ReplayCache:
    """The hashes of the envelopes a node has opened since boot, each kept until its request
    could no longer run anyway (docs/envelope.md §8), at most ``capacity`` of them.

    Sans-IO: the time comes in as an argument. The time it goes by never runs backwards (a wall
    clock stepped back reads as standing still), so no entry is dropped before its time; when
    it is full, :meth:`check_room` refuses new requests instead of forgetting an entry early.
    """

    def __init__(self, capacity: int = limits.MAX_REPLAY_CACHE_ENTRIES) -> None:
        if capacity < 1:
            raise UsageError("a replay cache holds at least one entry")
        self.capacity = capacity
        self._seen: set[bytes] = set()
        self._expiries: list[tuple[float, bytes]] = []
        self._now = float("-inf")

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, digest: object) -> bool:
        return digest in self._seen

    def tick(self, now: float) -> float:
        """Move to ``now`` (never back) and drop the entries whose time is over; returns the
        time the cache now stands at, which the caller checks the request against."""
        self._now = max(self._now, now)
        while self._expiries and self._expiries[0][0] < self._now:
            _, digest = heapq.heappop(self._expiries)
            self._seen.discard(digest)
        return self._now

    def check_room(self) -> None:
        """Raise :class:`RateLimitedError` when the cache is full."""
        if len(self._seen) >= self.capacity:
            raise RateLimitedError("the node is at its request rate limit")

    def add(self, digest: bytes, expires_at: float) -> None:
        """Remember ``digest`` until ``expires_at`` (inclusive). Raises :class:`ReplayError`
        if it is already remembered, :class:`RateLimitedError` if the cache is full."""
        if digest in self._seen:
            raise ReplayError("this envelope was opened before")
        self.check_room()
        self._seen.add(digest)
        heapq.heappush(self._expiries, (expires_at, digest))


class NodeExchange:
    """One request: the opened workload request (or the error that stopped it), when its answer
    is due (``deadline_at``, on the node's clock; None when ``work`` is an error) and the
    sealer of its answer."""

    def __init__(
        self,
        work: WorkloadRequest | PrivcloudError,
        sealer: StreamSealer,
        deadline_at: float | None = None,
    ) -> None:
        self.work = work
        self.deadline_at = deadline_at
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
        pq_suite: Suite | None = MLKEM768X25519_SHA256_CHACHA20,
    ) -> None:
        """``pq_suite``: the suite of the node's second, hybrid post-quantum boot key (ADR
        0014); ``None`` for a node with the classical key only."""
        self.manifest = manifest
        self.tee = tee
        self._key = generate_keypair(suite.kem)
        self.key_id = key_id_for(suite.kem, self._key.public_bytes)
        self._pq_key = None if pq_suite is None else generate_keypair(pq_suite.kem)
        pq_key = None
        if pq_suite is not None and self._pq_key is not None:
            pq_id = key_id_for(pq_suite.kem, self._pq_key.public_bytes)
            pq_key = NodeKey(pq_id, pq_suite, self._pq_key.public_bytes)
        self.log_position: LogPosition | None = None
        self.replays = ReplayCache()
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
            pq_key=pq_key,
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
            pq_public_key=b"" if d.pq_key is None else d.pq_key.public_key,
            pq_suite=None if d.pq_key is None else _ids(d.pq_key.suite),
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

    def boot_key(self, key_id: bytes) -> PrivateKey:
        """The boot private key whose id is ``key_id`` (the classical or the hybrid one), for
        the live sessions this process opens (:mod:`privcloud.services.live_node`). Raises
        :class:`UnknownKeyError`."""
        if key_id == self.key_id:
            return self._key
        pq = self.descriptor.pq_key
        if pq is not None and self._pq_key is not None and key_id == pq.key_id:
            return self._pq_key
        raise UnknownKeyError("not sealed to this node's keys")

    # --- requests ---------------------------------------------------------------------------

    def open(self, envelope: bytes, now: float) -> NodeExchange:
        """Open a request envelope addressed to this node, at ``now`` (Unix seconds).

        Refusals that concern the envelope raise our error: the shell answers them in the clear
        with a fixed code. Those that concern the request inside are *not* raised: they are
        sealed inside the answer as an error event, so not even the gateway learns of them
        (nor of the issue time, which only the client and the node see). In this order
        (docs/envelope.md §8):

        1. A full replay cache raises :class:`RateLimitedError`, before any work.
        2. Open the envelope (docs/envelope.md §3); its errors raise.
        3. An envelope whose hash is in the replay cache raises :class:`ReplayError`.
        4. Decode the workload request; its errors are sealed (version 1 too: no issue time).
        5. A request without an issue time, issued more than ``limits.MAX_REQUEST_AGE_S`` ago
           or more than ``limits.REQUEST_CLOCK_SKEW_S`` ahead: sealed :class:`ReplayError`.
        6. The deadline is ``min(issued_at, now) + deadline_s`` (the feature's default when the
           request names none), so a client clock ahead of the node's cannot extend it; one
           already passed: sealed :class:`RequestTimeoutError`.
        7. Remember the envelope's hash until the request could no longer run: its issue time
           plus the smaller of its deadline and ``MAX_REQUEST_AGE_S`` (after that, steps 5 and
           6 refuse it). Only requests that run are remembered.
        """
        now = self.replays.tick(now)
        self.replays.check_room()
        key_id, key = self.key_id, self._key
        pq = self.descriptor.pq_key
        if (
            pq is not None
            and self._pq_key is not None
            and pq.key_id in parse_header(envelope).key_ids
        ):
            key_id, key = pq.key_id, self._pq_key  # sealed to the hybrid key (ADR 0014)
        plaintext, session = open_request(envelope, key_id, key)
        digest = session.request_hash
        if digest in self.replays:
            raise ReplayError("this envelope was opened before")
        sealer = session.stream_sealer()
        try:
            work = decode_request(plaintext)
        except PrivcloudError as exc:
            return NodeExchange(exc, sealer)
        if work.issued_at is None:
            return NodeExchange(ReplayError("the request carries no issue time"), sealer)
        if work.issued_at < now - limits.MAX_REQUEST_AGE_S:
            return NodeExchange(ReplayError("the request was issued too long ago"), sealer)
        if work.issued_at > now + limits.REQUEST_CLOCK_SKEW_S:
            return NodeExchange(ReplayError("the request was issued in the future"), sealer)
        deadline_s = work.deadline_s or default_deadline_s(work.feature)
        deadline_at = min(work.issued_at, now) + deadline_s
        if deadline_at <= now:
            return NodeExchange(RequestTimeoutError("the request's deadline passed"), sealer)
        self.replays.add(digest, work.issued_at + min(deadline_s, limits.MAX_REQUEST_AGE_S))
        return NodeExchange(work, sealer, deadline_at)


def _ids(suite: Suite) -> tuple[int, int, int]:
    return (int(suite.kem), int(suite.kdf), int(suite.aead))


__all__ = ["LogPosition", "NodeCore", "NodeExchange", "ReplayCache"]
