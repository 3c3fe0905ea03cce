"""The client's admission: what a :class:`~privcloud.sdk.client.Client` seals its requests to,
and when it learns it again (:class:`ClientAdmission`, everything of the client but its
requests; :mod:`privcloud.sdk.client` draws nodes and sends requests on it).

Its construction (what it pins: :class:`~privcloud.sdk.client_types.ClientTrust`), its
connections to the relay, and :meth:`ClientAdmission.refresh`: move the trusted checkpoint
forward, prove the gateway's key statements and the node directory's statement in the log
(:mod:`privcloud.sdk.keyproofs`), and admit the nodes (:mod:`privcloud.trust.admission`). Then
the background re-admission at random times (docs/adr/0009, decision 7), the logged validity
an admission is used for, the key a request is sealed under after a key mismatch or past the
admission key's end (:meth:`ClientAdmission.key_for_resend`), and the nodes live calls leave
out (:attr:`ClientAdmission.no_live_nodes`). Only admitted nodes are ever sealed to.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets

import aiohttp

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.crypto import Random, system_random
from privcloud.errors import (
    ConfigError,
    PrivcloudError,
    UnavailableError,
    UpstreamError,
    UsageError,
)
from privcloud.logclient import LogClient
from privcloud.netio import LazySession, read_bounded
from privcloud.netio.hop import HopClient, LazyHop
from privcloud.ohttp import KeyConfig
from privcloud.sdk.ahead import AheadKey, AheadPool
from privcloud.sdk.client_types import ClientTrust, Trail
from privcloud.sdk.keyproofs import KeyProofs, ProofReport
from privcloud.sdk.logproofs import fetch_log_proofs
from privcloud.sdk.trust_store import refresh_trusted_checkpoint
from privcloud.sdk.wallet import Wallet
from privcloud.transparency.client_state import TrustedLogState
from privcloud.trust.admission import ClientPolicy, admit_all, admit_listed
from privcloud.trust.directory import decode_directory_document
from privcloud.trust.directory_statement import named_keys
from privcloud.trust.keys import (
    DEFAULT_GATEWAY_SERVICE,
    KEY_STATEMENTS_PATH,
    MEDIA_KEY_STATEMENTS,
    KeyKind,
    KeyStatement,
    decode_statement_list,
)

log = logging.getLogger("privcloud.sdk")

#: The client admits again (fetches the keys and the directory, and admits the nodes) in the
#: background, at a random time between half this many seconds and this many after its last
#: background try (node bundles are valid for at most 24 h; keys rotate): never on a request's
#: path while the admission's logged validity lasts (docs/adr/0009, decision 7).
READMIT_AFTER_S = 600.0


class ClientAdmission:
    """The admission a :class:`~privcloud.sdk.client.Client` holds, and its connections to the
    relay: everything of the client but its requests (see the module's doc)."""

    def __init__(
        self,
        relay_url: str,
        *,
        policy: ClientPolicy | None = None,
        k: int = limits.DEFAULT_ENVELOPE_RECIPIENTS,
        rand: Random = system_random,
        wallet: Wallet | None = None,
        trust: ClientTrust | None = None,
        clock: Clock | None = None,
        gateway_service: str = DEFAULT_GATEWAY_SERVICE,
        require_post_quantum: bool = False,
        seal_ahead: bool = True,
        insecure_unlogged_directory: bool = False,
    ) -> None:
        """``wallet`` supplies one anonymous token per request (docs/tokens.md); without one
        the client sends no token, for deployments whose gateway does not ask for them.
        ``trust`` is what node admission rests on; without it :meth:`refresh` refuses
        (:class:`ConfigError`): no node can be admitted. Its log is read through the relay
        (``RELAY/log``); another log URL is a :class:`ConfigError` unless the trust says
        ``insecure_direct_log``.

        Rollback protection across restarts: the trusted log checkpoint survives only in
        ``trust.store``. Without a store (the default) a restarted app starts from the pinned
        state again, and a log could then roll it back or show it a fork; an app must pass a
        persistent store (e.g. ``ClientTrust.pinned(..., store=FileTrustStore(app_dir))``). The
        command-line clients do this by default.

        ``gateway_service`` is the name the gateway's key statements must carry. The gateway's
        key configurations, and the wallet's issuer keys, are used only when their statements
        are in the log (:class:`~privcloud.errors.KeyConsistencyError` otherwise). Hybrid
        post-quantum keys are preferred; ``require_post_quantum`` refuses classical-only ones
        (:class:`~privcloud.errors.DowngradeError`, docs/adr/0014). The node directory is
        used only when its directory statement is in the log and names exactly its nodes
        (:class:`~privcloud.errors.DirectoryConsistencyError`, docs/adr/0033);
        ``insecure_unlogged_directory`` accepts any directory (INSECURE: the gateway could
        then show this device nodes of its own and link its requests).

        ``seal_ahead``: after each request, draw the nodes of the next request of the same
        kind and do its public-key work while the device is idle (:mod:`privcloud.sdk.ahead`);
        a request then only seals its content."""
        if not 1 <= k <= limits.MAX_ENVELOPE_RECIPIENTS:
            raise UsageError("k must be between 1 and MAX_ENVELOPE_RECIPIENTS")
        self.relay_url = relay_url.rstrip("/")
        if (
            trust is not None
            and not trust.insecure_direct_log
            and trust.log_url.rstrip("/") != f"{self.relay_url}/log"
        ):
            # Read directly, the log (the operator's, as the gateway is) would see this
            # device's address at each admission, next to its requests (a review).
            raise ConfigError(
                "the transparency log must be read through the relay (RELAY/log), which keeps "
                "the device's address from it"
            )
        self.policy = policy if policy is not None else ClientPolicy()
        self.k = k
        self._rand = rand
        self._random = secrets.SystemRandom()
        self._http = LazySession(limit=limits.CLIENT_RELAY_CONNECTIONS)
        self._hop = LazyHop(connections=limits.CLIENT_RELAY_CONNECTIONS)  # one-shot requests
        self._key_config: KeyConfig | None = None
        self.trail = Trail()
        self._admitted_at = float("-inf")
        self._refresh_lock = asyncio.Lock()
        self.wallet = wallet
        self.trust = trust
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.log_state: TrustedLogState | None = None
        self.gateway_service = gateway_service
        self.require_post_quantum = require_post_quantum
        self.insecure_unlogged_directory = insecure_unlogged_directory
        self._key_statement: KeyStatement | None = None
        self.key_proofs: KeyProofs | None = None
        #: Node id -> until when live calls leave it out (it proved it serves no live
        #: translation: privcloud.sdk.live).
        self._no_live: dict[str, float] = {}
        self.seal_ahead = seal_ahead
        self._ahead = AheadPool()
        self._ahead_calls: dict[AheadKey, asyncio.Handle] = {}
        #: Admissions run so far (a request whose token came while one ran chooses again).
        self._admissions = 0
        #: The background re-admission (:meth:`_readmit_at_random_times`), once admitted.
        self._readmitter: asyncio.Task[None] | None = None
        #: Whether an admission succeeded yet (only the first may fetch an empty wallet).
        self._prefetched = False
        #: Background admissions failed in a row (:meth:`_note_background`).
        self.background_failures = 0
        if trust is not None:
            self.key_proofs = KeyProofs(
                trust.log_url,
                session=lambda: self.session,
                state=lambda: self.log_state,
                store=trust.store,
                pinned=trust.log,
            )
            if wallet is not None:
                wallet.use_key_log(self.key_proofs, relay_copy=f"{self.relay_url}/issuer")

    @property
    def session(self) -> aiohttp.ClientSession:
        return self._http.get()

    @property
    def hop(self) -> HopClient:
        """The pooled client one-shot requests go to the relay by (made on first use)."""
        return self._hop.get()

    async def close(self) -> None:
        if self._readmitter is not None:
            self._readmitter.cancel()
            await asyncio.gather(self._readmitter, return_exceptions=True)
            self._readmitter = None
        self._drop_sealed_ahead()
        await self._http.close()
        await self._hop.close()
        if self.wallet is not None:
            await self.wallet.close()  # its own session to the issuer; reopened on next use

    async def _get(self, path: str, media: str | None = None) -> bytes:
        try:
            async with self.session.get(
                f"{self.relay_url}{path}",
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=limits.UPSTREAM_TOTAL_TIMEOUT_S),
            ) as resp:
                payload = await read_bounded(resp.content, limits.MAX_NODE_DIRECTORY_BYTES)
                if resp.status != 200:
                    raise UpstreamError("relay answered with an error")
                if media is not None and resp.content_type != media:
                    raise UpstreamError("relay answered with the wrong media type")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError("relay unreachable") from exc
        return payload

    async def refresh(self) -> None:
        """Fetch the gateway key configuration, move the trusted log checkpoint forward, fetch
        the node directory, and admit each node (:func:`privcloud.trust.admission.admit`).

        Raises :class:`ConfigError` without :class:`ClientTrust`, and the log's refusals
        (:class:`~privcloud.transparency.errors.RollbackError`, ``ForkError``,
        ``MissingCosignatureError``) when the log's checkpoint cannot be trusted: then no node
        is admitted — the previous admissions are dropped too, so a failed refresh never leaves
        the client sealing to nodes it could not re-check.
        """
        async with self._refresh_lock:
            await self._refresh_unlocked()

    async def _refresh_unlocked(self, *, keep_on_failure: bool = False) -> None:
        """Admit again. A failure leaves nothing admitted (fail closed), and the next request or
        live call admits on its own path (:meth:`_refresh_if_due`); with ``keep_on_failure``
        (the background's) the admission held stays, until its logged validity ends: a
        failure anyone on the path can write (a refused fetch, a log's error body) would
        otherwise move this device's next admission onto a request's path, where the gateway
        ties it to the request (a review of decision 7, docs/adr/0009)."""
        self._drop_sealed_ahead()  # sealed to what the last admission chose
        try:
            try:
                await self._admit_again()
            except BaseException:
                if not keep_on_failure:
                    self.trail = Trail()  # fail closed: nothing stays admitted
                    self._admitted_at = float("-inf")
                raise
        finally:
            self._admissions += 1
            self._drop_sealed_ahead()  # (none is drawn while admission runs; to be sure)
        self._readmit_later()

    def _readmit_later(self) -> None:
        """Start the background re-admission once (:meth:`_readmit_at_random_times`)."""
        if self._readmitter is None or self._readmitter.done():
            loop = asyncio.get_running_loop()
            self._readmitter = loop.create_task(self._readmit_at_random_times())

    async def _readmit_at_random_times(self) -> None:
        """Admit again at random times, between half :data:`READMIT_AFTER_S` and all of it
        after the last try, and a margin before the admission's logged validity ends, whatever
        the requests do (docs/adr/0009, decision 7). An admission on a request's path, or right
        after an answer the gateway wrote, is a fetch the gateway can tie to that request: it
        could serve it a logged key or directory statement of its choosing, and recognise the
        device's later requests by it. A failure leaves the admission held as it is (used until
        its logged validity ends) and is tried again at the next time."""
        failed = False
        while True:
            await asyncio.sleep(self._readmit_delay(failed=failed))
            async with self._refresh_lock:
                failed = True
                try:
                    await self._refresh_unlocked(keep_on_failure=True)
                    failed = False
                except PrivcloudError:
                    pass
                except Exception as exc:  # noqa: BLE001 - a fault of ours must not end it
                    # (only the type: its text could carry what the device fetched)
                    log.error("background admission failed: %s", type(exc).__name__)  # noqa: TRY400
            self._note_background(failed=failed)

    def _note_background(self, *, failed: bool) -> None:
        """Count background admissions failed in a row, and warn from the second on: requests
        still go out under the admission held, so a gateway that failed every device's
        background admissions (to end every admission at one time, and so move each device's
        next admission onto a request's path: docs/adr/0009, decision 7) would otherwise go
        unseen. The warning names no address and nothing fetched."""
        self.background_failures = self.background_failures + 1 if failed else 0
        if self.background_failures >= 2:
            left = max(0.0, self._valid_until() - self.clock.now())
            log.warning(
                "%d background admissions failed in a row; the admission held ends in %d s",
                self.background_failures,
                left,
            )

    def _readmit_delay(self, *, failed: bool = False) -> float:
        """Seconds to the next background admission: uniform in [half, all] of
        :data:`READMIT_AFTER_S`, ending ``READMIT_MARGIN_S`` before the admission's logged
        validity, or its key's, does when that comes sooner, and never under
        ``READMIT_FLOOR_S``; after a failed one, within the validity left, or the whole range
        once none is (a log out of reach is not polled)."""
        latest = READMIT_AFTER_S
        floor = min(READMIT_AFTER_S, limits.READMIT_FLOOR_S)
        now = self.clock.now()
        valid_until = self._valid_until()
        key = self._key_statement
        # Before the key's end too (the requests after it fetch a key each), while there is time
        # for it; past that, the directory's end (a review: a failed try after the key's end
        # waited the whole range, past the directory's end).
        if key is not None and key.not_after - now - limits.READMIT_MARGIN_S > floor:
            valid_until = min(valid_until, float(key.not_after))
        if valid_until != float("-inf"):
            left = valid_until - now - limits.READMIT_MARGIN_S
            if not failed or left > floor:  # (a failure with time left: again within it)
                latest = min(latest, left)
        return self._random.uniform(max(floor, latest / 2), max(floor, latest))

    async def _proven_keys(
        self,
        log: LogClient,
        key_proofs: KeyProofs,
        trust: ClientTrust,
        now: float,
        *,
        keep: bool = True,
    ) -> tuple[TrustedLogState, ProofReport]:
        """Move the trusted checkpoint forward, then prove the gateway's key statements in it:
        only a key configuration whose statement is logged (the relay or gateway cannot hand
        this device a key of its own). Without ``keep`` the checkpoint it moved to is not kept
        (the device's later log reads would show it: :meth:`key_for_resend`); proofs never are
        (:meth:`KeyProofs.prove`)."""
        statements = decode_statement_list(
            await self._get(KEY_STATEMENTS_PATH, MEDIA_KEY_STATEMENTS)
        )
        state = self.log_state
        if state is None:
            state = trust.store.load(trust.log) if trust.store is not None else trust.log
        store = trust.store if keep else None
        state = await refresh_trusted_checkpoint(log, state, now=now, store=store)
        if keep:
            self.log_state = state
        report = await key_proofs.prove(
            statements,
            kind=KeyKind.OHTTP,
            service=self.gateway_service,
            now=now,
            state=state,
        )
        return state, report

    def _choose_key(self, report: ProofReport, now: float) -> KeyStatement:
        return self._key_proofs_or_fail().choose_ohttp(
            report, now=now, require_post_quantum=self.require_post_quantum
        )

    async def key_for_resend(self) -> KeyStatement:
        """After RFC 9458's key mismatch: the gateway's current key, proven in the log, for that
        one resend only; the admission keeps its own (docs/adr/0009, decision 7). The gateway
        can claim a mismatch at will and tie this fetch to the request: a key it showed here
        alone, kept for the device's later requests, would mark them all as this device's."""
        trust, key_proofs = self.trust, self._key_proofs_or_fail()
        assert trust is not None
        now = self.clock.now()
        # Not under the refresh lock either: a background admission the gateway holds open
        # would keep it, and the wait would tie the two fetches (a review of decision 7).
        async with LogClient(trust.log_url, session=self.session, read="tiles") as log:
            _, report = await self._proven_keys(log, key_proofs, trust, now, keep=False)
        # A hybrid key when the admission's is one (what every device admitted to it holds).
        admitted = self._key_config
        hybrid = self.require_post_quantum or (admitted is not None and admitted.post_quantum)
        return key_proofs.choose_ohttp(report, now=now, require_post_quantum=hybrid, remember=False)

    def _key_proofs_or_fail(self) -> KeyProofs:
        if self.trust is None or self.key_proofs is None:
            raise ConfigError("no transparency log is configured: no node can be admitted")
        return self.key_proofs

    async def _admit_again(self) -> None:
        trust, key_proofs = self.trust, self._key_proofs_or_fail()
        assert trust is not None
        now = self.clock.now()
        async with LogClient(trust.log_url, session=self.session, read="tiles") as log:
            state, report = await self._proven_keys(log, key_proofs, trust, now)
            nodes, logged = decode_directory_document(await self._get("/v1/directory"))
            # Directory consistency: only the directory whose statement is in the checkpoint
            # (the gateway cannot show this device nodes of its own).
            directory = None
            if not self.insecure_unlogged_directory:
                directory = await key_proofs.prove_directory(
                    nodes, logged, service=self.gateway_service, now=now
                )
            # A log out of reach is no verdict on a node of a logged directory (admitted whole).
            proofs = await fetch_log_proofs(log, state, nodes, strict=directory is not None)
        if directory is None:
            statement = self._choose_key(report, now)
        else:
            # Among the keys the directory statement names, every one served and proven
            # (step 6): what every device shown that statement chooses. No memory of hybrid
            # keys either: one withheld is refused here, and a memory of one shown to this
            # device alone kept it apart (a fourth review of docs/adr/0009, decision 7).
            named = named_keys(directory, report.served, report.proven, now)
            statement = key_proofs.choose_ohttp(
                dataclasses.replace(report, proven=named),
                now=now,
                require_post_quantum=self.require_post_quantum,
                remember=False,
            )
        # A logged directory is admitted whole or not at all (docs/adr/0033): a gateway that
        # broke some listed nodes' bundles would otherwise choose this device's nodes.
        admitted, refused = (admit_all if directory is None else admit_listed)(
            nodes,
            policy=self.policy,
            roots=trust.roots,
            log_state=state,
            now=now,
            proofs=proofs,
        )
        # Taken on together, once every step passed: a failed admission leaves the one held as
        # it was (its key with its nodes).
        self._key_statement, self._key_config = statement, statement.key_config
        self.trail = Trail(
            admitted=admitted,
            refused=refused,
            key_config_id=statement.key_config.key_id,
            key_statement=statement,
            keys_refused=[reason for _, reason in report.refused],
            directory_statement=directory,
            checkpoint=state.checkpoint,
        )
        self._admitted_at = now
        self._no_live.clear()
        if self.wallet is not None:
            # Directly from the issuer, never via the relay. Only an empty wallet at the first
            # admission fetches now; otherwise a refill runs later, at a random time unrelated
            # to the next request. (A later admission may follow a key mismatch the gateway can
            # claim at will: an issuance straight after it would let the issuer tie that
            # request to this device.)
            if len(self.wallet) == 0 and not self._prefetched:
                # A refused prefetch fails no admission: an admission that failed for it would
                # be made again on each request's path, each with its signed batch (a review).
                await self.wallet.prefetch_or_note()
            else:
                self.wallet.schedule_refill(ahead=True)
            self._prefetched = True

    async def _refresh_if_due(self) -> None:
        """Before a request or a live call's opening: admit when the admission can be used no
        more (:meth:`_expired`). Not because of its age: that admission would be one the
        gateway ties to this request (the background re-admits, :meth:`_readmit_at_random_times`).
        Concurrent requests wait for one admission instead of each starting their own; a
        background admission under way is stopped first, not waited for: the gateway could
        hold it open and so choose when this device's requests leave, right after the answer
        it wrote (a fourth review of decision 7)."""
        if self._expired():
            await self._stop_readmitting()  # (started again by the admission that succeeds)
            async with self._refresh_lock:
                if self._expired():
                    await self._refresh_unlocked()
        elif self._readmitter is None:
            self._readmit_later()  # (a client used again after close())

    async def _stop_readmitting(self) -> None:
        """Cancel the background admission (its sleep, or an admission under way: that leaves
        the admission held as it was) and wait until it has let go of the refresh lock."""
        task, self._readmitter = self._readmitter, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait([task])  # (our own cancellation still reaches us)

    def _expired(self) -> bool:
        """Whether the admission can be used no more: none yet, a failed one, or the logged
        validity of its directory is over (docs/adr/0033; its key's, without a directory)."""
        return self.clock.now() >= self._valid_until()

    def _valid_until(self) -> float:
        """When the admission can be used no more: its directory's logged end (``-inf`` with no
        key yet). Not its key's: a request made after the key's logged end is sealed under a
        key fetched for it alone (:meth:`_key_for_request`); an admission ending with its key
        would end every device's at the one time the gateway chose by serving the older of two
        keys, and put their next admissions on requests' paths (a fourth review of decision
        7). Without a logged directory (insecure), its key's end."""
        if self._key_config is None or self._key_statement is None:
            return float("-inf")
        if self._admitted_at == float("-inf"):
            return float("-inf")  # (the last admission failed)
        directory = self.trail.directory_statement
        if directory is None:
            return float(self._key_statement.not_after)
        return float(directory.not_after)

    async def _key_for_request(self) -> KeyStatement | None:
        """None while the admission's key is within its logged validity; past it, the
        gateway's current key, for this request (or live opening) alone
        (:meth:`key_for_resend`): the admission keeps its key until the next background
        admission brings a newer one."""
        statement = self._key_statement
        if statement is None or self.clock.now() < statement.not_after:
            return None
        return await self.key_for_resend()

    @property
    def no_live_nodes(self) -> set[str]:
        """Ids of admitted nodes that proved, in a live call of this client, that they serve no
        live translation: later calls leave them out until
        :data:`~privcloud.limits.CLIENT_NO_LIVE_NODE_S` passes or admission runs again."""
        now = self.clock.now()
        return {node for node, until in self._no_live.items() if now < until}

    def mark_no_live(self, node_id: str) -> None:
        """Leave ``node_id`` out of live calls for a while: only on the node's own proof."""
        self._no_live[node_id] = self.clock.now() + limits.CLIENT_NO_LIVE_NODE_S

    # --- sealing ahead: filled by the Client, dropped whenever the admission changes --------

    def _drop_sealed_ahead(self) -> None:
        for handle in self._ahead_calls.values():
            handle.cancel()
        self._ahead_calls.clear()
        self._ahead.clear()
