"""Benchmark of live call translation (issue 16): a two-speaker call played at real time through
the node's streaming pipeline. Prints ONE JSON line.

The call: an English speaker on channel 0 (the device user) and a Spanish speaker on channel 1,
taking turns (espeak-ng voices; no real recordings ship with the repository), translated into
each other's language. Both channels are fed in frames of ``limits.LIVE_FRAME_INTERVAL_MS`` at
the wall-clock pace of the call, as the node's session worker does: a feed that runs long (a
model call) delays the frames behind it, which then catch up.

Measured, per channel and for the whole call:

* lag from the end of each spoken word to its committed caption, to the translation that covers
  it, and to the synthesized speech of that translation (p50/p95, seconds; a word whose piece
  the fact check withheld has no speech and is counted under ``shown_not_spoken``). The baseline is
  the same run's offline pass: each channel's whole audio decoded once by the same Whisper
  model with word timestamps gives the word end times (and the reference transcript); live
  caption words are aligned to it (difflib) and a word counts when it was matched;
* WER of the live captions against that offline transcription (and against the script);
* compute: seconds spent inside feed() per second of call (above 1 the pipeline cannot keep up
  and every lag grows with the call), the longest single feed, and the machine's load average
  before and after (the lags are CPU-bound: on a shared machine they scale with its load).

The full private path (session, relay, gateway, constant-rate frames, bytes per second in speech
and silence) with this same call is ``bench/live_session.py --models``.

With ``--pace audio`` the call is fed as fast as the pipeline takes it and every lag is counted
in seconds of audio fed: the lag the commit policy itself adds (LocalAgreement, endpointing,
translation grouping), which real-time lag exceeds by the compute the machine needs.

    python bench/live_translation.py [--model qwen2.5-coder-1.5b-instruct|gemma-3-270m]
                                     [--pace real|audio] [--call travel|errand]
                                     [--no-phrasebook]

``--call errand`` plays a second call with more routine exchanges ("Hello?", "Great, thank
you very much.", "Vale, adiós."), which the phrasebook renders without the language model;
``--no-phrasebook`` sends those (and pieces that are only a clock time) to the model too (the
baseline for that comparison).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from human_speech import distance
from privcloud import limits
from privcloud.live import steps
from privcloud.live.output import AUDIO, CAPTION, TRANSLATION, LiveOutput
from privcloud.live.pipeline import Settings, make_pipeline
from privcloud.live.recognizer import LIVE_WHISPER
from privcloud.workloads import translate_pieces
from privcloud.workloads.models import Models

#: Words whose translation the fact check withheld: shown in the source language, not spoken.
#: Their figures are the translation's lag; ``n`` counts them.
UNSPOKEN = "shown_not_spoken"
#: Seconds between a word's end (offline) and the nearest translated span that still count it
#: as that piece's word (Whisper's word times differ by a few tenths between passes).
MATCH_S = 0.6

RATE = 16_000
#: (channel, language, text) turns of the call, in order.
TURNS = (
    (0, "en", "Hello, this is Anna from the travel office."),
    (1, "es", "Hola, buenos días. Gracias por llamar."),
    (0, "en", "Your train leaves tomorrow morning from the central station."),
    (1, "es", "¿A qué hora sale el tren exactamente?"),
    (0, "en", "It leaves early in the morning. Please bring your passport and your ticket."),
    (1, "es", "Perfecto, muchas gracias por su ayuda."),
)
#: A second call (``--call errand``): the same two languages, more of it routine exchanges
#: ("Hello?", "Great, thank you very much.") of the kind the phrasebook renders
#: (privcloud.workloads.translate_phrasebook).
ERRAND_TURNS = (
    (0, "en", "Hello?"),
    (1, "es", "Hola, buenos días. Soy Marta, de la farmacia."),
    (0, "en", "Oh, hello. Yes, of course."),
    (1, "es", "Su receta ya está lista. Puede pasar esta tarde."),
    (0, "en", "Great, thank you very much."),
    (1, "es", "De nada. ¿Necesita algo más?"),
    (0, "en", "No, that's all. Thanks, bye."),
    (1, "es", "Vale, adiós."),
)
CALLS = {"travel": TURNS, "errand": ERRAND_TURNS}
LANGUAGES = ("en", "es")
TARGETS = ("es", "en")
GAP_S = 1.0
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _wer(ref: list[str], hyp: list[str]) -> float:
    return distance(ref, hyp) / max(1, len(ref))


def build_call(
    voices: str = "espeak", turns: tuple[tuple[int, str, str], ...] = TURNS
) -> tuple[list[np.ndarray], list[str]]:
    """Each channel's audio (float32, same length) and script text. ``voices="human"``: the
    English turns are real recordings instead (bench/human_speech.py's LibriVox readings, in
    order, with their transcripts as the script); the Spanish ones stay espeak-ng's."""
    human = []
    if voices == "human":
        from human_speech import archive_path, fetch, load  # noqa: PLC0415

        if not archive_path().exists():
            fetch(archive_path())
        human = [u for u in load() if u.set == "librivox"]
    tracks: list[list[np.ndarray]] = [[], []]
    scripts = ["", ""]
    for channel, language, script in turns:
        text, pcm = script, b""
        if human and language == "en":
            utterance = human.pop(0)
            text, pcm = utterance.text, utterance.pcm
        pcm = pcm or steps.synthesize(text, language)
        speech = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        gap = np.zeros(int(GAP_S * RATE), dtype=np.float32)
        tracks[channel] += [speech, gap]
        tracks[1 - channel] += [np.zeros(len(speech), dtype=np.float32), gap]
        scripts[channel] += " " + text
    lead = np.zeros(int(0.5 * RATE), dtype=np.float32)
    return [np.concatenate([lead, *t]) for t in tracks], [s.strip() for s in scripts]


