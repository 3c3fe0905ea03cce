"""Statelessness: a canary sent through every AI feature never appears in any log line, file
written, or metric of any service, and no service opens a file for writing while serving.

The whole local cloud (relay, gateway, issuer, log, witness, three nodes) runs in this process,
so one audit hook (PEP 578) sees every file the services open, one logging handler at DEBUG
sees every log record, and ``capfd`` sees what native code (llama.cpp, CTranslate2) prints.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aikit import models, needs_ai
from privcloud.localcloud.cloud import LocalCloud, NodeSpec
from privcloud.sdk import Client
from privcloud.trust.admission import ClientPolicy

pytestmark = [needs_ai, pytest.mark.slow]

#: Spoken canary (transcribed by Whisper), and the written one for text features.
SPOKEN = "tangerine"
CANARY = "CANARY-5e1f0a77"

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class _WriteWatch:
    """An audit hook (PEP 578; hooks cannot be removed, so it is switched by a flag) recording
    every file opened for writing and every file-system change while armed."""

    _installed: _WriteWatch | None = None

    def __init__(self) -> None:
        self.armed = False
        self.events: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @classmethod
    def get(cls) -> _WriteWatch:
        if cls._installed is None:
            cls._installed = cls()
            sys.addaudithook(cls._installed._hook)
        return cls._installed

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.armed:
            return
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            # An int is a descriptor opened before (its own "open" event named the file, if
            # it was one): wrapping it creates nothing. The live pipeline's process is started
            # that way (multiprocessing writes its start-up data to a pipe).
            if writing and path is not None and not isinstance(path, int):
                with self._lock:
                    self.events.append((event, str(path)))
        elif event in ("os.rename", "os.remove", "os.mkdir", "os.truncate", "shutil.copyfile"):
            with self._lock:
                self.events.append((event, str(args[0])))

    def arm(self) -> None:
        with self._lock:
            self.events.clear()
        self.armed = True

    def disarm(self) -> list[tuple[str, str]]:
        self.armed = False
        with self._lock:
            return list(self.events)


class _AllRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if record.exc_info and record.exc_info[1] is not None:
            self.lines.append(repr(record.exc_info[1]))


@pytest.fixture
def all_logs() -> Iterator[_AllRecords]:
    handler = _AllRecords()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def _image_model(tmp_path: Path) -> Path | None:
    try:
        from imagekit import build_tiny_pipeline
    except ImportError:
        return None
    directory = tmp_path / "tiny-sd"
    build_tiny_pipeline(directory)
    return directory


def _files_containing(root: Path, needle: bytes) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            try:
                if needle in path.read_bytes():
                    hits.append(str(path))
            except OSError:
                continue
    return hits


def _erase_body() -> bytes:
    """A photo whose PNG text chunk carries the canary (metadata a node decodes and must neither
    log nor copy) with a mask of a square to erase."""
    import io

    from PIL import Image, PngImagePlugin

    from privcloud.workloads.erase import encode_body

    photo, info = Image.new("RGB", (64, 48), (90, 140, 200)), PngImagePlugin.PngInfo()
    info.add_text("Comment", CANARY)
    mask = Image.new("L", (64, 48), 0)
    mask.paste(255, (20, 16, 36, 32))
    files = [io.BytesIO(), io.BytesIO()]
    photo.save(files[0], format="PNG", pnginfo=info)
    mask.save(files[1], format="PNG")
    return encode_body(files[0].getvalue(), files[1].getvalue())


async def test_canary_never_reaches_logs_files_or_metrics(
    tmp_path: Path, all_logs: _AllRecords, capfd: pytest.CaptureFixture[str]
) -> None:
    from privcloud.workloads.models import ModelConfig, Models
    from speech import speak

    base = models()
    image_dir = _image_model(tmp_path)
    served = (
        Models(ModelConfig(cache_dir=base.config.cache_dir, image_model_dir=image_dir))
        if image_dir is not None
        else base
    )
    data_dir = tmp_path / "cloud-data"
    nodes = [NodeSpec("node-1", "eu-west"), NodeSpec("node-2", "us-east")]
    spoken = speak(f"Please remember the word {SPOKEN}. It is the code for the meeting.")
    note = (
        f"Call with Maria about {CANARY}. We agreed to meet on Monday at 10:30 to sign the "
        f"{CANARY} contract. Maria will send the draft to the team by Friday."
    )
    requests: list[tuple[str, dict[str, Any], bytes]] = [
        ("transcribe", {"language": "en"}, spoken),
        ("translate", {"mode": "speech"}, spoken),
        ("translate", {"mode": "text", "source_language": "es"}, f"Hola {CANARY}.".encode()),
        ("summarize", {}, note.encode()),
        ("extract", {"reference_time": "2026-11-20T09:00:00+00:00"}, note.encode()),
        # Object erase: OpenCV, decoded and encoded in memory; no metadata copied.
        ("erase", {"method": "telea"}, _erase_body()),
        # The private assistant (in-process llama.cpp engine; SmolLM2 to stay short).
        (
            "chat",
            {
                "messages": [{"role": "user", "content": f"Repeat this code: {CANARY}"}],
                "model": "smollm2-135m-instruct",
                "max_tokens": 16,
            },
            b"",
        ),
        # espeak-ng, a child process: its text goes through a pipe, its WAV comes back on one.
        ("speak", {"language": "en"}, f"Say {CANARY} out loud.".encode()),
        (
            "search",
            {},
            json.dumps(
                {"query": f"{CANARY} contract", "items": [{"id": "a", "text": note}]}
            ).encode(),
        ),
    ]
    if image_dir is not None:
        requests.append(
            (
                "generate_image",
                {"prompt": f"a {CANARY}", "steps": 2, "width": 64, "height": 64},
                b"",
            )
        )

    watch = _WriteWatch.get()
    cloud = LocalCloud(nodes=nodes, data_dir=str(data_dir), models=served)
    async with cloud:
        # Load models before arming, so only serving is watched.
        async with Client(
            cloud.relay_url,
            policy=ClientPolicy.insecure_local_dev(),
            wallet=cloud.new_wallet(batch_size=len(requests) + 2),
            trust=cloud.client_trust(),
        ) as client:
            await client.call("echo", {}, b"warm-up")
            served.warm(served.available())
            armed_at = time.time()
            watch.arm()
            try:
                answers = {}
                for feature, params, body in requests:
                    result = await client.call(feature, params, body)
                    answers[feature] = result
                # Live call translation (ADR 0023): the spoken canary through a private session.
                live_captions = await _live_captions(client, spoken, until="meeting")
            finally:
                written = watch.disarm()
        metrics = [cloud.relay.metrics.render(), cloud.gateway.metrics.render()]  # type: ignore[union-attr]
        metrics += [node.metrics.render() for node in cloud.node_objects]

    # The canary went through: the features really saw it.
    assert SPOKEN.lower() in str(answers["transcribe"].meta["text"]).lower()
    assert any(r["id"] == "a" for r in answers["search"].meta["results"])
    assert answers["erase"].meta["masked_pixels"] == 16 * 16
    assert CANARY.encode() not in answers["erase"].data
    # The live session carried the speech (its streaming captions may spell the canary word
    # otherwise: "remember" stands for them in the log check).
    assert "remember" in live_captions.lower() and "meeting" in live_captions.lower()
    assert not [line for line in all_logs.lines if "remember" in line.lower()], "live caption"
    assert answers["speak"].data.startswith(b"RIFF") and answers["speak"].meta["duration"] > 1

    out, err = capfd.readouterr()
    for needle in (SPOKEN, CANARY):
        assert not [line for line in all_logs.lines if needle in line], "canary in a log line"
        assert needle not in out and needle not in err, "canary in process output"
        assert not [m for m in metrics if needle in m], "canary in a metric"
        assert not _files_containing(data_dir, needle.encode()), "canary in a service's file"
    assert written == [], f"files written while serving: {written}"
    # The model cache is read-only while serving (it holds vocabularies: no content scan).
    changed = [p for p in base.config.cache_dir.rglob("*") if p.stat().st_mtime >= armed_at]
    assert changed == [], f"model cache changed while serving: {changed}"


def test_the_write_watch_sees_python_file_writes(tmp_path: Path) -> None:
    """The audit hook above is what proves "no file written": show that it can fail."""
    watch = _WriteWatch.get()
    watch.arm()
    try:
        (tmp_path / "leak.txt").write_text(CANARY)
        os.close(os.open(tmp_path / "leak2", os.O_WRONLY | os.O_CREAT, 0o600))
        (tmp_path / "leak.txt").read_text()  # reading is not writing
    finally:
        written = watch.disarm()
    assert [path for _, path in written] == [str(tmp_path / "leak.txt"), str(tmp_path / "leak2")]


#: A node's order: its models set up first, diffusers and transformers imported later (at the
#: first image model), each setting its own logger's level when imported.
_LIBRARIES_AFTER_THE_MODELS = """
import logging
from privcloud.workloads.models import shared_models
shared_models()
import diffusers, transformers
print([logging.getLogger(n).isEnabledFor(logging.WARNING) for n in ("diffusers", "transformers")])
"""


def test_model_libraries_cannot_log_request_facts() -> None:
    """faster-whisper logs each clip's duration and language at INFO, diffusers quotes cut
    prompts at WARNING: their loggers stay above that for the whole process, also when diffusers
    and transformers are first imported after the models were set up (they set their own level
    then: a fresh interpreter, as this one may have imported them already)."""
    models()
    assert not logging.getLogger("faster_whisper").isEnabledFor(logging.INFO)
    # Not what models() set in this process's environment: the child sets up its own.
    env = {k: v for k, v in os.environ.items() if not k.endswith("_VERBOSITY")}
    result = subprocess.run(
        [sys.executable, "-c", _LIBRARIES_AFTER_THE_MODELS],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[False, False]"


async def _live_captions(client: Client, wav: bytes, *, until: str) -> str:
    """Play ``wav`` at real time through a live session (English, no translation: captions
    only), then silence until a caption has the word ``until`` (at most a minute); returns
    the captions that came back."""
    import asyncio

    from privcloud.sdk.live import LiveCall
    from privcloud.workloads.audio import decode_audio

    samples = decode_audio(wav).samples
    pcm = bytes((samples.clip(-1, 1) * 32767).astype("<i2").tobytes())
    captions: list[str] = []
    async with LiveCall(client, languages=("en", "en"), targets=("en", "en")) as call:

        async def watch() -> None:
            async for event in call.events():
                if event.kind == "caption":
                    captions.append(event.text)

        watcher = asyncio.ensure_future(watch())
        for i in range(0, len(pcm), 6400):  # 0.2 s at a time, at real time
            call.feed(0, pcm[i : i + 6400])
            await asyncio.sleep(0.2)
        # The line stays open (silence, as a microphone sends) until the captions came.
        for _ in range(300):
            if until in " ".join(captions).lower():
                break
            call.feed(0, bytes(6400))
            await asyncio.sleep(0.2)
        await call.end()
        await watcher
    return " ".join(captions)
