"""The ``erase`` workload: remove an object from a photo, given a mask of it.

Methods (parameter ``method``) fill the masked pixels from what surrounds them:

* ``telea`` and ``ns``: OpenCV's inpainting (``cv2.inpaint``: Telea's fast-marching method,
  2004, or Bertalmio's Navier-Stokes method, 2001). No weights. Good for small or thin objects
  (a pedestrian in the distance, a reflection, a wire); a large object becomes a smooth smear.
  ``telea`` is the default when no inpainting model is configured.
* ``diffusion``: a diffusers inpainting pipeline (``AutoPipelineForInpainting``) from the
  operator's directory ``ModelConfig.inpaint_model_dir`` (``PRIVCLOUD_INPAINT_MODEL``), loaded
  and pinned to the release manifest by :class:`Models` (model ``inpaint``); it paints new
  content, and is the default when that directory is configured. It runs on a crop around the
  mask scaled to the pipeline's native side (512 for Stable Diffusion inpainting), then scaled
  back, so a large photo costs what a 512-pixel one does.

Whatever the method, every pixel outside the mask is the decoded input's, exactly: the filled
pixels are composited into the input under the mask (a 16-bit greyscale PNG is first reduced to
8 bits, its high byte). Nothing is written to disk: both images are decoded, and the answer
encoded, in memory. PIL's warnings about an input (its own decompression-bomb threshold, odd
EXIF) are silenced, not logged: their text can quote the request, and our bounds are our own.
diffusers' own log, which quotes the part of a ``prompt`` CLIP cut, is held at ERROR while the
pipeline runs (:func:`~privcloud.workloads.model_loaders.prompt_loggers_quiet`, as for
``generate_image``).

At most ``limits.MAX_CONCURRENT_ERASE`` requests are worked on at once per workload (node); one
more is refused at once with :class:`RateLimitedError` (429), after its parameters are checked
and before its images are decoded.

Wire shape. ``body = varint(len(image)) || image || mask`` (a QUIC varint, RFC 9000 §16, as in
the workload request itself; :func:`encode_body` builds it). The mask travels in the body, not
in the JSON parameters: base64 would grow it by a third and the parameters are bounded by
``MAX_WORKLOAD_JSON`` (256 KiB). ``image``: PNG or JPEG. ``mask``: a PNG of the same size (after
both are turned upright by their EXIF orientation); a pixel is erased where any colour channel
of the mask is non-zero and, if the mask has alpha, its alpha is non-zero too (so white strokes
on black, and strokes on a transparent layer, both work).

Parameters (JSON): ``method`` (``telea``|``ns``|``diffusion``), ``radius`` (1 to
MAX_ERASE_RADIUS, default 5: the neighbourhood, in pixels, each OpenCV-filled pixel is computed
from; for ``diffusion`` the alpha channel, if any, is filled this way), ``format`` (``png``,
lossless, the default; or ``jpeg``, quality 95, smaller), and for ``diffusion`` only:
``prompt`` (what to paint, default empty, at most MAX_QUERY_CHARS), ``steps`` (1 to
MAX_IMAGE_STEPS, default 20), ``seed`` (default: drawn and returned) and ``guidance`` (0 to 20,
default 7.5).

Result: ``data`` = the image (8-bit RGB, or RGBA when the input has transparency), with no
metadata (the input's EXIF, its GPS position among it, is not copied); ``meta`` = ``{"width",
"height", "method", "model", "masked_pixels", "format", "seconds"}`` (+ ``seed``, ``steps`` for
``diffusion``).

Checks, in this order, each with its own error and none quoting the input:

1. the body's framing: a truncated prefix or image is :class:`DecodeError`, an empty image or
   mask too; an image over MAX_ERASE_IMAGE_BYTES or a mask over MAX_ERASE_MASK_BYTES is
   :class:`TooLargeError` (413);
2. each file's header: anything but PNG or JPEG (and a JPEG mask) is :class:`UnsupportedError`
   (415); a header that does not parse is :class:`DecodeError`;
3. the image's dimensions *from its header*, before a pixel is decoded (a 100 KB PNG may declare
   100,000 x 100,000 pixels): a side over MAX_ERASE_SIDE or more than MAX_ERASE_PIXELS pixels
   is :class:`TooLargeError`; and a JPEG's scans, counted from its markers: libjpeg passes over
   the whole image once per scan, so more than MAX_ERASE_JPEG_SCANS is :class:`TooLargeError`
   (a 124 KB progressive JPEG of 2,000 scans costs 15 s of CPU);
4. the mask's header dimensions equal the image's, else :class:`DecodeError`;
5. decoding: a truncated or corrupt file is :class:`DecodeError`;
6. the mask selects at least one pixel and leaves at least one, else :class:`DecodeError`;
7. for the OpenCV methods (and an alpha channel), masked pixels times the radius squared at
   most MAX_ERASE_FILL_WORK (the fill's cost grows with both), else :class:`TooLargeError`;
8. fill, composite, encode: an answer over MAX_ERASE_RESULT_BYTES is :class:`TooLargeError`.
"""

