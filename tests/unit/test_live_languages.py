"""The release's rule for a live call's languages (privcloud.live.languages), which the device
checks before its call opens and the node before it starts the call's pipeline."""

from __future__ import annotations

from typing import cast

import pytest

from privcloud.errors import DecodeError, UnsupportedError
from privcloud.live.languages import check_call_languages
from privcloud.live.pipeline import make_pipeline
from privcloud.sdk.client import Client
from privcloud.sdk.live import LiveCall
from privcloud.workloads.models import ModelConfig, Models
from privcloud.workloads.transcribe import WHISPER_LANGUAGES


def test_a_device_never_shows_the_gateway_a_language_pair_the_release_cannot_translate() -> None:
    # The attack (a red-team review, 2026-12-07): a node refuses a call whose pair no model of
    # its release translates (English and Swahili) with a close code and our error code, in
    # the clear to the gateway, after reading the pair from the sealed hello: the gateway
    # learned, and logged, that much of the call. The device now refuses such a call itself,
    # before anything is sent (the client here has no relay: nothing could go out).
    client = cast(Client, object())
    with pytest.raises(UnsupportedError, match="cannot be translated"):
        LiveCall(client, languages=("en", "sw"), targets=("sw", "en"))
    with pytest.raises(DecodeError):
        LiveCall(client, languages=("en", "xx"), targets=("es", "en"))
    LiveCall(client, languages=("en", "es"), targets=("es", "en"))  # a pair the release reads
    LiveCall(client, languages=("auto", "auto"), targets=("en", "sw"))  # captions at worst


def test_the_device_and_the_node_keep_one_rule() -> None:
    # make_pipeline refuses, before it loads a model, exactly what the device refuses.
    models = Models(ModelConfig())
    codes = [*sorted(WHISPER_LANGUAGES)[::7], "en", "es", "sw", "auto", "xx"]
    for language in codes:
        for target in ("en", "es", "sw", "auto"):
            call = ((language, "en"), (target, "es"))
            try:
                check_call_languages(*call)
                device: type[Exception] | None = None
            except (DecodeError, UnsupportedError) as exc:
                device = type(exc)
            if device is None:
                continue  # (the node goes on to its own models: not this rule)
            with pytest.raises(device):
                make_pipeline(models, *call)


def test_a_call_has_two_channels() -> None:
    with pytest.raises(DecodeError, match="two channels"):
        check_call_languages(("en",), ("es",))
