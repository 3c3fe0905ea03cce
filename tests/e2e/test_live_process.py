"""Live call pipelines in a process of their own (privcloud.live.process): answers, our errors,
a dead or hung child, and nothing of a call kept after it ends. The pipelines here are a small
echo (no models); tests/ai/test_canary.py runs the release's pipeline through the same host."""

from __future__ import annotations

import functools
import os
import pickle
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from corekit import NO_CORE_DUMPS, core_dump_settings, linux_only
from privcloud import limits
from privcloud.errors import UnavailableError, UnsupportedError
from privcloud.live.output import AUDIO, CAPTION, LiveOutput
from privcloud.live.process import PipelineHost, PipelineMaker, _loads, _outputs


class _EchoPipeline:
    """Captions each feed's byte count and the child's pid; b"die" ends the process, b"hang"
    never answers, b"slow" takes a minute, b"huge" answers too much, b"core" captions the
    child's core-dump settings."""

    def __init__(self, languages: tuple[str, str]) -> None:
        self.fed = 0
        self.languages = languages

    def feed(self, channel: int, pcm: bytes) -> list[LiveOutput]:
        if pcm == b"die":
            os._exit(3)
        if pcm == b"hang":
            time.sleep(3600)
        if pcm == b"slow":
            time.sleep(60)
        if pcm == b"huge":  # an answer past MAX_LIVE_PIPELINE_REPLY_BYTES
            big = bytes(limits.MAX_LIVE_PIPELINE_REPLY_BYTES + 1)
            return [LiveOutput(channel, AUDIO, "", big, 0.0, 0.0)]
        if pcm == b"many":  # small on the wire: the pickle names one output again and again
            one = LiveOutput(channel, CAPTION, "again", b"", 0.0, 0.0)
            return [one] * (limits.MAX_LIVE_PIPELINE_OUTPUTS + 1)
        if pcm == b"core":  # the child's core-dump settings
            text = " ".join(str(value) for value in core_dump_settings())
            return [LiveOutput(channel, CAPTION, text, b"", 0.0, 0.0)]
        if pcm == b"echo":  # 1 MiB on the wire, its audio named five times
            audio = bytes(limits.MiB)
            return [LiveOutput(channel, AUDIO, "", audio, 0.0, 0.0) for _ in range(5)]
        self.fed += len(pcm)
        text = f"{self.languages[channel]} {len(pcm)} {os.getpid()}"
        return [LiveOutput(channel, CAPTION, text, b"", 0.0, 0.0)]

    def flush(self) -> list[LiveOutput]:
        return [LiveOutput(0, CAPTION, f"total {self.fed}", b"", 0.0, 0.0)]

    def close(self) -> None:
        self.fed = 0


def _echo_maker(refuse: str) -> PipelineMaker:
    def make(languages: tuple[str, str], targets: tuple[str, str]) -> _EchoPipeline:
        if refuse in languages:
            raise UnsupportedError("this language pair cannot be translated")
        return _EchoPipeline(languages)

    return make


def _broken_maker() -> PipelineMaker:
    raise RuntimeError("models missing")  # in the child, before it is ready


@pytest.fixture
def host() -> Iterator[PipelineHost]:
    h = PipelineHost(functools.partial(_echo_maker, "xx"), step_timeout_s=20)
    yield h
    h.close()


def test_pipelines_run_in_another_process_and_keep_calls_apart(host: PipelineHost) -> None:
    one = host(("en", "es"), ("es", "en"))
    two = host(("fr", "de"), ("de", "fr"))
    [first] = one.feed(0, b"\x00" * 640)
    language, size, pid = first.text.split()
    assert (language, size) == ("en", "640") and int(pid) != os.getpid()
    assert two.feed(1, b"\x00" * 4)[0].text.startswith("de 4 ")
    one.feed(1, b"\x00" * 2)
    assert [o.text for o in one.flush()] == ["total 642"]
    assert [o.text for o in two.flush()] == ["total 4"]
    assert host.starts == 1


@linux_only
def test_a_crash_of_the_pipeline_child_leaves_no_core_dump(host: PipelineHost) -> None:
    """The child holds calls' audio and texts; a spawned interpreter does not inherit the
    node's dumpable flag, so it switches core dumps off itself before it serves."""
    [settings] = host(("en", "es"), ("es", "en")).feed(0, b"core")
    assert tuple(int(value) for value in settings.text.split()) == NO_CORE_DUMPS


