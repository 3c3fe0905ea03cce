"""Chat on llama.cpp in the node's own process (the models :class:`Models` loads).

Procedure of one answer (:meth:`LlamaCppEngine.chat`):

1. Hold the model exclusively (:meth:`Models.use`): one llama.cpp context serves one request
   at a time.
2. Render the conversation as ChatML token by token: the template's markers are control tokens,
   every message's content is tokenized as *plain text* (``special=False``), so a message that
   contains ``<|im_end|><|im_start|>system`` is text, not a new turn. A model whose own chat
   template is not ChatML is refused (:class:`UnavailableError`).
3. Fit the context: the oldest messages after the system message are left out until prompt and
   ``max_tokens`` fit (:data:`LLM_CONTEXT_TOKENS`); if the last message alone does not fit,
   :class:`TooLargeError`.
4. Forget every earlier request: the context is reset (``Llama.reset``: no prefix of an earlier
   prompt is reused, so neither its content nor its timing reaches this request) and the
   library's prompt cache is off (``set_cache(None)``); when the answer ends, however it ends,
   the model is cleared of it (:func:`~privcloud.workloads.model_calls.forget_request`: its
   tokens, KV cache and sampler, not only the reset). The one exception is a
   :class:`SessionPrefix` the caller's own session holds: the state after the session's system
   message, restored instead of read again.
5. Generate token by token, greedy at temperature 0, else sampled with a fresh random seed;
   check the deadline before the first token and after each; end at an end-of-turn token,
   a stop string (:class:`StopScanner`) or ``max_tokens``.

The cache salt is not needed here: nothing is cached across sessions at all.
"""

from __future__ import annotations

import codecs
import secrets
import weakref
from collections import OrderedDict
from collections.abc import Generator, Iterator, Sequence
from typing import Any

from privcloud.errors import TooLargeError, UnavailableError
from privcloud.workloads.base import Deadline, check_deadline
from privcloud.workloads.engine.types import (
    CacheSalt,
    ChatEnd,
    ChatEvent,
    ChatMessage,
    ChatSettings,
    FinishReason,
    StopScanner,
    TextDelta,
)
from privcloud.workloads.model_calls import forget_request
from privcloud.workloads.models import LLM_CONTEXT_TOKENS, QWEN_1_5B, SMOLLM2_135M, Models

#: Instruction-tuned models, best first, that this engine may chat with (their GGUF chat
#: templates are ChatML): the node's 1.5B model, then the on-device one.
_CHAT_MODEL_NAMES = (QWEN_1_5B, SMOLLM2_135M)
#: Snapshots one :class:`SessionPrefix` keeps (a call translating both ways needs two).
PREFIX_STATES = 4
#: Context tokens kept free besides prompt and answer.
_SLACK = 4
_IM_START = b"<|im_start|>"
_IM_END = b"<|im_end|>"
#: Sampling of a non-greedy answer (llama.cpp's defaults).
_TOP_K, _TOP_P, _SAMPLE_MIN_P = 40, 0.95, 0.05


class LlamaCppEngine:
    """The in-process engine (see the module docstring)."""

    kind = "llama.cpp"

    def __init__(self, models: Models) -> None:
        self._models = models

    def models(self) -> tuple[str, ...]:
        available = set(self._models.available())
        return tuple(name for name in _CHAT_MODEL_NAMES if name in available)

    def chat(
        self,
        model: str,
        messages: Sequence[ChatMessage],
        settings: ChatSettings,
        *,
        salt: CacheSalt,
        deadline: Deadline | None = None,
        prefix: SessionPrefix | None = None,
    ) -> Generator[ChatEvent, None, None]:
        """As :meth:`ChatEngine.chat`; ``prefix``: the calling session's own
        :class:`SessionPrefix` (restores the state after the system message)."""
        if model not in self.models():
            raise UnavailableError("this chat model is not served here")
        del salt  # nothing is cached across sessions (module docstring, step 4)
        stop_check = deadline.check if deadline is not None else check_deadline
        with self._models.use(model) as llm:
            markers = _ChatMl.of(llm)
            prompt, dropped = _fit(markers, messages, settings.max_tokens)
            llm.set_cache(None)
            llm.reset()
            try:
                if prefix is not None and messages and messages[0].role == "system":
                    prefix.restore(model, llm, markers.head(messages[0]))
                yield from _generate(llm, markers, prompt, dropped, settings, stop_check)
            finally:
                forget_request(llm)


