"""Audio decoding for the speech workloads (privcloud.workloads.audio).

Real speech made at test time (espeak-ng), re-encoded in memory into the containers clients
send; hostile inputs (random bytes, cut files, fuzzed files, non-audio containers, a playlist,
overlong sound) must end in our errors, never a crash or an unbounded decode.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import resource
import struct
from typing import Any

import pytest

from aikit import needs_ai
from privcloud import limits
from privcloud.errors import DecodeError, PrivcloudError, TooLargeError
from privcloud.workloads import audio as audio_module
from privcloud.workloads.audio import SAMPLE_RATE, decode_audio
from speech import concat_wavs, encode, forbid_file_writes, silence, speak

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."
FORMATS = ("wav", "mp3", "m4a", "ogg", "flac")


@pytest.fixture(scope="module")
def clip() -> bytes:
    # Re-encoded as WAV so that the header carries the real data size (espeak-ng --stdout
    # writes a streaming placeholder there).
    return encode(speak(SENTENCE), "wav")


@pytest.fixture(scope="module")
def encoded(clip: bytes) -> dict[str, bytes]:
    return {fmt: encode(clip, fmt) for fmt in FORMATS}


# --- no model, no FFmpeg -----------------------------------------------------------------------


def test_empty_body_is_refused() -> None:
    with pytest.raises(DecodeError):
        decode_audio(b"")


def _wav_header(data_size: int, actual: int) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 16_000, 32_000, 2, 16)
    head = b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE"
    head += b"fmt " + struct.pack("<I", len(fmt)) + fmt
    return head + b"data" + struct.pack("<I", data_size) + b"\0" * actual


def test_wav_data_chunk_longer_than_the_file_counts_as_cut() -> None:
    assert audio_module._cut_short(_wav_header(32_000, 16_000))
    assert not audio_module._cut_short(_wav_header(32_000, 32_000))
    # Streaming writers' placeholders ("size unknown") are not a cut.
    assert not audio_module._cut_short(_wav_header(0x7FFFF000, 16_000))
    assert not audio_module._cut_short(_wav_header(0, 16_000))


def test_ogg_without_end_of_stream_page_counts_as_cut() -> None:
    page = b"OggS\x00" + bytes([0x00]) + b"\0" * 20
    last = b"OggS\x00" + bytes([0x04]) + b"\0" * 20
    assert not audio_module._cut_short(page + last)
    assert audio_module._cut_short(page + page)


# --- FFmpeg (PyAV) ------------------------------------------------------------------------------


@needs_ai
def test_same_speech_decodes_from_every_container(encoded: dict[str, bytes]) -> None:
    reference = decode_audio(encoded["wav"])
    assert reference.samples.dtype.name == "float32"
    assert not reference.silent and not reference.truncated
    assert 3.0 < reference.seconds < 8.0
    for fmt, data in encoded.items():
        got = decode_audio(data)
        # Codec priming and padding add or drop a few tens of milliseconds at most.
        assert abs(got.seconds - reference.seconds) < 0.15, fmt
        assert not got.truncated, fmt
        assert not got.silent, fmt
        assert float(abs(got.samples).max()) <= 1.0


@needs_ai
def test_random_bytes_are_not_audio() -> None:
    rng = random.Random(7)
    for size in (1, 17, 100, 4096, 65536):
        with pytest.raises(DecodeError):
            decode_audio(rng.randbytes(size))


@needs_ai
@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_file_cut_in_half_keeps_what_is_there_and_says_truncated(
    fmt: str, encoded: dict[str, bytes]
) -> None:
    whole = decode_audio(encoded[fmt])
    half = decode_audio(encoded[fmt][: len(encoded[fmt]) // 2])
    assert half.truncated
    assert 0.3 * whole.seconds < half.seconds < 0.7 * whole.seconds


@needs_ai
@pytest.mark.parametrize("fmt", FORMATS)
def test_file_cut_anywhere_is_truncated_or_refused(fmt: str, encoded: dict[str, bytes]) -> None:
    data = encoded[fmt]
    # A cut in the last tenths of a second may go unnoticed (audio.TRUNCATION_SLACK_S).
    for cut in (100, len(data) // 3, len(data) // 2, len(data) * 3 // 4):
        try:
            got = decode_audio(data[:cut])
        except DecodeError:
            continue
        assert got.truncated, (fmt, cut)
    with pytest.raises(DecodeError):
        decode_audio(data[:100])


@needs_ai
@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzzed_files_raise_only_our_errors(fmt: str, encoded: dict[str, bytes]) -> None:
    rng = random.Random(fmt)
    original = encoded[fmt]
    for _ in range(40):
        data = bytearray(original)
        for _ in range(rng.randint(1, 64)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(1, len(data))]
        with contextlib.suppress(PrivcloudError):
            decode_audio(bytes(data))


@needs_ai
def test_container_outside_the_allow_list_is_refused(clip: bytes) -> None:
    import av

    # Sun AU is a fine audio container FFmpeg reads, but not one we open.
    out = io.BytesIO()
    src: Any
    dst: Any
    with av.open(io.BytesIO(clip)) as src, av.open(out, "w", format="au") as dst:
        stream = dst.add_stream("pcm_s16be", rate=src.streams.audio[0].rate, layout="mono")
        for frame in src.decode(audio=0):
            frame.pts = None
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    assert av.open(io.BytesIO(out.getvalue())).format.name == "au"
    with pytest.raises(DecodeError):
        decode_audio(out.getvalue())


@needs_ai
def test_playlist_naming_local_files_is_refused() -> None:
    playlist = (
        b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n"
        b"file:///etc/passwd\n#EXT-X-ENDLIST\n"
    )
    concat = b"ffconcat version 1.0\nfile /etc/passwd\n"
    for data in (playlist, concat):
        with pytest.raises(DecodeError):
            decode_audio(data)


@needs_ai
def test_audio_past_the_duration_bound_stops_decoding_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import av

    long_clip = encode(silence(20.0), "flac")
    resampled: list[int] = []
    real = av.AudioResampler

    class CountingResampler:
        def __init__(self, **kwargs: Any) -> None:
            self._real = real(**kwargs)

        def resample(self, frame: Any) -> Any:
            frames = self._real.resample(frame)
            resampled.extend(f.samples for f in frames)
            return frames

    monkeypatch.setattr(av, "AudioResampler", CountingResampler)
    monkeypatch.setattr(limits, "MAX_AUDIO_SECONDS", 1)
    with pytest.raises(TooLargeError):
        decode_audio(long_clip)
    # It gave up just past one second of sound, not after decoding all twenty.
    assert sum(resampled) < 2 * SAMPLE_RATE


@needs_ai
def test_packet_bound_is_enforced(monkeypatch: pytest.MonkeyPatch, clip: bytes) -> None:
    monkeypatch.setattr(limits, "MAX_AUDIO_PACKETS", 3)
    with pytest.raises(TooLargeError):
        decode_audio(clip)


@needs_ai
def test_audio_shorter_than_the_minimum_is_refused() -> None:
    with pytest.raises(DecodeError):
        decode_audio(silence(limits.MIN_AUDIO_SECONDS / 2))


@needs_ai
def test_silence_decodes_and_is_flagged_silent() -> None:
    got = decode_audio(encode(silence(2.0), "mp3"))
    assert got.silent
    assert 1.9 < got.seconds < 2.2


@needs_ai
def test_speech_between_silences_is_not_flagged_silent(clip: bytes) -> None:
    padded = concat_wavs(silence(2.0, rate=22_050), speak(SENTENCE), silence(2.0, rate=22_050))
    assert not decode_audio(padded).silent


@needs_ai
def test_decoding_writes_no_files(
    monkeypatch: pytest.MonkeyPatch, encoded: dict[str, bytes]
) -> None:
    forbid_file_writes(monkeypatch)
    for data in encoded.values():
        decode_audio(data)
    with pytest.raises(DecodeError):
        decode_audio(os.urandom(1000))


# --- hostile sample rates and channel counts (no sound is ever resampled from them) -------------

#: FLAC's largest block: one frame of this many samples (RFC 9639 §9.1.1).
FLAC_MAX_BLOCK = 65_535


def _silent_file(
    fmt: str, rate: int, seconds: float, *, layout: str = "mono", block: int = 4096
) -> bytes:
    """``seconds`` of digital silence at ``rate`` Hz as ``fmt`` ("flac" or "wav"), made in
    memory; FLAC with ``block`` samples per frame (FFmpeg's encoder takes up to 65,535)."""
    import av
    import numpy as np

    out = io.BytesIO()
    dst: Any
    with av.open(out, "w", format=fmt) as dst:
        codec = "flac" if fmt == "flac" else "pcm_s16le"
        stream = dst.add_stream(codec, rate=rate, layout=layout)
        if fmt == "flac":
            stream.codec_context.options = {"frame_size": str(block)}
        channels = av.AudioLayout(layout).nb_channels
        total = round(rate * seconds)
        for start in range(0, total, block):
            count = min(block, total - start)
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, count * channels), dtype=np.int16), format="s16", layout=layout
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    return out.getvalue()


