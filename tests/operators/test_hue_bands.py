"""Hue maps and the HSL bands: wheel hue <-> OKLCh hue, band weights that blend."""
from __future__ import annotations

import math

import torch

from veraretouch.operators.color import (
    BAND_CENTRES_DEG,
    band_blend,
    band_weights,
    oklch_radians_to_wheel_hue,
    wheel_hue_to_oklch_radians,
)
from veraretouch.plan.parameters import HSL_BANDS


# ------------------------------------------------------------------------------- hues and bands
def test_wheel_hue_and_oklch_hue_are_inverse_maps():
    wheel = torch.linspace(0.0, 360.0, 2001, dtype=torch.float64)[:-1]
    back = oklch_radians_to_wheel_hue(wheel_hue_to_oklch_radians(wheel))
    assert (back - wheel).abs().max() < 1e-9
    assert ((back >= 0) & (back < 360)).all()
    # primaries land on their true OKLCh hues: wheel 0 (red) at sRGB red's OKLCh hue ~29 deg
    assert abs(math.degrees(float(wheel_hue_to_oklch_radians(torch.tensor([0.0]))[0])) - 29.23) < 0.05
    radians = torch.linspace(-math.pi, math.pi, 501, dtype=torch.float64)
    again = wheel_hue_to_oklch_radians(oklch_radians_to_wheel_hue(radians))
    assert (torch.remainder(again - radians + math.pi, 2 * math.pi) - math.pi).abs().max() < 1e-9


def test_band_weights_are_a_partition_of_unity_that_band_blend_uses():
    generator = torch.Generator().manual_seed(0)
    hue = torch.rand(4, 1, 16, 16, generator=generator, dtype=torch.float64) * 1440 - 720  # wraps twice both ways
    weights = band_weights(hue)
    assert weights.shape == (4, 1, 16, 16, len(HSL_BANDS))
    assert (weights >= 0).all() and torch.allclose(weights.sum(-1), torch.ones_like(hue))
    assert ((weights > 0).sum(-1) <= 2).all()
    values = torch.randn(4, len(HSL_BANDS), generator=generator, dtype=torch.float64)
    expected = (weights * values[:, None, None, None, :]).sum(-1)
    assert torch.allclose(band_blend(hue, values), expected, atol=1e-12)
    centres = band_weights(BAND_CENTRES_DEG + 360.0)
    assert torch.allclose(centres, torch.eye(len(HSL_BANDS), dtype=centres.dtype)), "a centre belongs to its band alone"