from __future__ import annotations

import io
import re
import secrets
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from privcloud import limits
from privcloud.errors import (
    DecodeError,
    RateLimitedError,
    RequestTimeoutError,
    TooLargeError,
    UnavailableError,
    UnsupportedError,
)
from privcloud.wire import varint
from privcloud.wire.message import Event, EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import model_files, params
from privcloud.workloads.base import ModelWorkload, check_deadline
from privcloud.workloads.model_loaders import prompt_loggers_quiet
from privcloud.workloads.models import INPAINT

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt

    from privcloud.workloads.models import Models

    Pixels = npt.NDArray[np.uint8]
    Selection = npt.NDArray[np.bool_]

OPENCV_METHODS = ("telea", "ns")
METHODS = (*OPENCV_METHODS, "diffusion")
FORMATS = ("png", "jpeg")
DEFAULT_RADIUS = 5
JPEG_QUALITY = 95
SEED_RANGE = 2**32
#: The files accepted, by the magic bytes they start with (PIL is told to try only these).
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
#: JPEG markers (ITU-T T.81 §B.1.1.3 and Table B.1) the scan count needs: start of scan, end of
#: image, and those that stand alone, without a length (TEM, RST0-RST7; SOI and EOI too).
_SOS, _EOI = 0xDA, 0xD9
_STANDALONE_MARKERS = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})
#: The next marker between segments: 0xFF, then a code other than 0x00 (a stuffed 0xFF) or 0xFF
#: (fill). Searched for one byte pair at a time, as libjpeg's ``next_marker`` does (junk between
#: segments is skipped, not an error), so a run of fill bytes costs linear time.
_MARKER_RE = re.compile(rb"\xff[^\x00\xff]")
#: The marker that ends a scan's entropy-coded data: as above, but RST0-RST7 belong to the scan
#: (T.81 §B.1.1.5, F.1.2.3; libjpeg's entropy decoder stops at any other code after 0xFF).
_SCAN_END_RE = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")
#: EXIF orientations that swap width and height (TIFF 6.0: 5-8 are the transposed ones).
_TRANSPOSED = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 0x0112
#: Context kept around the mask's bounding box for the diffusion crop: at least this many
#: pixels, and at least half the box's larger side (the model needs to see the scene).
_DIFFUSION_MIN_MARGIN = 32
#: The libraries every method needs (the ``ai`` extra).
_LIBRARIES = ("numpy", "cv2", "PIL")
#: PIL modes of 16-bit (and 32-bit integer) greyscale, as a 16-bit PNG opens.
_WIDE_GREY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


@dataclass(frozen=True)
class EraseSpec:
    """What one request asks for."""

    method: str
    radius: int
    format: str
    prompt: str
    steps: int
    seed: int
    guidance: float


def parse_spec(request_params: JSONObject, *, default_method: str) -> EraseSpec:
    """Read and bound the parameters; raises :class:`DecodeError`/:class:`TooLargeError`."""
    return EraseSpec(
        method=params.choice(request_params, "method", METHODS, default_method),
        radius=params.integer(
            request_params, "radius", DEFAULT_RADIUS, lo=1, hi=limits.MAX_ERASE_RADIUS
        ),
        format=params.choice(request_params, "format", FORMATS, "png"),
        prompt=params.text(
            request_params, "prompt", "", max_chars=limits.MAX_QUERY_CHARS, allow_empty=True
        ),
        steps=params.integer(request_params, "steps", 20, lo=1, hi=limits.MAX_IMAGE_STEPS),
        seed=params.integer(
            request_params, "seed", secrets.randbelow(SEED_RANGE), lo=0, hi=SEED_RANGE - 1
        ),
        guidance=params.number(request_params, "guidance", 7.5, lo=0.0, hi=20.0),
    )


