"""The ``erase`` workload (privcloud.workloads.erase): an object under a mask is filled in from
its surroundings, every other pixel is kept exactly, and every hostile input (huge, lying,
truncated, not an image, mismatched) is refused with our own error before it costs memory.

Images are made here with numpy and Pillow, in memory. The OpenCV methods need no weights; the
diffusion method runs a tiny random-weight inpainting pipeline built offline
(tests/support/inpaintkit.py) and loaded through the real ``from_pretrained`` path.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import threading
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aikit import models, needs_ai
from privcloud import limits
from privcloud.errors import (
    ConfigError,
    DecodeError,
    PeerError,
    RateLimitedError,
    TooLargeError,
    UnavailableError,
    UnsupportedError,
)
from privcloud.wire import varint
from privcloud.wire.message import EventKind, WorkloadRequest, encode_event
from privcloud.workloads import erase as erase_module
from privcloud.workloads.erase import (
    EraseWorkload,
    encode_body,
    jpeg_scans,
    opencv_fill,
    split_body,
)
from privcloud.workloads.models import INPAINT, ModelConfig, Models

pytestmark = needs_ai

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Top-left corner and side of the red square the tests erase.
SQUARE = (40, 56, 16)


# --- images, made in memory --------------------------------------------------------------------


def gradient(width: int = 128, height: int = 96) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A smooth RGB gradient: what inpainting should restore under a small object."""
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    rgb = np.stack([40 + 160 * x + 0 * y, 60 + 120 * y + 0 * x, 200 - 80 * x * y], axis=-1)
    return np.asarray(rgb.round(), dtype=np.uint8)


