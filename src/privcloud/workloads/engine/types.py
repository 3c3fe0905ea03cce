"""What a chat engine takes and gives, and the pieces every engine shares (sans-IO).

A node's workloads talk to one :class:`ChatEngine`: llama.cpp in the node's own process
(:mod:`privcloud.workloads.engine.local`) or an OpenAI-compatible server in the same TEE
(:mod:`privcloud.workloads.engine.remote`: vLLM on GPU nodes). The messages, settings and
events are typed here, so a workload never builds an engine's wire format and an engine never
sees a caller's raw parameters (a caller cannot set an engine field, e.g. a cache salt).

No KV or prefix cache is shared across requests (docs/adr/0021-inference-engines.md): each
request gets a fresh :class:`CacheSalt`, made inside the node from its own randomness; there is
no constructor from caller input.
"""

from __future__ import annotations

import secrets
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from privcloud.errors import UsageError
from privcloud.workloads.base import Deadline

Role = Literal["system", "user", "assistant"]
ROLES: tuple[Role, ...] = ("system", "user", "assistant")
FinishReason = Literal["stop", "length"]

#: Bytes of node randomness in one cache salt (256 bits: no two requests ever share one).
SALT_BYTES = 32


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation (content already bounded by the workload)."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise UsageError("a chat message's role is system, user or assistant")


@dataclass(frozen=True)
class ChatSettings:
    """How to generate: at most ``max_tokens`` tokens, at ``temperature`` (0: greedy), ending
    before the first of the ``stop`` strings."""

    max_tokens: int
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    #: llama.cpp's repeat penalty (1.0: none; the node's own summaries and translations use
    #: none, chat uses the library's usual 1.1).
    repeat_penalty: float = 1.1


@dataclass(frozen=True)
class TextDelta:
    """The next piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class ChatEnd:
    """The last event of an answer: why it ended and what it cost, in tokens.

    ``dropped_messages`` counts the oldest messages left out so that the conversation fits the
    model's context (the system message and the last message are never left out)."""

    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    dropped_messages: int = 0


ChatEvent = TextDelta | ChatEnd


@dataclass(frozen=True)
class CacheSalt:
    """A per-request cache salt, made only by :meth:`fresh` from the node's randomness.

    An engine that caches KV blocks across requests (vLLM's prefix cache) mixes it into every
    block hash, so no request can hit, or time, another request's blocks. A caller never
    chooses it: it is not a request parameter, and nothing builds it from one (vLLM's
    ``cache_salt`` advisory: a salt a caller controls lets that caller share, and probe, the
    cache of whoever else sends the same salt)."""

    value: str = field(repr=False)

    @classmethod
    def fresh(cls) -> CacheSalt:
        """A new salt of :data:`SALT_BYTES` random bytes (hex)."""
        return cls(secrets.token_hex(SALT_BYTES))


class ChatEngine(Protocol):
    """Streams chat completions. Implementations run in a node's worker thread (blocking)."""

    #: "llama.cpp" (in-process) or "openai" (an OpenAI-compatible server in the same TEE).
    kind: str

    def models(self) -> tuple[str, ...]:
        """The chat models this engine serves, the default first (empty: none)."""
        ...

    def chat(
        self,
        model: str,
        messages: Sequence[ChatMessage],
        settings: ChatSettings,
        *,
        salt: CacheSalt,
        deadline: Deadline | None = None,
    ) -> Generator[ChatEvent, None, None]:
        """The answer: :class:`TextDelta` events, then one :class:`ChatEnd`.

        Raises :class:`~privcloud.errors.RequestTimeoutError` once ``deadline`` passes (checked
        before the first token and after each), :class:`~privcloud.errors.TooLargeError` when
        the conversation's last message alone does not fit the model's context, and
        :class:`~privcloud.errors.UnavailableError` (or its :class:`UpstreamError`) when the
        engine cannot answer. Messages carry no content into exceptions or logs."""
        ...


class StopScanner:
    """Finds stop strings in streamed text and holds back what might begin one.

    Feed it each new piece (:meth:`feed`): it returns the text that is safe to send now; once a
    stop string is complete, :attr:`stopped` is set and the text before it is returned (the stop
    string itself never is). :meth:`flush` returns what was held back at the end of the answer.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        buf = self._pending + text
        cut = min((i for i in (buf.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._pending = ""
            return buf[:cut]
        hold = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(buf)), hold, -1):
                if buf.endswith(stop[:n]):
                    hold = n
                    break
        self._pending = buf[len(buf) - hold :] if hold else ""
        return buf[: len(buf) - hold]

    def flush(self) -> str:
        """What was held back (the answer ended without completing a stop string)."""
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out


__all__ = [
    "ROLES",
    "SALT_BYTES",
    "CacheSalt",
    "ChatEnd",
    "ChatEngine",
    "ChatEvent",
    "ChatMessage",
    "ChatSettings",
    "FinishReason",
    "Role",
    "StopScanner",
    "TextDelta",
]
