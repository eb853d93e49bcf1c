"""Colour spaces of the pipeline: sRGB <-> linear RGB <-> OKLab / OKLCh, all differentiable.

Why these spaces:
- sRGB (IEC 61966-2-1) is what files hold; its decode is exact and piecewise, with a linear toe
  that keeps gradients finite at black.
- Linear light is where exposure and white balance are physical: a change of light or of
  illuminant multiplies linear values.
- OKLab (Ottosson 2020) is a perceptual space whose L tracks perceived lightness and whose
  (a, b) plane has near-constant hue lines, so tone curves act on lightness without hue shifts
  and hue bands / chroma scales behave as a photographer expects. Its cube root gets a linear
  toe below ``CBRT_TOE`` (a tiny deviation from the published space) so gradients stay finite
  at pure black while the forward/backward transforms remain exact inverses.
"""
from __future__ import annotations

import torch

_LINEAR_RGB_TO_LMS = torch.tensor(
    [[0.4122214708, 0.5363325363, 0.0514459929],
     [0.2119034982, 0.6806995451, 0.1073969566],
     [0.0883024619, 0.2817188376, 0.6299787005]], dtype=torch.float64)
_LMS_CBRT_TO_OKLAB = torch.tensor(
    [[0.2104542553, 0.7936177850, -0.0040720468],
     [1.9779984951, -2.4285922050, 0.4505937099],
     [0.0259040371, 0.7827717662, -0.8086757660]], dtype=torch.float64)
# Inverses computed, not transcribed, so forward and backward are exact inverses in float64.
_LMS_TO_LINEAR_RGB = torch.linalg.inv(_LINEAR_RGB_TO_LMS)
_OKLAB_TO_LMS_CBRT = torch.linalg.inv(_LMS_CBRT_TO_OKLAB)

CBRT_TOE = 1e-4
_TOE_SLOPE = CBRT_TOE ** (-2.0 / 3.0)

LUMINANCE_WEIGHTS = (0.2126, 0.7152, 0.0722)
"""Rec. 709 / sRGB relative luminance weights for linear RGB."""


def srgb_to_linear_rgb(srgb: torch.Tensor) -> torch.Tensor:
    """sRGB decode: ``x / 12.92`` below 0.04045, else ``((x + 0.055) / 1.055) ** 2.4``."""
    curved = ((srgb.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4
    return torch.where(srgb <= 0.04045, srgb / 12.92, curved)


def linear_rgb_to_srgb(linear_rgb: torch.Tensor) -> torch.Tensor:
    """sRGB encode: ``12.92 x`` below 0.0031308, else ``1.055 x ** (1/2.4) - 0.055``."""
    curved = 1.055 * linear_rgb.clamp_min(0.0031308) ** (1.0 / 2.4) - 0.055
    return torch.where(linear_rgb <= 0.0031308, 12.92 * linear_rgb, curved)


def _matmul_channels(image: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Apply a 3x3 matrix to the channel axis of a ``(B, 3, H, W)`` tensor."""
    return torch.einsum("ij,bj...->bi...", matrix.to(image.dtype), image)


def _safe_cbrt(x: torch.Tensor) -> torch.Tensor:
    """Odd cube root with a linear toe (slope matched at ``CBRT_TOE``): finite gradient at 0."""
    magnitude = x.abs()
    root = magnitude.clamp_min(CBRT_TOE) ** (1.0 / 3.0)
    return torch.sign(x) * torch.where(magnitude < CBRT_TOE, magnitude * _TOE_SLOPE, root)


def _safe_cube(y: torch.Tensor) -> torch.Tensor:
    """Exact inverse of `_safe_cbrt`."""
    magnitude = y.abs()
    toe_end = CBRT_TOE ** (1.0 / 3.0)
    return torch.sign(y) * torch.where(magnitude < toe_end, magnitude / _TOE_SLOPE, magnitude * magnitude * magnitude)


def linear_rgb_to_oklab(linear_rgb: torch.Tensor) -> torch.Tensor:
    """Linear sRGB ``(B, 3, H, W)`` -> OKLab ``(B, 3, H, W)`` with channels (L, a, b); white is L = 1."""
    lms = _matmul_channels(linear_rgb, _LINEAR_RGB_TO_LMS)
    return _matmul_channels(_safe_cbrt(lms), _LMS_CBRT_TO_OKLAB)


def oklab_to_linear_rgb(oklab: torch.Tensor) -> torch.Tensor:
    """OKLab -> linear sRGB (may leave [0, 1] for out-of-gamut colours; callers clip)."""
    lms = _safe_cube(_matmul_channels(oklab, _OKLAB_TO_LMS_CBRT))
    return _matmul_channels(lms, _LMS_TO_LINEAR_RGB)


def srgb_to_oklab(srgb: torch.Tensor) -> torch.Tensor:
    return linear_rgb_to_oklab(srgb_to_linear_rgb(srgb))


def oklab_to_srgb(oklab: torch.Tensor) -> torch.Tensor:
    """OKLab -> sRGB, clipped to the displayable range [0, 1]."""
    return linear_rgb_to_srgb(oklab_to_linear_rgb(oklab).clamp(0.0, 1.0))


def chroma_and_hue(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """OKLCh chroma and hue (radians, in (-pi, pi]) with finite gradients at the neutral axis.

    ``atan2`` and ``sqrt`` have undefined gradients at a = b = 0; neutral pixels get a fixed
    stand-in so their (meaningless) hue has zero gradient instead of NaN.
    """
    squared = a * a + b * b
    neutral = squared < 1e-14
    chroma = torch.sqrt(torch.where(neutral, torch.ones_like(squared), squared)) * (~neutral)
    hue = torch.atan2(torch.where(neutral, torch.zeros_like(b), b), torch.where(neutral, torch.ones_like(a), a))
    return chroma, hue


def oklch_hue_degrees_of_srgb(colors: list[tuple[float, float, float]]) -> torch.Tensor:
    """OKLCh hue in degrees [0, 360) of sRGB colours, e.g. to place hue-band centres on real primaries."""
    srgb = torch.tensor(colors, dtype=torch.float64).T.reshape(1, 3, len(colors), 1)
    lab = srgb_to_oklab(srgb)
    _, hue = chroma_and_hue(lab[:, 1], lab[:, 2])
    return torch.rad2deg(hue.flatten()) % 360.0
