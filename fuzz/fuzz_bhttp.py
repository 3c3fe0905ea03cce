"""Fuzz target: Binary HTTP (RFC 9292), both framings, whole and streamed.

Operations: ``decode_request`` and ``decode_response`` (known-length and indeterminate-length
framing, :mod:`privcloud.wire.bhttp`) and ``response_stream`` (the incremental framing-3
decoder of :mod:`privcloud.wire.bhttp_stream`, fed in pieces, then closed).
"""

from __future__ import annotations

from fuzz import harness
from privcloud.wire.bhttp import ResponseStreamDecoder, decode_request, decode_response


def _response_stream(data: bytes) -> None:
    decoder = ResponseStreamDecoder()
    harness.feed_all(decoder.feed, decoder.close, data)


OPS: harness.Ops = (
    ("decode_request", decode_request),
    ("decode_response", decode_response),
    ("response_stream", _response_stream),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
