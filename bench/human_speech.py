"""Word error rate on real human speech (issue 15). Prints ONE JSON line.

    .venv/bin/python bench/human_speech.py [--models whisper-tiny.en,whisper-base]

No recording of real human speech ships in ../shared/vectors or in a model package. The source
distribution of PocketSphinx 5.1.1 on PyPI (:data:`SDIST`, MIT licence, SHA-256 pinned in
:data:`SDIST_SHA256`) carries two sets of real recordings with their reference transcripts in
its test data, and these are what this reads (in memory, straight from the archive; nothing is
extracted or copied into this repository):

* ``librivox``: five utterances of LibriVox's public-domain reading of *Sense and
  Sensibility*, chapter 1 (one adult reader, read speech, 16 kHz), with
  ``test/data/librivox/transcription``;
* ``cards``: five short utterances of playing cards ("eight of spades four of clubs seven of
  hearts"), spoken by a person into an ordinary microphone, with
  ``test/data/cards/cards.transcription``.

Each utterance goes through the ``transcribe`` workload (the node's code, language given as
English) for every Whisper model named, and ``wer`` is the corpus word error rate per set and
model: Levenshtein distance over all words of the set divided by its reference words, after one
normalisation on both sides: lower case, punctuation dropped, hyphens split ("ill-disposed"),
numbers written in words ("10" -> "ten", as the references spell them), and the two titles
Whisper abbreviates ("Mr." -> "mister", "Mrs." -> "missus"). ``rtf`` is the compute time over
the audio's length. The baseline measured in the same run is the espeak-ng voice speaking the
same reference sentences (``espeak_wer``): the gap between the two is what espeak-only
measurements miss.

The archive is looked up at ``$PRIVCLOUD_HUMAN_SPEECH`` or :data:`DEFAULT_ARCHIVE` (``make
setup`` puts it there) and fetched with pip when missing (``--fetch``, the default here).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privcloud.wire.message import EventKind, WorkloadRequest
from privcloud.workloads.models import shared_models
from privcloud.workloads.speak import pcm_to_wav, synthesize
from privcloud.workloads.text.numbers import spell_number
from privcloud.workloads.transcribe import TranscribeWorkload

#: The PyPI source distribution whose test data holds the recordings.
SDIST = "pocketsphinx==5.1.1"
SDIST_FILE = "pocketsphinx-5.1.1.tar.gz"
SDIST_SHA256 = "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ARCHIVE = ROOT / ".venv" / "share" / "privcloud" / SDIST_FILE
_PREFIX = "pocketsphinx-5.1.1/test/data/"
#: Set name -> (folder in the archive, transcription file in it).
SETS = {"librivox": ("librivox", "transcription"), "cards": ("cards", "cards.transcription")}
_LINE = re.compile(r"^<s>\s*(.*?)\s*</s>\s*\(([\w.-]+)\)\s*$")
_TITLES = {"mr": "mister", "mrs": "missus"}
RATE = 16_000


@dataclass(frozen=True)
class Utterance:
    set: str
    name: str
    text: str
    pcm: bytes  # 16 kHz mono s16le

    @property
    def seconds(self) -> float:
        return len(self.pcm) / (2 * RATE)


def archive_path() -> Path:
    return Path(os.environ.get("PRIVCLOUD_HUMAN_SPEECH") or DEFAULT_ARCHIVE)


def fetch(path: Path) -> None:
    """Download :data:`SDIST` with pip into ``path``'s folder (the project's only source)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
         ":all:", SDIST, "-d", str(path.parent)],
        check=True,
    )  # fmt: skip


def load(path: Path | None = None) -> list[Utterance]:
    """Every utterance of :data:`SETS`, read from the archive after its SHA-256 is checked."""
    path = path or archive_path()
    blob = path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != SDIST_SHA256:
        raise ValueError(f"{path} is not {SDIST_FILE} (SHA-256 differs)")
    out: list[Utterance] = []
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:

        def member(name: str) -> bytes:
            handle = tar.extractfile(_PREFIX + name)
            if handle is None:
                raise ValueError(f"{name} missing from {SDIST_FILE}")
            return handle.read()

        for set_name, (folder, listing) in SETS.items():
            for line in member(f"{folder}/{listing}").decode().splitlines():
                found = _LINE.match(line.strip())
                if not found:
                    continue
                text, name = found.groups()
                with wave.open(io.BytesIO(member(f"{folder}/{name}.wav"))) as wav:
                    if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (
                        RATE,
                        1,
                        2,
                    ):
                        raise ValueError(f"{name}.wav is not 16 kHz mono 16-bit")
                    pcm = wav.readframes(wav.getnframes())
                out.append(Utterance(set_name, name, text, pcm))
    return out