def with_square(pixels: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    top, left, side = SQUARE
    out = pixels.copy()
    out[top : top + side, left : left + side] = (230, 20, 20)
    return out


def square_mask(height: int = 96, width: int = 128, grow: int = 2) -> np.ndarray[Any, Any]:
    top, left, side = SQUARE
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[top - grow : top + side + grow, left - grow : left + side + grow] = 255
    return mask


def encode(pixels: np.ndarray[Any, Any], fmt: str = "PNG", **options: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray[Any, np.dtype[np.uint8]]:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def lying_png(width: int, height: int) -> bytes:
    """A valid PNG header declaring ``width`` x ``height`` RGB pixels, with a few bytes of
    pixel data: a decompression bomb's header (the real one would inflate to gigabytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def bomb_png(width: int, height: int) -> bytes:
    """A complete, valid black PNG of ``width`` x ``height`` one-bit pixels: a few kilobytes that
    decode to width x height bytes (PIL unpacks one-bit pixels to one byte each)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (height * (1 + (width + 7) // 8)), 9)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose start-of-frame header is rewritten to claim another size."""
    data = bytearray(encode(gradient(16, 16), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def erase(
    body: bytes, workload_models: Models | None = None, **params: Any
) -> tuple[bytes, dict[str, Any]]:
    workload = EraseWorkload(workload_models or Models(ModelConfig()))
    events = list(workload.run(WorkloadRequest("erase", params, body)))
    assert [e.kind for e in events] == [EventKind.RESULT]
    encode_event(events[0])  # fits one event
    return events[0].data, events[0].meta


def mean_error(
    a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], where: np.ndarray[Any, Any]
) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16))[where].mean())


# --- the fill ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_a_red_square_on_a_gradient_becomes_the_gradient(method: str) -> None:
    clean = gradient()
    photo = with_square(clean)
    mask = square_mask()
    inside = mask != 0
    before = mean_error(photo, clean, inside)
    out, meta = erase(encode_body(encode(photo), encode(mask)), method=method)
    assert out.startswith(PNG_SIGNATURE)
    result = decode(out)
    after = mean_error(result, clean, inside)
    # Measured: 79 before; 2.4 (telea) and 1.5 (ns) after, per channel on 0..255.
    assert before > 70
    assert after < 4, after
    assert np.array_equal(result[~inside], photo[~inside])  # outside: exactly the input
    assert meta == {
        "method": method,
        "model": f"opencv-{method}",
        "width": 128,
        "height": 96,
        "masked_pixels": int(inside.sum()),
        "format": "png",
        "seconds": meta["seconds"],
    }


def test_an_unmasked_jpeg_keeps_its_decoded_pixels_exactly() -> None:
    rng = np.random.default_rng(7)
    photo = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)  # noise: nothing to smooth over
    jpeg = encode(photo, "JPEG", quality=80)
    decoded = decode(jpeg)
    mask = square_mask()
    out, _ = erase(encode_body(jpeg, encode(mask)))
    result = decode(out)
    assert np.array_equal(result[mask == 0], decoded[mask == 0])
    assert not np.array_equal(result[mask != 0], decoded[mask != 0])


def test_a_jpeg_answer_when_asked_and_no_metadata_copied() -> None:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "CANARY-camera-maker"  # Make; a GPS block would travel the same way
    jpeg = encode(with_square(gradient()), "JPEG", quality=95, exif=exif.tobytes())
    out, meta = erase(encode_body(jpeg, encode(square_mask())), format="jpeg")
    assert meta["format"] == "jpeg" and out.startswith(b"\xff\xd8\xff")
    assert b"CANARY" not in out
    png, _ = erase(encode_body(jpeg, encode(square_mask())))
    assert b"CANARY" not in png


def test_the_fill_of_a_crop_equals_the_fill_of_the_whole_image() -> None:
    """The OpenCV methods run on the mask's bounding box grown by radius + 2: the same pixels
    as a fill of the whole photo (so the cost follows the object, not the photo)."""
    import cv2

    rng = np.random.default_rng(3)
    photo = gradient(256, 192).astype(np.int16) + rng.integers(-20, 20, (192, 256, 3))
    photo = photo.clip(0, 255).astype(np.uint8)
    mask = np.zeros((192, 256), dtype=np.uint8)
    mask[60:90, 100:140] = 255
    mask[95:99, 30:200] = 255  # a thin wire across
    for method, flag in (("telea", cv2.INPAINT_TELEA), ("ns", cv2.INPAINT_NS)):
        whole = cv2.inpaint(photo, mask, 5.0, flag)
        cropped = opencv_fill(photo, mask != 0, method, 5)
        assert np.array_equal(cropped, whole), method


def test_transparency_is_kept_and_the_alpha_is_filled_too() -> None:
    clean = np.dstack([gradient(), np.full((96, 128), 200, dtype=np.uint8)])
    photo = clean.copy()
    top, left, side = SQUARE
    photo[top : top + side, left : left + side] = (230, 20, 20, 40)
    mask = square_mask()
    result = decode(erase(encode_body(encode(photo), encode(mask)))[0])
    assert result.shape == (96, 128, 4)
    assert np.array_equal(result[mask == 0], photo[mask == 0])
    assert mean_error(result, clean, mask != 0) < 4


@pytest.mark.parametrize(
    ("mode", "stroke", "background"),
    [
        ("L", 255, 0),
        ("1", 1, 0),
        ("RGB", (255, 255, 255), (0, 0, 0)),
        ("RGBA", (255, 255, 255, 255), (255, 255, 255, 0)),  # strokes on a transparent layer
        ("LA", (255, 255), (0, 255)),
        ("I;16", 65535, 0),
    ],
)
def test_mask_formats_select_the_painted_pixels(mode: str, stroke: Any, background: Any) -> None:
    from PIL import Image, ImageDraw

    mask = Image.new(mode, (128, 96), background)
    top, left, side = SQUARE
    ImageDraw.Draw(mask).rectangle((left - 2, top - 2, left + side + 1, top + side + 1), stroke)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    _, meta = erase(encode_body(encode(with_square(gradient())), buffer.getvalue()))
    assert meta["masked_pixels"] == (side + 4) ** 2


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_the_mask_follows_the_photos_exif_orientation(fmt: str) -> None:
    """A phone stores a portrait photo sideways with orientation 6; an app draws the mask on the
    upright picture, so the mask must match the upright size, and the answer is upright."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    stored = encode(gradient(128, 96), fmt, exif=exif.tobytes())  # 128 x 96, eXIf before IDAT
    upright_mask = np.zeros((128, 96), dtype=np.uint8)
    upright_mask[10:20, 10:20] = 255
    out, meta = erase(encode_body(stored, encode(upright_mask)))
    assert (meta["width"], meta["height"]) == (96, 128)
    assert decode(out).shape[:2] == (128, 96)
    with pytest.raises(DecodeError, match="size"):
        erase(encode_body(stored, encode(square_mask())))  # drawn on the stored 128 x 96


# --- refused inputs ----------------------------------------------------------------------------


def _body(image: bytes | None = None, mask: bytes | None = None) -> bytes:
    return encode_body(
        encode(with_square(gradient())) if image is None else image,
        encode(square_mask()) if mask is None else mask,
    )


def _truncated_png() -> bytes:
    rng = np.random.default_rng(1)
    data = encode(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    return data[: len(data) // 2]


def _truncated_jpeg() -> bytes:
    rng = np.random.default_rng(2)
    data = encode(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), "JPEG")  # past the header
    return data[: len(data) // 2]


def _damaged_png() -> bytes:
    data = bytearray(encode(with_square(gradient())))
    data[20] ^= 0xFF  # inside IHDR: its CRC no longer matches
    return bytes(data)


REFUSED: list[tuple[str, Any, type[PeerError], str]] = [
    ("empty body", lambda: b"", DecodeError, "truncated"),
    ("prefix past the end", lambda: varint.encode(1000) + b"\x89PNG", DecodeError, "ends inside"),
    ("empty image", lambda: varint.encode(0) + b"mask", DecodeError, "image is empty"),
    ("empty mask", lambda: encode_body(encode(gradient()), b""), DecodeError, "mask is empty"),
    (
        "image over the byte bound",
        lambda: varint.encode(limits.MAX_ERASE_IMAGE_BYTES + 1) + b"\0" * 16,
        TooLargeError,
        "image is too large",
    ),
    (
        "mask over the byte bound",
        lambda: _body(mask=b"\0" * (limits.MAX_ERASE_MASK_BYTES + 1)),
        TooLargeError,
        "mask is too large",
    ),
    ("text, not an image", lambda: _body(image=b"hello, this is not a photo"), UnsupportedError,
     "not a PNG or JPEG"),
    ("a GIF", lambda: _body(image=encode(gradient(), "GIF")), UnsupportedError, "not a PNG"),
    ("a JPEG mask", lambda: _body(mask=encode(square_mask(), "JPEG")), UnsupportedError,
     "mask is not a PNG"),
    ("PNG magic, then garbage", lambda: _body(image=PNG_SIGNATURE + b"\0" * 40), DecodeError,
     "damaged"),
    ("damaged PNG header", lambda: _body(image=_damaged_png()), DecodeError, "damaged"),
    ("truncated PNG", lambda: _body(image=_truncated_png()), DecodeError, "truncated"),
    ("truncated JPEG", lambda: _body(image=_truncated_jpeg()), DecodeError, "truncated"),
    ("mask of another size", lambda: _body(mask=encode(square_mask(96, 129))), DecodeError,
     "not the size"),
    ("mask selecting nothing", lambda: _body(mask=encode(np.zeros((96, 128), np.uint8))),
     DecodeError, "no pixel"),
    ("all-white mask", lambda: _body(mask=encode(np.full((96, 128), 255, np.uint8))),
     DecodeError, "every pixel"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [pytest.param(body, error, message, id=name) for name, body, error, message in REFUSED],
)
def test_bad_bodies_are_refused_with_our_errors(
    body: Any, error: type[PeerError], message: str
) -> None:
    with pytest.raises(error, match=message):
        erase(body())


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (5000, 5000),  # 25 megapixels: over MAX_ERASE_PIXELS, under PIL's own bomb bound
        (100_000, 100_000),  # over PIL's bound too (its DecompressionBombError)
        (limits.MAX_ERASE_SIDE + 1, 1),  # a strip
        (4097, 3073),
    ],
)
def test_decompression_bomb_png_is_refused_from_its_header(width: int, height: int) -> None:
    """The header's size is checked before a pixel is decoded: the lying file's data is a few
    bytes, so had it been decoded the error would be "truncated", not "too large"."""
    with pytest.raises(TooLargeError, match=r"pixels|wide"):
        erase(_body(image=lying_png(width, height), mask=lying_png(width, height)))


def test_decompression_bomb_is_refused_without_decoding_a_pixel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real bomb (a complete, valid 6000 x 6000 PNG of a few kilobytes) is refused, and no
    image is decoded on the way: PIL's ``load`` is never called."""
    from PIL import ImageFile

    calls: list[str] = []
    real_load = ImageFile.ImageFile.load

    def spy(image: Any) -> Any:
        calls.append(str(image.format))
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    bomb = bomb_png(6000, 6000)
    assert len(bomb) < 64 * 1024
    with pytest.raises(TooLargeError, match="pixels"):
        erase(_body(image=bomb, mask=bomb))
    assert calls == []
    body = _body()
    erase(body)  # the spy sees a decode when there is one
    assert calls


def test_decompression_bomb_jpeg_is_refused_from_its_header() -> None:
    with pytest.raises(TooLargeError, match="pixels"):
        erase(_body(image=jpeg_declaring(6000, 6000)))


def test_the_largest_allowed_image_passes_the_header_check() -> None:
    """The bound is where it says: exactly MAX_ERASE_PIXELS is let through to decoding (where
    this lying file is found truncated)."""
    with pytest.raises(DecodeError, match=r"truncated|damaged"):
        erase(_body(image=lying_png(4096, 3072), mask=lying_png(4096, 3072)))


def test_a_fill_that_would_hold_the_cpu_is_refused_before_it_starts() -> None:
    """OpenCV's cost grows with the masked pixels times the radius squared: 230 x 230 pixels at
    radius 32 (54 M) is over MAX_ERASE_FILL_WORK, the same mask at radius 5 is not."""
    photo = encode(gradient(256, 256))
    mask = np.zeros((256, 256), dtype=np.uint8)
    mask[10:240, 10:240] = 255
    body = encode_body(photo, encode(mask))
    assert limits.MAX_ERASE_FILL_WORK < 230 * 230 * 32 * 32
    with pytest.raises(TooLargeError, match="radius"):
        erase(body, radius=32)
    assert erase(body, radius=5)[1]["masked_pixels"] == 230 * 230


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"method": "blur"}, DecodeError),
        ({"method": 1}, DecodeError),
        ({"radius": 0}, DecodeError),
        ({"radius": limits.MAX_ERASE_RADIUS + 1}, DecodeError),
        ({"radius": 2.5}, DecodeError),
        ({"format": "gif"}, DecodeError),
        ({"prompt": "x" * (limits.MAX_QUERY_CHARS + 1)}, TooLargeError),
        ({"steps": 0}, DecodeError),
        ({"seed": -1}, DecodeError),
        ({"method": "diffusion"}, UnavailableError),  # no inpainting model configured
    ],
)
def test_out_of_range_parameters_are_refused(
    params: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        erase(_body(), **params)


def test_the_bounds_fit_one_request_and_one_answer() -> None:
    assert (
        limits.MAX_ERASE_IMAGE_BYTES + limits.MAX_ERASE_MASK_BYTES + 8 + limits.MAX_WORKLOAD_JSON
        <= limits.MAX_WORKLOAD_INPUT
    )
    assert limits.MAX_ERASE_RESULT_BYTES + limits.MAX_WORKLOAD_JSON < limits.MAX_WORKLOAD_EVENT
    image, mask = split_body(encode_body(b"image", b"mask"))
    assert (image, mask) == (b"image", b"mask")


# --- progressive JPEG scans (red-team review, 2026-12-04) --------------------------------------


def progressive_jpeg(width: int = 128, height: int = 96) -> bytes:
    """A progressive JPEG of a noisy gradient (noise: scans with stuffed 0xFF bytes in them)."""
    rng = np.random.default_rng(5)
    noisy = gradient(width, height).astype(np.int16) + rng.integers(-30, 30, (height, width, 3))
    return encode(noisy.clip(0, 255).astype(np.uint8), "JPEG", quality=90, progressive=True)


def with_last_scan_repeated(jpeg: bytes, times: int, junk: bytes = b"") -> bytes:
    """``jpeg`` with its last scan (an AC refinement) repeated ``times`` more times, each copy
    after ``junk``: every copy makes libjpeg pass over the whole image once more. The last scan
    runs from the last SOS marker to EOI (no 0xFF 0xDA can be inside entropy-coded data)."""
    assert jpeg.endswith(b"\xff\xd9")
    last_scan = jpeg[jpeg.rindex(b"\xff\xda") : -2]
    return jpeg[:-2] + (junk + last_scan) * times + b"\xff\xd9"


def test_the_scan_count_is_the_number_of_sos_markers_libjpeg_reads() -> None:
    progressive = progressive_jpeg()
    assert b"\xff\x00" in progressive  # stuffed bytes inside the scans are not markers
    assert jpeg_scans(progressive, stop_after=1000) == 10  # libjpeg's default script
    assert jpeg_scans(encode(gradient(), "JPEG"), stop_after=1000) == 1  # baseline
    assert jpeg_scans(with_last_scan_repeated(progressive, 50), stop_after=1000) == 60
    assert jpeg_scans(with_last_scan_repeated(progressive, 50), stop_after=20) == 21
    # libjpeg skips junk and fill bytes before a marker: the copies still count.
    assert jpeg_scans(with_last_scan_repeated(progressive, 50, b"junk"), stop_after=1000) == 60
    assert jpeg_scans(with_last_scan_repeated(progressive, 50, b"\xff" * 3), stop_after=1000) == 60
    # Scans after EOI are never read; a truncated file counts what it has.
    assert jpeg_scans(progressive + with_last_scan_repeated(progressive, 5), stop_after=99) == 10
    assert jpeg_scans(progressive[: progressive.rindex(b"\xff\xda") + 20], stop_after=99) == 10


@pytest.mark.parametrize("junk", [b"", b"junk", b"\xff\xff"])
def test_a_progressive_jpeg_with_thousands_of_scans_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch, junk: bytes
) -> None:
    """A small progressive JPEG whose last scan is repeated makes libjpeg pass over the whole
    image once per copy (2,000 copies of a 124 KB 12-megapixel one: 15 s of CPU, beyond the
    deadline's reach): the scans are counted from the markers and refused, with no decode."""
    from PIL import ImageFile

    calls: list[str] = []
    real_load = ImageFile.ImageFile.load

    def spy(image: Any) -> Any:
        calls.append(str(image.format))
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    progressive = progressive_jpeg()
    bomb = with_last_scan_repeated(progressive, 2000, junk)
    with pytest.raises(TooLargeError, match="scans"):
        erase(_body(image=bomb))
    assert calls == []
    at_the_bound = with_last_scan_repeated(progressive, limits.MAX_ERASE_JPEG_SCANS - 10, junk)
    assert erase(_body(image=at_the_bound))[1]["width"] == 128
    with pytest.raises(TooLargeError, match="scans"):
        erase(_body(image=with_last_scan_repeated(at_the_bound, 1, junk)))


