"""Opening a live tunnel through the relay and the gateway, sans-IO (docs/adr/0023).

The tunnel is a WebSocket the relay and the gateway pass through, device -> relay -> gateway
-> node. Its first message, device to gateway, is one OHTTP request (RFC 9458, to the
gateway's logged key: the relay cannot read it) whose Binary HTTP request is::

    POST /v1/live   content-type: application/privcloud-live-hello
                    authorization: PrivateToken token=...      (Privacy Pass, RFC 9577)
                    content: the hello (privcloud.live.session), sealed to one node

The gateway checks and spends the token (its spent-token store), routes the hello by its
cleartext key id to the node holding that key, and answers, inside the OHTTP response, either
``200`` with the node's first frame (ACCEPT) as content, or an error (``401`` with a
challenge for a refused token; with the node's proof, ``privcloud-node-refusal``, for a refusal
of the node's own: :meth:`~privcloud.live.session.SessionKeys.refusal_proof`). Every answer is
padded with zeros (RFC 9292 §3.8) to ``limits.LIVE_OPEN_ANSWER_BYTES`` before it is
encapsulated, so the relay sees one size, whatever the answer says. From then on both
directions carry only fixed-size sealed frames (:mod:`privcloud.live.frames`) that neither the
relay nor the gateway can open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from privcloud import limits
from privcloud.crypto import Random, system_random
from privcloud.errors import (
    DecodeError,
    NotFoundError,
    PrivcloudError,
    TokenRefusedError,
    TokenRequiredError,
    TooLargeError,
    UnsupportedError,
)
from privcloud.live.session import REFUSAL_PROOF_SIZE, SessionKeys
from privcloud.ohttp import ClientContext, GatewayKey, KeyConfig, decapsulate_request
from privcloud.ohttp import encapsulate_request as ohttp_encapsulate
from privcloud.wire import bhttp
from privcloud.wire.jsonio import decode_error_body, encode_error_body

#: The path of the tunnel at the relay, the gateway and the node (a WebSocket upgrade).
TUNNEL_PATH: Final = "/v1/live"
#: The inner request's path and media type.
OPEN_ROUTE: Final = b"/v1/live"
MEDIA_TYPE_HELLO: Final = "application/privcloud-live-hello"
#: The inner request's authority (the gateway serves one origin: privcloud.sdk.core's).
_AUTHORITY: Final = b"privcloud.gateway"
#: The answer's field carrying a node's proof of its own refusal (hex), passed on by the gateway.
NODE_REFUSAL_FIELD: Final = b"privcloud-node-refusal"


def build_open(
    key_config: KeyConfig,
    hello: bytes,
    *,
    authorization: bytes | None,
    rand: Random = system_random,
) -> tuple[bytes, ClientContext]:
    """Device side: the tunnel's first message, and the context that opens its answer."""
    headers: list[bhttp.Field] = [(b"content-type", MEDIA_TYPE_HELLO.encode())]
    if authorization is not None:
        headers.append((b"authorization", authorization))
    inner = bhttp.Request(
        method=b"POST",
        scheme=b"https",
        authority=_AUTHORITY,
        path=OPEN_ROUTE,
        headers=tuple(headers),
        content=hello,
    )
    return ohttp_encapsulate(key_config, bhttp.encode_request(inner), rand=rand)


def padded_answer(inner: bhttp.Response) -> bytes:
    """``inner`` encoded and padded with zeros to exactly ``limits.LIVE_OPEN_ANSWER_BYTES``: one
    size for every answer to an opening. Raises :class:`TooLargeError` for one that does not
    fit (:meth:`OpenExchange.refuse` then leaves out what made it large)."""
    encoded = bhttp.encode_response(inner)
    unit = limits.LIVE_OPEN_ANSWER_BYTES
    if len(encoded) > unit:
        raise TooLargeError("live open answer larger than its padding unit")
    return bhttp.encode_response(inner, padding=unit - len(encoded))


@dataclass(frozen=True)
class OpenAnswer:
    """The gateway's answer to an opening, as the device reads it: the node's ACCEPT frame, or
    the refusal; ``node_refused``: the refusal, its status and its error code are the node's
    own, proven by the session's keys (a refusal the gateway wrote, or one whose proof, status
    or code it altered, is not)."""

    accept: bytes | None
    error: PrivcloudError | None = None
    node_refused: bool = False

    def frame(self) -> bytes:
        """The ACCEPT frame, or raises the refusal."""
        if self.accept is None:
            raise self.error if self.error is not None else DecodeError("empty live answer")
        return self.accept


