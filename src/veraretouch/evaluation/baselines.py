"""What a user would do instead of asking us: the baselines of the `veraretouch eval` table.

Each baseline maps a ``(B, 3, H, W)`` sRGB batch in [0, 1] to one of the same shape and dtype, one
image at a time (no statistic is shared across the batch), and needs no training or settings.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..operators.colorspace import LUMINANCE_WEIGHTS, linear_rgb_to_srgb, srgb_to_linear_rgb

__all__ = ["identity", "auto_levels", "grey_world_balance", "grey_world_auto_levels", "BASELINES"]

AUTO_LEVELS_CLIP = 0.005
"""Fraction of each channel's pixels clipped at each end by `auto_levels` (0.5 %)."""
FLAT_CHANNEL_SPAN = 1.0 / 255.0
"""A channel whose percentile span is below one 8-bit level is left alone rather than amplified."""
GREY_WORLD_GAIN_LIMIT = 8.0
"""Grey-world gains are kept within [1 / 8, 8] so a near-empty channel is not blown up from noise."""


def identity(images: torch.Tensor) -> torch.Tensor:
    """Leave the photo as it is: the score of doing nothing."""
    return images


def _channel_percentile(flat: torch.Tensor, fraction: float) -> torch.Tensor:
    """Nearest-rank percentile along the last dim: the k-th smallest value, k = round(fraction (N - 1)) + 1.

    ``kthvalue`` rather than ``torch.quantile``, which refuses inputs above 16 million elements.
    """
    count = flat.shape[-1]
    rank = min(count, max(1, round(fraction * (count - 1)) + 1))
    return flat.kthvalue(rank, dim=-1, keepdim=True).values


def auto_levels(images: torch.Tensor, clip: float = AUTO_LEVELS_CLIP) -> torch.Tensor:
    """Per-channel levels, as ImageMagick ``-channel RGB -contrast-stretch 0.5%x0.5%`` or Photoshop Auto Levels.

    For each image and channel c: lo = P_clip(x_c), hi = P_(1 - clip)(x_c) (nearest-rank percentiles) and
    y_c = clamp((x_c - lo) / (hi - lo), 0, 1): the darkest 0.5 % of the channel goes to 0, the brightest
    0.5 % to 1, linearly between, so the map is monotone per channel. A flat channel (hi - lo below one
    8-bit level) is returned unchanged. Stretching channels separately also pulls a colour cast towards
    neutral, as the tools it imitates do.
    """
    batch, channels, height, width = images.shape
    flat = images.reshape(batch, channels, height * width)
    low = _channel_percentile(flat, clip)
    high = _channel_percentile(flat, 1.0 - clip)
    span = high - low
    stretched = ((flat - low) / span.clamp_min(FLAT_CHANNEL_SPAN)).clamp(0.0, 1.0)
    return torch.where(span >= FLAT_CHANNEL_SPAN, stretched, flat).reshape(images.shape)


def grey_world_balance(images: torch.Tensor) -> torch.Tensor:
    """Grey-world white balance in linear light: assume the scene averages to grey.

    With m_c the mean of linear channel c and Y = sum_c w_c m_c its luminance (Rec. 709 weights w),
    each channel is multiplied by g_c = Y / m_c (clamped to [1/8, 8]), so every channel mean becomes Y:
    the means are equal and the mean luminance is kept. Results are clipped to [0, 1] and re-encoded.
    """
    linear = srgb_to_linear_rgb(images.clamp(0.0, 1.0))
    means = linear.mean(dim=(2, 3), keepdim=True)
    weights = torch.tensor(LUMINANCE_WEIGHTS, dtype=linear.dtype, device=linear.device).view(1, 3, 1, 1)
    luminance = (weights * means).sum(dim=1, keepdim=True)
    gains = (luminance / means.clamp_min(1e-8)).clamp(1.0 / GREY_WORLD_GAIN_LIMIT, GREY_WORLD_GAIN_LIMIT)
    return linear_rgb_to_srgb((linear * gains).clamp(0.0, 1.0))


def grey_world_auto_levels(images: torch.Tensor) -> torch.Tensor:
    """`grey_world_balance` then `auto_levels`: the classic one-click "auto colour" then "auto tone"."""
    return auto_levels(grey_world_balance(images))


BASELINES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": identity,
    "auto_levels": auto_levels,
    "grey_world_auto_levels": grey_world_auto_levels,
}
"""The baselines `veraretouch eval` can compare against, by the name used on the command line."""