def normalise(text: str) -> list[str]:
    """The words compared (see the module docstring)."""
    words: list[str] = []
    for token in re.findall(r"[^\W_]+(?:'[^\W_]+)?", text.lower().replace("-", " ")):
        if token.isdigit() and len(token) < 7:
            words += spell_number(int(token)).replace("-", " ").split()
        else:
            words.append(_TITLES.get(token, token))
    return words


def distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance over words (substitutions, deletions, insertions); the benches'
    one word error count (bench/live_translation.py and bench/eval_speech.py use it too)."""
    previous = list(range(len(hyp) + 1))
    for i, rw in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, hw in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (rw != hw))
        previous = current
    return previous[-1]


def corpus_wer(pairs: list[tuple[str, str]]) -> float:
    """Word error rate of (reference, hypothesis) pairs, over all their words together."""
    errors = sum(distance(normalise(r), normalise(h)) for r, h in pairs)
    return round(errors / max(1, sum(len(normalise(r)) for r, _ in pairs)), 4)


def transcribe_all(models: Any, model: str, utterances: list[Utterance]) -> tuple[list[str], float]:
    """Each utterance through the ``transcribe`` workload; the texts and the compute seconds."""
    workload = TranscribeWorkload(models)
    texts: list[str] = []
    started = time.perf_counter()
    for utt in utterances:
        body = pcm_to_wav(utt.pcm)
        request = WorkloadRequest("transcribe", {"language": "en", "model": model}, body)
        result = [e for e in workload.run(request) if e.kind is EventKind.RESULT]
        texts.append(str(result[-1].meta.get("text", "")) if result else "")
    return texts, time.perf_counter() - started


def espeak_utterances(utterances: list[Utterance]) -> list[Utterance]:
    """The same references spoken by espeak-ng (the ``speak`` workload's engine): the baseline."""
    return [Utterance(u.set, u.name, u.text, synthesize(u.text, "en")) for u in utterances]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="whisper-tiny.en,whisper-base")
    parser.add_argument("--no-fetch", action="store_true", help="fail when the archive is missing")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    path = archive_path()
    if not path.exists() and not args.no_fetch:
        fetch(path)
    utterances = load(path)

    models = shared_models()
    figures: dict[str, Any] = {
        "bench": "human_speech",
        "source": f"{SDIST} sdist test data (sha256 {SDIST_SHA256[:16]}...)",
        "sets": {
            name: {
                "utterances": sum(u.set == name for u in utterances),
                "seconds": round(sum(u.seconds for u in utterances if u.set == name), 1),
                "reference_words": sum(len(normalise(u.text)) for u in utterances if u.set == name),
            }
            for name in SETS
        },
    }
    synthetic = [] if args.no_baseline else espeak_utterances(utterances)
    for model in args.models.split(","):
        texts, seconds = transcribe_all(models, model, utterances)
        row: dict[str, Any] = {
            "wer": {
                name: corpus_wer(
                    [(u.text, t) for u, t in zip(utterances, texts, strict=True) if u.set == name]
                )
                for name in SETS
            },
            "wer_all": corpus_wer([(u.text, t) for u, t in zip(utterances, texts, strict=True)]),
            "rtf": round(seconds / sum(u.seconds for u in utterances), 3),
            "examples": [
                {"reference": u.text, "heard": t}
                for u, t in zip(utterances, texts, strict=True)
                if normalise(u.text) != normalise(t)
            ][:3],
        }
        if synthetic:
            heard, _ = transcribe_all(models, model, synthetic)
            row["espeak_wer_all"] = corpus_wer(
                [(u.text, t) for u, t in zip(synthetic, heard, strict=True)]
            )
        figures[model] = row
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