def decode_open_answer(
    context: ClientContext, message: bytes, keys: SessionKeys | None = None
) -> OpenAnswer:
    """Device side: the gateway's answer (the refusal as our error: :class:`TokenRequiredError`
    with the challenge for a 401). With the session's ``keys``, a refusal carrying the node's
    valid proof for its status is ``node_refused``."""
    inner = bhttp.decode_response(context.decapsulate_response(message))
    if inner.status == 200:
        return OpenAnswer(inner.content)
    error = decode_error_body(inner.content, inner.status, peer="gateway")
    challenge = inner.header(b"www-authenticate")
    if inner.status == 401 and challenge is not None:
        error = TokenRequiredError(str(error), www_authenticate=challenge)
    proven = False
    field = inner.header(NODE_REFUSAL_FIELD)
    if keys is not None and field is not None and len(field) == 2 * REFUSAL_PROOF_SIZE:
        try:
            proof = bytes.fromhex(field.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            proof = b""
        proven = error.http_status == inner.status and keys.proves_refusal(
            inner.status, error.code, proof
        )
    return OpenAnswer(None, error, proven)


def read_open_answer(context: ClientContext, message: bytes) -> bytes:
    """Device side: the node's ACCEPT frame from the gateway's answer, or the refusal as our
    error (:func:`decode_open_answer`)."""
    return decode_open_answer(context, message).frame()


class OpenExchange:
    """Gateway side: the tunnel's first message, decapsulated, and its one answer."""

    def __init__(self, keys: dict[int, GatewayKey], message: bytes) -> None:
        """Raises :class:`UnknownKeyError` and our decode/crypto errors (before decapsulation:
        the gateway answers them by closing the tunnel with a plain code)."""
        inner_bytes, self._context = decapsulate_request(keys, message)
        self._inner_bytes = inner_bytes

    def inner(self) -> bhttp.Request:
        """The inner request, checked: ``POST /v1/live`` carrying a hello. Raises
        :class:`DecodeError`, :class:`NotFoundError`, :class:`UnsupportedError`."""
        inner = bhttp.decode_request(self._inner_bytes)
        if inner.method != b"POST" or inner.path != OPEN_ROUTE:
            raise NotFoundError("unknown inner route")
        if inner.header(b"content-type") != MEDIA_TYPE_HELLO.encode():
            raise UnsupportedError("inner request is not a live hello")
        return inner

    def answer(self, accept_frame: bytes) -> bytes:
        """The encapsulated ``200`` carrying the node's ACCEPT frame, padded
        (:func:`padded_answer`)."""
        inner = bhttp.Response(status=200, headers=(), content=accept_frame)
        return self._context.encapsulate_response(padded_answer(inner))

    def refuse(self, exc: PrivcloudError, *, node_proof: bytes | None = None) -> bytes:
        """The encapsulated error: our fixed code and text, a challenge for a refused token
        (RFC 9577 §2.1), and the node's proof of a refusal of its own as it gave it
        (``node_proof``: the gateway cannot check it); padded to the accept's size
        (:func:`padded_answer`)."""
        headers: tuple[bhttp.Field, ...] = ((b"content-type", b"application/json"),)
        if isinstance(exc, TokenRefusedError):
            headers += ((b"www-authenticate", exc.www_authenticate.encode("ascii")),)
        if node_proof is not None and len(node_proof) == REFUSAL_PROOF_SIZE:
            headers += ((NODE_REFUSAL_FIELD, node_proof.hex().encode("ascii")),)
        body = encode_error_body(exc)
        try:
            padded = padded_answer(bhttp.Response(exc.http_status, headers, body))
        except TooLargeError:
            # Only a challenge of kilobytes (issuer or origin names no DNS name is) gets here:
            # the refusal goes without it, still in one unit, rather than in a size of its own
            # or too large for the hops (the device's request path fetches the challenge).
            plain = tuple(h for h in headers if h[0] != b"www-authenticate")
            padded = padded_answer(bhttp.Response(exc.http_status, plain, body))
        return self._context.encapsulate_response(padded)


__all__ = [
    "MEDIA_TYPE_HELLO",
    "NODE_REFUSAL_FIELD",
    "OPEN_ROUTE",
    "OpenAnswer",
    "TUNNEL_PATH",
    "OpenExchange",
    "build_open",
    "decode_open_answer",
    "padded_answer",
    "read_open_answer",
]