# --- the body ----------------------------------------------------------------------------------


def encode_body(image: bytes, mask: bytes) -> bytes:
    """The request body for ``image`` and ``mask`` (file bytes): ``varint(len(image)) || image
    || mask``."""
    return varint.encode(len(image)) + image + mask


def split_body(body: bytes) -> tuple[bytes, bytes]:
    """The image and mask bytes of a request body (step 1 of the module's checks)."""
    length, offset = varint.decode(body)
    if length > limits.MAX_ERASE_IMAGE_BYTES:
        raise TooLargeError("the image is too large")
    if length == 0:
        raise DecodeError("the image is empty")
    if offset + length > len(body):
        raise DecodeError("the body ends inside the image")
    mask = body[offset + length :]
    if len(mask) > limits.MAX_ERASE_MASK_BYTES:
        raise TooLargeError("the mask is too large")
    if not mask:
        raise DecodeError("the mask is empty")
    return body[offset : offset + length], mask


# --- decoding, bounded -------------------------------------------------------------------------


def jpeg_scans(data: bytes, *, stop_after: int) -> int:
    """The number of scans (SOS markers) libjpeg would read in the JPEG ``data``, counted
    without decoding; counting stops once it passes ``stop_after``.

    Markers are walked from SOI as libjpeg reads them (T.81 §B.1): a marker segment is skipped
    by its length; a scan's entropy-coded data runs to the first 0xFF followed by neither 0x00
    (a stuffed 0xFF: §B.1.1.5), 0xFF (fill) nor an RST; bytes between segments that are no
    marker are skipped to the next one. The walk ends at EOI, at the end of the data, or at a
    length that cannot be (libjpeg refuses those, so decoding fails there anyway). Linear in
    ``len(data)``: every search is a regular expression with no repetition.
    """
    scans = 0
    at = 2  # past SOI
    while scans <= stop_after:
        found = _MARKER_RE.search(data, at)
        if found is None:
            return scans
        marker, at = data[found.start() + 1], found.end()
        if marker == _EOI:
            return scans
        if marker in _STANDALONE_MARKERS:
            continue
        length = int.from_bytes(data[at : at + 2], "big")
        if length < 2:
            return scans
        at += length
        if marker == _SOS:
            scans += 1
            found = _SCAN_END_RE.search(data, at)
            if found is None:
                return scans
            at = found.start()
    return scans


def check_jpeg_scans(data: bytes) -> None:
    """Step 3 for a JPEG: at most MAX_ERASE_JPEG_SCANS scans (each a pass over the whole
    image when decoded), else :class:`TooLargeError`."""
    limit = limits.MAX_ERASE_JPEG_SCANS
    if jpeg_scans(data, stop_after=limit) > limit:
        raise TooLargeError("the image has too many scans")


def _quiet_pil_warnings() -> None:
    """Silence the warnings PIL's own modules raise about an input (its decompression-bomb
    threshold, which our header check enforces more strictly; EXIF tags with too many entries;
    corrupt metadata): their text can quote the request, and the node logs Python warnings.

    Process-wide filters, added again at each call (``filterwarnings`` moves an existing one to
    the front): ``warnings.catch_warnings`` would be simpler but swaps the process's filter list
    in and out, which is not thread-safe, and the node runs two erases (and other workloads)
    in threads at once: overlapping exits can restore a stale list and leave every warning of
    the process ignored, or this filter lost. Were it lost (another thread's ``catch_warnings``
    restoring an older list), the warning is still withheld from the log (``py.warnings`` is
    among the loggers whose records are reduced to their type: services/http.py).
    """
    from PIL import Image  # noqa: PLC0415

    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    warnings.filterwarnings("ignore", module=r"PIL(\.|$)")


def _open(data: bytes, what: str, formats: tuple[str, ...]) -> Any:
    """The PIL image of ``data`` with only its header read (step 2)."""
    from PIL import Image  # noqa: PLC0415 - heavy, optional: imported on first use

    magic_ok = data.startswith(_PNG_MAGIC) or ("JPEG" in formats and data.startswith(_JPEG_MAGIC))
    if not magic_ok:
        raise UnsupportedError(f"the {what} is not a {' or '.join(formats)} file")
    _quiet_pil_warnings()
    try:
        return Image.open(io.BytesIO(data), formats=list(formats))
    except Image.DecompressionBombError as exc:  # PIL's own bound, far above ours
        raise TooLargeError(f"the {what} has too many pixels") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeError(f"the {what} file is damaged") from exc


