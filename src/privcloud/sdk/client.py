"""The device SDK: ``privcloud.Client`` (async) and ``privcloud.SyncClient``.

A client talks only to the relay. It fetches the gateway's OHTTP key statements and the node
directory through the relay, uses a key configuration only when its statement is in the
transparency log at the checkpoint it trusts (:mod:`privcloud.sdk.keyproofs`; the same key every
device gets), admits nodes under its policy (:mod:`privcloud.trust.admission`), picks k of them
at random, seals each request to those k and reads the sealed answer.

Admission needs what the client pins out of band (:class:`ClientTrust`): vendor roots, the
transparency log's key and its witnesses' keys. On :meth:`Client.refresh` the client moves its
trusted checkpoint forward (fetched from the log directly, with a consistency proof; persisted in
a trust store when one is given, so a restart cannot roll it back), fetches inclusion proofs at
that checkpoint for releases that nodes proved against another one, and admits each node with
the full procedure. Only admitted nodes are ever sealed to. The admission is
:mod:`privcloud.sdk.client_admission`'s; this module draws the nodes and sends the requests.

A request that never reached a working node — the gateway answered, before any event, that no
recipient was healthy (:class:`~privcloud.errors.NoHealthyNodeError`) or that the node failed
(:class:`~privcloud.errors.UpstreamError`) — is sent once more, with a fresh token, sealed to k
nodes drawn afresh from every admitted node (those it failed to reach included): what a device
seals to never depends on an answer the gateway could write (docs/adr/0033, decision 6). The
wallet drops the first token whether or not the gateway charged it (by default it spends a token at
its check; under ``--spend when-accepted`` it releases one no node took): a token shown twice
would let the gateway link the two requests (docs/tokens.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass
from typing import Unpack

import aiohttp

from privcloud import limits
from privcloud.errors import (
    NoHealthyNodeError,
    NoTokenLeftError,
    PrivcloudError,
    UnavailableError,
    UnknownKeyError,
    UpstreamError,
    UsageError,
    error_from_code,
)
from privcloud.netio import read_bounded
from privcloud.ohttp import MEDIA_REQUEST, KeyConfig
from privcloud.sdk.ahead import AheadKey, ahead_key
from privcloud.sdk.client_admission import ClientAdmission
from privcloud.sdk.client_types import RequestOptions, Result
from privcloud.sdk.core import SealedAhead, TokenRequiredError, build_request, seal_ahead
from privcloud.sdk.keyproofs import post_quantum_choice, sealing_descriptors
from privcloud.trust.admission import AdmittedNode
from privcloud.wire.jsonio import decode_error_body
from privcloud.wire.message import (
    Event,
    EventKind,
    JSONObject,
    WorkloadRequest,
    encode_request,
)


class _StaleKeyConfig(Exception):
    """The gateway no longer knows the key configuration a request used (RFC 9458 §5.3). It
    refused the request before decapsulating it, so the token inside was never seen: the
    retry of the same request carries it again."""

    def __init__(self, error: UnknownKeyError, config: KeyConfig, authorization: bytes | None):
        super().__init__(str(error))
        self.error = error
        self.config = config
        self.authorization = authorization


class _NodeFailed(Exception):
    """The gateway answered, before any event, that the request reached no working node among
    those it was sealed to: ``error`` says how."""

    def __init__(self, error: PrivcloudError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Tries:
    """What one request has used so far: ``tokens`` taken from the wallet and the ``draw`` its
    last envelope was sealed to. A resend after the gateway's key mismatch or 401 keeps the
    draw; only the retry of a request that reached no working node draws again, so every
    answer the gateway can write buys it at most that one more draw (docs/adr/0033, decision
    6), and at most :data:`~privcloud.limits.MAX_TOKENS_PER_REQUEST` tokens."""

    tokens: int = 0
    draw: list[AdmittedNode] | None = None
    #: The key a resend after a key mismatch is sealed under (:meth:`Client.key_for_resend`).
    config: KeyConfig | None = None


def _raise_if_error(event: Event) -> None:
    if event.kind == EventKind.ERROR:
        raise error_from_code(event.meta.get("code"), event.meta.get("message"))


class Client(ClientAdmission):
    """Async client of a privcloud deployment, reached through one relay URL.

    Constructed as :class:`~privcloud.sdk.client_admission.ClientAdmission` says (what it pins,
    its admission); here, how it draws nodes and sends requests to them."""

    async def __aenter__(self) -> Client:
        try:
            await self.refresh()
        except BaseException:
            await self.close()  # no session (or wallet connection) left open behind a refusal
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _choose(self, feature: str, regions: Collection[str] | None = None) -> list[AdmittedNode]:
        """k random admitted nodes that serve ``feature`` (in ``regions``). Raises
        :class:`NoHealthyNodeError` when none does.

        A request sealed ahead was drawn earlier by :meth:`_serving` and :meth:`_sample`, the
        same draw, and is sent only while that draw is still one this could give
        (:meth:`_take_sealed_ahead`); otherwise the request's nodes are chosen here."""
        return self._sample(self._serving(feature, regions))

    def _same_draw(
        self, draw: list[AdmittedNode], feature: str, regions: Collection[str] | None
    ) -> list[AdmittedNode]:
        """``draw`` as the current admission holds it (a resend after a re-admission), or,
        when a node of it is admitted no more, a new draw (the admission changed it, not an
        answer of the gateway's)."""
        serving = {a.descriptor.key_id: a for a in self._serving(feature, regions)}
        kept = [serving.get(a.descriptor.key_id) for a in draw]
        if all(a is not None for a in kept):
            return [a for a in kept if a is not None]
        return self._sample(list(serving.values()))

    def _sample(self, serving: list[AdmittedNode]) -> list[AdmittedNode]:
        return self._random.sample(serving, min(self.k, len(serving)))

    def _serving(self, feature: str, regions: Collection[str] | None) -> list[AdmittedNode]:
        """The admitted nodes :meth:`_choose` draws from (:class:`NoHealthyNodeError` when
        there are none). Only the request and the admission decide them, no answer of the
        gateway's (:meth:`_send`)."""
        serving = [a for a in self.trail.admitted if feature in a.descriptor.features]
        if isinstance(regions, str):
            raise UsageError("regions is a collection of region names, not one string")
        if regions is not None:
            # Data residency per request (the router's decision), within the client's policy.
            serving = [a for a in serving if a.descriptor.region in regions]
        serving = post_quantum_choice(serving, require_post_quantum=self.require_post_quantum)
        if not serving:
            raise NoHealthyNodeError("no admitted node serves this feature")
        return serving

    # --- sealing ahead (privcloud.sdk.ahead) ------------------------------------------------

    def _seal_ahead_later(self, key: AheadKey) -> None:
        """Once the loop is free, seal the next request of this kind ahead."""
        if self.seal_ahead and key not in self._ahead and key not in self._ahead_calls:
            loop = asyncio.get_running_loop()
            self._ahead_calls[key] = loop.call_soon(self._seal_ahead_now, key)

    def _seal_ahead_now(self, key: AheadKey) -> None:
        self._ahead_calls.pop(key, None)
        config = self._key_config
        if (
            not self.seal_ahead
            or config is None
            or key in self._ahead
            or self._refresh_lock.locked()  # (the nodes and keys are about to change)
        ):
            return
        feature, regions, stream = key
        try:
            serving = self._serving(feature, regions)
            chosen = self._sample(serving)
            sealed = seal_ahead(config, sealing_descriptors(chosen), stream=stream, rand=self._rand)
        except PrivcloudError:
            return  # the next request seals afresh, and meets the error itself
        self._ahead.put(key, serving, self.k, chosen, sealed)

    def _take_sealed_ahead(
        self, key: AheadKey, config: KeyConfig
    ) -> tuple[list[AdmittedNode], SealedAhead] | None:
        """The draw sealed ahead for ``key`` when it is still one a draw now could give."""
        if key not in self._ahead:
            return None
        if not self.seal_ahead:
            self._drop_sealed_ahead()  # turned off since: nothing sealed ahead is sent
            return None
        feature, regions, _ = key
        try:
            serving = self._serving(feature, regions)
        except NoHealthyNodeError:
            serving = []
        return self._ahead.take(key, serving, self.k, config)

    def _request(
        self,
        feature: str,
        params: JSONObject | None,
        body: bytes,
        stream: bool,
        deadline_s: int | None,
    ) -> WorkloadRequest:
        request = WorkloadRequest(feature, dict(params or {}), body, stream=stream)
        request = request.stamped(self.clock.now(), deadline_s)
        encode_request(request)  # (UsageError for what cannot be sent, before a token is taken)
        return request

    async def stream(
        self,
        feature: str,
        params: JSONObject | None = None,
        body: bytes = b"",
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[Event]:
        """Run ``feature`` with a streamed answer: yields partial events, then the final one.

        ``regions`` narrows, for this request, the admitted nodes it may be sealed to.
        ``deadline_s`` (at most ``limits.MAX_REQUEST_DEADLINE_S``; default: the feature's) is
        sealed in the request: the node stops the work when it passes. Raises the remote error
        (our exception tree) when the node answers with an error, and
        :class:`~privcloud.errors.TruncatedStreamError` if the stream is cut short.
        """
        request = self._request(feature, params, body, True, options.get("deadline_s"))
        async for event in self._send(request, options.get("regions")):
            _raise_if_error(event)
            yield event

    async def call(
        self,
        feature: str,
        params: JSONObject | None = None,
        body: bytes = b"",
        **options: Unpack[RequestOptions],
    ) -> Result:
        """Run ``feature`` and return its final result (``regions``, ``deadline_s``: as for
        :meth:`stream`)."""
        request = self._request(feature, params, body, False, options.get("deadline_s"))
        partials: list[Event] = []
        async for event in self._send(request, options.get("regions")):
            _raise_if_error(event)
            if event.final:
                return Result(event.meta, event.data, tuple(partials))
            partials.append(event)
        raise UpstreamError("answer ended without a result")

    async def _send(
        self, request: WorkloadRequest, regions: Collection[str] | None = None
    ) -> AsyncIterator[Event]:
        """Send; if the request reached no working node (:class:`_NodeFailed`), send it once
        more, sealed to k nodes drawn afresh from every admitted node, with a fresh token.

        The gateway can fail any request it likes, and it reads each envelope's recipients.
        A retry that left out the nodes the first attempt failed to reach would let it walk a
        request to the node it wants (fail every draw without that node: with 2k nodes or
        fewer, the retry names it every time); a device that left them out of its later
        requests would seal those to a set of nodes no other device draws from, and be
        recognised by it. So the retry is a draw like any other, and a failure buys the gateway
        one more uniform draw, no more (docs/adr/0033, decision 6). A node that is really down
        costs a retry when a draw names no other node, until the gateway's directory drops
        it."""
        await self._refresh_if_due()
        tries = _Tries()
        fetched = await self._key_for_request()
        if fetched is not None:
            tries.config = fetched.key_config
        try:
            async for event in self._attempt(request, regions, tries):
                yield event
        except _NodeFailed as failed:
            if tries.tokens >= limits.MAX_TOKENS_PER_REQUEST:
                raise failed.error from None
            tries.draw = None  # the one new draw a request gets
            try:
                async for event in self._attempt(request, regions, tries):
                    yield event
            except _NodeFailed as again:
                raise again.error from None
            except NoTokenLeftError as exc:  # (no token to retry with: the first error stands)
                raise failed.error from exc

    async def _attempt(
        self, request: WorkloadRequest, regions: Collection[str] | None, tries: _Tries
    ) -> AsyncIterator[Event]:
        """Send once; if the gateway no longer knows our OHTTP key configuration (it rotated its
        key: RFC 9458 §5.3), fetch the current one and send once more under it
        (:meth:`key_for_resend`: the admission keeps its key); after a 401, take in the
        challenge and send once more with a fresh token (while the request has one left to
        take, :data:`~privcloud.limits.MAX_TOKENS_PER_REQUEST`). Both resends go to the same
        draw of nodes."""
        try:
            async for event in self._send_once(request, regions, tries):
                yield event
        except _StaleKeyConfig as stale:
            # The gateway rotated its key (or says so): fetch and prove its current one, and
            # resend with the same token under it, this request only.
            tries.config = (await self.key_for_resend()).key_config
            try:
                async for event in self._send_once(request, regions, tries, stale.authorization):
                    yield event
            except _StaleKeyConfig as again:
                raise again.error from None
        except TokenRequiredError as exc:
            # 401 (no event was yielded: an error is the whole answer). Take in the gateway's
            # challenge — only the one fixed for every device (the wallet refuses any other and
            # keeps its tokens) — and retry once with a fresh token; a second 401 reaches the
            # caller.
            if self.wallet is None or tries.tokens >= limits.MAX_TOKENS_PER_REQUEST:
                raise
            await self.wallet.on_challenge(exc.www_authenticate)
            try:
                async for event in self._send_once(request, regions, tries):
                    yield event
            except _StaleKeyConfig as stale:  # (a key mismatch after the 401: no third send)
                raise stale.error from None

    async def _send_once(
        self,
        request: WorkloadRequest,
        regions: Collection[str] | None,
        tries: _Tries,
        authorization: bytes | None = None,
    ) -> AsyncIterator[Event]:
        config = tries.config or self._key_config
        assert config is not None
        key = ahead_key(request.feature, regions, request.stream)
        if tries.draw is not None:
            chosen, ahead = self._same_draw(tries.draw, request.feature, regions), None
        else:
            taken = self._take_sealed_ahead(key, config)
            chosen, ahead = (
                taken if taken is not None else (self._choose(request.feature, regions), None)
            )
        if authorization is None and self.wallet is not None:
            admissions = self._admissions
            # Never fetched now (Wallet.for_request): the first admission fills an empty
            # wallet, refills run in the background at random times, and an empty wallet fails
            # the request (NoTokenLeftError). Before, a request's first token was fetched on its
            # path, and 401s on chosen requests (two tokens each) could run a wallet empty to
            # bring that about (a fourth review of docs/adr/0009, decision 7).
            authorization = await self.wallet.for_request(first=tries.tokens == 0)
            tries.tokens += 1
            if self._admissions != admissions:
                # Admission ran meanwhile: seal with its key, to what it admitted.
                config = tries.config or self._key_config
                assert config is not None
                chosen, ahead = self._same_draw(chosen, request.feature, regions), None
        tries.draw = chosen
        self.trail.chosen = [a.descriptor.node_id for a in chosen]
        body, media, reader = build_request(
            config,
            ahead.nodes if ahead is not None else sealing_descriptors(chosen),
            request,
            authorization=authorization,
            rand=self._rand,
            now=self.clock.now(),
            ahead=ahead,
        )
        yielded = False
        held: list[Event] = []
        try:
            async for data in self._exchange(body, media, config, authorization):
                with _node_failures(yielded):
                    events = reader.feed(data)
                for event in events:
                    # Partial events stream out at once; the final one waits until every
                    # layer (OHTTP, Binary HTTP, envelope) has closed cleanly.
                    if event.final:
                        held.append(event)
                    else:
                        yielded = True
                        yield event
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError("relay unreachable") from exc
        with _node_failures(yielded):
            held += reader.close()
        self._seal_ahead_later(key)
        for event in held:
            yield event

    async def _exchange(
        self, body: bytes, media: str, config: KeyConfig, authorization: bytes | None
    ) -> AsyncIterator[bytes]:
        """The relay's answer to an encapsulated request, in pieces as they come: a one-shot
        one over the pooled hop client (netio.hop: three header fields, the relay's lane,
        docs/adr/0032), whole; a chunked one over aiohttp, streamed. A non-200 answer raises
        the relay's (or gateway's) error it carries (:class:`_StaleKeyConfig` for a key the
        gateway no longer holds); a relay that cannot be reached or breaks off,
        :class:`UnavailableError`."""
        url = f"{self.relay_url}/v1/ohttp"
        # A body over the relay's lane bound goes over aiohttp too: it would leave the lane at
        # the relay anyway, and aiohttp streams it from the caller's buffer as the relay reads.
        if media != MEDIA_REQUEST or len(body) > limits.LANE_MAX_BODY_BYTES:
            async with self.session.post(url, data=body, headers={"Content-Type": media}) as resp:
                if resp.status != 200:
                    raise _stale_or(await _http_error(resp), config, authorization)
                async for data in resp.content.iter_any():
                    yield data
            return
        try:
            answer = await self.hop.post(url, body, media, limit=limits.MAX_HTTP_BODY)
            if answer.status == 200:
                payload = await answer.read()
            else:
                try:
                    payload = await answer.read(limits.MAX_REMOTE_ERROR_BODY)
                except PrivcloudError:  # too large or cut off: the status alone (as aiohttp's)
                    payload = b""
        except UpstreamError as exc:
            raise UnavailableError("relay unreachable") from exc
        if answer.status != 200:
            error = decode_error_body(payload, answer.status, peer="relay")
            raise _stale_or(error, config, authorization)
        yield payload


def _stale_or(
    error: PrivcloudError, config: KeyConfig, authorization: bytes | None
) -> PrivcloudError | _StaleKeyConfig:
    """``error``, or :class:`_StaleKeyConfig` when it is RFC 9458 §5.3's key mismatch."""
    if isinstance(error, UnknownKeyError):
        return _StaleKeyConfig(error, config, authorization)
    return error


@contextlib.contextmanager
def _node_failures(yielded: bool) -> Iterator[None]:
    """Turn the gateway's answer that the request reached no working node, before any event
    was yielded, into :class:`_NodeFailed` (the request may be sent again, drawn afresh). After an
    event, or any other error, the error stands: a node took the request."""
    try:
        yield
    except (NoHealthyNodeError, UpstreamError) as exc:
        if yielded:
            raise
        raise _NodeFailed(exc) from exc


async def _http_error(resp: aiohttp.ClientResponse) -> PrivcloudError:
    try:
        body = await read_bounded(resp.content, limits.MAX_REMOTE_ERROR_BODY)
    except (aiohttp.ClientError, TimeoutError, PrivcloudError):
        body = b""
    return decode_error_body(body, resp.status, peer="relay")
