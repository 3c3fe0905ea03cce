"""Fuzz target: Oblivious HTTP (RFC 9458) and chunked OHTTP (draft-ietf-ohai-chunked-ohttp).

Operations, all with the fixed keys of :mod:`fuzz.fixtures`:

* ``decode_key_configs``, ``key_config``: ``application/ohttp-keys`` and one KeyConfig;
* ``decapsulate_request``: an encapsulated request to the gateway's keys (ids 1 and 2);
* ``decapsulate_response``: an encapsulated response to the fixed client request;
* ``chunked_request``: a chunked request stream to the gateway's keys, fed in pieces;
* ``chunked_response``: a chunked response stream to the fixed chunked request, in pieces.
"""

from __future__ import annotations

from fuzz import fixtures, harness
from privcloud.ohttp import (
    ChunkedRequestDecoder,
    KeyConfig,
    decapsulate_request,
    decode_key_configs,
)

_KEYS = fixtures.gateway_keys()
_CLIENT = fixtures.ohttp_exchange(1)[1]
_CHUNKED_CLIENT = fixtures.chunked_exchange(1)[1]


def _decapsulate_request(data: bytes) -> None:
    decapsulate_request(_KEYS, data)


def _chunked_request(data: bytes) -> None:
    decoder = ChunkedRequestDecoder(_KEYS)
    harness.feed_all(decoder.feed, decoder.close, data)


def _chunked_response(data: bytes) -> None:
    decoder = _CHUNKED_CLIENT.response_decoder()
    harness.feed_all(decoder.feed, decoder.close, data)


OPS: harness.Ops = (
    ("decode_key_configs", decode_key_configs),
    ("key_config", KeyConfig.decode),
    ("decapsulate_request", _decapsulate_request),
    ("decapsulate_response", _CLIENT.decapsulate_response),
    ("chunked_request", _chunked_request),
    ("chunked_response", _chunked_response),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
