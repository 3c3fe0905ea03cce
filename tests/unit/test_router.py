"""The hybrid router: which requests stay on the device, which go to the private cloud, and
which regions may see them (docs/trust-model.md#data-residency)."""

from __future__ import annotations

import pytest

from privcloud.errors import PolicyError, UsageError
from privcloud.sdk.router import DeviceProfile, Placement, Router, UserSettings
from privcloud.workloads.models import MINILM_L6, SMOLLM2_135M, WHISPER_TINY_EN

PHONE = DeviceProfile(models=frozenset({WHISPER_TINY_EN, SMOLLM2_135M, MINILM_L6}))


def test_small_input_runs_on_the_device_with_the_smallest_model() -> None:
    route = Router(PHONE).route("summarize", 1_000)
    assert route.placement is Placement.DEVICE
    assert route.params == {"model": SMOLLM2_135M}


def test_large_input_goes_to_the_cloud() -> None:
    route = Router(PHONE).route("summarize", 50_000)
    assert route.placement is Placement.CLOUD
    assert "over the device budget" in route.reason
    assert route.params == {}


def test_feature_without_a_device_model_goes_to_the_cloud() -> None:
    for feature in ("generate_image", "translate"):
        route = Router(PHONE).route(feature, 10)
        assert route.placement is Placement.CLOUD
        assert "no on-device model" in route.reason


def test_device_without_the_model_installed_uses_the_cloud() -> None:
    bare = DeviceProfile(models=frozenset())
    assert Router(bare).route("transcribe", 10).placement is Placement.CLOUD
    # extract needs no model: any device runs it.
    assert Router(bare).route("extract", 10).placement is Placement.DEVICE


def test_low_memory_device_uses_the_cloud() -> None:
    tight = DeviceProfile(models=PHONE.models, free_memory_mib=100)
    assert Router(tight).route("summarize", 10).placement is Placement.CLOUD


def test_low_battery_prefers_the_cloud_in_auto() -> None:
    tired = DeviceProfile(models=PHONE.models, battery_low=True)
    assert Router(tired).route("search", 10).placement is Placement.CLOUD


def test_user_placement_setting_wins_over_size() -> None:
    device_first = Router(PHONE, UserSettings(placement="device"))
    assert device_first.route("summarize", 50_000).placement is Placement.DEVICE
    cloud_first = Router(PHONE, UserSettings(placement="cloud"))
    assert cloud_first.route("summarize", 10).placement is Placement.CLOUD


def test_cloud_turned_off_keeps_data_on_the_device_or_refuses() -> None:
    offline = Router(PHONE, UserSettings(cloud_allowed=False))
    assert offline.route("summarize", 50_000).placement is Placement.DEVICE
    with pytest.raises(PolicyError):
        offline.route("generate_image", 10)


def test_residency_limits_the_regions_of_a_cloud_request() -> None:
    settings = UserSettings(residency={"transcribe": frozenset({"eu-west"})})
    route = Router(PHONE, settings).route("transcribe", 5_000_000)
    assert route.placement is Placement.CLOUD
    assert route.regions == frozenset({"eu-west"})
    assert "eu-west" in route.reason
    # Other features are not narrowed.
    assert Router(PHONE, settings).route("generate_image", 10).regions is None


def test_unknown_placement_setting_is_refused() -> None:
    with pytest.raises(UsageError):
        UserSettings(placement="anywhere")
