"""The demo's sample call, spoken by espeak-ng at set-up (``privcloud sample-call``).

Two WAV files in ``$XDG_CACHE_HOME/privcloud/samples`` (``make setup`` makes them; the demo
makes them when they are missing): an English call with names, days, times, an amount and a
phone number (for transcription, summary and extraction), and a Spanish voicemail (for call
translation). The scripts are here so anyone can compare the results with what was said.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from privcloud.errors import ConfigError

#: Written for espeak-ng and Whisper: times as words ("ten thirty"), a phone number with a
#: dash; espeak's rendering of amounts ("240 euros") Whisper mishears, so there are none.
CALL_SCRIPT = (
    "Hi, this is Maria Lopez from Northwind Travel. I am calling about your trip to Lisbon. "
    "Your flight on Friday leaves at ten thirty in the morning. "
    "Can we meet on Monday at 3 pm to sign the contract? "
    "My number is 555-0142. Thank you, and have a nice day."
)
VOICEMAIL_SCRIPT = (
    "Hola, soy Carlos. Mañana tenemos una reunión muy importante con el cliente. "
    "Por favor, llámame esta tarde. Gracias."
)


@dataclass(frozen=True)
class SampleCall:
    call: Path
    voicemail: Path


def samples_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "privcloud" / "samples"


def _speak(text: str, voice: str, target: Path, rate: int) -> None:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise ConfigError(
            "espeak-ng is not installed: run `make setup` (apt-get install espeak-ng)"
        )
    partial = target.with_suffix(".partial")
    # A fixed program with our own text: no shell, no user input.
    subprocess.run(  # noqa: S603
        [espeak, "-v", voice, "-s", str(rate), "-w", str(partial), text], check=True, timeout=60
    )
    partial.replace(target)


def sample_call(directory: Path | None = None) -> SampleCall:
    """The sample call's files, made with espeak-ng if missing."""
    directory = directory or samples_dir()
    directory.mkdir(parents=True, exist_ok=True)
    # Versioned names: a changed script makes new files instead of reusing old ones.
    sample = SampleCall(directory / "sample-call-v2.wav", directory / "voicemail-es-v2.wav")
    if not sample.call.is_file():
        _speak(CALL_SCRIPT, "en-us", sample.call, 140)
    if not sample.voicemail.is_file():
        _speak(VOICEMAIL_SCRIPT, "es", sample.voicemail, 120)  # slower: Whisper hears it
    return sample


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sample-call``."""
    p = sub.add_parser("sample-call", help="make the demo's sample call with espeak-ng")
    p.add_argument("--dir", help=f"where to write it (default {samples_dir()})")

    def run(args: argparse.Namespace) -> None:
        sample = sample_call(Path(args.dir) if args.dir else None)
        print(f"{sample.call}\n{sample.voicemail}")

    p.set_defaults(handler=run)