@dataclass(frozen=True)
class RefWord:
    text: str
    end: float


def offline_words(models: Models, audio: np.ndarray, language: str) -> list[RefWord]:
    """The whole channel decoded once (same model, word timestamps): the reference."""
    with models.use(LIVE_WHISPER) as whisper:
        segments, _ = whisper.transcribe(
            audio,
            language=language,
            beam_size=1,
            temperature=0.0,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad_filter=True,
        )
        out = []
        for seg in segments:
            for w in seg.words or ():
                out += [RefWord(k, float(w.end)) for k in _words(str(w.word))]
    return out


def play(
    pipeline: Any, tracks: list[np.ndarray], *, real_time: bool = True
) -> tuple[list[tuple[float, LiveOutput]], dict[str, float]]:
    """Feed both channels at real time; every output with its wall time since the call began.
    ``real_time=False``: as fast as it goes, every output at the audio time fed so far (what the
    policy alone costs, as if every model call took no time)."""
    frame = RATE * limits.LIVE_FRAME_INTERVAL_MS // 1000
    pcm = [(np.clip(t, -1, 1) * 32767).astype("<i2").tobytes() for t in tracks]
    frames = len(tracks[0]) // frame
    got: list[tuple[float, LiveOutput]] = []
    busy, longest = 0.0, 0.0
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for i in range(frames):
        due = t0 + (i + 1) * frame / RATE  # the frame's last sample has been spoken
        wait = due - time.perf_counter()
        if wait > 0 and real_time:
            time.sleep(wait)
        for channel in (0, 1):
            chunk = pcm[channel][2 * i * frame : 2 * (i + 1) * frame]
            started = time.perf_counter()
            out = pipeline.feed(channel, chunk)
            took = time.perf_counter() - started
            busy += took
            longest = max(longest, took)
            at = time.perf_counter() - t0 if real_time else (i + 1) * frame / RATE
            got += [(at, o) for o in out]
    started = time.perf_counter()
    call_s = frames * frame / RATE
    got += [(time.perf_counter() - t0 if real_time else call_s, o) for o in pipeline.flush()]
    return got, {
        "call_s": round(call_s, 2),
        "feed_busy_per_s": round(busy / call_s, 3),
        # CPU of every thread of the process (feeds, the translation worker, the models' own
        # threads) per second of call: above the machine's cores it cannot keep up.
        "cpu_per_s": round((time.process_time() - cpu0) / call_s, 3),
        "longest_feed_s": round(longest, 3),
        "flush_s": round(time.perf_counter() - started, 3),
    }


def _pct(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3), "n": len(ordered)}


def lags(
    channel: int, got: list[tuple[float, LiveOutput]], ref: list[RefWord]
) -> tuple[dict[str, list[float]], str]:
    """Per matched reference word: caption, translation and audio lag; and the live caption."""
    outs = [(t, o) for t, o in got if o.channel == channel]
    live: list[tuple[str, float]] = []  # word, emitted at
    for t, o in outs:
        if o.kind == CAPTION:
            live += [(w, t) for w in _words(o.text)]

    translations = [(t, o) for t, o in outs if o.kind == TRANSLATION]

    def translation_of(word_end: float) -> tuple[float, LiveOutput] | None:
        # The piece whose span of audio holds the word's end (offline, so the same clock as
        # the live word times, within Whisper's timing jitter), else the nearest within
        # MATCH_S. (Matching by the caption's end instead gave the first piece's words of a
        # caption holding two pieces the second piece's lag.)
        def gap(item: tuple[float, LiveOutput]) -> float:
            o = item[1]
            return max(0.0, o.start_s - word_end, word_end - o.end_s)

        best = min(translations, key=gap, default=None)
        return best if best is not None and gap(best) <= MATCH_S else None

    def speech_of(translation: LiveOutput) -> float | None:
        # The speech of that translation: its first record has the same span. A piece the
        # fact check withheld is shown, not spoken, and has none: the word is counted in
        # UNSPOKEN, not given the lag of the next piece that was spoken.
        span = (translation.start_s, translation.end_s)
        return next((t for t, o in outs if o.kind == AUDIO and (o.start_s, o.end_s) == span), None)

    result: dict[str, list[float]] = {CAPTION: [], TRANSLATION: [], AUDIO: [], UNSPOKEN: []}
    matcher = difflib.SequenceMatcher(a=[r.text for r in ref], b=[w for w, _ in live])
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            r, (_, emitted) = ref[block.a + k], live[block.b + k]
            result[CAPTION].append(emitted - r.end)
            found = translation_of(r.end)
            if found is None:
                continue
            result[TRANSLATION].append(found[0] - r.end)
            spoken_at = speech_of(found[1])
            if spoken_at is None:
                result[UNSPOKEN].append(found[0] - r.end)
            else:
                result[AUDIO].append(spoken_at - r.end)
    return result, " ".join(w for w, _ in live)