# --- what reaches the log (red-team review, 2026-12-04) ----------------------------------------


def _odd_exif_jpeg() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x011A] = (72, 1, 5, 7)  # XResolution with four entries where one is expected
    return encode(with_square(gradient()), "JPEG", exif=exif.tobytes())


def test_pil_warnings_that_quote_the_request_are_not_raised() -> None:
    """PIL warns, quoting the input, about a size over its own bomb threshold ("Image size
    (90000000 pixels) exceeds limit") and about odd EXIF ("tag 282 had too many entries"); the
    node logs Python warnings, so the workload silences them (its bounds are its own)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(TooLargeError, match=r"pixels|wide"):
            erase(_body(image=lying_png(10_000, 9_000), mask=lying_png(10_000, 9_000)))
        assert erase(_body(image=_odd_exif_jpeg()))[1]["width"] == 128
    assert [str(w.message)[:40] for w in caught] == []


# --- 16-bit greyscale (red-team review, 2026-12-04) --------------------------------------------


def test_a_16_bit_greyscale_png_is_not_turned_white() -> None:
    """PIL's convert("RGB") clips 16-bit grey at 255; the workload keeps the high byte."""
    wide = np.linspace(0, 65535, 96 * 128).reshape(96, 128).astype(np.uint16)
    mask = square_mask()
    result = decode(erase(encode_body(encode(wide), encode(mask)))[0]).astype(np.int16)
    assert result.shape == (96, 128, 3)
    expected = (wide >> 8).astype(np.int16)[..., None]
    assert int(np.abs(result - expected)[mask == 0].max()) <= 1


