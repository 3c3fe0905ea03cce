"""Fuzz target: the sealed envelope (docs/envelope.md) and its response stream.

Operations, with the fixed node keys and client session of :mod:`fuzz.fixtures`:

* ``parse_header``, ``split_envelope``: the cleartext header the gateway routes by;
* ``open_request_x25519``, ``open_request_p256``: a request envelope opened by a node key;
* ``unpad``: the padded plaintext inside a request or a chunk;
* ``stream_opener``: a response stream to the fixed request, fed in pieces, then closed;
* ``stream_framer``: the gateway's keyless framing of a response stream, in pieces.
"""

from __future__ import annotations

from fuzz import fixtures, harness
from privcloud.envelope import StreamFramer, open_request, parse_header
from privcloud.envelope.format import split_envelope
from privcloud.envelope.padding import unpad

_NODES = fixtures.node_keys()
_SESSION = fixtures.envelope_exchange()[1]


def _open_request(name: str) -> harness.Op:
    key_id, key, _suite = _NODES[name]

    def op(data: bytes) -> None:
        open_request(data, key_id, key)

    return op


def _stream_opener(data: bytes) -> None:
    opener = _SESSION.response_opener()
    harness.feed_all(opener.feed, opener.close, data)


def _stream_framer(data: bytes) -> None:
    framer = StreamFramer()
    harness.feed_all(framer.feed, framer.close, data)


OPS: harness.Ops = (
    ("parse_header", parse_header),
    ("split_envelope", split_envelope),
    ("open_request_x25519", _open_request("x25519")),
    ("open_request_p256", _open_request("p256")),
    ("unpad", unpad),
    ("stream_opener", _stream_opener),
    ("stream_framer", _stream_framer),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
