"""What the stand-ins for a llama.cpp model need besides their own calls: the state
:func:`privcloud.workloads.model_calls.forget_request` clears after every generation (no
numpy: the unit tests run without the ``ai`` extra)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


class _Tokens(list[int]):
    """A token array that, as numpy's does, takes one number for a whole slice."""

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice) and isinstance(value, int | float):
            value = [value] * len(self[index])
        super().__setitem__(index, value)


class LlamaState:
    """The token array, KV cache, last batch and sampler of a stand-in model; ``cleared``
    counts :func:`forget_request` calls (one per KV cache clear)."""

    n_batch = 8

    def __init__(self) -> None:
        self.n_tokens = 0
        self.input_ids = _Tokens([0] * 16)
        self.scores = _Tokens([])
        self._logits_all = False
        self._sampler: Any = None
        self._batch = SimpleNamespace(batch=None)
        self.cleared = 0
        #: llama.cpp's logits of the last token decoded (a NULL pointer: none in a stand-in).
        self._ctx = SimpleNamespace(kv_cache_clear=self._clear, get_logits=lambda: None)

    def _clear(self) -> None:
        self.cleared += 1