def test_a_16_bit_greyscale_png_keeps_its_transparent_value() -> None:
    from PIL import Image

    wide = np.linspace(0, 65535, 96 * 128).reshape(96, 128).astype(np.uint16)
    wide[:10] = 65535  # the transparent grey value (tRNS)
    buffer = io.BytesIO()
    Image.fromarray(wide).save(buffer, format="PNG", transparency=65535)
    mask = square_mask()
    result = decode(erase(encode_body(buffer.getvalue(), encode(mask)))[0]).astype(np.int16)
    assert result.shape == (96, 128, 4)
    assert (result[:10, :, 3] == 0).all() and (result[20:30, :, 3] == 255).all()
    expected = (wide >> 8).astype(np.int16)
    assert int(np.abs(result[20:30, :, 0] - expected[20:30]).max()) <= 1


# --- concurrency (red-team review, 2026-12-04) -------------------------------------------------


def test_erases_past_the_concurrency_cap_are_refused_not_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One maximum-size erase holds ~280 MB: at most MAX_CONCURRENT_ERASE run at once per
    workload; one more is refused at once (429), and the slots come back, after an error too.
    No timing: the running requests are held inside their decode until the refusal is seen."""
    cap = limits.MAX_CONCURRENT_ERASE
    real_decode = erase_module.decode_inputs
    inside = threading.Semaphore(0)
    release = threading.Event()
    lock = threading.Lock()
    running = most = 0

    def held_decode(body: bytes) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            over = running > cap
        if over:  # without the cap: fail here, rather than wait for a release that never comes
            with lock:
                running -= 1
            raise AssertionError("more erases ran at once than the cap")
        inside.release()
        try:
            assert release.wait(60)
            return real_decode(body)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(erase_module, "decode_inputs", held_decode)
    workload = EraseWorkload(Models(ModelConfig()))
    good = _body()
    bad = _body(mask=encode(np.zeros((96, 128), np.uint8)))  # selects nothing: DecodeError
    outcomes: list[str] = []

    def one(body: bytes) -> None:
        try:
            list(workload.run(WorkloadRequest("erase", {}, body)))
            outcomes.append("ok")
        except PeerError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=one, args=(good if i else bad,)) for i in range(cap)]
    for thread in threads:
        thread.start()
    for _ in range(cap):
        assert inside.acquire(timeout=60)
    with pytest.raises(RateLimitedError):
        list(workload.run(WorkloadRequest("erase", {}, good)))
    with pytest.raises(DecodeError):  # parameters are checked before a slot is taken
        list(workload.run(WorkloadRequest("erase", {"method": "blur"}, good)))
    release.set()
    for thread in threads:
        thread.join(60)
    assert most == cap
    assert sorted(outcomes) == sorted(["DecodeError"] + ["ok"] * (cap - 1))
    for _ in range(cap + 1):  # every slot came back
        list(workload.run(WorkloadRequest("erase", {}, good)))


# --- the diffusion method ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def inpaint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from inpaintkit import build_tiny_inpaint_pipeline

    return build_tiny_inpaint_pipeline(tmp_path_factory.mktemp("inpaint-model") / "tiny-inpaint")


def test_a_bad_inpainting_model_directory_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PRIVCLOUD_INPAINT_MODEL", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="PRIVCLOUD_INPAINT_MODEL"):
        ModelConfig.from_env()
    monkeypatch.setenv("PRIVCLOUD_INPAINT_MODEL", str(tmp_path))
    with pytest.raises(ConfigError, match=r"model_index\.json"):
        ModelConfig.from_env()


def test_an_inpainting_directory_that_does_not_load_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    broken = Models(ModelConfig(cache_dir=tmp_path / "cache", inpaint_model_dir=tmp_path))
    assert INPAINT in broken.available()
    with pytest.raises(UnavailableError, match="could not be loaded"):
        erase(_body(), broken)


def test_diffusion_paints_only_under_the_mask_and_repeats_with_its_seed(inpaint_dir: Path) -> None:
    served = Models(
        ModelConfig(cache_dir=inpaint_dir.parent / "cache", inpaint_model_dir=inpaint_dir)
    )
    photo = with_square(gradient())
    mask = square_mask()
    body = encode_body(encode(photo), encode(mask))
    out, meta = erase(body, served, steps=2, seed=11)  # the default method with a model
    assert (meta["method"], meta["model"], meta["seed"], meta["steps"]) == (
        "diffusion",
        "tiny-inpaint",
        11,
        2,
    )
    result = decode(out)
    assert result.shape == photo.shape
    assert np.array_equal(result[mask == 0], photo[mask == 0])
    assert not np.array_equal(result[mask != 0], photo[mask != 0])  # random weights: noise
    assert erase(body, served, steps=2, seed=11)[0] == out
    assert erase(body, served, steps=2, seed=12)[0] != out
    # OpenCV stays available beside the model.
    assert erase(body, served, method="telea")[1]["model"] == "opencv-telea"


#: A node serving one erase request, as ``privcloud node --log-file`` runs it: the process's
#: logging first, then the models; diffusers is first imported when the pipeline loads.
_ERASE_IN_A_NODE = """
import logging, sys
from pathlib import Path
from privcloud.cli.runtime import configure_logging
from privcloud.wire.message import WorkloadRequest
from privcloud.workloads.erase import EraseWorkload
from privcloud.workloads.models import ModelConfig, Models

