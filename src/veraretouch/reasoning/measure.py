"""Image measurements that reasoning text may claim: lightness, clipping, contrast, cast, chroma, HSL bands.

`measure` turns an sRGB batch ``(B, 3, H, W)`` in [0, 1] into one dict of plain floats per image.
Lightness, cast and chroma are CIELAB (D65, `veraretouch.evaluation.metrics.rgb_to_lab`), the
standard for "how dark / how tinted / how colourful" claims. HSL bands are assigned by OKLCh hue,
the hue the HSL operators use, so a claim about "the blues" speaks of the pixels the Blue sliders move.

Keys (``L = L*/100``, ``C = sqrt(a*^2 + b*^2)``, all means over pixels):

- ``mean_lightness``, ``median_lightness``, ``lightness_p05``, ``lightness_p95``: mean, median and
  5th / 95th percentiles of ``L`` (linear interpolation between order statistics, as ``numpy``).
- ``contrast``: standard deviation of ``L``.
- ``shadow_clipping``: share of pixels with all channels below ``SHADOW_CLIP`` (2/255).
- ``highlight_clipping``: share of pixels with any channel above ``HIGHLIGHT_CLIP`` (253/255).
- ``cast_a``, ``cast_b``: weighted means of a* (+ magenta, - green) and b* (+ warm/yellow, - cool/blue)
  with weights ``w = (1 - C / CAST_CHROMA_LIMIT)_+^2`` on pixels with ``CAST_LIGHTNESS_RANGE[0] < L <
  CAST_LIGHTNESS_RANGE[1]``: near-neutral mid-tones show the illuminant, clipped ends and coloured
  objects do not. Where those weights sum to almost nothing (a strongly tinted image) the plain means.
- ``mean_chroma``: mean ``C`` (CIELAB units; about 0 for grey, 15-30 for ordinary photos).
- ``neutral_share``: share of pixels with ``C < NEUTRAL_CHROMA``; they belong to no band.
- per band ``b`` of `HSL_BANDS`, lower-cased (``red_share``, ...): ``{b}_share`` the share of all pixels
  that are not neutral and whose OKLCh hue is nearest to the band's centre (`BAND_CENTRES_DEG`);
  ``{b}_chroma`` and ``{b}_lightness`` the mean ``C`` and ``L`` of those pixels; ``{b}_hue_offset`` their
  mean hue minus the centre in degrees, + towards the next band round the wheel (Red -> Orange). An
  empty band has share 0 and the other three values 0.
"""
from __future__ import annotations

import torch

from ..operators.color import BAND_CENTRES_DEG
from ..operators.colorspace import chroma_and_hue, rgb_to_lab, srgb_to_oklab
from ..plan.parameters import HSL_BANDS

LABEL_SIDE = 192
"""Long side (pixels) at which a photo is measured (and a training sample's fix fitted): the
planner's explanations measure at the size the training labels were measured at."""
SHADOW_CLIP = 2.0 / 255.0
HIGHLIGHT_CLIP = 253.0 / 255.0
NEUTRAL_CHROMA = 8.0
"""CIELAB chroma below which a pixel has no meaningful hue (about two just-noticeable differences)."""
CAST_CHROMA_LIMIT = 20.0
CAST_LIGHTNESS_RANGE = (0.1, 0.95)
BAND_KEYS = ("share", "chroma", "lightness", "hue_offset")


def band_key(band: str, quantity: str) -> str:
    """Measurement key of one band quantity, e.g. ``band_key("Blue", "share") == "blue_share"``."""
    return f"{band.lower()}_{quantity}"


def _percentiles(values: torch.Tensor, fractions: tuple[float, ...]) -> torch.Tensor:
    """``(B, len(fractions))`` percentiles of ``(B, N)`` values, interpolating like ``numpy.percentile``."""
    ordered = values.sort(dim=1).values
    positions = torch.tensor(fractions, dtype=values.dtype, device=values.device) * (values.shape[1] - 1)
    low = positions.floor().long()
    high = positions.ceil().long()
    weight = positions - low
    return ordered[:, low] * (1 - weight) + ordered[:, high] * weight


def _masked_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean over the last axis; 0 where the weights sum to 0."""
    total = weights.sum(-1)
    return torch.where(total > 0, (values * weights).sum(-1) / total.clamp_min(1e-12), torch.zeros_like(total))


def _bin_sums(values: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """``(B, 8)`` per-band sums of ``(B, N)`` values; bin 8 (neutral pixels) is dropped."""
    sums = torch.zeros(values.shape[0], len(HSL_BANDS) + 1, dtype=values.dtype, device=values.device)
    return sums.scatter_add_(1, bins, values)[:, :len(HSL_BANDS)]


def _bin_means(values: torch.Tensor, bins: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """``(B, 8)`` per-band means; 0 for an empty band."""
    return _bin_sums(values, bins) / counts.clamp_min(1.0)


def _nearest_band(hue_deg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the nearest band centre and the signed offset from it (degrees, + towards the next
    band), for hues in degrees: the two centres around each hue are found by binary search."""
    centres = BAND_CENTRES_DEG.to(device=hue_deg.device, dtype=hue_deg.dtype)
    hue = torch.remainder(hue_deg, 360.0).contiguous()
    after = torch.remainder(torch.searchsorted(centres, hue), len(centres))
    before = torch.remainder(after - 1, len(centres))
    past_before = torch.remainder(hue - centres[before], 360.0)
    short_of_after = torch.remainder(centres[after] - hue, 360.0)
    nearer_before = past_before <= short_of_after
    return torch.where(nearer_before, before, after), torch.where(nearer_before, past_before, -short_of_after)


