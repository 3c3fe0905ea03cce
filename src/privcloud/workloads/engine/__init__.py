"""The inference engines a node's chat runs on (docs/adr/0021-inference-engines.md).

:func:`chat_engine` picks the node's engine: an OpenAI-compatible server in the same TEE when
``PRIVCLOUD_CHAT_ENGINE_URL`` is set (vLLM on GPU nodes; :mod:`.remote`), else llama.cpp in
the node's own process (:mod:`.local`). Both stream :class:`TextDelta` events and end with a
:class:`ChatEnd`, and neither shares a KV or prefix cache across requests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from privcloud.workloads.engine.local import LlamaCppEngine
from privcloud.workloads.engine.remote import EngineConfig, OpenAIEngine, config_from_env
from privcloud.workloads.engine.types import (
    CacheSalt,
    ChatEnd,
    ChatEngine,
    ChatEvent,
    ChatMessage,
    ChatSettings,
    StopScanner,
    TextDelta,
)
from privcloud.workloads.models import Models


def chat_engine(models: Models, env: Mapping[str, str] | None = None) -> ChatEngine:
    """The configured remote engine (``PRIVCLOUD_CHAT_ENGINE_*`` in ``env``, default the
    process environment), else the in-process one over ``models``."""
    config = config_from_env(os.environ if env is None else env)
    if config is not None:
        return OpenAIEngine(config)
    return LlamaCppEngine(models)


__all__ = [
    "CacheSalt",
    "ChatEnd",
    "ChatEngine",
    "ChatEvent",
    "ChatMessage",
    "ChatSettings",
    "EngineConfig",
    "LlamaCppEngine",
    "OpenAIEngine",
    "StopScanner",
    "TextDelta",
    "chat_engine",
]
