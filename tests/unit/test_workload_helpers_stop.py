"""A workload's helper thread stops its model call between two tokens or steps once nobody
reads its output (``workloads.base.helper``).

``summarize`` writes each chunk's summary on a helper thread while the request's step passes
its progress on. When the client went away (the node closes the step's generator), the helper
went on writing until the completion ended or the request's deadline passed, holding the
language model, so that other requests waited for it. A streamed ``generate_image`` skipped its
remaining steps already, with a mechanism of its own; both now use the one helper, and an
image not streamed stops between two steps at its deadline too.

Real threads, the real ``Models.complete``/``Models.chat`` (llama.cpp engine) and
``imagegen.render``, over stand-in models that take one token or step at a time, when the test
lets them (no weights, no torch).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from llamakit import LlamaState
from nodekit import eventually
from privcloud.clock import FixedClock, SystemClock
from privcloud.wire.message import Event, EventKind, WorkloadRequest
from privcloud.workloads.base import Deadline, WorkloadRegistry
from privcloud.workloads.engine import local
from privcloud.workloads.imagegen import GenerateImageWorkload
from privcloud.workloads.model_names import GEMMA_270M, IMAGE, QWEN_1_5B
from privcloud.workloads.models import ModelConfig, Models
from privcloud.workloads.summarize import PROGRESS_EVERY, SummarizeWorkload

#: The longest a stand-in waits, so that no test can hang.
SAFETY_S = 10.0
#: A chat prompt as ``summarize`` sends the node's model (Qwen: the engine's ChatML path).
CHAT = [{"role": "system", "content": "Summarise."}, {"role": "user", "content": "A call."}]


class Gate:
    """Lets a stand-in model take one more token or step per :meth:`let`, none after
    :meth:`shut`."""

    def __init__(self) -> None:
        self._room = threading.Semaphore(0)
        self._shut = threading.Event()

    def let(self, count: int = 1) -> None:
        self._room.release(count)

    def shut(self) -> None:
        self._shut.set()
        self._room.release()

    def wait(self) -> bool:
        return self._room.acquire(timeout=SAFETY_S) and not self._shut.is_set()


class WritingLlm(LlamaState):
    """A stand-in llama.cpp model, for completions and chat: writes a token each time its gate
    lets it (``written`` counts them)."""

    def __init__(self) -> None:
        super().__init__()
        self.metadata = {"tokenizer.chat_template": "<|im_start|>{{ role }}"}
        self.gate = Gate()
        self.written = 0

    def _tokens(self) -> Iterator[int]:
        while self.gate.wait():
            self.written += 1
            yield 42

    def create_completion(self, prompt: list[int], **_: object) -> Iterator[dict[str, Any]]:
        return ({"choices": [{"text": " a"}]} for _ in self._tokens())

    def generate(self, prompt: list[int], **_: object) -> Iterator[int]:
        return self._tokens()

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        if special and text in (b"<|im_start|>", b"<|im_end|>"):
            return [1 if text == b"<|im_start|>" else 2]
        return [3] * (len(text) // 4 + 1)

    def detokenize(self, tokens: list[int], special: bool = False) -> bytes:
        return b" a"

    def token_eos(self) -> int:
        return 2

    def reset(self) -> None:
        pass

    def set_cache(self, cache: object) -> None:
        pass

    def set_seed(self, seed: int) -> None:
        pass


class Summarize:
    """The real ``SummarizeWorkload._generate``: a progress event per PROGRESS_EVERY tokens."""

    name, blocking = "summarize_generate", True

    def __init__(self, models: Models, model: str, prompt: str | list[dict[str, str]]) -> None:
        self.summarize = SummarizeWorkload(models)
        self.model, self.prompt = model, prompt

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        for item in self.summarize._generate(self.model, self.prompt, 256):
            if isinstance(item, int):
                yield Event(EventKind.PARTIAL, {"tokens": item})
        yield Event(EventKind.RESULT, {})


class SteppingPipe:
    """A stand-in diffusers pipeline: ``before_step(step)`` runs before each denoising step
    (False: no more steps); ``_interrupt`` skips the remaining ones, as in diffusers."""

    def __init__(self, before_step: Callable[[int], bool]) -> None:
        self.before_step = before_step
        self.steps = 0
        self._interrupt = False

    def __call__(self, *, num_inference_steps: int, callback_on_step_end: Any, **_: Any) -> Any:
        self._interrupt = False
        for step in range(num_inference_steps):
            if self._interrupt or not self.before_step(step):
                continue
            self.steps += 1
            callback_on_step_end(self, step, None, {})
        image = SimpleNamespace(save=lambda buffer, format: buffer.write(b"png"))
        return SimpleNamespace(images=[image])


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Models:
    models = Models(ModelConfig(cache_dir=tmp_path, image_model_dir=tmp_path))
    monkeypatch.setattr(models, "available", lambda: (GEMMA_270M, QWEN_1_5B, IMAGE))
    return models


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """``render`` seeds a torch generator for the pipeline, which the stand-in ignores."""
    generator = SimpleNamespace(manual_seed=lambda seed: None)
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(Generator=lambda device: generator))


def far_deadline() -> Deadline:
    return Deadline(at=time.time() + 60, clock=SystemClock())


def helper_alive(name: str) -> bool:
    return any(t.name == name and t.is_alive() for t in threading.enumerate())


@pytest.mark.parametrize(
    ("model", "prompt"), [(GEMMA_270M, "A call."), (QWEN_1_5B, CHAT)], ids=["complete", "chat"]
)
def test_a_summary_stops_writing_once_its_client_has_gone(
    models: Models, model: str, prompt: str | list[dict[str, str]]
) -> None:
    llm = WritingLlm()
    models._loaded[model] = llm
    local._EOG[llm] = frozenset()  # what llama.cpp's vocabulary says for this stand-in
    registry = WorkloadRegistry([Summarize(models, model, prompt)])  # type: ignore[list-item]
    events = registry.run(WorkloadRequest("summarize_generate", {}, stream=True), far_deadline())
    try:
        llm.gate.let(PROGRESS_EVERY)
        assert next(events).meta == {"tokens": PROGRESS_EVERY}
        events.close()  # the client went away
        llm.gate.let()  # the model could write on: it stops after this token
        assert eventually(lambda: not helper_alive("summarize-llm"))
        assert llm.written == PROGRESS_EVERY + 1
        assert not models._use_locks[model].locked()  # the model is free for others
        assert llm.cleared == 1  # ... cleared of the request first
    finally:
        llm.gate.shut()


@pytest.mark.usefixtures("no_torch")
def test_a_streamed_image_stops_between_steps_once_its_client_has_gone(models: Models) -> None:
    gate = Gate()
    pipe = SteppingPipe(lambda step: gate.wait())
    models._loaded[IMAGE] = pipe
    registry = WorkloadRegistry([GenerateImageWorkload(models)])
    request = WorkloadRequest("generate_image", {"prompt": "a cat", "steps": 50}, stream=True)
    events = registry.run(request, far_deadline())
    try:
        gate.let()
        assert next(events).meta == {"step": 1, "steps": 50}
        events.close()  # the client went away
        gate.let()  # the pipeline could go on: it stops after this step
        assert eventually(lambda: not helper_alive("privcloud-imagegen"))
        assert pipe.steps == 2
        assert not models._use_locks[IMAGE].locked()
    finally:
        gate.shut()


@pytest.mark.usefixtures("no_torch")
def test_an_image_stops_between_steps_at_its_deadline(models: Models) -> None:
    clock = FixedClock(1_000.0)

    def before_step(step: int) -> bool:
        if step == 3:
            clock.advance(60)  # the fourth step runs past the deadline
        return True

    pipe = SteppingPipe(before_step)
    models._loaded[IMAGE] = pipe
    registry = WorkloadRegistry([GenerateImageWorkload(models)])
    request = WorkloadRequest("generate_image", {"prompt": "a cat", "steps": 50})
    last = list(registry.run(request, Deadline(at=1_030.0, clock=clock)))[-1]
    assert (last.kind, last.meta["code"]) == (EventKind.ERROR, "timeout")
    assert pipe.steps == 4  # not the 46 steps after it