def upright_size(image: Any) -> tuple[int, int]:
    """(width, height) of an opened image once turned upright by its EXIF orientation, read from
    the header alone.

    A PNG's orientation is read only from an ``eXIf`` chunk seen before the pixel data (where
    the PNG extensions put it): for any other PNG, PIL's ``getexif()`` would *decode the whole
    image* to look for one after the pixels.
    """
    width, height = image.size
    if image.format == "PNG" and "exif" not in image.info:
        return width, height
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION)
    except (OSError, SyntaxError, ValueError, EOFError):
        orientation = None  # unreadable EXIF: exif_transpose ignores it too
    return (height, width) if orientation in _TRANSPOSED else (width, height)


def check_dimensions(size: tuple[int, int]) -> None:
    """Step 3: the bounds on an image's sides and pixels (from its header)."""
    width, height = size
    if width < 1 or height < 1:
        raise DecodeError("the image has no pixels")
    if width > limits.MAX_ERASE_SIDE or height > limits.MAX_ERASE_SIDE:
        raise TooLargeError("the image is too wide or too tall")
    if width * height > limits.MAX_ERASE_PIXELS:
        raise TooLargeError("the image has too many pixels")


def _decode(image: Any, what: str) -> Any:
    """Step 5: the decoded, upright image."""
    from PIL import Image, ImageOps  # noqa: PLC0415

    _quiet_pil_warnings()
    try:
        image.load()
        return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as exc:
        raise TooLargeError(f"the {what} has too many pixels") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeError(f"the {what} file is damaged or truncated") from exc


def to_8_bits(image: Any) -> Any:
    """``image`` with 16-bit greyscale reduced to 8 bits (the high byte of each value; a
    ``tRNS`` grey value becomes an alpha channel), any other mode unchanged.

    PIL's ``convert("RGB")`` of a 16-bit grey image clips each value at 255 instead of scaling
    it, which would turn all but the darkest 1/256th of the range white.
    """
    import numpy as np  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    if image.mode not in _WIDE_GREY_MODES:
        return image
    values = np.asarray(image).astype(np.int64).clip(0, 0xFFFF)
    grey = (values >> 8).astype(np.uint8)
    transparent = image.info.get("transparency")
    if isinstance(transparent, int):
        alpha = np.where(values == transparent, 0, 255).astype(np.uint8)
        return Image.fromarray(np.dstack([grey, alpha]), "LA")
    return Image.fromarray(grey, "L")


def selection(mask: Any) -> Selection:
    """The pixels a decoded mask selects: any colour channel non-zero, and alpha non-zero where
    the mask has alpha."""
    import numpy as np  # noqa: PLC0415

    if mask.mode == "P":
        mask = mask.convert("RGBA")
    values = np.asarray(mask)
    if values.ndim == 2:
        return np.asarray(values != 0)
    bands = mask.getbands()
    colour = [i for i, band in enumerate(bands) if band != "A"]
    chosen: Selection = (values[..., colour] != 0).any(axis=-1)
    if "A" in bands:
        chosen &= values[..., bands.index("A")] != 0
    return chosen


@dataclass(frozen=True)
class Inputs:
    """A request's decoded image (RGB or RGBA, upright) and the pixels its mask selects."""

    pixels: Pixels
    selected: Selection

    @property
    def size(self) -> tuple[int, int]:
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


def decode_inputs(body: bytes) -> Inputs:
    """Steps 1 to 6 of the module's checks: the request body to pixels and a selection."""
    import numpy as np  # noqa: PLC0415

    image_bytes, mask_bytes = split_body(body)
    image = _open(image_bytes, "image", ("PNG", "JPEG"))
    mask = _open(mask_bytes, "mask", ("PNG",))  # never a JPEG: no scans to count
    check_dimensions(image.size)  # before anything that could decode a pixel
    if image.format == "JPEG":
        check_jpeg_scans(image_bytes)
    size = upright_size(image)
    if upright_size(mask) != size:
        raise DecodeError("the mask is not the size of the image")
    decoded = to_8_bits(_decode(image, "image"))
    decoded_mask = _decode(mask, "mask")
    if decoded.size != size or decoded_mask.size != size:
        raise DecodeError("the image file is damaged")  # a header that lied about its size
    mode = "RGBA" if decoded.has_transparency_data else "RGB"
    pixels = np.ascontiguousarray(np.asarray(decoded.convert(mode), dtype=np.uint8))
    selected = selection(decoded_mask)
    count = int(selected.sum())
    if count == 0:
        raise DecodeError("the mask selects no pixel")
    if count == selected.size:
        raise DecodeError("the mask selects every pixel: there is nothing to fill from")
    return Inputs(pixels, selected)


