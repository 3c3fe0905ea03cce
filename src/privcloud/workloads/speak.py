"""The ``speak`` workload: text to speech with espeak-ng, run as a separate program (ADR 0022).

Request: the body is UTF-8 text (at most ``limits.MAX_SPEAK_CHARS`` characters). Parameters:

* ``language``: ISO-639-1 code (default "en"); it must be a code Whisper knows
  (:data:`~privcloud.workloads.transcribe.WHISPER_LANGUAGES`, the languages the speech features
  share) *and* one espeak-ng has a voice for (:func:`voices`), else ``UnsupportedError``.
* ``rate``: words per minute, ``limits.MIN_SPEAK_RATE`` .. ``limits.MAX_SPEAK_RATE`` (default
  :data:`DEFAULT_RATE`: a little slower than espeak-ng's 175, which Whisper hears better).

Answer: one ``RESULT`` whose data is a WAV file, 16 kHz mono 16-bit PCM, and whose meta is
``{"language", "voice", "engine": "espeak-ng", "sample_rate": 16000, "duration", "characters",
"task": "speak"}``.

How, in order (:func:`synthesize`, which the live call-translation pipeline calls directly):

1. The text is checked: not blank, at least one letter or digit, at most
   ``limits.MAX_SPEAK_CHARS`` characters (else ``DecodeError`` / ``TooLargeError``); NUL and
   other control characters become spaces, and every "[[" becomes "[ [" (espeak-ng reads what
   follows "[[" as phoneme mnemonics, SSML or not: "[[h@l'oU]]" says "hello").
2. espeak-ng runs as a child process (GPL-3.0: invoked, never linked; ADR 0022) with the text
   on standard input (never argv: a text starting with "-" is no option), ``-b 1`` (UTF-8
   input whatever the locale), no SSML (``-m`` is not given: "<" is text), ``--stdout`` (the
   WAV comes back through a pipe; no file is written), a minimal environment and a timeout
   (``limits.SPEAK_TIMEOUT_S``). The environment names a PulseAudio server that does not exist
   (:func:`_child_env`): espeak-ng 1.51 starts a PulseAudio client even with ``--stdout``,
   which would otherwise create ``~/.config/pulse`` and a directory under /tmp.
3. Its 22.05 kHz WAV is resampled to 16 kHz mono in memory by the same decoder the speech
   input uses (:func:`privcloud.workloads.audio.decode_audio`, FFmpeg's resampler), and
   written as 16-bit little-endian PCM, clipped to [-1, 1].

Nothing about the text reaches a log or an error message. The workload speaks at most
``limits.MAX_CONCURRENT_SPEAK`` requests at once per node; one more is refused at once with
``RateLimitedError`` (429). :func:`synthesize` (the live pipeline's) is not counted: live
sessions have their own bound.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from privcloud import limits
from privcloud.errors import (
    DecodeError,
    RateLimitedError,
    TooLargeError,
    UnavailableError,
    UnsupportedError,
)
from privcloud.wire.message import Event, EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import params
from privcloud.workloads.base import ModelWorkload

if TYPE_CHECKING:
    from privcloud.workloads.models import Models

#: The engine's program name (Debian package ``espeak-ng``).
ENGINE = "espeak-ng"
#: What :func:`synthesize` returns: 16 kHz mono signed 16-bit little-endian samples.
SAMPLE_RATE = 16_000
#: Speaking rate, words per minute (espeak-ng's ``-s``).
DEFAULT_RATE = 150
#: The espeak-ng voice for an ISO-639-1 code where it is not the code itself ("en" alone is
#: no voice name; Mandarin is "cmn"; Norwegian Bokmål "nb"). Every other code is looked up as
#: a voice of the same name.
VOICE_OVERRIDES = {"en": "en-us", "fr": "fr-fr", "zh": "cmn", "no": "nb", "nn": "nb"}
#: Control characters (C0 and DEL, bar tab and newline) replaced by spaces before speaking.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: What makes a text speakable: a letter or digit in any script.
_SPEAKABLE_RE = re.compile(r"[^\W_]")
#: A "[" that starts espeak-ng's phoneme input "[[" (each of a run "[[[", so none is left); a
#: space goes after it, so the text stays within 4 UTF-8 bytes a character (see _run_engine).
_PHONEME_OPEN_RE = re.compile(r"\[(?=\[)")
#: The PulseAudio server named to the engine: a socket path that does not exist, so its
#: PulseAudio client (started by espeak-ng 1.51 even with --stdout) fails at once, without
#: autospawning a daemon or creating its runtime and config directories.
_NO_PULSE_SERVER = "unix:/nonexistent/privcloud-no-pulseaudio"


@dataclass(frozen=True)
class Speech:
    """Synthesised speech: 16 kHz mono s16le ``pcm``, and the voice that spoke it."""

    pcm: bytes
    voice: str

    @property
    def seconds(self) -> float:
        return len(self.pcm) / (2 * SAMPLE_RATE)

    def wav(self) -> bytes:
        """The samples as a WAV file (RIFF, 16 kHz mono 16-bit PCM), built in memory."""
        return pcm_to_wav(self.pcm)


def pcm_to_wav(pcm: bytes) -> bytes:
    """16 kHz mono s16le ``pcm`` wrapped in a WAV header, in memory."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm)
    return buf.getvalue()