class SessionPrefix:
    """The model's state after a session's system message, kept by that session alone.

    A live call, or one request translated piece by piece, sends the same system message
    before every piece. Read once, the context's state after it is snapshot
    (``Llama.save_state``) and restored before each later piece, so only the piece itself is
    read again (Qwen2.5 1.5B, 87-token translation instruction, one thread: 1.3 s saved per
    piece on this 2-core machine). The same model reads the same tokens, but in two batches
    instead of one: float rounding differs, which can flip a close greedy choice (seen once in
    eight pieces: "Hola, soy Anna" for "Hola, esto es Anna").

    Nothing crosses sessions: the object is made by the node-side owner of one call or one
    request, held by it and dropped with it; no caller names, chooses or reaches it (the
    per-session cache the cache-salt rule allows, :class:`~privcloud.workloads.engine.types.
    CacheSalt`). It holds at most :data:`PREFIX_STATES` states, the most recently used kept
    (about 3 MB each for the 1.5B model: the snapshot keeps the last row of logits only;
    generation reads the piece after it, which computes fresh ones).
    """

    def __init__(self) -> None:
        self._states: OrderedDict[tuple[str, int, tuple[int, ...]], Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def prepare(self, models: Models, model: str, system: str) -> None:
        """Read the system message ``system`` of chat model ``model`` now and keep its state,
        before the session's first piece needs it (a live call does this as it opens)."""
        with models.use(model) as llm:
            markers = _ChatMl.of(llm)
            llm.set_cache(None)
            llm.reset()
            try:
                self.restore(model, llm, markers.head(ChatMessage("system", system)))
            finally:
                forget_request(llm)

    def restore(self, model: str, llm: Any, head: list[int]) -> None:
        """Bring ``llm`` (just reset) to the state after ``head``: the snapshot when this
        session has one, else read ``head`` and snapshot it. The generation that follows
        (``Llama.generate`` with its prefix match) then reads only the tokens after it."""
        key = (model, id(llm), tuple(head))
        state = self._states.get(key)
        if state is not None:
            self._states.move_to_end(key)
            llm.load_state(state)
            return
        llm.eval(head)
        state = llm.save_state()
        # Only the last row of the logits: load_state broadcasts it over the prefix's rows,
        # which no sampling reads (the suffix is always decoded first).
        state.scores = state.scores[-1:].copy()
        # The library copies its whole token array, past the head too: what is left there is
        # an earlier request's prompt and answer (never read, as n_tokens ends before it, but
        # not this session's to keep).
        state.input_ids[state.n_tokens :] = 0
        self._states[key] = state
        while len(self._states) > PREFIX_STATES:
            self._states.popitem(last=False)


#: Per loaded model: its vocabulary's end-of-generation tokens.
_EOG: weakref.WeakKeyDictionary[Any, frozenset[int]] = weakref.WeakKeyDictionary()


def _end_of_generation(llm: Any) -> frozenset[int]:
    """The tokens that end an answer besides the end of turn: every end-of-generation token of
    the vocabulary, by llama.cpp's own list (Qwen2.5 has six: <|endoftext|>, <|fim_pad|>,
    <|repo_name|>, ...). One missed would be decoded as "" and the answer run on to
    ``max_tokens``. Read once per model (0.05 s for Qwen2.5's 151,936 tokens)."""
    found = _EOG.get(llm)
    if found is None:
        import llama_cpp  # noqa: PLC0415 - the ai extra

        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        n = int(llm.n_vocab())
        found = frozenset(t for t in range(n) if llama_cpp.llama_vocab_is_eog(vocab, t))
        _EOG[llm] = found
    return found


class _ChatMl:
    """A model's ChatML control tokens and tokenizer (step 2)."""

    def __init__(self, llm: Any, start: int, end: int) -> None:
        self.llm = llm
        self.start = start
        self.end = end
        self.bos: list[int] = list(llm.tokenize(b"", add_bos=True, special=False))
        self.ends = {end, int(llm.token_eos())}

    @classmethod
    def of(cls, llm: Any) -> _ChatMl:
        template = str(llm.metadata.get("tokenizer.chat_template", ""))
        start = llm.tokenize(_IM_START, add_bos=False, special=True)
        end = llm.tokenize(_IM_END, add_bos=False, special=True)
        if "<|im_start|>" not in template or len(start) != 1 or len(end) != 1:
            raise UnavailableError("this model's chat template is not supported")
        return cls(llm, int(start[0]), int(end[0]))

    def text(self, value: str) -> list[int]:
        """``value`` as plain text: control-token look-alikes stay text."""
        return list(self.llm.tokenize(value.encode("utf-8"), add_bos=False, special=False))

    def message(self, message: ChatMessage) -> list[int]:
        return [
            self.start,
            *self.text(f"{message.role}\n"),
            *self.text(message.content),
            self.end,
            *self.text("\n"),
        ]

    def head(self, system: ChatMessage) -> list[int]:
        """The prompt's start up to the end of its system message: what :func:`_fit` puts
        first and :class:`SessionPrefix` snapshots (one place, so the two cannot drift)."""
        return self.bos + self.message(system)

    def answer_header(self) -> list[int]:
        return [self.start, *self.text("assistant\n")]


def _fit(
    markers: _ChatMl, messages: Sequence[ChatMessage], max_tokens: int
) -> tuple[list[int], int]:
    """The prompt's tokens, and how many of the oldest messages were left out (step 3)."""
    system = [m for m in messages[:1] if m.role == "system"]
    rest = list(messages[len(system) :])
    head = markers.head(system[0]) if system else markers.bos
    encoded = [markers.message(m) for m in rest]
    tail = markers.answer_header()
    room = LLM_CONTEXT_TOKENS - max_tokens - _SLACK - len(head) - len(tail)
    kept = len(encoded)
    used = sum(len(e) for e in encoded)
    while kept and used > room:
        used -= len(encoded[len(encoded) - kept])
        kept -= 1
    if kept == 0 and rest:
        raise TooLargeError("the conversation does not fit the model's context")
    body = [t for e in encoded[len(encoded) - kept :] for t in e]
    return head + body + tail, len(encoded) - kept


def _generate(
    llm: Any,
    markers: _ChatMl,
    prompt: list[int],
    dropped: int,
    settings: ChatSettings,
    stop_check: Any,
) -> Iterator[ChatEvent]:
    """Step 5: tokens to text deltas, until an end of turn, a stop string or max_tokens."""
    ends = markers.ends | _end_of_generation(llm)
    greedy = settings.temperature <= 0.0
    llm.set_seed(0 if greedy else secrets.randbelow(2**31 - 1))
    scanner = StopScanner(settings.stop)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    count = 0
    finish: FinishReason = "length"
    stop_check()
    tokens = llm.generate(
        prompt,
        top_k=1 if greedy else _TOP_K,
        top_p=_TOP_P,
        min_p=_SAMPLE_MIN_P,
        temp=0.0 if greedy else settings.temperature,
        repeat_penalty=settings.repeat_penalty,
        reset=True,
    )
    try:
        for token in tokens:
            if token in ends:
                finish = "stop"
                break
            count += 1
            piece = scanner.feed(decoder.decode(llm.detokenize([token], special=False)))
            if piece:
                yield TextDelta(piece)
            if scanner.stopped:
                finish = "stop"
                break
            stop_check()
            if count >= settings.max_tokens:
                break
    finally:
        tokens.close()
    rest = "" if scanner.stopped else scanner.feed(decoder.decode(b"", final=True))
    rest += scanner.flush()
    if rest:
        yield TextDelta(rest)
    yield ChatEnd(finish, len(prompt), count, dropped)


__all__ = ["PREFIX_STATES", "LlamaCppEngine", "SessionPrefix"]
