"""The ``generate_image`` workload: text to image with a diffusers pipeline.

No image model ships in a package (docs/features.md §Models): the operator points
``ModelConfig.image_model_dir`` (``PRIVCLOUD_IMAGE_MODEL``) at a diffusers pipeline directory,
loaded by :meth:`Models.use` (``AutoPipelineForText2Image``); without one the workload answers
:class:`UnavailableError`.

Parameters (JSON): ``prompt`` (required, at most MAX_QUERY_CHARS), ``negative_prompt``
(optional, same bound), ``width``/``height`` (MIN_IMAGE_SIDE to MAX_IMAGE_SIDE, multiples of 8;
default 512, or the pipeline's own sample size when that is smaller: a model trained on
64-pixel images draws noise at 512), ``steps`` (1 to MAX_IMAGE_STEPS, default 20), ``seed``
(0 to 2**32 - 1; default: drawn with :mod:`secrets` and returned) and ``guidance`` (0 to 20,
default 7.5).

The same parameters and seed give the same PNG bytes on the same machine: the initial noise
comes from ``torch.Generator("cpu").manual_seed(seed)`` and PNG encoding is deterministic.
The image is encoded in memory (no file). A streamed request gets one PARTIAL event per
denoising step (``{"step": i, "steps": n}``, from the pipeline's ``callback_on_step_end``),
then the RESULT: ``data`` = the PNG, ``meta`` = ``{"width", "height", "seed", "steps", "model",
"format": "png", "seconds"}``.

Privacy: diffusers logs the part of a prompt that CLIP truncates (it quotes user text), so the
``diffusers`` and ``transformers`` loggers are at ERROR for the whole process, routed through its
own handlers (:func:`~privcloud.workloads.model_loaders.route_library_logs`), and held there
while a pipeline runs (:func:`~privcloud.workloads.model_loaders.prompt_loggers_quiet`).
"""

from __future__ import annotations

import io
import queue
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from privcloud import limits
from privcloud.errors import DecodeError, UnavailableError
from privcloud.wire.message import Event, EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import params
from privcloud.workloads.base import ModelWorkload, check_deadline, get_by_deadline, helper
from privcloud.workloads.model_loaders import prompt_loggers_quiet
from privcloud.workloads.models import IMAGE

#: Side used when the request names none, unless the pipeline's native side is smaller.
DEFAULT_SIDE = 512
SEED_RANGE = 2**32


@dataclass(frozen=True)
class ImageSpec:
    """What one request asks for (sizes None: the pipeline's default)."""

    prompt: str
    negative_prompt: str | None
    width: int | None
    height: int | None
    steps: int
    seed: int
    guidance: float


def _side(request_params: JSONObject, name: str) -> int | None:
    if request_params.get(name) is None:
        return None
    side = params.integer(
        request_params, name, DEFAULT_SIDE, lo=limits.MIN_IMAGE_SIDE, hi=limits.MAX_IMAGE_SIDE
    )
    if side % 8:
        raise DecodeError(f"parameter '{name}' must be a multiple of 8")
    return side


def parse_spec(request_params: JSONObject) -> ImageSpec:
    """Read and bound the parameters; raises :class:`DecodeError`/:class:`TooLargeError`."""
    return ImageSpec(
        prompt=params.text(request_params, "prompt", max_chars=limits.MAX_QUERY_CHARS),
        negative_prompt=params.optional_text(
            request_params, "negative_prompt", max_chars=limits.MAX_QUERY_CHARS
        ),
        width=_side(request_params, "width"),
        height=_side(request_params, "height"),
        steps=params.integer(request_params, "steps", 20, lo=1, hi=limits.MAX_IMAGE_STEPS),
        seed=params.integer(
            request_params, "seed", secrets.randbelow(SEED_RANGE), lo=0, hi=SEED_RANGE - 1
        ),
        guidance=params.number(request_params, "guidance", 7.5, lo=0.0, hi=20.0),
    )


