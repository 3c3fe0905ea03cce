"""Speech out and guarded translation (issue 15). Prints ONE JSON line.

    .venv/bin/python bench/eval_speech.py [--quick] [--no-baseline] [--parts tts,translation]

1. **TTS intelligibility.** Sentences in en, es, fr, de, it and pt are spoken by the ``speak``
   workload (espeak-ng, resampled to 16 kHz in memory) and transcribed by Whisper base with the
   language given; ``tts_wer`` is the word error rate per language (case and punctuation
   ignored; the sentences have no numbers, so "3" against "three" never counts).
   ``tts_wer_engine_wav`` is the baseline measured in the same run: the engine's own 22.05 kHz
   WAV transcribed the same way (so the resampling is seen to cost nothing, or not).
   ``tts_seconds_per_sentence`` is the synthesis time (engine and resampling).
2. **Translation fact preservation.** Sentences with numbers, clock times, dates, weekdays,
   phone numbers and names, in several language pairs (:data:`PAIRS`), are translated by the
   ``translate`` workload in text mode with ``facts="flag"`` (so the model's own output after
   its one retry is kept and counted): ``facts_checked``, ``facts_preserved`` (share kept, by
   the fact checker), ``first_try_preserved`` (share kept without a retry), ``pieces_lost`` (the
   pieces that the default "withhold" policy would have answered with their source). The same
   for Gemma 3 270M, the node model before this issue, as the baseline (few-shot; only the
   pairs its examples cover). ``seconds_per_piece`` per model.
3. **The demo's voicemail** (Spanish speech into English; it was "give me your hand"): the
   text, its facts, and the seconds of the whole call.

Standalone: imports nothing from tests/.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from typing import Any

from human_speech import distance
from privcloud.cli.samples import VOICEMAIL_SCRIPT
from privcloud.wire.message import WorkloadRequest
from privcloud.workloads.models import GEMMA_270M, QWEN_1_5B, WHISPER_BASE, shared_models
from privcloud.workloads.speak import DEFAULT_RATE, SpeakWorkload
from privcloud.workloads.transcribe import TranscribeWorkload
from privcloud.workloads.translate import TranslateWorkload
from privcloud.workloads.translate_prompts import can_translate

TTS_SENTENCES = {
    "en": [
        "Please call the dentist on Thursday morning.",
        "The children are playing in the garden with their friends.",
    ],
    "es": [
        "Mi hermana trabaja en un hospital grande.",
        "Por favor, llámame esta tarde cuando llegues a casa.",
    ],
    "fr": [
        "Ma sœur travaille dans un grand hôpital.",
        "Les enfants jouent dans le jardin avec leurs amis.",
    ],
    "de": [
        "Meine Schwester arbeitet in einem großen Krankenhaus.",
        "Die Kinder spielen mit ihren Freunden im Garten.",
    ],
    "it": [
        "Mia sorella lavora in un grande ospedale.",
        "I bambini giocano in giardino con i loro amici.",
    ],
    "pt": [
        "A minha irmã trabalha num hospital grande.",
        "As crianças brincam no jardim com os amigos.",
    ],
}

#: Sentences with checkable facts, by source language.
FACT_SENTENCES = {
    "en": [
        "Hi, this is Maria Lopez from Northwind Travel.",
        "Can we meet on Monday at 3 pm to sign the contract?",
        "My number is 555-0142, and the deposit is 240 euros.",
        "Your flight to Lisbon leaves on March 14 at 10:30.",
    ],
    "es": [
        "Hola, soy Carlos. Mañana tenemos una reunión muy importante.",
        "La cita es el viernes 12 de junio a las 15:30.",
        "Mi número es 555-0142 y el total es de 1.200 euros.",
    ],
    "fr": [
        "Bonjour, ici Claire Martin de la banque.",
        "Le rendez-vous est mardi à 9h30, salle 204.",
        "Rappelez-moi au 06 12 34 56 78 avant le 3 mai.",
    ],
    "de": [
        "Das Paket kommt am Mittwoch zwischen 14 und 16 Uhr.",
        "Die Rechnung über 89 Euro ist bis zum 15. Juli fällig.",
    ],
}
#: (source, target) pairs measured: into English and between other languages.
PAIRS = [("es", "en"), ("en", "es"), ("fr", "en"), ("de", "en"), ("en", "fr"), ("es", "de")]
QUICK_PAIRS = [("es", "en"), ("en", "es")]


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


def wer(ref: str, hyp: str) -> float:
    r = words(ref)
    return distance(r, words(hyp)) / max(1, len(r))


def _result(workload: Any, feature: str, params: dict[str, Any], body: bytes) -> Any:
    events = list(workload.run(WorkloadRequest(feature, params, body)))
    return events[-1]


def _engine_wav(text: str, language: str, *, rate: int = 150) -> bytes:
    voice = {"en": "en-us", "fr": "fr-fr"}.get(language, language)
    exe = shutil.which("espeak-ng") or "espeak-ng"
    done = subprocess.run(  # a fixed program, our own sentences
        [exe, "-v", voice, "-s", str(rate), "-b", "1", "--stdout"],
        input=text.encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def tts(models: Any, languages: list[str], rate: int) -> dict[str, Any]:
    speak = SpeakWorkload(models)
    hear = TranscribeWorkload(models)
    ours: dict[str, list[float]] = {}
    engine: dict[str, list[float]] = {}
    seconds: list[float] = []
    for language in languages:
        for sentence in TTS_SENTENCES[language]:
            started = time.perf_counter()
            params = {"language": language, "rate": rate}
            wav = _result(speak, "speak", params, sentence.encode()).data
            seconds.append(time.perf_counter() - started)
            params = {"language": language, "model": WHISPER_BASE}
            heard = _result(hear, "transcribe", params, wav).meta["text"]
            ours.setdefault(language, []).append(wer(sentence, str(heard)))
            engine_wav = _engine_wav(sentence, language, rate=rate)
            raw = _result(hear, "transcribe", params, engine_wav).meta["text"]
            engine.setdefault(language, []).append(wer(sentence, str(raw)))

    def mean(table: dict[str, list[float]]) -> dict[str, float]:
        out = {k: round(sum(v) / len(v), 3) for k, v in table.items()}
        every = [x for v in table.values() for x in v]
        out["all"] = round(sum(every) / len(every), 3)
        return out

    return {
        "tts_wer": mean(ours),
        "tts_wer_engine_wav": mean(engine),
        "tts_seconds_per_sentence": round(sum(seconds) / len(seconds), 3),
        "tts_asr_model": WHISPER_BASE,
        "tts_rate_wpm": rate,
    }


def translation(models: Any, llm: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    workload = TranslateWorkload(models)
    checked = lost = retried = first_lost = pieces = pieces_lost = 0
    seconds = 0.0
    by_pair: dict[str, float] = {}
    samples: list[str] = []
    lost_kinds: dict[str, int] = {}
    losses: list[str] = []
    for source, target in pairs:
        if not can_translate(llm, source, target):
            continue
        pair_checked = pair_lost = 0
        for sentence in FACT_SENTENCES[source]:
            params = {
                "mode": "text",
                "source_language": source,
                "target_language": target,
                "model": llm,
                "facts": "flag",
            }
            meta = _result(workload, "translate", params, sentence.encode()).meta
            seconds += sum(float(s["seconds"]) for s in meta["steps"])
            for piece in meta["sentences"]:
                pieces += 1
                checked += piece["facts"]
                pair_checked += piece["facts"]
                missing = len(piece.get("lost", []))
                lost += missing
                pair_lost += missing
                retried += piece["status"] == "retried"
                pieces_lost += bool(missing)
                for fact in piece.get("lost", []):
                    lost_kinds[fact["kind"]] = lost_kinds.get(fact["kind"], 0) + 1
                if missing and len(losses) < 8:
                    what = ", ".join(f"{f['kind']} {f['text']!r}" for f in piece["lost"])
                    losses.append(f"{source}->{target}: {piece['text']} (lost {what})")
                # A retried piece lost at least one fact on its first try.
                first_lost += bool(missing) or piece["status"] == "retried"
            if len(samples) < 4:
                samples.append(f"{source}->{target}: {meta['text']}")
        by_pair[f"{source}-{target}"] = round(1 - pair_lost / max(1, pair_checked), 3)
    return {
        "facts_checked": checked,
        "facts_preserved": round(1 - lost / max(1, checked), 3),
        "first_try_pieces_losing_a_fact": first_lost,
        "pieces": pieces,
        "pieces_retried": retried,
        "pieces_lost": pieces_lost,
        "preserved_by_pair": by_pair,
        "lost_kinds": lost_kinds,
        "losses": losses,
        "seconds_per_piece": round(seconds / max(1, pieces), 2),
        "samples": samples,
    }


def voicemail(models: Any) -> dict[str, Any]:
    # As the demo makes it (privcloud.cli.samples): espeak-ng at 120 words per minute.
    wav = _engine_wav(VOICEMAIL_SCRIPT, "es", rate=120)
    started = time.perf_counter()
    meta = _result(TranslateWorkload(models), "translate", {"mode": "speech"}, wav).meta
    return {
        "voicemail_text": meta["text"],
        "voicemail_facts": meta["facts"],
        "voicemail_seconds": round(time.perf_counter() - started, 2),
        "voicemail_steps": [f"{s['task']}:{s['model']}" for s in meta["steps"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two languages and two pairs")
    parser.add_argument("--no-baseline", action="store_true", help="skip Gemma 3 270M")
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE, help="words per minute")
    parser.add_argument(
        "--parts", default="tts,translation,voicemail", help="which parts to run (comma-separated)"
    )
    args = parser.parse_args()
    models = shared_models()
    languages = ["en", "es"] if args.quick else list(TTS_SENTENCES)
    pairs = QUICK_PAIRS if args.quick else PAIRS
    figures: dict[str, Any] = {"bench": "eval_speech"}
    started = time.perf_counter()
    parts = set(args.parts.split(","))
    if "tts" in parts:
        figures.update(tts(models, languages, args.rate))
    if "translation" in parts:
        figures["translation"] = {QWEN_1_5B: translation(models, QWEN_1_5B, pairs)}
        if not args.no_baseline:
            figures["translation"][GEMMA_270M] = translation(models, GEMMA_270M, pairs)
    if "voicemail" in parts:
        figures.update(voicemail(models))
    figures["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures, ensure_ascii=False))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
