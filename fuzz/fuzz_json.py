"""Fuzz target: bounded JSON (wire/jsonio.py), the one decoder of every JSON document from a
peer or from disk, and the remote error bodies.

Operations: ``loads`` (bytes, defaults), ``loads_strict`` (no floats, no duplicate names,
as :func:`privcloud.trust.canonical.loads_strict`), ``loads_text`` (already decoded text, with
surrogate escapes), ``loads_shallow`` (``max_depth`` from byte 0, 0..63: the depth scan at
every bound) and ``error_body`` (:func:`decode_error_body`, which never raises).
"""

from __future__ import annotations

from fuzz import harness
from privcloud.trust.canonical import loads_strict
from privcloud.wire.jsonio import decode_error_body, loads


def _loads_shallow(data: bytes) -> None:
    if data:
        loads(data[1:], max_depth=data[0] % 64)


OPS: harness.Ops = (
    ("loads", loads),
    ("loads_strict", lambda data: loads_strict(data, "fuzz input")),
    ("loads_text", lambda data: loads(data.decode("utf-8", "surrogateescape"))),
    ("loads_shallow", _loads_shallow),
    ("error_body", lambda data: decode_error_body(data, 502)),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
