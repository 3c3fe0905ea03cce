"""The device's key-consistency check: a key the operator served is used only when its key
statement is in the transparency log (:mod:`privcloud.trust.keys`, docs/adr/0009).

:class:`KeyProofs` asks the log (read through the relay, so the log never sees the device's
address) for the index of each statement's leaf and its inclusion proof at the size of the
checkpoint the device trusts, and verifies the proof. A proven statement stays proven: the log
is append-only and the trusted checkpoint only moves forward along consistency proofs, so the
cache of proven leaves never needs to be emptied for the same log.

Every device asks the same questions about the same public statements, so the answers cannot
differ per device without the log forking, which witnesses and the trusted state refuse.

The node directory is used only when its directory statement is logged the same way
(:meth:`KeyProofs.prove_directory`, docs/adr/0033).

The device's post-quantum policy (docs/adr/0014-post-quantum-hpke.md) sits here too: which
proven OHTTP key configuration it uses (:meth:`KeyProofs.choose_ohttp`) and which admitted
nodes it seals to (:func:`post_quantum_choice`, :func:`sealing_descriptors`): hybrid
ML-KEM-768 + X25519 preferred, classical X25519 accepted unless ``require_post_quantum``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from privcloud.errors import (
    UNDECIDED_ERRORS,
    DecodeError,
    DirectoryConsistencyError,
    DowngradeError,
    KeyConsistencyError,
    NotFoundError,
    PrivcloudError,
    TooLargeError,
    UnavailableError,
    UnsupportedError,
)
from privcloud.logclient import LogClient
from privcloud.privacypass.issuance import PublishedKey
from privcloud.sdk.trust_store import TrustStore, log_identity, refresh_trusted_checkpoint
from privcloud.transparency.client_state import TrustedLogState, verify_inclusion_against
from privcloud.transparency.merkle import leaf_hash
from privcloud.trust.admission import AdmittedNode
from privcloud.trust.directory import NodeDescriptor
from privcloud.trust.directory_statement import DirectoryStatement, check_directory
from privcloud.trust.keys import (
    MOST_VALID_AT_ONCE,
    KeyKind,
    KeyStatement,
    check_key_count,
    check_statement,
    on_issuer_schedule,
)


@dataclass
class ProofReport:
    """What a check decided, for the verification trail: proven statements (preferred first)
    and the refused ones with a fixed reason."""

    proven: list[KeyStatement] = field(default_factory=list)
    refused: list[tuple[KeyStatement, str]] = field(default_factory=list)

    @property
    def served(self) -> list[KeyStatement]:
        """Every statement the check was given, proven or refused."""
        return [*self.proven, *(s for s, _ in self.refused)]


class KeyProofs:
    """Proves key statements against the trusted checkpoint of one log.

    ``log_url`` is the log as the device reads it (the relay's ``/log`` pass-through);
    ``session`` gives the HTTP session to use; ``state`` the current trusted log state (None
    while nothing is trusted yet: then every key is refused). ``store``, when given, keeps the
    hybrid OHTTP statements proven across restarts (:meth:`choose_ohttp`, step 3). ``pinned``
    is the log state the device pinned out of band (the same on every device of a release),
    from which the issuer's keys are proven (:meth:`prove_issuer_keys`).
    """

    def __init__(
        self,
        log_url: str,
        *,
        session: Callable[[], aiohttp.ClientSession],
        state: Callable[[], TrustedLogState | None],
        store: TrustStore | None = None,
        pinned: TrustedLogState | None = None,
    ) -> None:
        self.log_url = log_url
        self._session = session
        self._state = state
        self._store = store
        self._pinned = pinned
        #: Log identities whose remembered hybrid statements were read from ``store``.
        self._recalled: set[str] = set()
        #: Hybrid (post-quantum) OHTTP statements proven so far, by (log, leaf hash).
        self._pq_proven: dict[tuple[str, bytes], KeyStatement] = {}

    async def prove(
        self,
        statements: Sequence[KeyStatement],
        *,
        kind: KeyKind,
        service: str,
        now: float,
        state: TrustedLogState | None = None,
    ) -> ProofReport:
        """The statements of ``kind`` for ``service`` that are valid now and logged.

        1. At most ``MAX_OHTTP_VALID_KEYS`` (``MAX_ISSUER_VALID_KEYS`` for token keys) of the
           served statements may be valid at once (:func:`check_key_count`): otherwise every
           one is refused (:class:`KeyConsistencyError`).
        2. Each statement: kind, service, validity (:func:`check_statement`).
        3. Each statement: its leaf in the log and an inclusion proof at the trusted size
           (:func:`verify_logged`).

        Statements failing 2 or 3 are left out with their reason. ``state`` is the log state to
        prove against (by default the client's). Every statement is proven afresh, each time:
        a proof kept from an earlier fetch would show, in the log reads a device then skips,
        which statements it was shown before, and so whose fetch this is (docs/adr/0009,
        decision 7). Raises
        :class:`KeyConsistencyError` when none is proven (so the caller never falls back to
        an unproven key), and when nothing is trusted of the log yet.
        """
        if state is None:
            state = self._state()
        if state is None or state.checkpoint.size == 0:
            raise KeyConsistencyError("no trusted log checkpoint to prove keys against")
        # 1.
        check_key_count([s for s in statements if s.kind is kind], now, MOST_VALID_AT_ONCE[kind])
        report = ProofReport()
        async with LogClient(self.log_url, session=self._session(), read="tiles") as log:
            for statement in statements:
                try:
                    # 2.
                    check_statement(statement, kind=kind, service=service, now=now)
                    # 3.
                    await _prove_one(log, statement.encode(), state, "key statement")
                except UnavailableError:
                    raise  # the log is unreachable: nothing can be decided
                except UNDECIDED_ERRORS as exc:  # busy, slow or broken: nothing decided either
                    raise UnavailableError("the log could not answer now") from exc
                except PrivcloudError as exc:
                    report.refused.append((statement, str(exc)))
                    continue
                report.proven.append(statement)
        if not report.proven:
            raise KeyConsistencyError("no key the service offered is proven in the log")
        return report

    async def prove_issuer_keys(
        self, keys: list[PublishedKey], issuer_name: str, *, now: float
    ) -> list[PublishedKey]:
        """The issuer keys of a directory whose statements are logged (directory order kept);
        a key without a validity cannot have a statement and is left out, and so is one off
        the issuer key schedule, which no wallet chooses. Proven at the log's
        newest checkpoint, reached from the ``pinned`` state (the same on every device of a
        release), not from the size the device trusts, and not kept: the tiles of a
        consistency proof from that size, or of proofs at it, name it (its last admission's),
        right before an issuance the issuer ties to the device (reviews of docs/adr/0009,
        decision 7). The checkpoint reached so is consistent with the pinned one and cosigned
        by the witnesses' quorum; its consistency with the device's trusted one is left to the
        next background admission, which moves that one along the log. Raises
        :class:`KeyConsistencyError` when none is proven (:meth:`prove`), and when a key valid
        now failed its check or proof: the read comes between the device's direct issuer
        directory read and its signed batch, so the operator can tie it to the device, and a
        log read it broke there would otherwise keep that wallet on a key the others have left
        (as :func:`~privcloud.trust.directory_statement.named_keys` refuses for gateway keys; a
        review of docs/adr/0009). The wallet keeps the keys it held and reads again later."""
        # Keys off the issuer key schedule are never chosen (decision 8): left out unproven,
        # as an issuer from before the schedule still lists its last one.
        statements = [
            KeyStatement.for_token_key(issuer_name, k.key.spki, k.not_before, k.expires)
            for k in keys
            if k.not_before is not None
            and k.expires is not None
            and on_issuer_schedule(k.not_before, k.expires)
        ]
        state = self._state()
        if state is None or state.checkpoint.size == 0:
            raise KeyConsistencyError("no trusted log checkpoint to prove keys against")
        start = self._pinned if self._pinned is not None else state
        async with LogClient(self.log_url, session=self._session(), read="tiles") as log:
            state = await refresh_trusted_checkpoint(log, start, now=now)
        report = await self.prove(
            statements, kind=KeyKind.ISSUER, service=issuer_name, now=now, state=state
        )
        if any(s.valid_at(now) for s, _ in report.refused):
            raise KeyConsistencyError("an issuer key valid now failed its proof in the log")
        starts = [s.not_before for s in report.proven]
        if len(set(starts)) != len(starts):
            raise KeyConsistencyError("the issuer shows two keys for one step of its schedule")
        proven = {s.key for s in report.proven}
        return [k for k in keys if k.key.spki in proven]

    def choose_ohttp(
        self,
        report: ProofReport,
        *,
        now: float,
        require_post_quantum: bool = False,
        remember: bool = True,
    ) -> KeyStatement:
        """The OHTTP key configuration to use among the proven ones (ADR 0014), chosen by a
        rule over the logged statements alone (:func:`_newest`), never by the order served: a
        gateway that served one device its keys in another order, at a re-admission it set off
        with a key mismatch it can always claim, would otherwise give that device a key no
        other device uses and recognise its requests by the key id (ADR 0009, decision 6).

        1. A proven hybrid post-quantum configuration, the newest, if there is one
           (remembered: a later refresh that is served none of them while one is valid is a
           downgrade, step 3).
        2. None: with ``require_post_quantum``, refuse (:class:`DowngradeError`).
        3. None, but a hybrid statement proven earlier against this log is still valid: it was
           withheld — stripped by the relay or the gateway — so refuse (:class:`DowngradeError`).
           "Earlier" spans restarts when the client has a trust store: statements proven in
           step 1 are saved there and read back on first use.
        4. Otherwise the newest proven classical configuration.

        Without ``remember`` (a fetch the gateway can tie to a request, or an admission whose
        logged directory statement names the keys to choose among, which refuses a withheld
        one itself: ADR 0033, decision 7) nothing is remembered and nothing remembered
        counts: step 3 is left out, since what the device refuses would show which hybrid
        keys it was shown before, and a key shown there alone would change what it refuses
        later (docs/adr/0009, decision 7; for a resend the caller asks for a hybrid key with
        ``require_post_quantum`` when its admission's key is one).

        Only what this refresh was served counts (and proved): a choice that also kept keys
        proven earlier would let a gateway that showed one device a newer key once keep that
        device on it for the key's whole life, whatever every later refresh is served (a
        red-team review, 2026-12-07).
        """
        state = self._state()
        identity = "" if state is None else log_identity(state)
        if state is not None and self._store is not None and identity not in self._recalled:
            for remembered in self._store.load_hybrid_statements(state):
                self._pq_proven[(identity, remembered.leaf_hash)] = remembered
            self._recalled.add(identity)
        hybrid = [s for s in report.proven if s.key_config.post_quantum]
        # 1.
        fresh = [s for s in hybrid if (identity, s.leaf_hash) not in self._pq_proven]
        if remember:
            for statement in hybrid:
                self._pq_proven[(identity, statement.leaf_hash)] = statement
            if fresh and state is not None and self._store is not None:
                self._store.save_hybrid_statements(state, fresh, now)
        if hybrid:
            return _newest(hybrid)
        # 2.
        if require_post_quantum:
            raise DowngradeError("the gateway offered no logged post-quantum key configuration")
        # 3.
        if not remember:
            return _newest(report.proven)
        services = {s.service for s in report.proven}
        for (log, _), earlier in self._pq_proven.items():
            if log == identity and earlier.service in services and earlier.valid_at(now):
                raise DowngradeError("a logged post-quantum key configuration was withheld")
        # 4.
        return _newest(report.proven)  # (none of them hybrid, by step 1)

    async def prove_directory(
        self, nodes: Sequence[NodeDescriptor], statement: bytes | None, *, service: str, now: float
    ) -> DirectoryStatement:
        """The directory statement of ``nodes`` (its bytes as the directory carried them),
        checked and proven in the log (docs/adr/0033, :mod:`privcloud.trust.directory_statement`:
        decoded, of ``service``, valid now, naming exactly ``nodes``, in the trusted
        checkpoint). Raises :class:`DirectoryConsistencyError`."""
        if statement is None:
            raise DirectoryConsistencyError("the directory carries no logged statement")
        try:
            decoded = DirectoryStatement.decode(statement)
        except (DecodeError, UnsupportedError, TooLargeError) as exc:
            raise DirectoryConsistencyError("the directory's statement does not decode") from exc
        check_directory(decoded, nodes, service=service, now=now)
        try:
            await self.prove_entry(decoded.encode())
        except KeyConsistencyError as exc:
            raise DirectoryConsistencyError("the directory's statement is not logged") from exc
        return decoded

    async def prove_entry(self, entry: bytes) -> None:
        """Prove that ``entry`` (a directory statement, docs/adr/0033) is in the log at the
        trusted checkpoint, as step 3 of :meth:`prove` does for a key statement. Raises
        :class:`KeyConsistencyError` when it is not, or when nothing is trusted yet."""
        state = self._state()
        if state is None or state.checkpoint.size == 0:
            raise KeyConsistencyError("no trusted log checkpoint to prove entries against")
        async with LogClient(self.log_url, session=self._session(), read="tiles") as log:
            await _prove_one(log, entry, state, "the entry")


def _newest(statements: list[KeyStatement]) -> KeyStatement:
    """The statement with the latest ``not_before``, of those the greatest leaf hash: what
    every device that proved the same statements chooses, whatever order they were served in.
    Ties are broken by the logged bytes alone, never by a log answer: a log holding one
    statement twice answered either index to its leaf lookup, and so chose, fetch by fetch,
    between two keys one directory statement names (a review of docs/adr/0009)."""
    return max(statements, key=lambda s: (s.not_before, s.leaf_hash))


async def _prove_one(log: LogClient, entry: bytes, state: TrustedLogState, what: str) -> int:
    """``entry`` (``what``, for the errors) is a leaf of the trusted checkpoint: its index
    (returned), then an inclusion proof at the trusted size (:func:`verify_inclusion_against`).

    Only the leaf lookup's 404 refuses the entry. A 404 for the proof (a tile or a tree size
    the log, or the reader the relay reached, does not have yet) says the log could not
    answer at the size this device trusts, which decides nothing: :class:`UnavailableError`.
    """
    try:
        index = await log.leaf_index(leaf_hash(entry))
    except NotFoundError as exc:
        raise KeyConsistencyError(f"{what} is not in the log") from exc
    if index >= state.checkpoint.size:
        raise KeyConsistencyError(f"{what} is not in the trusted log checkpoint")
    try:
        proof = await log.inclusion_proof(index, state.checkpoint.size)
    except NotFoundError as exc:
        raise UnavailableError("the log has no proof at the trusted size yet") from exc
    verify_inclusion_against(state, entry, index, proof)
    return index


def post_quantum_choice(
    serving: list[AdmittedNode], *, require_post_quantum: bool = False
) -> list[AdmittedNode]:
    """The admitted nodes a request may be sealed to under the post-quantum policy: those with
    a hybrid key when any has one. Raises :class:`DowngradeError` when ``require_post_quantum``
    and none has (ADR 0014)."""
    hybrid = [a for a in serving if a.descriptor.pq_key is not None]
    if hybrid:
        return hybrid
    if require_post_quantum and serving:
        raise DowngradeError("no admitted node offers a post-quantum key")
    return serving


def sealing_descriptors(chosen: list[AdmittedNode]) -> list[NodeDescriptor]:
    """The keys an envelope is sealed to: every chosen node's hybrid key when all have one (an
    envelope has one suite), else their classical keys."""
    hybrid = bool(chosen) and all(a.descriptor.pq_key is not None for a in chosen)
    return [a.descriptor.sealing(hybrid) for a in chosen]


def protection_of(
    statement: KeyStatement | None, admitted: list[AdmittedNode], chosen: list[str]
) -> dict[str, str]:
    """Which protection a request got, per layer (``"hybrid"`` post-quantum or
    ``"classical"``): the OHTTP key configuration in use, and the envelope (hybrid when every
    chosen node has a hybrid key, as :func:`sealing_descriptors` seals). For the console."""
    by_id = {a.descriptor.node_id: a for a in admitted}
    nodes = [by_id[n] for n in chosen if n in by_id]
    envelope = bool(nodes) and all(a.descriptor.pq_key is not None for a in nodes)
    ohttp = statement is not None and statement.key_config.post_quantum
    return {
        "ohttp": "hybrid" if ohttp else "classical",
        "envelope": "hybrid" if envelope else "classical",
    }


__all__ = [
    "KeyProofs",
    "ProofReport",
    "post_quantum_choice",
    "protection_of",
    "sealing_descriptors",
]