def measure(image: torch.Tensor) -> list[dict[str, float]]:
    """Measurements of each image of an sRGB batch ``(B, 3, H, W)`` in [0, 1] (keys: module docstring)."""
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"expected an image batch of shape (B, 3, H, W), got {tuple(image.shape)}")
    srgb = image.detach().double().clamp(0.0, 1.0)
    batch = srgb.shape[0]
    lab = rgb_to_lab(srgb).flatten(2)
    lightness = lab[:, 0] / 100.0
    a_star, b_star = lab[:, 1], lab[:, 2]
    chroma = torch.sqrt(a_star * a_star + b_star * b_star)
    pixels = srgb.flatten(2)

    percentiles = _percentiles(lightness, (0.05, 0.5, 0.95))
    in_range = (lightness > CAST_LIGHTNESS_RANGE[0]) & (lightness < CAST_LIGHTNESS_RANGE[1])
    cast_weight = (1.0 - chroma / CAST_CHROMA_LIMIT).clamp_min(0.0) ** 2 * in_range
    use_all = cast_weight.sum(-1, keepdim=True) < 1e-3 * lightness.shape[1]
    cast_weight = torch.where(use_all, torch.ones_like(cast_weight), cast_weight)

    oklab = srgb_to_oklab(srgb).flatten(2)
    _, hue = chroma_and_hue(oklab[:, 1], oklab[:, 2])
    band, hue_offset = _nearest_band(torch.rad2deg(hue))
    coloured = chroma >= NEUTRAL_CHROMA
    bins = torch.where(coloured, band, torch.full_like(band, len(HSL_BANDS)))

    columns = {
        "mean_lightness": lightness.mean(-1),
        "median_lightness": percentiles[:, 1],
        "lightness_p05": percentiles[:, 0],
        "lightness_p95": percentiles[:, 2],
        "contrast": lightness.std(-1, unbiased=False),
        "shadow_clipping": (pixels < SHADOW_CLIP).all(1).double().mean(-1),
        "highlight_clipping": (pixels > HIGHLIGHT_CLIP).any(1).double().mean(-1),
        "cast_a": _masked_mean(a_star, cast_weight),
        "cast_b": _masked_mean(b_star, cast_weight),
        "mean_chroma": chroma.mean(-1),
        "neutral_share": (~coloured).double().mean(-1),
    }
    counts = _bin_sums(torch.ones_like(lightness), bins)
    per_band = {
        "share": counts / lightness.shape[1],
        "chroma": _bin_means(chroma, bins, counts),
        "lightness": _bin_means(lightness, bins, counts),
        "hue_offset": _bin_means(hue_offset, bins, counts),
    }
    for index, band_name in enumerate(HSL_BANDS):
        for quantity in BAND_KEYS:
            columns[band_key(band_name, quantity)] = per_band[quantity][:, index]
    table = {key: value.tolist() for key, value in columns.items()}
    return [{key: float(values[i]) for key, values in table.items()} for i in range(batch)]


def soft_channel_histograms(image: torch.Tensor, bins: int) -> torch.Tensor:
    """Per-channel soft histograms with a triangular kernel, each summing to 1: shape (B, 3 * bins).

    Bin k is centred at k / (bins - 1), so the centres span [0, 1] including both ends. A value v
    (clamped to [0, 1]) at position p = v * (bins - 1) = k + f with k = floor(p) puts weight 1 - f into
    bin k and f into bin k + 1: the triangular kernel max(0, 1 - |p - k|), i.e. linear interpolation.
    Every value contributes total weight 1 and the weights are piecewise linear in v, so the histogram
    is differentiable almost everywhere with slope +-(bins - 1).
    """
    batch, channels, height, width = image.shape
    position = image.double().clamp(0.0, 1.0).reshape(batch, channels, height * width) * (bins - 1)
    lower_bin = position.detach().floor().clamp(max=bins - 2)
    upper_weight = position - lower_bin
    lower_index = lower_bin.long()
    histogram = position.new_zeros(batch, channels, bins)
    histogram = histogram.scatter_add(2, lower_index, 1.0 - upper_weight)
    histogram = histogram.scatter_add(2, lower_index + 1, upper_weight)
    return (histogram / (height * width)).reshape(batch, channels * bins)
