"""Audio decoding for the speech workloads: request bytes to 16 kHz mono float32, in memory.

Whisper takes 16 kHz mono samples (openai/whisper ``audio.py``: ``SAMPLE_RATE = 16000``).
:func:`decode_audio` turns a client's file (WAV, MP3, M4A/AAC, Ogg Opus/Vorbis, FLAC, WebM,
…) into that with PyAV (FFmpeg), without ever writing a file: the demuxer reads from an
``io.BytesIO`` (as faster-whisper's own ``decode_audio`` does, minus its file paths).

What it promises, in order:

1. An empty body, bytes FFmpeg cannot open, a container outside :data:`CONTAINERS`, a file
   without an audio stream or with a codec outside :data:`CODEC_PREFIXES`: ``DecodeError``.
   So is a stream or frame whose sample rate lies outside ``limits.MIN_AUDIO_SAMPLE_RATE`` ..
   ``limits.MAX_AUDIO_SAMPLE_RATE``; more than ``limits.MAX_AUDIO_CHANNELS`` channels is a
   ``TooLargeError``.
   The demuxer allow-list is enforced by FFmpeg before it reads a header (``format_whitelist``)
   and nested opens are refused (``protocol_whitelist``), so a playlist-like input (HLS,
   concat) cannot make FFmpeg open files or URLs.
2. Decoding stops as soon as the sound would pass ``limits.MAX_AUDIO_SECONDS``
   (TooLargeError), so a small, highly compressed file cannot make the node hold or decode more
   than that; likewise after ``limits.MAX_AUDIO_PACKETS`` packets. The check runs on each
   decoded frame *before* it is resampled, on the length it will have at 16 kHz: one FLAC frame
   may hold 65,535 samples (RFC 9639 §9.1), and at a very low sample rate that is hours of
   sound, gigabytes once resampled (a 9 KB FLAC at 4 Hz used 6 GB before this check). Running
   out of memory anyway is a ``TooLargeError`` too, never a "cut" file.
3. A file that breaks off mid-stream (a cut upload) keeps the sound decoded before the break
   and reports ``truncated=True``: FFmpeg raised while demuxing or decoding, or the container
   had promised noticeably more sound than was there. If nothing decodes: ``DecodeError``.
4. Less than ``limits.MIN_AUDIO_SECONDS`` of sound: ``DecodeError``.

Error messages are fixed; nothing from the file reaches them or the logs.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnavailableError

#: Whisper's input rate, in samples per second.
SAMPLE_RATE = 16_000
#: FFmpeg demuxers a request may use (each name is one of FFmpeg's demuxer names; ``mov``
#: covers MP4/M4A, ``matroska`` covers WebM). Anything else is refused before its header is read.
CONTAINERS = ("wav", "mp3", "mov", "ogg", "flac", "matroska", "aac", "aiff", "caf", "w64")
#: Audio codecs (by FFmpeg decoder name prefix) a request may use.
CODEC_PREFIXES = ("pcm_", "mp3", "mp2", "aac", "opus", "vorbis", "flac", "alac", "libopus")
#: Below this RMS level (about -60 dBFS) a clip counts as silence: Whisper is not run on it,
#: because on silence it tends to invent text ("Thank you.").
SILENCE_RMS = 1e-3
#: How much shorter than the container's declared duration the sound may be before the file
#: counts as truncated (seconds): codec priming and padding differ by tens of milliseconds, and
#: MP3 without a Xing/LAME header only has an estimate. A cut closer to the end goes unreported.
TRUNCATION_SLACK_S = 0.25

#: WAV chunk sizes from here up are placeholders of streaming writers (espeak-ng: 0x7FFFF000).
_WAV_SIZE_UNKNOWN = 0x7FFF0000
_NOT_AUDIO = "not a decodable audio file"


@dataclass(frozen=True)
class Audio:
    """Decoded sound: 16 kHz mono float32 samples in [-1, 1]."""

    samples: npt.NDArray[np.float32]
    #: True when the file ended or broke before its declared end (what is here was kept).
    truncated: bool = False

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def silent(self) -> bool:
        """Whether the clip is (digital or near) silence by its RMS level."""
        if not len(self.samples):
            return True
        rms = float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64))))
        return rms < SILENCE_RMS


def _av() -> Any:
    try:
        import av  # noqa: PLC0415 - heavy, optional: imported on first use
    except ImportError as exc:
        raise UnavailableError(
            "audio decoding needs the AI extra: pip install 'privcloud[ai]'"
        ) from exc
    return av


def decode_audio(data: bytes) -> Audio:
    """Decode ``data`` (an audio file) to 16 kHz mono float32; see the module docstring for the
    promises. Raises DecodeError or TooLargeError (the client's fault) only."""
    if not data:
        raise DecodeError("the audio is empty")
    av = _av()
    try:
        return _decode(av, data)
    except MemoryError as exc:
        raise TooLargeError("the audio needs too much memory to decode") from exc


def _check_shape(rate: int, channels: int) -> None:
    """Refuse a sample rate or channel count outside the bounds of :mod:`privcloud.limits`."""
    if not limits.MIN_AUDIO_SAMPLE_RATE <= rate <= limits.MAX_AUDIO_SAMPLE_RATE:
        raise DecodeError("unsupported audio sample rate")
    if channels > limits.MAX_AUDIO_CHANNELS:
        raise TooLargeError("too many audio channels")


def _decode(av: Any, data: bytes) -> Audio:
    max_samples = int(limits.MAX_AUDIO_SECONDS * SAMPLE_RATE)
    try:
        container = av.open(
            io.BytesIO(data),
            mode="r",
            metadata_errors="ignore",
            container_options={
                "format_whitelist": ",".join(CONTAINERS),
                "protocol_whitelist": "none",
            },
        )
    except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
        raise DecodeError(_NOT_AUDIO) from exc
    with container:
        if len(container.streams) > limits.MAX_AUDIO_PACKETS:
            raise TooLargeError("too many streams in the audio file")
        if not container.streams.audio:
            raise DecodeError("the file has no audio stream")
        stream = container.streams.audio[0]
        context = stream.codec_context  # None when this FFmpeg has no decoder for the codec
        if context is None or not (context.name or "").startswith(CODEC_PREFIXES):
            raise DecodeError("unsupported audio codec")
        # 0 means "not known before decoding": each frame is checked again below.
        if context.sample_rate or context.channels:
            _check_shape(context.sample_rate or SAMPLE_RATE, context.channels)
        declared = _declared_seconds(container, stream)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[npt.NDArray[np.float32]] = []
        total = 0
        packets = 0
        broke = False

        def guard(frame: Any) -> None:
            """Refuse ``frame`` before resampling if its shape, or the sound it would add, is
            out of bounds (resampling a low-rate frame is what costs the memory)."""
            _check_shape(frame.sample_rate, frame.layout.nb_channels)
            if total + frame.samples * SAMPLE_RATE / frame.sample_rate > max_samples:
                raise TooLargeError("the audio is too long")

        def keep(frames: list[Any]) -> None:
            nonlocal total
            for out in frames:
                chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                total += len(chunk)
                if total > max_samples:
                    raise TooLargeError("the audio is too long")
                chunks.append(chunk)

        try:
            for packet in container.demux(stream):
                packets += 1
                if packets > limits.MAX_AUDIO_PACKETS:
                    raise TooLargeError("too many packets in the audio file")
                for frame in packet.decode():
                    guard(frame)
                    frame.pts = None  # the resampler re-times; broken timestamps do not matter
                    keep(resampler.resample(frame))
        except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
            if not chunks:
                raise DecodeError(_NOT_AUDIO) from exc
            broke = True
        try:
            keep(resampler.resample(None))
        except (av.FFmpegError, ValueError) as exc:
            if not chunks:
                raise DecodeError(_NOT_AUDIO) from exc
            broke = True
    if not chunks:
        raise DecodeError(_NOT_AUDIO)
    samples = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    if not np.all(np.isfinite(samples)):
        raise DecodeError(_NOT_AUDIO)
    np.clip(samples, -1.0, 1.0, out=samples)
    seconds = len(samples) / SAMPLE_RATE
    if seconds < limits.MIN_AUDIO_SECONDS:
        raise DecodeError("the audio is too short")
    short = declared is not None and seconds < declared - TRUNCATION_SLACK_S
    return Audio(samples=samples, truncated=broke or short or _cut_short(data))


def _declared_seconds(container: Any, stream: Any) -> float | None:
    """The duration the file claims (stream header, else container), or None."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    return None


def _cut_short(data: bytes) -> bool:
    """Whether a WAV or Ogg file visibly ends early, where FFmpeg does not say so.

    FFmpeg's WAV demuxer shrinks a ``data`` chunk that runs past the end of the file to what is
    there, and its Ogg demuxer drops a torn last page. So: a RIFF/WAVE ``data`` chunk longer than
    the bytes left (0, and sizes of 2 GiB or more, are the placeholders streaming writers such as
    ``espeak-ng --stdout`` put there: "unknown"), or an
    Ogg file whose last page lacks the end-of-stream flag (RFC 3533 §6: ``header_type`` 0x04).
    """
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        offset = 12
        while offset + 8 <= len(data):
            size = int.from_bytes(data[offset + 4 : offset + 8], "little")
            if data[offset : offset + 4] == b"data":
                return 0 < size < _WAV_SIZE_UNKNOWN and offset + 8 + size > len(data)
            offset += 8 + size + (size & 1)
        return False
    if data[:4] == b"OggS":
        last = data.rfind(b"OggS")
        return last + 5 >= len(data) or not data[last + 5] & 0x04
    return False
