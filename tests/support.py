"""Helpers several test modules share (importable: tests/ is on sys.path through conftest.py)."""
from __future__ import annotations

import numpy as np
import torch

from veraretouch.encoders.slider import SliderEncoder, SliderEncoderConfig
from veraretouch.operators.colorspace import linear_rgb_to_srgb, srgb_to_linear_rgb
from veraretouch.renderer import RendererConfig, RetouchRenderer


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255


def gains(image: torch.Tensor, r: float, g: float, b: float) -> torch.Tensor:
    """Channel gains in linear light, as ImageMagick's ``-colorspace RGB -evaluate multiply`` makes them."""
    gain = image.new_tensor([r, g, b])[None, :, None, None]
    return linear_rgb_to_srgb((srgb_to_linear_rgb(image) * gain).clamp(0, 1))


def small_models() -> tuple[SliderEncoder, RetouchRenderer]:
    torch.manual_seed(0)
    return (SliderEncoder(SliderEncoderConfig(aspect_dim=8, hidden=16)),
            RetouchRenderer(RendererConfig(hidden_widths=[16, 16], aspect_dim=8)))
