"""A tiny random-weight Stable Diffusion *inpainting* pipeline, built offline, for the erase
tests (no inpainting model ships in a package and there is no model hub here).

The components of diffusers' own inpainting tests (``get_dummy_components`` in diffusers'
``tests/pipelines/stable_diffusion/test_stable_diffusion_inpaint.py``): a UNet whose input has
9 channels (4 noisy latents, 1 mask, 4 latents of the masked image), as real inpainting
checkpoints have, so ``AutoPipelineForInpainting`` runs the real inpainting path. The tokenizer
is the one of :mod:`imagekit`. Saved with ``save_pretrained`` and loaded by the workload through
``from_pretrained``. It paints noise, not pictures.
"""

from __future__ import annotations

from pathlib import Path

from imagekit import build_tiny_pipeline


def build_tiny_inpaint_pipeline(directory: Path, seed: int = 0) -> Path:
    """Build the tiny inpainting pipeline and ``save_pretrained`` it into ``directory``."""
    return build_tiny_pipeline(directory, seed, inpainting=True)