@pytest.fixture
def resampled(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Samples (per frame) that reached the resampler during the test. The resampler fails the
    test outright (instead of allocating gigabytes) when handed a frame outside the accepted
    sample rates."""
    import av

    given: list[int] = []
    real = av.AudioResampler

    class GuardedResampler:
        def __init__(self, **kwargs: Any) -> None:
            self._real = real(**kwargs)

        def resample(self, frame: Any) -> Any:
            if frame is not None:
                rate = frame.sample_rate
                assert limits.MIN_AUDIO_SAMPLE_RATE <= rate <= limits.MAX_AUDIO_SAMPLE_RATE
                given.append(frame.samples)
            return self._real.resample(frame)

    monkeypatch.setattr(av, "AudioResampler", GuardedResampler)
    return given


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@needs_ai
@pytest.mark.parametrize(
    ("fmt", "rate", "samples"),
    [
        ("flac", 4, 40 * FLAC_MAX_BLOCK),
        ("flac", 10, 40 * FLAC_MAX_BLOCK),
        ("flac", 100, 40 * FLAC_MAX_BLOCK),
        ("flac", 3_999, 40 * FLAC_MAX_BLOCK),
        ("wav", 8, 40_000),
    ],
)
def test_low_sample_rate_bomb_is_refused_before_resampling(
    fmt: str, rate: int, samples: int, resampled: list[int]
) -> None:
    # Some kilobytes of FLAC at 4 Hz in 65,535-sample frames: resampled to 16 kHz, each frame
    # is 1 GiB of float32 (before the sample-rate bound such a file took 6 GB of memory).
    data = _silent_file(fmt, rate, samples / rate, block=FLAC_MAX_BLOCK)
    assert len(data) < 100_000
    before = _peak_rss_mib()
    with pytest.raises(DecodeError):
        decode_audio(data)
    assert resampled == []
    assert _peak_rss_mib() - before < 200


@needs_ai
def test_sample_rate_above_the_bound_is_refused(resampled: list[int]) -> None:
    with pytest.raises(DecodeError):
        decode_audio(_silent_file("wav", limits.MAX_AUDIO_SAMPLE_RATE + 16_000, 0.5))
    assert resampled == []


@needs_ai
def test_frame_whose_rate_drops_mid_stream_is_refused(resampled: list[int]) -> None:
    # FLAC frames carry their own sample rate (RFC 9639 §9.1.2): a normal file's frames, then a
    # 10 Hz file's. FFmpeg probes only the first frames, so the stream still says 16 kHz.
    head = _silent_file("flac", SAMPLE_RATE, 5.0, block=FLAC_MAX_BLOCK)
    bomb = _silent_file("flac", 10, 40 * FLAC_MAX_BLOCK / 10, block=FLAC_MAX_BLOCK)
    offset = 4  # "fLaC", then metadata blocks until the one flagged last
    while True:
        last = bomb[offset] & 0x80
        offset += 4 + int.from_bytes(bomb[offset + 1 : offset + 4], "big")
        if last:
            break
    with pytest.raises(DecodeError):
        decode_audio(head + bomb[offset:])
    # Only the 16 kHz frames were resampled.
    assert 0 < sum(resampled) <= 5 * SAMPLE_RATE


@needs_ai
def test_too_many_channels_are_refused(resampled: list[int]) -> None:
    import av

    layout = "hexadecagonal"  # 16 channels
    assert av.AudioLayout(layout).nb_channels > limits.MAX_AUDIO_CHANNELS
    with pytest.raises(TooLargeError):
        decode_audio(_silent_file("wav", SAMPLE_RATE, 1.0, layout=layout))
    assert resampled == []
    # Up to the bound is fine (7.1 surround: 8 channels, downmixed to mono).
    got = decode_audio(_silent_file("flac", 48_000, 1.0, layout="7.1"))
    assert 0.95 < got.seconds < 1.05


@needs_ai
def test_frame_that_would_pass_the_duration_bound_is_refused_before_resampling(
    monkeypatch: pytest.MonkeyPatch, resampled: list[int]
) -> None:
    # One 65,535-sample frame at the lowest accepted rate is 16 s of sound: with a 10 s bound
    # it is refused whole, not resampled and then counted.
    monkeypatch.setattr(limits, "MAX_AUDIO_SECONDS", 10)
    rate = limits.MIN_AUDIO_SAMPLE_RATE
    with pytest.raises(TooLargeError):
        decode_audio(_silent_file("flac", rate, 20.0, block=FLAC_MAX_BLOCK))
    assert resampled == []
    # Below the bound the same kind of file decodes.
    assert 3.9 < decode_audio(_silent_file("flac", rate, 4.0, block=FLAC_MAX_BLOCK)).seconds < 4.1


@needs_ai
def test_running_out_of_memory_fails_the_request_instead_of_truncating(
    monkeypatch: pytest.MonkeyPatch, clip: bytes
) -> None:
    import av

    calls = 0
    real = av.AudioResampler

    class FailingResampler:
        def __init__(self, **kwargs: Any) -> None:
            self._real = real(**kwargs)

        def resample(self, frame: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 5:  # some sound is already decoded: not "nothing decodes"
                raise MemoryError
            return self._real.resample(frame)

    monkeypatch.setattr(av, "AudioResampler", FailingResampler)
    with pytest.raises(TooLargeError):
        decode_audio(encode(clip, "flac"))
    assert calls == 5