def _engine() -> str:
    exe = shutil.which(ENGINE)
    if exe is None:
        raise UnavailableError("the speech engine (espeak-ng) is not installed")
    return exe


def _child_env() -> dict[str, str]:
    """A minimal environment for the engine: its PATH, a UTF-8 locale, a PulseAudio server that
    does not exist (nothing written under the home or /tmp directory), nothing else (no home
    directory, no variables of the node)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LC_ALL": "C.UTF-8",
        "PULSE_SERVER": _NO_PULSE_SERVER,
    }


@functools.cache
def installed_voices() -> frozenset[str]:
    """The voice (language) names the installed espeak-ng lists (``espeak-ng --voices``,
    second column); asked once per process. Raises UnavailableError without the engine."""
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program and fixed arguments
            [_engine(), "--voices"],
            capture_output=True,
            check=True,
            timeout=limits.SPEAK_TIMEOUT_S,
            env=_child_env(),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise UnavailableError("the speech engine did not answer") from exc
    listing = done.stdout[: limits.MAX_ESPEAK_VOICE_LIST_BYTES].decode("utf-8", errors="replace")
    names = set()
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2:
            names.add(fields[1])
    return frozenset(names)


def voices() -> dict[str, str]:
    """ISO-639-1 code -> espeak-ng voice, for every Whisper language the engine can speak."""
    from privcloud.workloads.transcribe import WHISPER_LANGUAGES  # noqa: PLC0415 - numpy

    installed = installed_voices()
    found = {}
    for code in sorted(WHISPER_LANGUAGES):
        voice = VOICE_OVERRIDES.get(code, code)
        if voice in installed:
            found[code] = voice
    return found


def voice_for(language: str) -> str:
    """The espeak-ng voice of ``language`` (an ISO-639-1 code). Raises DecodeError for a code
    that is no language Whisper knows, UnsupportedError for one the engine cannot speak."""
    from privcloud.workloads.transcribe import WHISPER_LANGUAGES  # noqa: PLC0415 - numpy

    if language not in WHISPER_LANGUAGES:
        raise DecodeError("parameter 'language' is not a language code")
    voice = voices().get(language)
    if voice is None:
        raise UnsupportedError("the speech engine has no voice for this language")
    return voice


def clean_text(text: str) -> str:
    """``text`` checked for speaking (see step 1 of the module docstring)."""
    if len(text) > limits.MAX_SPEAK_CHARS:
        raise TooLargeError("text too long to speak")
    text = _CONTROL_RE.sub(" ", text).strip()
    if not _SPEAKABLE_RE.search(text):
        raise DecodeError("nothing to speak")
    return _PHONEME_OPEN_RE.sub("[ ", text)


def speak(text: str, language: str, *, rate: int = DEFAULT_RATE) -> Speech:
    """``text`` spoken in ``language`` (see the module docstring for the steps and errors)."""
    if not limits.MIN_SPEAK_RATE <= rate <= limits.MAX_SPEAK_RATE:
        raise DecodeError(
            "parameter 'rate' must be an integer from "
            f"{limits.MIN_SPEAK_RATE} to {limits.MAX_SPEAK_RATE}"
        )
    text = clean_text(text)
    voice = voice_for(language)
    wav = _run_engine(["-v", voice, "-s", str(rate), "-b", "1", "--stdout"], text)
    if not wav.startswith(b"RIFF"):
        raise UnavailableError("the speech engine wrote no audio")
    return Speech(_to_pcm16k(wav), voice)


def _run_engine(args: list[str], text: str) -> bytes:
    """The engine's standard output for ``text`` on its standard input, read in blocks and
    refused (the child killed) once it passes ``limits.MAX_SPEAK_ENGINE_BYTES`` or the timeout.

    The text goes through an ``os.pipe`` written with ``os.write``: ``Popen(stdin=PIPE)`` would
    wrap its end in a file object opened for writing, which the node's no-file-writes audit
    (tests/ai/test_canary.py) rightly cannot tell from a file. At most 4 x MAX_SPEAK_CHARS
    bytes: within a pipe's buffer, so the write cannot block on a child that is not reading.
    """
    data = text.encode("utf-8")
    read_end, write_end = os.pipe()
    try:
        child = subprocess.Popen(  # noqa: S603 - a fixed program; the text goes on stdin
            [_engine(), *args],
            stdin=read_end,
            stdout=subprocess.PIPE,
            # A pipe, not /dev/null (opened for writing: see above). Its messages are few;
            # were it to fill the pipe, the watchdog ends it.
            stderr=subprocess.PIPE,
            env=_child_env(),
        )
    except OSError as exc:
        os.close(write_end)
        raise UnavailableError("the speech engine could not start") from exc
    finally:
        os.close(read_end)
    # The watchdog ends a child that outlives the timeout; reading then sees end of file.
    watchdog = threading.Timer(limits.SPEAK_TIMEOUT_S, child.kill)
    watchdog.start()
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
        except OSError as exc:
            raise UnavailableError("the speech engine failed") from exc
        finally:
            os.close(write_end)
        out = bytearray()
        assert child.stdout is not None  # PIPE given
        while block := child.stdout.read(1 << 16):
            out += block
            if len(out) > limits.MAX_SPEAK_ENGINE_BYTES:
                raise TooLargeError("the speech would be too long")
        timed_out = not watchdog.is_alive()
        code = child.wait()
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.wait()
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    if timed_out or code != 0:
        raise UnavailableError("the speech engine failed")
    return bytes(out)


def _to_pcm16k(engine_wav: bytes) -> bytes:
    """The engine's WAV as 16 kHz mono s16le, resampled in memory (step 3)."""
    import numpy as np  # noqa: PLC0415 - the ai extra

    from privcloud.workloads.audio import decode_audio  # noqa: PLC0415 - PyAV (ai extra)

    try:
        audio = decode_audio(engine_wav)
    except DecodeError as exc:
        # A text of only pauses (" . , ") makes less sound than a clip must hold.
        raise DecodeError("nothing to speak") from exc
    samples = np.clip(audio.samples, -1.0, 1.0)
    return (samples * 32767.0).round().astype("<i2").tobytes()


