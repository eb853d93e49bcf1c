"""Scene statistics in linear light that both the planner's features and the photo diagnosis read.

- `illuminant_estimates`: the illuminant as four classic white-balance estimators see it, each as a
  log chromaticity ``(log R/G, log B/G)`` of linear RGB: grey world (mean; Buchsbaum 1980), shades of
  grey (Minkowski p = `SHADES_OF_GREY_P` mean; Finlayson & Trezzi 2004), grey edge (mean gradient
  magnitude; van de Weijer et al. 2007) and white patch (the `WHITE_PATCH_QUANTILE` quantile). Where
  they agree there is a cast; where they disagree the scene's own colours are the likelier cause.
- `exposure_key`: log2 of the log-average (the photographic "key", Reinhard et al. 2002) and of the
  median linear luminance.
"""
from __future__ import annotations

import torch

from .colorspace import LUMINANCE_WEIGHTS, srgb_to_linear_rgb

SHADES_OF_GREY_P = 6.0
WHITE_PATCH_QUANTILE = 0.99
LOG_FLOOR = 1e-4
"""Linear values are floored here before logs (a black frame gives finite values)."""
ESTIMATORS = ("grey_world", "shades_of_grey", "grey_edge", "white_patch")
"""The order of `illuminant_estimates`' pairs of columns."""


def _log_chromaticity(rgb: torch.Tensor) -> torch.Tensor:
    """``(B, 3)`` positive linear RGB -> ``(B, 2)``: ``log(R/G), log(B/G)``."""
    logs = rgb.clamp(min=LOG_FLOOR).log()
    return torch.stack([logs[:, 0] - logs[:, 1], logs[:, 2] - logs[:, 1]], dim=1)


def illuminant_estimates(srgb: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` sRGB -> ``(B, 8)``: grey world, shades of grey, grey edge and white patch
    illuminant estimates as log chromaticities (0, 0 = neutral)."""
    linear = srgb_to_linear_rgb(srgb).flatten(2)
    grey_world = linear.mean(dim=2)
    shades = linear.clamp(min=0).pow(SHADES_OF_GREY_P).mean(dim=2).pow(1 / SHADES_OF_GREY_P)
    image = srgb_to_linear_rgb(srgb)
    dx, dy = image[..., :, 1:] - image[..., :, :-1], image[..., 1:, :] - image[..., :-1, :]
    edges = dx.abs().flatten(2).mean(dim=2) + dy.abs().flatten(2).mean(dim=2)
    patch = torch.quantile(linear, WHITE_PATCH_QUANTILE, dim=2)
    return torch.cat([_log_chromaticity(estimate) for estimate in (grey_world, shades, edges, patch)], dim=1)


def exposure_key(srgb: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` sRGB -> ``(B, 2)``: log2 of the log-average (the photographic "key") and of the
    median of linear luminance."""
    weights = srgb.new_tensor(LUMINANCE_WEIGHTS)[None, :, None]
    luminance = (srgb_to_linear_rgb(srgb).flatten(2) * weights).sum(dim=1).clamp(min=LOG_FLOOR)
    key = luminance.log2().mean(dim=1)
    return torch.stack([key, luminance.median(dim=1).values.log2()], dim=1)
