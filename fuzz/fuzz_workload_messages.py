"""Fuzz target: the workload messages inside the sealed envelope (wire/message.py).

Operations: ``request`` (:func:`decode_request`), ``event`` (:func:`decode_event`) and
``event_stream`` (:class:`EventStreamDecoder` fed in pieces, then closed).
"""

from __future__ import annotations

from fuzz import harness
from privcloud.wire.message import EventStreamDecoder, decode_event, decode_request


def _event_stream(data: bytes) -> None:
    decoder = EventStreamDecoder()
    harness.feed_all(decoder.feed, decoder.close, data)


OPS: harness.Ops = (
    ("request", decode_request),
    ("event", decode_event),
    ("event_stream", _event_stream),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