def synthesize(text: str, language: str) -> bytes:
    """``text`` spoken in ``language``: 16 kHz mono signed 16-bit little-endian PCM, no header.

    The entry point of the live call-translation pipeline. Raises DecodeError (blank text,
    not a language code), TooLargeError (text over ``limits.MAX_SPEAK_CHARS``),
    UnsupportedError (no voice for the language), UnavailableError (no engine).
    """
    return speak(text, language).pcm


class SpeakWorkload(ModelWorkload):
    """Text to speech (see the module docstring for parameters and the answer). It uses no
    packaged model, but it is blocking (a child process) like the model workloads."""

    name = "speak"

    def __init__(self, models: Models) -> None:
        super().__init__(models)
        #: One slot per request being spoken (limits.MAX_CONCURRENT_SPEAK).
        self._slots = threading.BoundedSemaphore(limits.MAX_CONCURRENT_SPEAK)

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        # Parameters first: a bad one is refused before any work.
        language = params.text(
            request.params, "language", "en", max_chars=limits.MAX_NAME_PARAM_CHARS
        )
        language = language.strip().lower()
        rate = params.integer(
            request.params, "rate", DEFAULT_RATE, lo=limits.MIN_SPEAK_RATE, hi=limits.MAX_SPEAK_RATE
        )
        text = params.body_text(request.body, max_chars=limits.MAX_SPEAK_CHARS)
        if not self._slots.acquire(blocking=False):
            raise RateLimitedError("the node is speaking its most texts at once")
        try:
            speech = speak(text, language, rate=rate)
        finally:
            self._slots.release()
        meta: JSONObject = {
            "language": language,
            "voice": speech.voice,
            "engine": ENGINE,
            "sample_rate": SAMPLE_RATE,
            "duration": round(speech.seconds, 3),
            "characters": len(text),
            "task": "speak",
        }
        yield Event(EventKind.RESULT, meta, speech.wav())
