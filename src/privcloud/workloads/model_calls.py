"""What a node asks of its loaded models: greedy completions and chat answers of the language
models, token counts, and sentence embeddings.

:class:`ModelCalls` is mixed into :class:`~privcloud.workloads.models.Models`, which loads the
models and holds each exclusively (:meth:`ModelCalls.use`). A language model call stops at the
request's deadline (:func:`~privcloud.workloads.base.check_deadline`).
"""

from __future__ import annotations

import abc
import ctypes
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from privcloud import limits
from privcloud.errors import TooLargeError, UsageError
from privcloud.workloads.base import Deadline, check_deadline
from privcloud.workloads.model_names import LLM_CONTEXT_TOKENS, LLM_MODELS, MINILM_L6

if TYPE_CHECKING:  # the engine module and the registry import this one
    from privcloud.workloads.engine.local import SessionPrefix
    from privcloud.workloads.models import Models

#: Tokens a chat template adds per message (role markers, separators) at most, and the room
#: kept for a default system message (Qwen's template adds one when none is given).
CHAT_TOKENS_PER_MESSAGE = 8
_CHAT_DEFAULT_SYSTEM = 32


@dataclass(frozen=True)
class Completion:
    """What a language model wrote."""

    model: str
    text: str
    prompt_tokens: int
    tokens: int
    seconds: float


def forget_request(llm: Any) -> None:
    """Leave the llama.cpp model ``llm`` (llama-cpp-python's ``Llama``) holding nothing of the
    request it just served; called when every generation ends, however it ends.

    ``Llama.reset`` alone only sets the token count to 0: the request's prompt and answer
    tokens stayed in ``input_ids`` (readable by whoever holds the model next, or in a memory
    image), their keys and values in the KV cache. So, besides the reset:

    1. ``input_ids`` is zeroed in place (the whole array: past the count it held earlier
       requests' tokens too);
    2. the rows of ``scores`` the request used are zeroed in place when the library writes
       logits there, which it does only for a model loaded with ``logits_all`` (ours are
       not: zeroing the whole array would fill ``n_batch`` x vocabulary floats, 0.1 to 0.5 GB
       a model, that are otherwise never touched);
    3. the KV cache is cleared, its buffers zeroed (``llama_memory_clear(mem, data=True)``);
    4. the token array of the last batch sent to llama.cpp (up to ``n_batch`` prompt tokens)
       is zeroed;
    5. the sampler is freed: its repeat-penalty stage kept the last tokens of the answer;
    6. llama.cpp's logits of the last token decoded (one row of vocabulary floats: the
       model's guess at the word after the answer) are zeroed. A model loaded with
       ``logits_all`` (none of ours: ``model_loaders``) keeps a row per token of its largest
       batch there, which this does not clear.

    Steps 2 to 6 read private attributes of llama-cpp-python 0.3.36 (pinned; a change fails
    ``tests/ai/test_engine.py``).
    """
    used = llm.n_tokens
    llm.reset()
    llm.input_ids[:] = 0
    if llm._logits_all:
        llm.scores[:used] = 0.0
    llm._ctx.kv_cache_clear()
    batch = llm._batch.batch
    if batch is not None:
        ctypes.memset(batch.token, 0, llm.n_batch * ctypes.sizeof(ctypes.c_int32))
    sampler, llm._sampler = llm._sampler, None
    if sampler is not None:
        sampler.close()
    logits = llm._ctx.get_logits()  # NULL before any output buffer exists
    if logits:  # one row: our models are not loaded with logits_all (one output per decode)
        ctypes.memset(logits, 0, llm.n_vocab() * ctypes.sizeof(ctypes.c_float))


