"""Chat on an OpenAI-compatible server in the node's own TEE: vLLM on GPU nodes, llama.cpp's
server here.

The node talks to it over plain HTTP on loopback (or an address the operator configures: a
sidecar in the same confidential VM or pod), with ``POST {base}/chat/completions`` and
``"stream": true``; the answer is read as server-sent events, each bounded
(``limits.MAX_ENGINE_EVENT_BYTES``), all together bounded (``limits.MAX_ENGINE_RESPONSE_BYTES``),
every wait bounded (``limits.ENGINE_CONNECT_TIMEOUT_S``, ``limits.ENGINE_READ_TIMEOUT_S``), and
the request's deadline checked after every event. No redirect is followed, no proxy is used.

No KV or prefix cache is shared across requests (docs/adr/0021-inference-engines.md). Every
request carries, in this order of strength:

1. ``cache_salt``: a fresh :class:`CacheSalt` of the node's (vLLM mixes it into the hash of
   every prefix-cache block, so a request can neither hit nor time another's blocks);
2. ``cache_prompt: false`` (llama.cpp's ``llama-server``: no slot prompt reuse);
3. with ``isolation="flush"``, for servers that keep one context and reuse its prefix whatever
   the request says (``python -m llama_cpp.server``), the engine first overwrites that context
   with a one-token completion of a prompt of node randomness, and holds a lock from there to
   the end of the answer, so the next request finds no prefix of this one's.

The request body is built here from typed values only: no caller parameter is passed through.
Errors name the engine's failure, never a message's content or the engine's answer.

A server renders the chat template into one string and then tokenizes it *with* special
tokens (vLLM's and Hugging Face's default; llama-cpp-python's server too), so a message whose
content holds "<|im_end|>\n<|im_start|>system" would open a turn of its own there: the in-process
engine tokenizes content as text and cannot be fooled so (``local.py``). Here every control-token
look-alike in a message (:data:`CONTROL_TOKEN_RE`: "<|...|>", and "<s>", "</s>",
"<start_of_turn>", "<end_of_turn>" and the like) gets a zero-width space after its "<", so that
the server reads it as text: the model sees the same characters, no turn.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import re
import secrets
import threading
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from privcloud import limits
from privcloud.errors import (
    ConfigError,
    DecodeError,
    RequestTimeoutError,
    TooLargeError,
    UnavailableError,
    UpstreamError,
)
from privcloud.wire import jsonio
from privcloud.workloads.base import Deadline, check_deadline
from privcloud.workloads.engine.types import (
    CacheSalt,
    ChatEnd,
    ChatEvent,
    ChatMessage,
    ChatSettings,
    FinishReason,
    TextDelta,
)

log = logging.getLogger("privcloud.engine")

Isolation = Literal["salt", "flush"]
#: Random bytes of the flush prompt: enough that it shares no first token with any prompt (a
#: chat prompt starts with its template's marker), short so that the flush costs little.
_FLUSH_BYTES = 8


@dataclass(frozen=True)
class EngineConfig:
    """Where the engine is and what it serves.

    ``url`` is the API base (``http://127.0.0.1:8000/v1``); its host must be a loopback address
    or one of ``allowed_hosts`` (configured by the operator; never a name that could resolve
    outside the TEE by accident). ``models`` maps the names the node announces to the names the
    engine serves. ``isolation`` is "salt" (vLLM, llama-server) or "flush" (single-context
    servers, see the module docstring)."""

    url: str
    models: tuple[tuple[str, str], ...]
    isolation: Isolation = "salt"
    allowed_hosts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError("the engine URL is http://HOST:PORT/PATH")
        if parts.username or parts.password:
            raise ConfigError("the engine URL carries no credentials")
        try:
            port = parts.port  # (ValueError: out of range or not a number)
        except ValueError as exc:
            raise ConfigError("the engine URL's port is a number from 1 to 65535") from exc
        if port == 0:
            raise ConfigError("the engine URL's port is a number from 1 to 65535")
        if not (_is_loopback(parts.hostname) or parts.hostname in self.allowed_hosts):
            raise ConfigError("the engine must be on loopback or a configured host")
        if not self.models:
            raise ConfigError("the engine serves no model")
        if self.isolation not in ("salt", "flush"):
            raise ConfigError("engine isolation is salt or flush")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenAIEngine:
    """An OpenAI-compatible chat completions server (see the module docstring)."""

    kind = "openai"

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        parts = urlsplit(config.url)
        self._host = parts.hostname or ""
        self._port = parts.port or 80
        self._path = parts.path.rstrip("/") + "/chat/completions"
        self._served = dict(config.models)
        # Held from the flush to the end of an answer (isolation "flush"); otherwise unused.
        self._exclusive = threading.Lock()

    def models(self) -> tuple[str, ...]:
        return tuple(self._served)

    def chat(
        self,
        model: str,
        messages: Sequence[ChatMessage],
        settings: ChatSettings,
        *,
        salt: CacheSalt,
        deadline: Deadline | None = None,
    ) -> Generator[ChatEvent, None, None]:
        served = self._served.get(model)
        if served is None:
            raise UnavailableError("this chat model is not served here")
        stop_check = deadline.check if deadline is not None else check_deadline
        stop_check()
        body = request_body(served, messages, settings, salt)
        max_chars = settings.max_tokens * limits.MAX_CHAT_CHARS_PER_TOKEN
        if self.config.isolation == "flush":
            # Wait for the answer before this one at most until the deadline (else the read
            # timeout): a request queued behind a long answer ends as a timeout, not a hang.
            wait = deadline.remaining() if deadline is not None else limits.ENGINE_READ_TIMEOUT_S
            if not self._exclusive.acquire(timeout=max(0.0, wait)):
                raise RequestTimeoutError("the request's deadline passed")
            try:
                self._flush(served)
                yield from self._stream(body, stop_check, max_chars)
            finally:
                self._exclusive.release()
        else:
            yield from self._stream(body, stop_check, max_chars)

    def _flush(self, served: str) -> None:
        """Overwrite a single-context server's context with node randomness (step 3)."""
        body = {
            "model": served,
            "prompt": f"#{secrets.token_hex(_FLUSH_BYTES)}",
            "max_tokens": 1,
            "temperature": 0.0,
            "stream": False,
            "cache_prompt": False,
        }
        with self._exchange("/completions", body) as response:
            _read_bounded(response, limits.MAX_ENGINE_EVENT_BYTES)

    def _stream(self, body: dict[str, Any], stop_check: Any, max_chars: int) -> Iterator[ChatEvent]:
        with self._exchange("/chat/completions", body) as response:
            yield from parse_stream(_sse_data(response), stop_check, max_chars=max_chars)

    def _exchange(self, endpoint: str, body: dict[str, Any]) -> _Exchange:
        base = self._path.removesuffix("/chat/completions")
        return _Exchange(self._host, self._port, base + endpoint, body)


#: Strings a server's tokenizer may read as one control token: ChatML and Llama 3 style
#: "<|...|>", and the bracketed names of other templates (Gemma's turns, SentencePiece's
#: "<s>"/"</s>", "<bos>", "<eos>", "<pad>", "<unk>", "<mask>").
CONTROL_TOKEN_RE = re.compile(
    r"<(?=\|[^\s<>|]{1,64}\|>|/?(?:s|bos|eos|pad|unk|mask|start_of_turn|end_of_turn)>)",
    re.IGNORECASE,
)
_ZWSP = "\u200b"


def as_text(content: str) -> str:
    """``content`` with every control-token look-alike broken by a zero-width space after its
    "<" (see the module docstring)."""
    return CONTROL_TOKEN_RE.sub("<" + _ZWSP, content)


def request_body(
    served: str, messages: Sequence[ChatMessage], settings: ChatSettings, salt: CacheSalt
) -> dict[str, Any]:
    """The JSON body of one streamed chat completion: typed values only, the node's salt."""
    body: dict[str, Any] = {
        "model": served,
        "messages": [{"role": m.role, "content": as_text(m.content)} for m in messages],
        "max_tokens": settings.max_tokens,
        "temperature": settings.temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
        "cache_salt": salt.value,
        "cache_prompt": False,
    }
    if settings.stop:
        body["stop"] = list(settings.stop)
    return body


class _Exchange:
    """One HTTP request to the engine and its response, closed on exit; connection and HTTP
    failures become our errors (no content, no engine text in them)."""

    def __init__(self, host: str, port: int, path: str, body: dict[str, Any]) -> None:
        self._conn = http.client.HTTPConnection(host, port, timeout=limits.ENGINE_CONNECT_TIMEOUT_S)
        self._path = path
        self._payload = json.dumps(body, ensure_ascii=False).encode("utf-8")

    def __enter__(self) -> http.client.HTTPResponse:
        try:
            self._conn.request(
                "POST",
                self._path,
                body=self._payload,
                headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
            )
            if self._conn.sock is not None:
                self._conn.sock.settimeout(limits.ENGINE_READ_TIMEOUT_S)
            response = self._conn.getresponse()
        except TimeoutError as exc:
            self._conn.close()
            raise UpstreamError("the inference engine did not answer in time") from exc
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            log.warning("inference engine unreachable: %s", type(exc).__name__)
            raise UnavailableError("the inference engine is unreachable") from exc
        if response.status != 200:
            self._conn.close()
            log.warning("inference engine answered HTTP %d", response.status)
            raise UpstreamError("the inference engine refused the request")
        return response

    def __exit__(self, *_: object) -> None:
        self._conn.close()


def _read_bounded(response: http.client.HTTPResponse, limit: int) -> bytes:
    try:
        data = response.read(limit + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise UpstreamError("the inference engine's answer broke off") from exc
    if len(data) > limit:
        raise UpstreamError("the inference engine's answer is too large")
    return data


def _sse_data(response: http.client.HTTPResponse) -> Iterator[bytes]:
    """The ``data:`` payloads of a server-sent event stream, bounded per line and in total."""
    total = 0
    while True:
        try:
            line = response.readline(limits.MAX_ENGINE_EVENT_BYTES + 1)
        except TimeoutError as exc:
            raise UpstreamError("the inference engine stopped answering") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise UpstreamError("the inference engine's answer broke off") from exc
        if not line:
            return
        total += len(line)
        if len(line) > limits.MAX_ENGINE_EVENT_BYTES or total > limits.MAX_ENGINE_RESPONSE_BYTES:
            raise UpstreamError("the inference engine's answer is too large")
        if line.startswith(b"data:"):
            yield line[5:].strip()


def parse_stream(
    payloads: Iterator[bytes],
    stop_check: Any,
    *,
    max_chars: int = limits.MAX_CHAT_TOKENS * limits.MAX_CHAT_CHARS_PER_TOKEN,
) -> Iterator[ChatEvent]:
    """Chat completion chunks (OpenAI's ``chat.completion.chunk``) to our events: the text of
    each ``delta.content``, then one :class:`ChatEnd` with the finish reason and usage. Anything
    malformed, a stream without a finish reason, or an unknown finish reason is an
    :class:`UpstreamError` (sans-IO: the payloads come from :func:`_sse_data` or a test). At
    most ``max_chars`` characters of text are taken (the request's ``max_tokens`` times
    ``limits.MAX_CHAT_CHARS_PER_TOKEN``): the text past them is cut, nothing more is read,
    and the answer ends as "length"."""
    finish: FinishReason | None = None
    usage: tuple[int, int] | None = None
    count = chars = 0
    for payload in payloads:
        if payload == b"[DONE]":
            break
        chunk = _chunk(payload)
        choices = chunk.get("choices")
        if choices is None:
            choices = []
        if not isinstance(choices, list):
            raise UpstreamError("the inference engine sent malformed choices")
        for choice in choices:
            text, reason = _choice(choice)
            if chars + len(text) > max_chars:
                text = text[: max_chars - chars]
                if text:
                    yield TextDelta(text)
                prompt_tokens = usage[0] if usage is not None else 0
                yield ChatEnd("length", prompt_tokens, count + (1 if text else 0))
                return
            if text:
                chars += len(text)
                count += 1
                yield TextDelta(text)
            if reason is not None:
                finish = reason
        if isinstance(chunk.get("usage"), dict):
            usage = _usage(chunk["usage"])
        stop_check()
    if finish is None:
        raise UpstreamError("the inference engine's answer ended without a finish reason")
    prompt_tokens, completion_tokens = usage if usage is not None else (0, count)
    yield ChatEnd(finish, prompt_tokens, completion_tokens)


def _chunk(payload: bytes) -> dict[str, Any]:
    try:
        chunk = jsonio.loads(payload, max_bytes=limits.MAX_ENGINE_EVENT_BYTES)
    except (DecodeError, TooLargeError) as exc:
        raise UpstreamError("the inference engine sent malformed JSON") from exc
    if not isinstance(chunk, dict):
        raise UpstreamError("the inference engine sent malformed JSON")
    if "error" in chunk:
        raise UpstreamError("the inference engine failed while answering")
    return chunk


def _choice(choice: Any) -> tuple[str, FinishReason | None]:
    if not isinstance(choice, dict):
        raise UpstreamError("the inference engine sent a malformed choice")
    delta = choice.get("delta") or {}
    text = delta.get("content") if isinstance(delta, dict) else None
    if text is not None and (not isinstance(text, str) or not _is_utf8(text)):
        raise UpstreamError("the inference engine sent a malformed choice")
    reason = choice.get("finish_reason")
    if reason is None:
        return text or "", None
    if reason not in ("stop", "length"):
        raise UpstreamError("the inference engine ended with an unknown finish reason")
    finish: FinishReason = "stop" if reason == "stop" else "length"
    return text or "", finish


def _is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (JSON's ``"\\ud800"`` decodes to a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _usage(usage: dict[str, Any]) -> tuple[int, int]:
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    counts = [v for v in (prompt, completion) if isinstance(v, int) and not isinstance(v, bool)]
    if len(counts) != 2 or min(counts) < 0:
        raise UpstreamError("the inference engine sent malformed usage")
    return counts[0], counts[1]


def config_from_env(env: Mapping[str, str]) -> EngineConfig | None:
    """The engine a node is configured with: ``PRIVCLOUD_CHAT_ENGINE_URL`` (the API base),
    ``PRIVCLOUD_CHAT_ENGINE_MODEL`` (``name`` or ``announced=served``, comma-separated),
    ``PRIVCLOUD_CHAT_ENGINE_ISOLATION`` (salt|flush, default salt) and
    ``PRIVCLOUD_CHAT_ENGINE_HOSTS`` (extra allowed hosts, comma-separated); None without a URL.
    """
    url = env.get("PRIVCLOUD_CHAT_ENGINE_URL")
    if not url:
        return None
    pairs = []
    for item in str(env.get("PRIVCLOUD_CHAT_ENGINE_MODEL", "")).split(","):
        if item.strip():
            announced, _, served = item.strip().partition("=")
            pairs.append((announced.strip(), (served or announced).strip()))
    hosts = frozenset(
        h.strip() for h in str(env.get("PRIVCLOUD_CHAT_ENGINE_HOSTS", "")).split(",") if h.strip()
    )
    isolation: Isolation = "salt"
    if env.get("PRIVCLOUD_CHAT_ENGINE_ISOLATION", "salt") == "flush":
        isolation = "flush"
    elif env.get("PRIVCLOUD_CHAT_ENGINE_ISOLATION", "salt") != "salt":
        raise ConfigError("PRIVCLOUD_CHAT_ENGINE_ISOLATION is salt or flush")
    return EngineConfig(str(url), tuple(pairs), isolation, hosts)


__all__ = [
    "EngineConfig",
    "Isolation",
    "OpenAIEngine",
    "config_from_env",
    "parse_stream",
    "request_body",
]