inpaint, log_file, body = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]).read_bytes()
configure_logging(verbose=True, log_file=log_file)
served = Models(ModelConfig(cache_dir=inpaint.parent / "cache", inpaint_model_dir=inpaint))
params = {"method": "diffusion", "steps": 1, "seed": 1, "prompt": sys.stdin.read()}
list(EraseWorkload(served).run(WorkloadRequest("erase", params, body)))
for name in ("diffusers", "transformers"):
    library = logging.getLogger(name)
    print(name, len(library.handlers), library.propagate, library.getEffectiveLevel())
"""


def test_clip_truncation_warning_cannot_quote_an_erase_prompt(
    inpaint_dir: Path, tmp_path: Path
) -> None:
    """Past CLIP's 77 tokens diffusers logs the part of the prompt it cut, verbatim, at WARNING
    on a stderr handler of its own (raw standard error: under ``privcloud up --detach``, the log
    file), set up when the node first imports it: the erase prompt's end must reach neither
    the node's standard error nor its log file."""
    canary = "zebracanaryqx"  # letters only: the tiny tokenizer splits digits and dashes
    body = tmp_path / "body"
    body.write_bytes(encode_body(encode(with_square(gradient())), encode(square_mask())))
    log_file = tmp_path / "node.log"
    result = subprocess.run(
        [sys.executable, "-c", _ERASE_IN_A_NODE, str(inpaint_dir), str(log_file), str(body)],
        input="a red cat on the beach " * 40 + canary,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert canary not in result.stderr
    assert canary not in result.stdout
    assert canary not in log_file.read_text()
    # Their records go through the process's handlers (and filters), at ERROR only.
    assert result.stdout.splitlines()[-2:] == ["diffusers 0 True 40", "transformers 0 True 40"]


# --- through the full private path -------------------------------------------------------------


@pytest.fixture
def cloud_models(inpaint_dir: Path) -> Iterator[Models]:
    yield Models(ModelConfig(cache_dir=models().config.cache_dir, inpaint_model_dir=inpaint_dir))


@pytest.mark.slow
async def test_erase_through_the_private_path(tmp_path: Path, cloud_models: Models) -> None:
    """Relay, gateway, tokens, sealed envelope, admitted node: the workload's answers and its
    errors (with their classes) arrive unchanged, and the inpainting model is in the release
    manifest the client checked."""
    from privcloud.localcloud.cloud import LocalCloud, NodeSpec
    from privcloud.sdk import Client
    from privcloud.trust.admission import ClientPolicy

    clean = gradient()
    photo = with_square(clean)
    mask = square_mask()
    body = encode_body(encode(photo), encode(mask))
    cloud = LocalCloud(
        nodes=[NodeSpec("node-1", "eu-west")], data_dir=str(tmp_path / "data"), models=cloud_models
    )
    async with cloud:
        assert cloud.release is not None
        names = [entry.path for entry in cloud.release.models]
        assert "inpaint/model_index.json" in names
        assert any(n.startswith("inpaint/unet/") for n in names)
        async with Client(
            cloud.relay_url,
            policy=ClientPolicy.insecure_local_dev(),
            wallet=cloud.new_wallet(batch_size=16),  # (none is fetched on a path)
            trust=cloud.client_trust(),
        ) as client:
            telea = await client.call("erase", {"method": "telea"}, body)
            painted = await client.call("erase", {"steps": 2, "seed": 5}, body)
            with pytest.raises(TooLargeError):
                await client.call("erase", {}, _body(image=lying_png(5000, 5000)))
            with pytest.raises(UnsupportedError):
                await client.call("erase", {}, _body(image=b"GIF89a not a photo"))
            with pytest.raises(DecodeError):
                await client.call("erase", {}, _body(mask=encode(square_mask(90, 128))))
    result = decode(telea.data)
    assert mean_error(result, clean, mask != 0) < 4
    assert np.array_equal(result[mask == 0], photo[mask == 0])
    assert painted.meta["method"] == "diffusion"
    assert np.array_equal(decode(painted.data)[mask == 0], photo[mask == 0])


@pytest.mark.slow
def test_erase_command_writes_the_erased_png(tmp_path: Path) -> None:
    """``privcloud erase IMAGE MASK -o OUT``, with no cloud running: the command starts one."""
    (tmp_path / "photo.png").write_bytes(encode(with_square(gradient())))
    (tmp_path / "mask.png").write_bytes(encode(square_mask()))
    config = tmp_path / "privcloud.toml"
    config.write_text(f'[cloud]\ndata_dir = "{tmp_path / "none"}"\n[models]\nwarm = []\n')
    out = tmp_path / "out.png"
    result = subprocess.run(
        [sys.executable, "-m", "privcloud.cli", "erase", str(tmp_path / "photo.png"),
         str(tmp_path / "mask.png"), "-o", str(out), "--config", str(config)],
        env=dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state")),
        capture_output=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert b"wrote" in result.stdout
    erased = decode(out.read_bytes())
    mask = square_mask()
    assert mean_error(erased, gradient(), mask != 0) < 4
