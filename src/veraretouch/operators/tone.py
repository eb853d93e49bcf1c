"""Lighting: white balance and exposure in linear light, tone sliders on OKLab lightness, point curves.

All controls are pointwise, batched over ``(B, P)`` parameters and monotone in the input tone.
"""
from __future__ import annotations

import torch

from ..plan.parameters import control, curve_samples
from .calibration import raw_white_balance_shift, raw_white_balance_table
from .colorspace import LUMINANCE_WEIGHTS
from .shapes import bump, bump_height, rise

WHITE_BALANCE_LOG2_GAINS = {
    "IncrementalTemperature": (0.5, 0.0, -0.6),
    "IncrementalTint": (0.3, -0.35, 0.3),
}
"""log2 channel gains (R, G, B) at slider +100: Temperature+ raises red and lowers blue (warmer),
Tint+ lowers green against red and blue (more magenta). Roughly one stop between red and blue
at full Temperature, in the range of Lightroom's incremental white balance on rendered files."""


RAW_WHITE_BALANCE_TABLE = raw_white_balance_table(*WHITE_BALANCE_LOG2_GAINS.values())
"""Incremental (temperature, tint) equivalent to each raw Kelvin value (`calibration` explains)."""


def white_balance(linear_rgb: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Von Kries-style channel gains in linear light, normalised so a neutral keeps its luminance.

    ``gains = 2 ** (t * g_T + u * g_U)``, divided by their luminance ``Y(gains)``, with
    ``t, u = slider / 100`` and the raw ``Temperature`` / ``Tint`` added as their incremental
    equivalents (`raw_white_balance_shift`).
    """
    raw_shift = raw_white_balance_shift(params.to(linear_rgb.dtype), RAW_WHITE_BALANCE_TABLE)
    log2_gains = 0.0
    for (name, per_channel), shift in zip(WHITE_BALANCE_LOG2_GAINS.items(), raw_shift):
        direction = linear_rgb.new_tensor(per_channel).reshape(1, 3, 1, 1)
        log2_gains = log2_gains + (control(params, name).to(linear_rgb.dtype) + shift) / 100.0 * direction
    gains = torch.exp2(log2_gains)
    luminance = (gains * linear_rgb.new_tensor(LUMINANCE_WEIGHTS).reshape(1, 3, 1, 1)).sum(1, keepdim=True)
    return linear_rgb * gains / luminance


def exposure(linear_rgb: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Exposure as a linear gain ``2 ** EV`` with a soft highlight shoulder.

    ``y = x * 2**EV`` then the extended Reinhard curve ``f(y) = y (1 + y / W**2) / (1 + y)`` with
    white ``W = max(1, 2**EV)``: slope 1 at black (shadows get the full gain), the old white lands
    exactly on 1 (no hard clipping), and for ``EV <= 0`` it is exactly the identity.
    """
    gain = torch.exp2(control(params, "Exposure2012").to(linear_rgb.dtype))
    exposed = linear_rgb * gain
    white = gain.clamp_min(1.0)
    return exposed * (1.0 + exposed / (white * white)) / (1.0 + exposed)


TONE_ZONES = {
    # name: (start, end) of a bump on OKLab L, which is 0 at black and 1 at white.
    "Highlights2012": (0.45, 1.0),
    "Shadows2012": (0.0, 0.55),
    "ParametricShadows": (0.0, 0.375),
    "ParametricDarks": (0.125, 0.625),
    "ParametricLights": (0.375, 0.875),
    "ParametricHighlights": (0.625, 1.0),
}
"""Zone of each bump-shaped tone slider. Bumps vanish at L = 0 and L = 1, so these sliders never
move the black or white point; the parametric zones straddle Lightroom's 25/50/75 splits."""
CONTRAST_STRENGTH = 0.75
POINT_HEIGHT = 0.2
"""How far Whites / Blacks at +-100 move the white / black point in OKLab L (values beyond clip)."""
CHROMA_RATIO_EPSILON = 0.05


def _contrast(lightness: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """S-curve fixed at 0, 0.5 and 1: ``x - k c sin(2 pi x) / (2 pi)``; slope ``1 + k c`` at the pivot."""
    return lightness - CONTRAST_STRENGTH * amount * torch.sin(2 * torch.pi * lightness) / (2 * torch.pi)


def tone_curve_lightness(lightness: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Contrast, Highlights, Shadows, Whites, Blacks and the four parametric zones on OKLab L.

    Each slider is a monotone map; they are composed in Lightroom's panel order so the whole
    curve is monotone for any slider values.
    """
    def amount(name: str) -> torch.Tensor:
        return control(params, name).to(lightness.dtype) / 100.0

    x = _contrast(lightness, amount("Contrast2012"))
    for name in ("Highlights2012", "Shadows2012"):
        start, end = TONE_ZONES[name]
        x = x + amount(name) * bump_height(start, end) * bump(x, start, end)
    x = x + amount("Whites2012") * POINT_HEIGHT * rise(x, 0.5, 1.0)
    x = x + amount("Blacks2012") * POINT_HEIGHT * (1.0 - rise(x, 0.0, 0.5))
    for name in ("ParametricShadows", "ParametricDarks", "ParametricLights", "ParametricHighlights"):
        start, end = TONE_ZONES[name]
        x = x + amount(name) * bump_height(start, end) * bump(x, start, end)
    return x


def tone_oklab(oklab: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Apply the tone curve to L; darkened colours lose chroma in proportion, lifted ones keep theirs.

    Scaling chroma by ``min(1, (L' + e) / (L + e))`` stops crushed tones turning garish, and never
    amplifies chroma: lifting blacks must not turn near-black sensor noise into saturated colour
    (a colour one level above black has the chroma-to-lightness ratio of a pure primary).
    """
    lightness = oklab[:, :1]
    toned = tone_curve_lightness(lightness, params).clamp(0.0, 1.0)
    ratio = ((toned + CHROMA_RATIO_EPSILON) / (lightness.clamp_min(0.0) + CHROMA_RATIO_EPSILON)).clamp(0.0, 1.0)
    return torch.cat([toned, oklab[:, 1:] * ratio], dim=1)


def _lookup(samples: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of ``(B, K)`` curve samples at ``(B, 1, H, W)`` inputs in [0, 1]."""
    batch, knots = samples.shape
    position = x.clamp(0.0, 1.0) * (knots - 1)
    index = position.detach().floor().clamp(0, knots - 2).long()
    fraction = position - index
    flat_index = index.reshape(batch, -1)
    low = torch.gather(samples, 1, flat_index).reshape(x.shape)
    high = torch.gather(samples, 1, flat_index + 1).reshape(x.shape)
    return low + fraction * (high - low)


def point_curves(srgb: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Lightroom point curves in display (sRGB-encoded) space: the master curve on every channel,
    then each channel's own curve, as Lightroom's ToneCurvePV2012 / Red / Green / Blue."""
    master = curve_samples(params, "ToneCurvePV2012").to(srgb.dtype)
    channels = []
    for c, name in enumerate(("ToneCurvePV2012Red", "ToneCurvePV2012Green", "ToneCurvePV2012Blue")):
        channel = _lookup(master, srgb[:, c:c + 1])
        channels.append(_lookup(curve_samples(params, name).to(srgb.dtype), channel))
    return torch.cat(channels, dim=1)
