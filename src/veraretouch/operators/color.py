"""Colour: per-band HSL, vibrance, saturation, monochrome and colour grading, all in OKLab / OKLCh.

Hue bands are centred on the OKLCh hues of real sRGB colours (red, orange, yellow, green, aqua,
blue, purple, magenta), with raised-cosine weights that reach exactly to the neighbouring centres:
the eight weights sum to one at every hue, a colour sitting on a band centre is moved by that band
alone, and effects fade smoothly to nothing at the neutral axis.
"""
from __future__ import annotations

import math

import torch

from ..plan.parameters import HSL_BANDS, control
from .colorspace import chroma_and_hue, oklch_hue_degrees_of_srgb
from .shapes import interp_periodic, rise

BAND_SRGB = {
    "Red": (1.0, 0.0, 0.0), "Orange": (1.0, 0.5, 0.0), "Yellow": (1.0, 1.0, 0.0), "Green": (0.0, 1.0, 0.0),
    "Aqua": (0.0, 1.0, 1.0), "Blue": (0.0, 0.0, 1.0), "Purple": (0.5, 0.0, 1.0), "Magenta": (1.0, 0.0, 1.0),
}
BAND_CENTRES_DEG = oklch_hue_degrees_of_srgb([BAND_SRGB[band] for band in HSL_BANDS])
"""OKLCh hue (degrees) of each band centre, increasing in Lightroom's wheel order."""

MAX_HUE_SHIFT_DEG = 30.0
"""HueAdjustment at +-100 rotates a band's hue by this much (about to its neighbour's centre)."""
MAX_BAND_LIGHTNESS = 0.5
"""LuminanceAdjustment at +-100 scales a band's lightness by 1 +- this."""
COLOURFUL_CHROMA = 0.1
"""HSL lightness changes fade in with OKLab chroma over [0, COLOURFUL_CHROMA] (a raised cosine):
greys stay put, and the fade is gentle enough that neighbouring skin tones move together
(a steeper fade turns small chroma differences into lightness jumps)."""
MIXER_MAX_LIGHTNESS = 0.6
"""``GrayMixer*`` at +-100 scales the grey lightness of that band's saturated colours by 1 +- this."""
VIBRANCE_FULL_CHROMA = 0.3
SKIN_HUE_DEG = 55.0
SKIN_WIDTH_DEG = 22.0
SKIN_PROTECTION = 0.6
GRADE_MAX_CHROMA = 0.08
"""ColorGrade*Sat at 100 adds a tint of this OKLab chroma."""
GRADE_MAX_LIGHTNESS = 0.15
WHEEL_ANCHORS_DEG = torch.tensor([0.0, 60.0, 120.0, 180.0, 240.0, 300.0], dtype=torch.float64)
WHEEL_OKLCH_DEG = oklch_hue_degrees_of_srgb(
    [(1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 1, 1), (0, 0, 1), (1, 0, 1)])


def _wrap_degrees(angle: torch.Tensor) -> torch.Tensor:
    """Angle difference wrapped into [-180, 180)."""
    return torch.remainder(angle + 180.0, 360.0) - 180.0


