"""What the compact planner sees of a photo: a fixed vector of colour statistics.

Retouching decisions are about the distribution of colours (how dark, how flat, which cast, which
hues are loud) and a little about where they are (a bright sky above, a dark foreground), so the
features are histograms, quantiles, hue-band statistics and a coarse spatial grid, all computed in
sRGB and OKLab on a copy whose long side is `FEATURE_SIDE`. Everything but the clipping shares is
differentiable in the pixels. ``image_features(x)`` is ``(B, FEATURE_SIZE)``:

- per-channel sRGB soft histograms (24 bins each) and OKLab lightness histogram (32 bins);
- lightness quantiles (1, 5, 25, 50, 75, 95, 99 %), per-channel sRGB mean, deviation, 1 % and 99 %;
- a 9 x 9 soft histogram of OKLab (a, b) over +-0.25 (casts and saturation at once);
- per hue band (the HSL operators' eight bands, raised-cosine membership weighted by chroma):
  share, mean chroma, mean lightness (shrunk towards the image's means, `BAND_PRIOR_SHARE`);
- the cast (mean a, b of near-neutral pixels) in shadows, midtones and highlights;
- chroma mean and 50 / 90 / 99 % quantiles; clipped shares (any channel at 255, all at 0);
- mean OKLab on a 4 x 4 grid;
- the illuminant as four classic white-balance estimators see it, each as log chromaticity
  ``(log R/G, log B/G)`` of linear RGB: grey world (mean), shades of grey (Minkowski p = 6 mean),
  grey edge (mean gradient magnitude) and white patch (99th percentile); where they agree there is
  a cast, where they disagree the scene's own colours are the likelier cause;
- the exposure key: log2 of the log-average and of the median linear luminance.

The last two live in `operators.statistics` (the photo diagnosis reads them too) and are
re-exported here.

Groups are only ever appended, so a planner trained on the first ``config.image_features``
columns keeps reading exactly those.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..operators.color import band_weights
from ..operators.colorspace import chroma_and_hue, srgb_to_oklab
from ..operators.statistics import exposure_key, illuminant_estimates
from ..plan.parameters import HSL_BANDS
from ..reasoning.measure import soft_channel_histograms

FEATURE_SIDE = 96
RGB_BINS = 24
LIGHTNESS_BINS = 32
AB_BINS = 9
AB_RANGE = 0.25
GRID = 4
LIGHTNESS_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
CHROMA_QUANTILES = (0.5, 0.9, 0.99)
NEUTRAL_CHROMA = 0.04
"""OKLab chroma under which a pixel counts as near-neutral for the cast statistics."""
BAND_PRIOR_SHARE = 0.01
"""Band means shrink towards the image's mean with the weight of this share of its pixels: a band
with a handful of pixels would otherwise report one stray pixel's colour (and jump when resampled)."""
ZONES = ((0.0, 0.35), (0.35, 0.7), (0.7, 1.01))
FEATURE_GROUPS = {
    "rgb_histograms": 3 * RGB_BINS, "lightness_histogram": LIGHTNESS_BINS,
    "lightness_quantiles": len(LIGHTNESS_QUANTILES), "rgb_moments": 12, "ab_histogram": AB_BINS ** 2,
    "hue_bands": 3 * len(HSL_BANDS), "zone_casts": 2 * len(ZONES), "chroma": 1 + len(CHROMA_QUANTILES),
    "clipping": 2, "grid": 3 * GRID * GRID, "illuminant": 8, "exposure_key": 2,
}
"""The feature vector's parts, in order, and their sizes (`feature_slices` gives their columns)."""
FEATURE_SIZE = sum(FEATURE_GROUPS.values())


def feature_slices() -> dict[str, slice]:
    """Columns of each `FEATURE_GROUPS` part in ``image_features``' output."""
    slices, start = {}, 0
    for name, size in FEATURE_GROUPS.items():
        slices[name] = slice(start, start + size)
        start += size
    return slices


def planner_copy(image: torch.Tensor, side: int = FEATURE_SIDE) -> torch.Tensor:
    """``(B, 3, H, W)`` -> area-downsized so the long side is at most ``side`` (never enlarged)."""
    scale = side / max(image.shape[-2:])
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[-2] * scale)), max(1, round(image.shape[-1] * scale)))
    return F.interpolate(image, size=size, mode="area")


def _ab_histogram(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(B, AB_BINS^2)`` soft 2-D histogram (bilinear kernel) of (a, b) over ``[-AB_RANGE, AB_RANGE]^2``."""
    def axis_weights(values: torch.Tensor) -> torch.Tensor:
        position = ((values / AB_RANGE + 1) / 2).clamp(0, 1) * (AB_BINS - 1)
        centres = torch.arange(AB_BINS, dtype=values.dtype, device=values.device)
        return (1 - (position[..., None] - centres).abs()).clamp(min=0)

    joint = torch.einsum("bni,bnj->bij", axis_weights(a), axis_weights(b))
    return joint.reshape(a.shape[0], -1) / a.shape[1]


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (values * weights).sum(dim=1) / (weights.sum(dim=1) + 1e-6)


def image_features(image: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` sRGB in [0, 1] -> ``(B, FEATURE_SIZE)`` colour statistics (see the module doc)."""
    srgb = planner_copy(image.float()).clamp(0, 1)
    batch = srgb.shape[0]
    oklab = srgb_to_oklab(srgb)
    lightness, a, b = (oklab[:, i].reshape(batch, -1) for i in range(3))
    chroma, hue = chroma_and_hue(a, b)
    rgb = srgb.reshape(batch, 3, -1)
    parts = [
        soft_channel_histograms(srgb, RGB_BINS).float(),
        soft_channel_histograms(lightness.clamp(0, 1).reshape(batch, 1, 1, -1), LIGHTNESS_BINS).float(),
        torch.quantile(lightness, lightness.new_tensor(LIGHTNESS_QUANTILES), dim=1).T,
        rgb.mean(dim=2),
        rgb.std(dim=2),
        torch.quantile(rgb, rgb.new_tensor([0.01, 0.99]), dim=2).permute(1, 2, 0).reshape(batch, 6),
        _ab_histogram(a, b),
    ]
    membership = band_weights(torch.rad2deg(hue)) * (chroma / (chroma + NEUTRAL_CHROMA))[..., None]
    prior = BAND_PRIOR_SHARE * lightness.shape[1]
    total = membership.sum(dim=1) + prior
    parts += [membership.mean(dim=1),
              (torch.einsum("bn,bnk->bk", chroma, membership) + prior * chroma.mean(1, keepdim=True)) / total,
              (torch.einsum("bn,bnk->bk", lightness, membership) + prior * lightness.mean(1, keepdim=True)) / total]
    neutral = (1 - chroma / NEUTRAL_CHROMA).clamp(min=0) ** 2
    for low, high in ZONES:
        weight = neutral * ((lightness >= low) & (lightness < high)).float()
        parts += [_weighted_mean(a, weight)[:, None], _weighted_mean(b, weight)[:, None]]
    parts += [chroma.mean(dim=1, keepdim=True), torch.quantile(chroma, chroma.new_tensor(CHROMA_QUANTILES), dim=1).T,
              (rgb >= 254.5 / 255).any(dim=1).float().mean(dim=1, keepdim=True),
              (rgb <= 0.5 / 255).all(dim=1).float().mean(dim=1, keepdim=True),
              F.adaptive_avg_pool2d(oklab, GRID).reshape(batch, -1),
              illuminant_estimates(srgb), exposure_key(srgb)]
    return torch.cat(parts, dim=1)
