"""Hybrid and regional routing: where one request runs (docs/trust-model.md#data-residency,
docs/features.md).

The router decides, per request, whether a feature runs **on the device** (the same workload
code with the smallest model) or in the **private cloud**, from the feature, the input's size,
the device's capabilities and the user's settings; for the cloud it also names the regions whose
nodes may see the request (data residency, per feature, within the client's admission policy).

It is a pure function of its inputs (no I/O), so every rule is tested directly and a decision
can be shown to the user with its reason. Rules, in order:

1. A feature the device cannot run at all (no on-device model, or not installed) goes to the
   cloud — unless the user turned the cloud off, which refuses the request.
2. The user's ``placement`` setting: ``device`` keeps everything it can on the device;
   ``cloud`` sends everything to the cloud.
3. ``auto``: on the device when the input is within the feature's on-device budget and the
   device is not constrained (low battery, low memory); otherwise the cloud.
4. Cloud requests carry the feature's residency regions, if the user set any.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from privcloud.errors import PolicyError, UsageError
from privcloud.workloads.models import (
    MINILM_L6,
    SMOLLM2_135M,
    WHISPER_TINY_EN,
)


class Placement(enum.Enum):
    DEVICE = "device"
    CLOUD = "cloud"


@dataclass(frozen=True)
class DeviceModelSpec:
    """What running a feature on the device takes."""

    #: Model the device runs (the smallest), or None when the feature needs no model.
    model: str | None
    #: Parameters the device run adds (selecting that model in the shared workload code).
    params: Mapping[str, object]
    #: Largest input, in bytes, the device handles in ``auto`` placement.
    auto_max_input: int
    #: Memory the device needs free for it, in MiB.
    min_free_mib: int


#: Features the device can run, with the smallest model each.
DEVICE_FEATURES: dict[str, DeviceModelSpec] = {
    # ~30 s of 16 kHz 16-bit speech; English only (tiny.en).
    "transcribe": DeviceModelSpec(WHISPER_TINY_EN, {"model": WHISPER_TINY_EN}, 1_000_000, 300),
    "summarize": DeviceModelSpec(SMOLLM2_135M, {"model": SMOLLM2_135M}, 4_000, 400),
    "search": DeviceModelSpec(MINILM_L6, {}, 200_000, 400),
    "extract": DeviceModelSpec(None, {}, 50_000, 50),
}


@dataclass(frozen=True)
class DeviceProfile:
    """What this device can do now."""

    #: Models installed on the device.
    models: frozenset[str] = frozenset()
    free_memory_mib: int = 2048
    battery_low: bool = False

    def can_run(self, feature: str) -> bool:
        spec = DEVICE_FEATURES.get(feature)
        if spec is None:
            return False
        installed = spec.model is None or spec.model in self.models
        return installed and self.free_memory_mib >= spec.min_free_mib


@dataclass(frozen=True)
class UserSettings:
    """The user's choices."""

    #: "auto", "device" or "cloud".
    placement: str = "auto"
    #: False: nothing leaves the device (features the device cannot run are refused).
    cloud_allowed: bool = True
    #: Regions allowed to see each feature's data (absent feature: any admitted region).
    residency: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.placement not in ("auto", "device", "cloud"):
            raise UsageError("placement must be auto, device or cloud")


@dataclass(frozen=True)
class Route:
    """Where a request runs and why."""

    placement: Placement
    reason: str
    #: Extra parameters for a device run (its model), empty for the cloud.
    params: Mapping[str, object] = field(default_factory=dict)
    #: For the cloud: regions whose nodes may see the request (None: any admitted).
    regions: frozenset[str] | None = None


class Router:
    """Decides where each request runs (see the module docstring for the rules)."""

    def __init__(self, device: DeviceProfile, settings: UserSettings | None = None) -> None:
        self.device = device
        self.settings = settings if settings is not None else UserSettings()

    def route(self, feature: str, input_size: int) -> Route:
        settings = self.settings
        spec = DEVICE_FEATURES.get(feature)
        local = self.device.can_run(feature)
        # 1. What the device cannot run goes to the cloud, if the user allows it.
        if not local:
            if not settings.cloud_allowed:
                raise PolicyError("this feature needs the private cloud, which is turned off")
            why = (
                "no on-device model for this feature"
                if spec is None
                else "the device cannot run this feature now (model or memory missing)"
            )
            return self._cloud(feature, why)
        assert spec is not None
        device = Route(Placement.DEVICE, "", dict(spec.params))
        # 2. The user's placement setting.
        if not settings.cloud_allowed or settings.placement == "device":
            return _with_reason(device, "the user keeps this feature on the device")
        if settings.placement == "cloud":
            return self._cloud(feature, "the user sends this feature to the private cloud")
        # 3. auto: small inputs on an unconstrained device stay local.
        if self.device.battery_low:
            return self._cloud(feature, "battery low: the private cloud runs it")
        if input_size > spec.auto_max_input:
            return self._cloud(feature, f"input of {input_size} bytes is over the device budget")
        return _with_reason(device, "small input: runs on the device with the smallest model")

    def _cloud(self, feature: str, reason: str) -> Route:
        # 4. Data residency for this feature.
        regions = self.settings.residency.get(feature)
        if regions is not None:
            reason += f"; only nodes in {', '.join(sorted(regions))}"
        return Route(Placement.CLOUD, reason, {}, regions)


def _with_reason(route: Route, reason: str) -> Route:
    return Route(route.placement, reason, route.params, route.regions)
