"""Benchmark of the ``erase`` workload (privcloud.workloads.erase). Prints ONE JSON line.

A synthetic 12-megapixel "photo" (4032 x 3024: a gradient with sensor-like noise, encoded as
JPEG quality 92 and as PNG) with a pedestrian-sized object (180 x 480 pixels) is erased with
Telea and with Navier-Stokes; then the worst mask the bounds allow (a third of the frame)
with Telea. Each figure is the median of ``--repeat`` runs of the whole workload (decode, fill,
composite, encode). The baseline, measured in the same run on the same input, is the workload
with a one-pixel mask: decoding and encoding alone, so ``fill_s`` = run - baseline is what the
filling costs.

    python bench/erase.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from typing import Any

import numpy as np
from PIL import Image

from privcloud.wire.message import WorkloadRequest
from privcloud.workloads.erase import EraseWorkload, encode_body
from privcloud.workloads.models import ModelConfig, Models

WIDTH, HEIGHT = 4032, 3024


def _encode(pixels: Any, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _photo() -> Any:
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None]
    rgb = np.stack([60 + 140 * x + 0 * y, 90 + 100 * y + 0 * x, 180 - 60 * x * y], axis=-1)
    rgb += rng.normal(0, 6, rgb.shape).astype(np.float32)
    pixels = rgb.clip(0, 255).astype(np.uint8)
    pixels[1800:2280, 2000:2180] = (30, 30, 40)  # the pedestrian
    return pixels


def _mask(box: tuple[int, int, int, int]) -> bytes:
    top, bottom, left, right = box
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    mask[top:bottom, left:right] = 255
    return _encode(mask, "PNG")


def _run(workload: EraseWorkload, body: bytes, repeat: int, **params: Any) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        events = list(workload.run(WorkloadRequest("erase", params, body)))
        times.append(time.perf_counter() - started)
        assert events[-1].meta["masked_pixels"] > 0
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workload = EraseWorkload(Models(ModelConfig()))
    photo = _photo()
    jpeg = _encode(photo, "JPEG", quality=92)
    png = _encode(photo, "PNG")
    pedestrian = _mask((1796, 2284, 1996, 2184))
    third = _mask((0, HEIGHT, 0, WIDTH // 3))
    pixel = _mask((0, 1, 0, 1))
    out: dict[str, Any] = {
        "bench": "erase",
        "image": f"{WIDTH}x{HEIGHT}",
        "jpeg_mb": round(len(jpeg) / 1e6, 2),
        "png_mb": round(len(png) / 1e6, 2),
        "repeat": args.repeat,
    }
    for name, image in (("jpeg", jpeg), ("png", png)):
        baseline = _run(workload, encode_body(image, pixel), args.repeat, method="telea")
        out[f"{name}_baseline_s"] = round(baseline, 3)
        for method in ("telea", "ns"):
            run = _run(workload, encode_body(image, pedestrian), args.repeat, method=method)
            out[f"{name}_pedestrian_{method}_s"] = round(run, 3)
            out[f"{name}_pedestrian_{method}_fill_s"] = round(run - baseline, 3)
    run = _run(workload, encode_body(jpeg, third), args.repeat, method="telea")
    out["jpeg_third_of_frame_telea_s"] = round(run, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
