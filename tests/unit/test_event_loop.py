"""The services' event loop choice (``PRIVCLOUD_EVENT_LOOP``; docs/adr/0024)."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from privcloud.cli.runtime import EVENT_LOOP_ENV, loop_factory, run_service
from privcloud.errors import ConfigError


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_asyncio_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EVENT_LOOP_ENV, raising=False)
    assert loop_factory() is None
    assert not issubclass(run_service(_loop_type()), uvloop.Loop)


def test_uvloop_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EVENT_LOOP_ENV, "uvloop")
    assert issubclass(run_service(_loop_type()), uvloop.Loop)


def test_unknown_loop_is_refused_and_the_service_never_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(EVENT_LOOP_ENV, "trio")
    started = []

    async def main() -> None:
        started.append(True)

    with pytest.raises(ConfigError, match=EVENT_LOOP_ENV):
        run_service(main())
    assert not started


def test_uvloop_missing_is_an_error_not_a_silent_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(EVENT_LOOP_ENV, "uvloop")
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import fails
    with pytest.raises(ConfigError, match="not installed"):
        loop_factory()
