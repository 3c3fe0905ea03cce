"""A small deterministic mutator: the fuzz targets' inputs without atheris.

tests/unit/test_fuzz_targets.py runs each target over its seed corpus and over inputs made
here from it, with a fixed seed, so CI checks the invariant in seconds on any machine. It is
no substitute for coverage-guided fuzzing (``make fuzz``); it keeps the targets honest and
catches regressions of the crashes found there.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Final

#: Bytes that sit on boundaries of the formats fuzzed here: QUIC varint prefixes, length and
#: count limits, JSON and header syntax, UTF-8 lead bytes and a lone surrogate (raw, and as the
#: JSON escape that decodes to text UTF-8 cannot encode).
_INTERESTING: Final = (
    b"\x00",
    b"\x01",
    b"\x3f",
    b"\x40",
    b"\x7f",
    b"\x80",
    b"\xbf",
    b"\xc0",
    b"\xff",
    b"\xff\xff",
    b"\xff\xff\xff\xff",
    b"\x7f\xff\xff\xff",
    b"\x80\x00\x00\x00",
    b"\xc0\x00\x00\x00\xff\xff\xff\xff",
    b'"',
    b"\\",
    b"[",
    b"{",
    b"\n",
    b"\n\n",
    b",",
    b"=",
    b" ",
    b"\xe2\x80\x94 ",
    b"\xed\xa0\x80",
    b"\\ud800",
    b"\\u0000",
)


class Mutator:
    """Makes inputs from seeds with ``random.Random(seed)``: the same seed, the same inputs."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - reproducible test inputs, not secrets

    def random_bytes(self, most: int) -> bytes:
        return self._rng.randbytes(self._rng.randint(0, most))

    def mutate(self, data: bytes, corpus: Sequence[bytes]) -> bytes:
        """``data`` after one to four mutations (keeping its first byte, the operation, most
        of the time)."""
        rng = self._rng
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            self._mutate_once(out, corpus)
        if data and out[:1] != data[:1] and rng.random() < 0.8:
            out[:1] = data[:1]
        return bytes(out)

    def _mutate_once(self, out: bytearray, corpus: Sequence[bytes]) -> None:
        rng = self._rng
        pos = rng.randint(0, len(out))
        kind = rng.randrange(9)
        if kind == 0 and out:  # flip a bit
            i = min(pos, len(out) - 1)
            out[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:  # set a byte
            out[min(pos, len(out) - 1)] = rng.randrange(256)
        elif kind == 2:  # insert random bytes
            out[pos:pos] = self.random_bytes(16)
        elif kind == 3 and out:  # delete a range
            del out[pos : pos + rng.randint(1, 32)]
        elif kind == 4:  # truncate
            del out[pos:]
        elif kind == 5 and out:  # duplicate a range
            start = rng.randrange(len(out))
            out[pos:pos] = out[start : start + rng.randint(1, 64)]
        elif kind == 6:  # overwrite with an interesting value
            value = rng.choice(_INTERESTING)
            out[pos : pos + len(value)] = value
        elif kind == 7 and corpus:  # splice in part of another seed
            other = rng.choice(corpus)
            start = rng.randint(0, len(other))
            out[pos:] = other[start:]
        elif out:  # add or subtract a small number at a byte
            i = min(pos, len(out) - 1)
            out[i] = (out[i] + rng.choice((-2, -1, 1, 2))) & 0xFF

    def inputs(self, corpus: Sequence[bytes], count: int, op_count: int) -> Iterator[bytes]:
        """``count`` inputs: a third random (any operation, any bytes), the rest mutated seeds."""
        rng = self._rng
        for _ in range(count):
            if not corpus or rng.random() < 1 / 3:
                yield bytes([rng.randrange(op_count)]) + self.random_bytes(256)
            else:
                yield self.mutate(rng.choice(corpus), corpus)
