"""The planner's image features: layout, invariances, what they see (tone, casts, bands)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from support import as_tensor

from veraretouch.operators import render
from veraretouch.plan import Plan
from veraretouch.plan.parameters import HSL_BANDS
from veraretouch.planner.features import (
    AB_BINS,
    CHROMA_QUANTILES,
    FEATURE_SIDE,
    FEATURE_SIZE,
    GRID,
    LIGHTNESS_BINS,
    LIGHTNESS_QUANTILES,
    RGB_BINS,
    ZONES,
    image_features,
)


# ------------------------------------------------------------------------------- image features
def feature_layout() -> dict[str, slice]:
    """Column ranges of `image_features`, in the order of the module docstring; checked against
    FEATURE_SIZE here and against direct computations in `test_feature_layout_matches_the_docstring`."""
    sizes = [("rgb_histograms", 3 * RGB_BINS), ("lightness_histogram", LIGHTNESS_BINS),
             ("lightness_quantiles", len(LIGHTNESS_QUANTILES)), ("rgb_mean", 3), ("rgb_std", 3), ("rgb_tails", 6),
             ("ab_histogram", AB_BINS ** 2), ("band_share", len(HSL_BANDS)), ("band_chroma", len(HSL_BANDS)),
             ("band_lightness", len(HSL_BANDS)), ("cast", 2 * len(ZONES)), ("chroma_mean", 1),
             ("chroma_quantiles", len(CHROMA_QUANTILES)), ("clipped", 2), ("grid", 3 * GRID * GRID),
             ("illuminant", 8), ("exposure_key", 2)]
    layout, start = {}, 0
    for name, size in sizes:
        layout[name] = slice(start, start + size)
        start += size
    assert start == FEATURE_SIZE
    return layout


LAYOUT = feature_layout()
B_CAST = [LAYOUT["cast"].start + 2 * zone + 1 for zone in range(len(ZONES))]
"""The cast is (mean a, mean b) per lightness zone: b of shadows, midtones, highlights."""

def test_feature_layout_matches_the_docstring(photo):
    from veraretouch.operators.colorspace import srgb_to_oklab

    features = image_features(photo)[0]
    assert torch.allclose(features[LAYOUT["rgb_mean"]], photo.mean(dim=(2, 3))[0], atol=1e-6)
    lightness = srgb_to_oklab(photo)[0, 0].flatten()
    assert torch.allclose(features[LAYOUT["lightness_quantiles"]],
                          torch.quantile(lightness, torch.tensor(LIGHTNESS_QUANTILES)), atol=1e-6)
    assert torch.allclose(
        features[LAYOUT["grid"]], F.adaptive_avg_pool2d(srgb_to_oklab(photo), GRID).flatten(), atol=1e-6
    )
    from veraretouch.planner.features import exposure_key, illuminant_estimates

    assert torch.allclose(features[LAYOUT["illuminant"]], illuminant_estimates(photo)[0], atol=1e-6)
    assert torch.allclose(features[LAYOUT["exposure_key"]], exposure_key(photo)[0], atol=1e-6)
    for name in ("rgb_histograms", "lightness_histogram", "ab_histogram"):
        histograms = features[LAYOUT[name]].reshape(-1, AB_BINS ** 2 if name == "ab_histogram" else
                                                     (RGB_BINS if name == "rgb_histograms" else LIGHTNESS_BINS))
        assert torch.allclose(histograms.sum(dim=1), torch.ones(len(histograms)), atol=1e-4), name


def test_features_shape_finite_and_differentiable(photo):
    image = photo.repeat(2, 1, 1, 1)
    image[1, :, :8] = 0.5  # neutral pixels (no hue), pure black and clipped white
    image[1, :, 8:16] = 0.0
    image[1, :, 16:24] = 1.0
    image.requires_grad_(True)
    features = image_features(image)
    assert features.shape == (2, FEATURE_SIZE) and torch.isfinite(features).all()
    (features * torch.linspace(-1, 1, FEATURE_SIZE)).sum().backward()
    assert torch.isfinite(image.grad).all() and image.grad.abs().sum() > 0


def test_features_of_an_image_do_not_depend_on_the_batch(photo):
    other = torch.rand(3, 3, FEATURE_SIDE, FEATURE_SIDE, generator=torch.Generator().manual_seed(0))
    alone = image_features(photo)
    assert torch.allclose(image_features(torch.cat([other[:1], photo, other[1:]]))[1], alone[0], atol=1e-5)
    assert not torch.allclose(image_features(other[:1]), alone, atol=1e-2)


def test_a_darker_photo_has_lower_lightness_quantiles(photo):
    darker = render(photo, Plan({"Exposure2012": -1.0}).to_tensor()[None]).clamp(0, 1)
    quantiles = image_features(torch.cat([photo, darker]))[:, LAYOUT["lightness_quantiles"]]
    assert (quantiles[1] <= quantiles[0] + 1e-6).all()
    median = LIGHTNESS_QUANTILES.index(0.5)
    assert quantiles[1, median] < quantiles[0, median] - 0.05


def test_a_warm_tint_raises_the_b_cast(photo):
    warm = (photo * torch.tensor([1.06, 1.0, 0.94])[:, None, None]).clamp(0, 1)
    cool = (photo * torch.tensor([0.94, 1.0, 1.06])[:, None, None]).clamp(0, 1)
    features = image_features(torch.cat([cool, photo, warm]))
    casts = features[:, B_CAST]
    assert (casts[0] < casts[1]).all() and (casts[1] < casts[2]).all(), casts
    a_casts = features[:, [column - 1 for column in B_CAST]]  # yellow-blue moves more than red-green here
    assert (casts[2] - casts[1] > a_casts[2] - a_casts[1]).all()


@pytest.fixture(scope="module")
def large_photo() -> torch.Tensor:
    from skimage import data

    return as_tensor(np.asarray(Image.fromarray(data.astronaut()).resize((300, 200), Image.LANCZOS)))


def test_large_images_give_the_features_of_their_downsized_copy(large_photo):
    area = F.interpolate(large_photo, size=(64, 96), mode="area")
    assert torch.allclose(image_features(large_photo), image_features(area), atol=1e-5)
    # another resampler: the same photo content, so nearly the same statistics
    pil = np.asarray(Image.fromarray((large_photo[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
                     .resize((96, 64), Image.BOX))
    difference = (image_features(large_photo) - image_features(as_tensor(pil))).abs()[0]
    unstable = torch.zeros(FEATURE_SIZE, dtype=torch.bool)
    unstable[LAYOUT["band_chroma"]] = unstable[LAYOUT["band_lightness"]] = True
    assert difference[~unstable].max() < 0.05


def test_band_statistics_are_stable_under_resampling(large_photo):
    pil = np.asarray(Image.fromarray((large_photo[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
                     .resize((96, 64), Image.BOX))
    difference = (image_features(large_photo) - image_features(as_tensor(pil))).abs()[0]
    assert difference[LAYOUT["band_lightness"]].max() < 0.1

def test_illuminant_estimates_see_a_cast_and_the_key_sees_a_stop(photo):
    from veraretouch.operators.colorspace import linear_rgb_to_srgb, srgb_to_linear_rgb
    from veraretouch.planner.features import exposure_key, illuminant_estimates

    linear = srgb_to_linear_rgb(photo)
    warm = linear_rgb_to_srgb((linear * torch.tensor([1.2, 1.0, 0.8])[:, None, None]).clamp(0, 1))
    shift = illuminant_estimates(warm) - illuminant_estimates(photo)
    assert (shift[0, 0::2] > 0.05).all() and (shift[0, 1::2] < -0.05).all(), "every estimator: redder, less blue"
    darker = linear_rgb_to_srgb(linear / 2)
    key_change, median_change = (exposure_key(darker) - exposure_key(photo))[0].tolist()
    assert abs(median_change + 1) < 0.01 and -1.05 < key_change < -0.8, (
        "a stop down (the floor holds the darkest pixels)"
    )
    assert torch.isfinite(illuminant_estimates(torch.zeros(1, 3, 8, 8))).all()