# --- filling -----------------------------------------------------------------------------------


def bounding_box(selected: Selection, margin: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), end-exclusive, of the selected pixels, grown by ``margin`` on
    every side and clipped to the image."""
    import numpy as np  # noqa: PLC0415

    rows = np.flatnonzero(selected.any(axis=1))
    cols = np.flatnonzero(selected.any(axis=0))
    height, width = selected.shape
    return (
        max(0, int(rows[0]) - margin),
        min(height, int(rows[-1]) + 1 + margin),
        max(0, int(cols[0]) - margin),
        min(width, int(cols[-1]) + 1 + margin),
    )


def opencv_fill(pixels: Pixels, selected: Selection, method: str, radius: int) -> Pixels:
    """``pixels`` with the selected ones filled by ``cv2.inpaint`` (Telea or Navier-Stokes).

    Both methods compute a pixel from known pixels within ``radius`` of it (by fast marching
    from the mask's edge inward), so only the mask's bounding box grown by ``radius`` + 2 is
    handed to OpenCV: the cost follows the object, not the photo. Channels beyond three (alpha)
    are filled one by one.
    """
    import cv2  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    top, bottom, left, right = bounding_box(selected, radius + 2)
    crop = pixels[top:bottom, left:right]
    crop_mask = np.ascontiguousarray(selected[top:bottom, left:right], dtype=np.uint8) * 255
    parts = [np.ascontiguousarray(crop[..., :3])]
    parts += [np.ascontiguousarray(crop[..., c]) for c in range(3, crop.shape[2])]
    filled = [cv2.inpaint(part, crop_mask, float(radius), flag) for part in parts]
    merged = filled[0] if len(filled) == 1 else np.dstack([filled[0], *filled[1:]])
    out = pixels.copy()
    out[top:bottom, left:right] = merged
    return out


def diffusion_fill(pipe: Any, pixels: Pixels, selected: Selection, spec: EraseSpec) -> Pixels:
    """``pixels`` with the selected ones painted by the inpainting pipeline ``pipe``.

    The crop around the mask (its bounding box and a margin of context) is scaled to the
    pipeline's native side (:func:`privcloud.workloads.imagegen.default_side`; both sides
    multiples of 8), painted, and scaled back. Alpha, if any, is filled by Telea. The deadline
    is checked after each denoising step (diffusers' ``interrupt`` stops the loop).
    """
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    from privcloud.workloads.imagegen import default_side  # noqa: PLC0415 - needs the ai extra

    rows, cols = np.flatnonzero(selected.any(axis=1)), np.flatnonzero(selected.any(axis=0))
    extent = max(int(rows[-1] - rows[0]), int(cols[-1] - cols[0])) + 1
    top, bottom, left, right = bounding_box(selected, max(_DIFFUSION_MIN_MARGIN, extent // 2))
    crop_w, crop_h = right - left, bottom - top
    side = default_side(pipe)
    scale = side / max(crop_w, crop_h)
    width = max(8, round(crop_w * scale / 8) * 8)
    height = max(8, round(crop_h * scale / 8) * 8)
    crop = Image.fromarray(np.ascontiguousarray(pixels[top:bottom, left:right, :3]))
    crop_mask = Image.fromarray(
        np.ascontiguousarray(selected[top:bottom, left:right], dtype=np.uint8) * 255
    )
    stopped = False

    def step_end(pipeline: Any, _step: int, _timestep: Any, tensors: dict[str, Any]) -> Any:
        nonlocal stopped
        try:
            check_deadline()
        except RequestTimeoutError:  # raised again below, outside diffusers' loop
            stopped = True
            pipeline._interrupt = True  # diffusers: the documented way to stop
        return tensors

    with prompt_loggers_quiet():  # diffusers quotes the part of a prompt CLIP cut
        output = pipe(
            prompt=spec.prompt,
            image=crop.resize((width, height), Image.Resampling.LANCZOS),
            mask_image=crop_mask.resize((width, height), Image.Resampling.NEAREST),
            width=width,
            height=height,
            num_inference_steps=spec.steps,
            guidance_scale=spec.guidance,
            generator=torch.Generator("cpu").manual_seed(spec.seed),
            output_type="pil",
            callback_on_step_end=step_end,
        )
    if stopped:
        check_deadline()
    painted = output.images[0].convert("RGB").resize((crop_w, crop_h), Image.Resampling.LANCZOS)
    out = pixels.copy()
    out[top:bottom, left:right, :3] = np.asarray(painted, dtype=np.uint8)
    if pixels.shape[2] == 4:
        alpha = opencv_fill(pixels[..., 3:], selected, "telea", spec.radius)
        out[..., 3] = alpha[..., 0]
    return out


def check_fill_work(masked_pixels: int, radius: int) -> None:
    """The bound on OpenCV's work: masked pixels times the radius squared (its cost grows with
    both) at most MAX_ERASE_FILL_WORK, else :class:`TooLargeError`."""
    if masked_pixels * radius * radius > limits.MAX_ERASE_FILL_WORK:
        raise TooLargeError("the mask is too large for this radius: use a smaller one of either")


def composite(original: Pixels, filled: Pixels, selected: Selection) -> Pixels:
    """``filled`` under the mask, ``original`` everywhere else (exactly)."""
    import numpy as np  # noqa: PLC0415

    return np.where(selected[..., None], filled, original).astype(np.uint8)


def encode_image(pixels: Pixels, fmt: str) -> bytes:
    """PNG (lossless) or JPEG (quality 95; alpha dropped) bytes, in memory, with no metadata."""
    from PIL import Image  # noqa: PLC0415

    image = Image.fromarray(pixels)
    buffer = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        image.save(buffer, format="PNG")
    data = buffer.getvalue()
    if len(data) > limits.MAX_ERASE_RESULT_BYTES:
        raise TooLargeError("the erased image is too large to send back")
    return data


# --- the workload ------------------------------------------------------------------------------


class EraseWorkload(ModelWorkload):
    """``erase``: one image with the masked object filled in from its surroundings."""

    name = "erase"

    def __init__(self, models: Models) -> None:
        super().__init__(models)
        #: One slot per request being worked on (limits.MAX_CONCURRENT_ERASE).
        self._slots = threading.BoundedSemaphore(limits.MAX_CONCURRENT_ERASE)

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        for module in _LIBRARIES:
            model_files.import_optional(module)  # absent: UnavailableError naming the fix
        model_dir = self._models.config.inpaint_model_dir
        spec = parse_spec(
            request.params, default_method="diffusion" if model_dir is not None else "telea"
        )
        if spec.method == "diffusion" and model_dir is None:
            raise UnavailableError("no inpainting model is configured")
        if not self._slots.acquire(blocking=False):
            raise RateLimitedError("the node is erasing its most images at once")
        try:
            meta, data = self._erase(request.body, spec, model_dir)
        finally:
            self._slots.release()
        yield Event(EventKind.RESULT, meta, data)

    def _erase(
        self, body: bytes, spec: EraseSpec, model_dir: Path | None
    ) -> tuple[JSONObject, bytes]:
        """The answer's meta and image for one request (every step after the parameters)."""
        started = time.perf_counter()
        inputs = decode_inputs(body)
        masked = int(inputs.selected.sum())
        if spec.method in OPENCV_METHODS or inputs.pixels.shape[2] == 4:
            check_fill_work(masked, spec.radius)
        check_deadline()
        meta: JSONObject = {"method": spec.method}
        if spec.method == "diffusion":
            with self._models.use(INPAINT) as pipe:
                filled = diffusion_fill(pipe, inputs.pixels, inputs.selected, spec)
            meta.update(model=model_dir.name if model_dir else INPAINT, seed=spec.seed)
            meta["steps"] = spec.steps
        else:
            filled = opencv_fill(inputs.pixels, inputs.selected, spec.method, spec.radius)
            meta["model"] = f"opencv-{spec.method}"
        data = encode_image(composite(inputs.pixels, filled, inputs.selected), spec.format)
        width, height = inputs.size
        meta.update(
            width=width,
            height=height,
            masked_pixels=masked,
            format=spec.format,
            seconds=round(time.perf_counter() - started, 3),
        )
        return meta, data
