"""Fuzz target: the speech workloads' audio probe and decoder (workloads/audio.py, PyAV).

One operation, ``decode_audio``, on inputs of at most :data:`MAX_INPUT` bytes: FFmpeg's
demuxers and decoders are C, so this target looks for what our wrapper lets through (a foreign
exception, unbounded time or memory on a small file), not for FFmpeg's own bugs. Needs the AI
extra (``av``); without it every input is our UnavailableError.
"""

from __future__ import annotations

from typing import Final

from fuzz import harness
from privcloud.workloads.audio import decode_audio

#: Largest input tried (bytes): small files are where a decoder's bounds matter.
MAX_INPUT: Final = 64 * 1024


def _decode_audio(data: bytes) -> None:
    if len(data) <= MAX_INPUT:
        decode_audio(data)


OPS: harness.Ops = (("decode_audio", _decode_audio),)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