def _settings(pairs: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as Settings fields, each of its field's type."""
    fields = {f.name: type(getattr(Settings(), f.name)) for f in dataclasses.fields(Settings)}
    out: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in fields:
            raise SystemExit(f"no setting {name!r}; settings: {', '.join(fields)}")
        if fields[name] is bool:
            if value not in ("true", "false"):
                raise SystemExit(f"{name} is true or false")
            out[name] = value == "true"
        else:
            out[name] = fields[name](value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="language model for translation")
    parser.add_argument(
        "--pace",
        choices=("real", "audio"),
        default="real",
        help="real: at real time, lags in wall seconds; audio: as fast as it goes, lags in "
        "seconds of audio fed (the policy's own lag, as if models took no time)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a pipeline setting other than its default (privcloud.live.channel.Settings), "
        "e.g. --set decode_every_s=0.5; repeatable",
    )
    parser.add_argument(
        "--voices",
        choices=("espeak", "human"),
        default="espeak",
        help="human: the English speaker is real recordings (LibriVox readings)",
    )
    parser.add_argument("--call", choices=sorted(CALLS), default="travel")
    parser.add_argument(
        "--no-phrasebook",
        action="store_true",
        help="the baseline: every piece to the language model (formulas and times too)",
    )
    args = parser.parse_args()
    if args.no_phrasebook:
        translate_pieces.without_model = lambda *_: None
        translate_pieces.time_and_rest = lambda *_: None
    real_time = args.pace == "real"
    models = Models()
    tracks, scripts = build_call(args.voices, CALLS[args.call])
    chosen = _settings(args.set)
    # At audio pace a decode every interval of audio, however long decodes take here.
    if not real_time:
        chosen["max_decode_every_s"] = chosen.get("decode_every_s", Settings().decode_every_s)
    settings = Settings(**chosen) if chosen else None
    pipeline = make_pipeline(
        models,
        LANGUAGES,
        TARGETS,
        translation_model=args.model,
        settings=settings,
        translate_on_worker=real_time,
    )
    streams = cast(Any, pipeline).channels  # the node's pipeline (make_pipeline's) has them
    # Warm every model first (loading is not part of a call's lag).
    with models.use(LIVE_WHISPER):
        pass
    for target in TARGETS:
        # A sentence with a name: formulas alone ("Hello.") never reach the language model.
        steps.Translator(models, args.model)("Hello, Anna.", "en", target)
    load_before = os.getloadavg()[0]
    got, compute = play(pipeline, tracks, real_time=real_time)
    report: dict[str, Any] = {
        "bench": "live_translation",
        "pace": args.pace,
        "voices": args.voices,
        "call": args.call,
        "phrasebook": not args.no_phrasebook,
        "settings": dataclasses.asdict(settings or Settings()),
        **compute,
        # Everything here is CPU-bound: on a shared machine the lags scale with its load.
        "cpus": os.cpu_count(),
        "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "channels": {},
    }
    all_lags: dict[str, list[float]] = {CAPTION: [], TRANSLATION: [], AUDIO: [], UNSPOKEN: []}
    for channel, language in enumerate(LANGUAGES):
        ref = offline_words(models, tracks[channel], language)
        per, caption = lags(channel, got, ref)
        ref_words = [r.text for r in ref]
        report["channels"][str(channel)] = {
            "language": language,
            "target": TARGETS[channel],
            "words_offline": len(ref),
            "words_matched": len(per[CAPTION]),
            "wer_vs_offline": round(_wer(ref_words, _words(caption)), 3),
            "wer_offline_vs_script": round(_wer(_words(scripts[channel]), ref_words), 3),
            "wer_live_vs_script": round(_wer(_words(scripts[channel]), _words(caption)), 3),
            **{f"lag_{kind}_s": _pct(values) for kind, values in per.items()},
            "translations": sum(
                1 for _, o in got if o.channel == channel and o.kind == TRANSLATION
            ),
            # Pieces translated ahead of their commit, and how many a commit then used.
            "guesses": streams[channel].guesses[0],
            "guesses_used": streams[channel].guesses[1],
        }
        for kind, values in per.items():
            all_lags[kind] += values
    report.update({f"lag_{kind}_s": _pct(values) for kind, values in all_lags.items()})
    report["targets"] = {"translation_p50_s": 2.0, "audio_p50_s": 3.0}
    report["translation_model"] = args.model or "live default (models.LIVE_TRANSLATION)"
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