def default_side(pipe: Any) -> int:
    """DEFAULT_SIDE, or the pipeline's native side (denoiser sample size times the VAE's
    scale factor) when smaller, rounded down to a multiple of 8 and at least MIN_IMAGE_SIDE."""
    denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    sample = getattr(getattr(denoiser, "config", None), "sample_size", None)
    scale = getattr(pipe, "vae_scale_factor", None)
    side = DEFAULT_SIDE
    if isinstance(sample, int) and isinstance(scale, int) and sample > 0 and scale > 0:
        side = min(side, sample * scale)
    return max(limits.MIN_IMAGE_SIDE, side - side % 8)


def render(
    pipe: Any, spec: ImageSpec, on_step: Callable[[int, int], None] | None = None
) -> tuple[bytes, JSONObject]:
    """Run ``pipe`` for ``spec``: the PNG and the result meta (without ``model``).

    ``on_step(step, steps)`` is called after each denoising step. :func:`check_deadline` is
    checked before the first step and after each: once it raises (the deadline passed, or the
    reader of a streamed image has gone) the remaining steps are skipped (diffusers'
    ``interrupt``) and what it raised is raised.
    """
    import torch  # noqa: PLC0415 - heavy, optional: imported on first use

    width = spec.width or default_side(pipe)
    height = spec.height or default_side(pipe)
    stopped: Exception | None = None

    def step_end(pipeline: Any, step: int, _timestep: Any, tensors: dict[str, Any]) -> Any:
        nonlocal stopped
        if on_step is not None:
            on_step(step + 1, spec.steps)
        try:
            check_deadline()
        except Exception as exc:  # noqa: BLE001 - raised again below, outside diffusers' loop
            stopped = exc
            pipeline._interrupt = True  # diffusers: the documented way to stop
        return tensors

    check_deadline()

    started = time.perf_counter()
    with prompt_loggers_quiet():
        output = pipe(
            prompt=spec.prompt,
            negative_prompt=spec.negative_prompt,
            width=width,
            height=height,
            num_inference_steps=spec.steps,
            guidance_scale=spec.guidance,
            generator=torch.Generator("cpu").manual_seed(spec.seed),
            output_type="pil",
            callback_on_step_end=step_end,
        )
    if stopped is not None:
        raise stopped
    buffer = io.BytesIO()
    output.images[0].save(buffer, format="PNG")
    meta: JSONObject = {
        "width": width,
        "height": height,
        "seed": spec.seed,
        "steps": spec.steps,
        "format": "png",
        "seconds": round(time.perf_counter() - started, 3),
    }
    return buffer.getvalue(), meta


class GenerateImageWorkload(ModelWorkload):
    """``generate_image``: one PNG from a prompt; streamed requests see each step."""

    name = "generate_image"

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        if self._models.config.image_model_dir is None:
            raise UnavailableError("no image model is configured")
        spec = parse_spec(request.params)
        if not request.stream:
            with self._models.use(IMAGE) as pipe:
                png, meta = render(pipe, spec)
            yield self._result(png, meta)
            return
        yield from self._streamed(spec)

    def _result(self, png: bytes, meta: JSONObject) -> Event:
        model_dir = self._models.config.image_model_dir
        meta["model"] = model_dir.name if model_dir is not None else IMAGE
        return Event(EventKind.RESULT, meta, png)

    def _streamed(self, spec: ImageSpec) -> Iterator[Event]:
        """Run the pipeline in a thread (in this request's context: the model is waited for
        no longer than its deadline) and pass its steps on as they happen, each waited for no
        longer than the deadline either (:class:`RequestTimeoutError`); if the reader stops
        listening, the remaining steps are skipped (:func:`helper`)."""
        events: queue.Queue[tuple[str, Any]] = queue.Queue()

        def work() -> None:
            try:
                with self._models.use(IMAGE) as pipe:
                    done = render(pipe, spec, lambda i, n: events.put(("step", i)))
                events.put(("done", done))
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                events.put(("error", exc))

        with helper(work, "privcloud-imagegen"):
            while True:
                kind, value = get_by_deadline(events)
                if kind == "step":
                    yield Event(EventKind.PARTIAL, {"step": value, "steps": spec.steps})
                elif kind == "error":
                    raise value
                else:
                    png, meta = value
                    yield self._result(png, meta)
                    return