class ModelCalls(abc.ABC):
    """The calls on loaded models, for a registry that provides :meth:`use`."""

    @abc.abstractmethod
    def use(self, name: str) -> AbstractContextManager[Any]:
        """The loaded model ``name``, held exclusively for the ``with`` block."""

    def count_tokens(self, name: str, text: str) -> int:
        """Tokens of ``text`` for language model ``name``."""
        with self.use(name) as llm:
            return len(llm.tokenize(text.encode("utf-8"), add_bos=False))

    def complete(
        self,
        name: str,
        prompt: str,
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        on_token: Callable[[int], None] | None = None,
        deadline: Deadline | None = None,
    ) -> Completion:
        """Greedy (deterministic) completion of ``prompt`` by language model ``name``.

        ``on_token(n)`` is called as tokens arrive (progress for streamed answers). The prompt
        is cut from the front when prompt and answer would not fit the context window.
        Generation stops with :class:`~privcloud.errors.RequestTimeoutError` once ``deadline``
        (default: the current request's, :func:`check_deadline`) has passed, checked before
        the first token and after each; without ``deadline``, a stop condition in force
        (:func:`~privcloud.workloads.base.stop_when`) is checked there too. A workload's
        helper thread (:func:`~privcloud.workloads.base.helper`) passes no ``deadline``: the
        request's holds there, and the helper's stop condition with it.
        """
        if name not in LLM_MODELS:
            raise UsageError("not a language model")
        if not 1 <= max_tokens <= limits.MAX_GENERATED_TOKENS:
            raise UsageError("max_tokens out of range")
        with self.use(name) as llm:
            started = time.perf_counter()
            tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True)
            room = LLM_CONTEXT_TOKENS - max_tokens - 8
            if len(tokens) > room:
                tokens = tokens[:1] + tokens[len(tokens) - room + 1 :]
            llm.reset()
            pieces: list[str] = []
            count = 0
            stop_check = deadline.check if deadline is not None else check_deadline
            try:
                stop_check()
                chunks = llm.create_completion(
                    tokens,
                    max_tokens=max_tokens,
                    temperature=0.0,
                    top_k=1,
                    repeat_penalty=1.1,
                    stop=list(stop) or None,
                    stream=True,
                )
                with closing(chunks):  # ended here, before the model is cleared and let go
                    for chunk in chunks:
                        pieces.append(chunk["choices"][0]["text"])
                        count += 1
                        if on_token is not None:
                            on_token(count)
                        # A stop condition per token: past the request's deadline, stop.
                        stop_check()
            finally:
                forget_request(llm)
            return Completion(
                model=name,
                text="".join(pieces),
                prompt_tokens=len(tokens),
                tokens=count,
                seconds=time.perf_counter() - started,
            )

    def chat(
        self,
        name: str,
        messages: Sequence[Mapping[str, str]],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        on_token: Callable[[int], None] | None = None,
        deadline: Deadline | None = None,
        prefix: SessionPrefix | None = None,
    ) -> Completion:
        """Greedy (deterministic) answer of an instruction-tuned language model ``name`` to
        ``messages`` (``{"role": "system"|"user"|"assistant", "content": ...}``), rendered as
        ChatML by the in-process engine (:mod:`privcloud.workloads.engine.local`): the role
        markers are control tokens and every content is tokenized as plain text, so a
        transcript or document that contains ``<|im_start|>system`` cannot open a turn of its
        own (llama.cpp's ``create_chat_completion`` would tokenize it as a real marker).

        Unlike :meth:`complete` nothing is cut: messages that do not fit the context window
        with ``max_tokens`` are refused (:class:`TooLargeError`), so a caller splits its text
        first (:meth:`chat_tokens` counts). ``on_token`` is called with the count of pieces so
        far; the deadline as in :meth:`complete`. ``prefix``: the calling session's own
        :class:`~privcloud.workloads.engine.local.SessionPrefix`, which restores the state
        after the system message instead of reading it again.
        """
        # Imported here: the engine module imports this one.
        from privcloud.workloads.engine.local import LlamaCppEngine  # noqa: PLC0415
        from privcloud.workloads.engine.types import (  # noqa: PLC0415
            CacheSalt,
            ChatEnd,
            ChatMessage,
            ChatSettings,
            TextDelta,
        )

        if name not in LLM_MODELS:
            raise UsageError("not a language model")
        if not 1 <= max_tokens <= limits.MAX_GENERATED_TOKENS:
            raise UsageError("max_tokens out of range")
        if self.chat_tokens(name, messages) + max_tokens > LLM_CONTEXT_TOKENS:
            raise TooLargeError("the text does not fit the language model's context")
        conversation = [ChatMessage(m["role"], m["content"]) for m in messages]  # type: ignore[arg-type]
        settings = ChatSettings(max_tokens=max_tokens, stop=tuple(stop), repeat_penalty=1.0)
        started = time.perf_counter()
        pieces: list[str] = []
        end: ChatEnd | None = None
        answer = LlamaCppEngine(cast("Models", self)).chat(
            name, conversation, settings, salt=CacheSalt.fresh(), deadline=deadline, prefix=prefix
        )
        with closing(answer):
            for event in answer:
                if isinstance(event, TextDelta):
                    pieces.append(event.text)
                    if on_token is not None:
                        on_token(len(pieces))
                else:
                    end = event
        if end is None or end.dropped_messages:
            raise TooLargeError("the text does not fit the language model's context")
        return Completion(
            model=name,
            text="".join(pieces),
            prompt_tokens=end.prompt_tokens,
            tokens=end.completion_tokens,
            seconds=time.perf_counter() - started,
        )

    def chat_tokens(self, name: str, messages: Sequence[Mapping[str, str]]) -> int:
        """An upper bound of the prompt tokens of ``messages`` under a chat template: their
        contents' tokens and :data:`CHAT_TOKENS_PER_MESSAGE` per message (role markers), plus
        room for a default system message the template may add."""
        with self.use(name) as llm:
            content = sum(
                len(llm.tokenize(m["content"].encode("utf-8"), add_bos=False)) for m in messages
            )
        return content + CHAT_TOKENS_PER_MESSAGE * (len(messages) + 1) + _CHAT_DEFAULT_SYSTEM

    def embed(self, texts: Sequence[str]) -> Any:
        """Unit-length sentence embeddings of ``texts``: a float32 numpy array (n, 384)."""
        with self.use(MINILM_L6) as model:
            return model.encode(
                list(texts),
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )


__all__ = ["CHAT_TOKENS_PER_MESSAGE", "Completion", "ModelCalls"]
