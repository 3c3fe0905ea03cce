"""A tiny random-weight Stable Diffusion pipeline, built offline, for the image tests.

No image model ships in a package and there is no model hub here, so the tests build one: the
components diffusers' own tests use (``get_dummy_components`` in diffusers'
``tests/pipelines/stable_diffusion/test_stable_diffusion.py``), with a byte-level BPE CLIP
tokenizer made from a vocabulary and merges written here. Weights are seeded, and the pipeline
is saved with ``save_pretrained`` so that the tests load it through the real ``from_pretrained``
path (:meth:`privcloud.workloads.models.Models._load_image`). It draws noise, not pictures.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The tokenizer's context (CLIP's: the pipeline pads and truncates prompts to it).
CONTEXT_TOKENS = 77
#: Side of the images the tiny UNet was "trained" for: sample size 32 times the VAE's factor 2.
NATIVE_SIDE = 64
_MERGE_WORDS = ("a", "cat", "dog", "red", "the", "photo", "of", "on", "sunset", "beach")


def _byte_alphabet() -> list[str]:
    """GPT-2/CLIP ``bytes_to_unicode``: one printable character per byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars, extra = [], 0
    for byte in range(256):
        if byte in printable:
            chars.append(chr(byte))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def write_tokenizer_files(directory: Path) -> None:
    """A CLIP vocabulary (bytes, bytes ending a word, a few merged words, the two specials)
    and its merges, as ``vocab.json`` and ``merges.txt`` in ``directory``."""
    alphabet = _byte_alphabet()
    tokens = [*alphabet, *(c + "</w>" for c in alphabet)]
    merges: list[str] = []
    for word in _MERGE_WORDS:
        current = word[0]
        for index, char in enumerate(word[1:], start=1):
            right = char + ("</w>" if index == len(word) - 1 else "")
            merges.append(f"{current} {right}")
            current += right
            if current not in tokens:
                tokens.append(current)
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")


def build_tiny_pipeline(directory: Path, seed: int = 0, *, inpainting: bool = False) -> Path:
    """Build the tiny pipeline and ``save_pretrained`` it into ``directory``; return it.

    ``inpainting``: an inpainting pipeline instead, whose UNet input has 9 channels (4 noisy
    latents, 1 mask, 4 latents of the masked image) as real inpainting checkpoints have, so
    ``AutoPipelineForInpainting`` runs the real inpainting path (diffusers' own inpainting
    tests build it so)."""
    import torch
    from diffusers import (  # type: ignore[attr-defined]
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionInpaintPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    words = directory / "tokenizer-source"
    write_tokenizer_files(words)
    tokenizer = CLIPTokenizer.from_pretrained(str(words), model_max_length=CONTEXT_TOKENS)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=NATIVE_SIDE // 2,
        in_channels=9 if inpainting else 4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
    )
    torch.manual_seed(seed)
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        sample_size=NATIVE_SIDE,
    )
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=1000,
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=CONTEXT_TOKENS,
            layer_norm_eps=1e-5,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    kind = StableDiffusionInpaintPipeline if inpainting else StableDiffusionPipeline
    pipeline = kind(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(str(directory))
    return directory
