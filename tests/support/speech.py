"""Test speech: real audio made at test time, re-encoded in memory, and scored.

* :func:`speak` synthesises speech with espeak-ng (Debian ``espeak-ng``), one voice per language.
* :func:`encode` re-encodes a WAV into MP3, M4A (AAC), Ogg (Opus or Vorbis) or FLAC with PyAV,
  entirely in memory, so the decoder under test sees the containers real clients send.
* :func:`silence` is a WAV of digital silence; :func:`wer` is the word error rate used to judge
  transcripts (Levenshtein distance over normalised words, divided by the reference length).

Choose test sentences without numbers: :func:`wer` does not normalise "3" against "three".
"""

from __future__ import annotations

import builtins
import io
import os
import re
import shutil
import subprocess
import tempfile
import wave
from typing import Any

import pytest

#: espeak-ng voice per ISO-639-1 code (``espeak-ng --voices`` lists them).
VOICES = {"en": "en-us", "es": "es", "de": "de", "fr": "fr", "it": "it", "pt": "pt"}

#: Container format and preferred encoders (first available wins) per short format name.
_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mp3": ("mp3", ("libmp3lame", "mp3")),
    "m4a": ("ipod", ("aac",)),
    "ogg": ("ogg", ("libopus", "libvorbis", "opus", "vorbis")),
    "flac": ("flac", ("flac",)),
    "wav": ("wav", ("pcm_s16le",)),
}


def speak(text: str, lang: str = "en", *, rate: int = 150) -> bytes:
    """A WAV (espeak-ng's 22.05 kHz mono 16-bit) of ``text`` spoken in language ``lang``."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed")
    voice = VOICES.get(lang, lang)
    # Text on stdin, not argv: a sentence starting with '-' is not an option.
    done = subprocess.run(
        [exe, "-v", voice, "-s", str(rate), "--stdout"],
        input=text.encode("utf-8"),
        capture_output=True,
        check=True,
        timeout=60,
    )
    if not done.stdout.startswith(b"RIFF"):
        raise RuntimeError("espeak-ng did not write a WAV")
    return done.stdout


def silence(seconds: float, rate: int = 16_000) -> bytes:
    """A WAV of ``seconds`` of digital silence (mono, 16-bit)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * round(seconds * rate))
    return buf.getvalue()


def concat_wavs(*wavs: bytes) -> bytes:
    """The WAVs (same rate, mono 16-bit, as :func:`speak` and :func:`silence` make) joined."""
    frames = []
    rate = None
    for data in wavs:
        with wave.open(io.BytesIO(data), "rb") as src:
            if rate is not None and src.getframerate() != rate:
                raise ValueError("sample rates differ")
            rate = src.getframerate()
            frames.append(src.readframes(src.getnframes()))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate or 16_000)
        out.writeframes(b"".join(frames))
    return buf.getvalue()


def encode(wav: bytes, fmt: str) -> bytes:
    """``wav`` re-encoded in memory as ``fmt``: "mp3", "m4a" (AAC in an iPod MP4 container),
    "ogg" (Opus, else Vorbis, whichever this PyAV build has), "flac" or "wav"."""
    import av

    container_format, candidates = _FORMATS[fmt]
    codec = next((c for c in candidates if c in av.codecs_available), None)
    if codec is None:
        raise RuntimeError(f"this PyAV build has no encoder for {fmt}")
    out_buf = io.BytesIO()
    src: Any
    out: Any
    with av.open(io.BytesIO(wav)) as src, av.open(out_buf, "w", format=container_format) as out:
        in_stream = src.streams.audio[0]
        rate = 48_000 if codec in ("libopus", "opus") else in_stream.rate
        stream: Any = out.add_stream(codec, rate=rate, layout="mono")
        if codec == "opus":
            stream.codec_context.options = {"strict": "experimental"}
        for frame in src.decode(in_stream):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return out_buf.getvalue()


_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def words(text: str) -> list[str]:
    """Lower-case words of ``text``, punctuation dropped (apostrophes inside words kept)."""
    return _WORD.findall(text.lower())


def wer(ref: str, hyp: str) -> float:
    """Word error rate of ``hyp`` against ``ref``: (substitutions + deletions + insertions)
    divided by the number of reference words (Levenshtein distance over words)."""
    r, h = words(ref), words(hyp)
    if not r:
        return 0.0 if not h else 1.0
    previous = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        current = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            current[j] = min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (rw != hw),  # substitution or match
            )
        previous = current
    return previous[-1] / len(r)


def forbid_file_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every Python-level way of creating or writing a file raise (reads stay allowed).

    FFmpeg itself reads only through PyAV's BytesIO callbacks here (nested opens are refused by
    ``protocol_whitelist``), so this covers the Python side; it is not a syscall sandbox.
    """
    real_open = builtins.open
    real_os_open = os.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(flag in mode for flag in "wax+"):
            raise AssertionError("a file was opened for writing")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & writing:
            raise AssertionError("a file was opened for writing")
        return real_os_open(path, flags, *args, **kwargs)

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("a temporary file was made")

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", refuse)
