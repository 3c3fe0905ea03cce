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

from imagekit import CONTEXT_TOKENS, NATIVE_SIDE, write_tokenizer_files


def build_tiny_inpaint_pipeline(directory: Path, seed: int = 0) -> Path:
    """Build the tiny inpainting pipeline and ``save_pretrained`` it into ``directory``."""
    import torch
    from diffusers import (  # type: ignore[attr-defined]
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionInpaintPipeline,
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
        in_channels=9,
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
    pipeline = StableDiffusionInpaintPipeline(
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