def _band_segments(hue_deg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For hues in degrees: the band ``k`` whose centre is the nearest one below, and the raised-cosine
    weight ``w = (1 - cos(pi t)) / 2`` of band ``k + 1``, ``t`` the hue's position between the two centres."""
    centres = BAND_CENTRES_DEG.to(hue_deg.dtype)
    widths = torch.remainder(torch.roll(centres, -1) - centres, 360.0)
    hue = torch.remainder(hue_deg, 360.0)
    segment = torch.remainder(torch.searchsorted(centres, hue.detach().contiguous(), right=True) - 1, len(centres))
    offset = torch.remainder(hue - centres[segment], 360.0)
    return segment, 0.5 - 0.5 * torch.cos(math.pi * (offset / widths[segment]).clamp(0.0, 1.0))


def band_blend(hue_deg: torch.Tensor, band_values: torch.Tensor) -> torch.Tensor:
    """Blend per-band values ``(B, 8)`` at hues ``(B, 1, H, W)`` (degrees) -> ``(B, 1, H, W)``.

    A hue between centres ``c_k`` and ``c_k+1`` gets ``(1 - w) v_k + w v_k+1`` (`_band_segments`):
    the band weights sum to one and only the two nearest bands act, so this costs O(1) per pixel.
    """
    n_bands = len(BAND_CENTRES_DEG)
    segment, right_weight = _band_segments(hue_deg)
    values = band_values.expand(hue_deg.shape[0], n_bands)
    flat = segment.reshape(hue_deg.shape[0], -1)
    left_value = torch.gather(values, 1, flat).reshape(hue_deg.shape)
    right_value = torch.gather(values, 1, torch.remainder(flat + 1, n_bands)).reshape(hue_deg.shape)
    return left_value + right_weight * (right_value - left_value)


def band_weights(hue_deg: torch.Tensor) -> torch.Tensor:
    """Membership of hues ``(...)`` in degrees in each of the 8 bands, ``(..., 8)``: the weights
    `band_blend` uses (two non-zero per hue, summing to one)."""
    n_bands = len(BAND_CENTRES_DEG)
    segment, right_weight = _band_segments(hue_deg)
    weights = torch.zeros(*hue_deg.shape, n_bands, dtype=hue_deg.dtype, device=hue_deg.device)
    weights = weights.scatter(-1, segment[..., None], (1 - right_weight)[..., None])
    return weights.scatter_add(-1, torch.remainder(segment + 1, n_bands)[..., None], right_weight[..., None])


def _band_controls(params: torch.Tensor, kind: str, dtype: torch.dtype) -> torch.Tensor:
    """``(B, 8)`` values of one HSL slider family, divided by 100."""
    return (
        torch.cat([control(params, f"{kind}Adjustment{band}") for band in HSL_BANDS], dim=1)
        .reshape(-1, len(HSL_BANDS))
        .to(dtype)
        / 100.0
    )


def _rotate(a: torch.Tensor, b: torch.Tensor, angle: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cos, sin = torch.cos(angle), torch.sin(angle)
    return a * cos - b * sin, a * sin + b * cos


def hsl_oklab(oklab: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Per-band hue rotation, chroma scale and lightness scale (Lightroom's HSL / Color Mixer)."""
    lightness, a, b = oklab[:, :1], oklab[:, 1:2], oklab[:, 2:3]
    chroma, hue = chroma_and_hue(a, b)
    hue_deg = torch.rad2deg(hue)
    hue_shift = band_blend(hue_deg, _band_controls(params, "Hue", oklab.dtype))
    chroma_scale = 1.0 + band_blend(hue_deg, _band_controls(params, "Saturation", oklab.dtype))
    colourfulness = rise(chroma, 0.0, COLOURFUL_CHROMA)
    lightness_change = band_blend(hue_deg, _band_controls(params, "Luminance", oklab.dtype))
    a, b = _rotate(a, b, torch.deg2rad(hue_shift * MAX_HUE_SHIFT_DEG))
    lightness = lightness * (1.0 + MAX_BAND_LIGHTNESS * lightness_change * colourfulness)
    return torch.cat([lightness, a * chroma_scale, b * chroma_scale], dim=1)


def saturation_oklab(oklab: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Vibrance then Saturation, both as chroma scales.

    Vibrance scales chroma by ``1 + v (1 - C / C_full)^2``, so muted colours move most; when
    boosting, hues near skin (OKLCh ~55 deg) get ``SKIN_PROTECTION`` less. Saturation scales all
    chroma by ``1 + s``: -100 leaves a neutral grey image.
    """
    a, b = oklab[:, 1:2], oklab[:, 2:3]
    chroma, hue = chroma_and_hue(a, b)
    vibrance = control(params, "Vibrance").to(oklab.dtype) / 100.0
    muted = (1.0 - chroma / VIBRANCE_FULL_CHROMA).clamp(0.0, 1.0) ** 2
    skin = torch.exp(-((_wrap_degrees(torch.rad2deg(hue) - SKIN_HUE_DEG) / SKIN_WIDTH_DEG) ** 2))
    protection = torch.where(vibrance > 0, 1.0 - SKIN_PROTECTION * skin, torch.ones_like(skin))
    scale = (1.0 + vibrance * muted * protection) * (1.0 + control(params, "Saturation").to(oklab.dtype) / 100.0)
    return torch.cat([oklab[:, :1], a * scale, b * scale], dim=1)


def monochrome_oklab(oklab: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Treatment=Monochrome: remove chroma (the amount is a fraction, so it stays differentiable),
    with Lightroom's B&W mix: each ``GrayMixer`` band scales the lightness of its own hues by
    ``1 + MIXER_MAX_LIGHTNESS * value / 100``, fading in with chroma as the HSL lightness does
    (greys are never moved). The mix acts in proportion to the Monochrome fraction."""
    amount = control(params, "Monochrome").to(oklab.dtype)
    lightness, a, b = oklab[:, :1], oklab[:, 1:2], oklab[:, 2:3]
    chroma, hue = chroma_and_hue(a, b)
    mixer = torch.cat([control(params, f"GrayMixer{band}") for band in HSL_BANDS], 1).reshape(-1, len(HSL_BANDS))
    mix = band_blend(torch.rad2deg(hue), mixer.to(oklab.dtype) / 100.0) * rise(chroma, 0.0, COLOURFUL_CHROMA)
    lightness = lightness * (1.0 + amount * MIXER_MAX_LIGHTNESS * mix)
    return torch.cat([lightness, oklab[:, 1:] * (1.0 - amount)], dim=1)


def wheel_hue_to_oklch_radians(wheel_deg: torch.Tensor) -> torch.Tensor:
    """Lightroom colour-wheel hue (0 red, 60 yellow, 120 green, 180 cyan, 240 blue, 300 magenta)
    -> OKLCh hue in radians, by piecewise-linear interpolation between the primaries' true hues."""
    return torch.deg2rad(interp_periodic(wheel_deg, WHEEL_ANCHORS_DEG, WHEEL_OKLCH_DEG))


def oklch_radians_to_wheel_hue(oklch_rad: torch.Tensor) -> torch.Tensor:
    """Inverse of `wheel_hue_to_oklch_radians`: OKLCh hue (radians) -> Lightroom wheel degrees [0, 360)."""
    return interp_periodic(torch.rad2deg(oklch_rad), WHEEL_OKLCH_DEG, WHEEL_ANCHORS_DEG)


def grading_zone_weights(lightness: torch.Tensor, params: torch.Tensor) -> dict[str, torch.Tensor]:
    """Shadow / midtone / highlight weights on OKLab L; they sum to 1.

    Shadows fade out and highlights fade in around ``p -+ 0.15`` with ``p = 0.5 - 0.2 * Balance/100``
    (positive balance widens the highlights); each transition is a raised cosine of half-width
    ``0.05 + 0.1 * Blending/100``, so the two never overlap and the midtone weight peaks at ``p``.
    """
    dtype = lightness.dtype
    pivot = 0.5 - 0.2 * control(params, "ColorGradeBalance").to(dtype) / 100.0
    half_width = 0.05 + 0.1 * control(params, "ColorGradeBlending").to(dtype) / 100.0
    shadows = 1.0 - rise(lightness, pivot - 0.15 - half_width, pivot - 0.15 + half_width)
    highlights = rise(lightness, pivot + 0.15 - half_width, pivot + 0.15 + half_width)
    return {"Shadow": shadows, "Midtone": 1.0 - shadows - highlights, "Highlight": highlights,
            "Global": torch.ones_like(lightness)}


def color_grade_oklab(oklab: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Lightroom Color Grading: per-zone tints (hue, strength) added in the OKLab ab plane and
    per-zone lightness offsets. Tints fade out towards pure black, which stays neutral."""
    dtype = oklab.dtype
    lightness, a, b = oklab[:, :1], oklab[:, 1:2], oklab[:, 2:3]
    weights = grading_zone_weights(lightness, params)
    black_guard = rise(lightness, 0.0, 0.15)
    da = torch.zeros_like(a)
    db = torch.zeros_like(b)
    dl = torch.zeros_like(lightness)
    for zone, weight in weights.items():
        angle = wheel_hue_to_oklch_radians(control(params, f"ColorGrade{zone}Hue").to(dtype))
        strength = control(params, f"ColorGrade{zone}Sat").to(dtype) / 100.0 * GRADE_MAX_CHROMA
        da = da + weight * strength * torch.cos(angle)
        db = db + weight * strength * torch.sin(angle)
        dl = dl + weight * control(params, f"ColorGrade{zone}Lum").to(dtype) / 100.0 * GRADE_MAX_LIGHTNESS
    return torch.cat([lightness + dl, a + da * black_guard, b + db * black_guard], dim=1)