def test_a_refusal_comes_back_as_our_error(host: PipelineHost) -> None:
    with pytest.raises(UnsupportedError, match="cannot be translated"):
        host(("xx", "en"), ("en", "en"))
    assert host(("en", "en"), ("en", "en")).feed(0, b"ab")  # the child still serves


def test_a_call_closed_without_flush_is_gone_from_the_child(host: PipelineHost) -> None:
    call = host(("en", "es"), ("es", "en"))
    call.feed(0, b"ab")
    call.close()
    with pytest.raises(UnavailableError):
        call.feed(0, b"ab")  # the child holds nothing of it any more
    with pytest.raises(UnavailableError):
        call.flush()


def test_a_dead_child_fails_its_calls_and_the_next_call_gets_a_fresh_one(
    host: PipelineHost,
) -> None:
    call = host(("en", "es"), ("es", "en"))
    with pytest.raises(UnavailableError):
        call.feed(0, b"die")
    fresh = host(("en", "es"), ("es", "en"))
    assert fresh.feed(0, b"ab")[0].text.startswith("en 2 ")
    assert host.starts == 2
    with pytest.raises(UnavailableError):
        call.feed(0, b"ab")  # its pipeline died with the first child


def test_a_hung_child_is_killed_after_the_step_timeout() -> None:
    host = PipelineHost(functools.partial(_echo_maker, "xx"), step_timeout_s=3)
    try:
        call = host(("en", "es"), ("es", "en"))
        started = time.monotonic()
        with pytest.raises(UnavailableError, match="in time"):
            call.feed(0, b"hang")
        assert time.monotonic() - started < 30
        assert host(("en", "es"), ("es", "en")).feed(0, b"ab")
        assert host.starts == 2
    finally:
        host.close()


def test_one_calls_slow_step_does_not_hold_up_another(host: PipelineHost) -> None:
    """The child runs calls side by side, as the node's threads did: another call is answered
    while one call's step (a minute long) is still running."""
    slow, quick = host(("en", "es"), ("es", "en")), host(("fr", "en"), ("en", "fr"))
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(slow.feed, 0, b"slow")
        time.sleep(0.5)  # the slow step goes first (a serial child would then hold quick up)
        assert quick.feed(0, b"ab")[0].text.startswith("fr 2 ")
        assert not pending.done()
        host.close()  # ends the slow step: its call fails
        with pytest.raises(UnavailableError):
            pending.result(timeout=30)


def test_an_answer_past_the_bound_drops_the_child(host: PipelineHost) -> None:
    call = host(("en", "es"), ("es", "en"))
    with pytest.raises(UnavailableError):
        call.feed(0, b"huge")
    assert host(("en", "es"), ("es", "en")).feed(0, b"ab")  # a fresh child serves
    assert host.starts == 2


@pytest.mark.parametrize("step", [b"many", b"echo"])
def test_an_answer_that_names_values_many_times_is_bounded_as_decoded_and_drops_the_child(
    host: PipelineHost, step: bytes
) -> None:
    """A red-team review (2026-12-06) made a child answer millions of outputs in a few MB of
    pickle (one output named again and again): the node built and sealed each on its event
    loop, and every session's frames stalled for seconds. Outputs are counted and their
    decoded text and audio summed before any is built."""
    call = host(("en", "es"), ("es", "en"))
    with pytest.raises(UnavailableError, match="malformed outputs"):
        call.feed(0, step)
    assert host(("en", "es"), ("es", "en")).feed(0, b"ab")  # a fresh child serves
    assert host.starts == 2


def test_a_subverted_child_cannot_make_the_node_run_code() -> None:
    """The node reads the child's answers as plain values: a pickle naming any class or
    function (the way a pickle runs code) is refused before anything is built."""
    output = LiveOutput(0, CAPTION, "hi", b"", 0.0, 1.0)
    for payload in (output, print, [os.system], {"x": LiveOutput}):
        with pytest.raises(pickle.UnpicklingError):
            _loads(pickle.dumps(payload))
    plain = (0, "caption", "hi", b"", 0.0, 1.0)
    assert _outputs(_loads(pickle.dumps((plain,)))) == [output]
    for bad in ("x", [plain], ((0, "caption", "hi", b"", 0.0),), ((True, *plain[1:]),)):
        with pytest.raises(UnavailableError):
            _outputs(bad)


def test_a_child_that_cannot_start_is_one_clear_error_each_time() -> None:
    host = PipelineHost(_broken_maker)
    try:
        for _ in range(2):  # each call tries a fresh child
            with pytest.raises(UnavailableError, match="did not start"):
                host(("en", "es"), ("es", "en"))
        assert host.starts == 0  # none came up
    finally:
        host.close()
