"""Metrics agree with scikit-image, are per-image, batched, symmetric where they should be, and differentiable."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import color, data, filters, metrics, transform

from veraretouch.evaluation import (
    delta_e2000,
    delta_e2000_map,
    evaluate_pair,
    histogram_similarity,
    l1_similarity,
    mean_absolute_error,
    psnr,
    rgb_to_lab,
    ssim,
)

SKIMAGE_SSIM_ARGS = dict(channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None)


def to_batch(image_hwc: np.ndarray) -> torch.Tensor:
    """(H, W, 3) numpy -> (1, 3, H, W) float64 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image_hwc, dtype=np.float64)).permute(2, 0, 1)[None]


def to_hwc(batch: torch.Tensor) -> np.ndarray:
    return batch[0].detach().permute(1, 2, 0).double().numpy()


def photo(name: str) -> np.ndarray:
    return transform.resize(getattr(data, name)(), (64, 80), anti_aliasing=True)


def edited(image: np.ndarray, edit: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    edits = {
        "gamma": lambda: image**0.6,
        "noise": lambda: np.clip(image + rng.normal(0.0, 0.05, image.shape), 0.0, 1.0),
        "blur": lambda: filters.gaussian(image, sigma=1.5, channel_axis=-1),
        "colour_shift": lambda: np.clip(image * np.array([1.25, 0.9, 0.75]), 0.0, 1.0),
        "flat_grey": lambda: np.full_like(image, 0.5),
    }
    return edits[edit]()


PHOTOS = ["astronaut", "coffee", "chelsea"]
EDITS = ["gamma", "noise", "blur", "colour_shift", "flat_grey"]
PHOTO_PAIRS = [(name, edit) for name in PHOTOS for edit in EDITS]


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {name: photo(name) for name in PHOTOS}


@st.composite
def image_batches(draw, batch: int | None = None, shape: tuple[int, ...] | None = None) -> torch.Tensor:
    """Float64 (B, 3, H, W) batches, 11..20 px a side: uniform noise, smooth fields, or flat black/white/greys."""
    if shape is None:
        shape = (batch or draw(st.integers(1, 3)), 3, draw(st.integers(11, 20)), draw(st.integers(11, 20)))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    kind = draw(st.sampled_from(["noise", "smooth", "flat"]))
    if kind == "noise":
        return torch.rand(shape, generator=generator, dtype=torch.float64)
    if kind == "smooth":
        coarse = torch.rand(*shape[:2], 3, 3, generator=generator, dtype=torch.float64)
        return F.interpolate(coarse, size=shape[2:], mode="bilinear", align_corners=True)
    return torch.full(shape, draw(st.sampled_from([0.0, 0.2, 0.5, 1.0])), dtype=torch.float64)


@st.composite
def image_pairs(draw, batch: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    first = draw(image_batches(batch=batch))
    return first, draw(image_batches(shape=tuple(first.shape)))


# ---- agreement with scikit-image -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "edit"), PHOTO_PAIRS)
def test_ssim_matches_skimage_on_edited_photos(photos, name, edit):
    reference = photos[name]
    changed = edited(reference, edit)
    expected = metrics.structural_similarity(reference, changed, data_range=1.0, **SKIMAGE_SSIM_ARGS)
    actual = ssim(to_batch(changed), to_batch(reference))
    assert actual.shape == (1,)
    assert abs(actual.item() - expected) < 1e-8


def test_ssim_respects_data_range(photos):
    reference = photos["coffee"] * 255.0
    changed = edited(photos["coffee"], "gamma") * 255.0
    expected = metrics.structural_similarity(reference, changed, data_range=255.0, **SKIMAGE_SSIM_ARGS)
    assert abs(ssim(to_batch(changed), to_batch(reference), data_range=255.0).item() - expected) < 1e-8


def test_ssim_keeps_float32_and_stays_close(photos):
    reference = photos["chelsea"]
    changed = edited(reference, "noise")
    expected = metrics.structural_similarity(reference, changed, data_range=1.0, **SKIMAGE_SSIM_ARGS)
    actual = ssim(to_batch(changed).float(), to_batch(reference).float())
    assert actual.dtype == torch.float32
    assert abs(actual.item() - expected) < 1e-4


def test_ssim_other_sigma_matches_skimage(photos):
    reference = photos["astronaut"]
    changed = edited(reference, "blur")
    skimage_args = {**SKIMAGE_SSIM_ARGS, "sigma": 1.0}
    expected = metrics.structural_similarity(reference, changed, data_range=1.0, **skimage_args)
    assert abs(ssim(to_batch(changed), to_batch(reference), sigma=1.0).item() - expected) < 1e-8


@pytest.mark.parametrize(("name", "edit"), PHOTO_PAIRS)
def test_psnr_matches_skimage(photos, name, edit):
    reference = photos[name]
    changed = edited(reference, edit)
    expected = metrics.peak_signal_noise_ratio(reference, changed, data_range=1.0)
    assert abs(psnr(to_batch(changed), to_batch(reference)).item() - expected) < 1e-9


def test_psnr_known_value_and_identical_is_infinite():
    target = torch.zeros(2, 3, 4, 4)
    prediction = target.clone()
    prediction[0] += 0.1
    values = psnr(prediction, target)
    assert values[0].item() == pytest.approx(20.0, abs=1e-5)
    assert values[1].item() == math.inf


@pytest.mark.parametrize("name", PHOTOS)
def test_rgb_to_lab_matches_skimage(photos, name):
    image = photos[name]
    assert np.abs(to_hwc(rgb_to_lab(to_batch(image))) - color.rgb2lab(image)).max() < 1e-9


def test_rgb_to_lab_extremes_and_dtype():
    corners = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    image = corners.T.reshape(1, 3, 1, 4)
    lab = rgb_to_lab(image)
    assert lab.dtype == torch.float32
    np.testing.assert_allclose(to_hwc(lab), color.rgb2lab(corners.numpy()[None].astype(np.float64)), atol=1e-4)
    assert lab[0, 0, 0, 0].item() == 0.0
    assert lab[0, 0, 0, 1].item() == pytest.approx(100.0, abs=1e-3)


@pytest.mark.parametrize(("name", "edit"), PHOTO_PAIRS)
def test_delta_e2000_matches_skimage_on_edited_photos(photos, name, edit):
    reference = photos[name]
    changed = edited(reference, edit)
    expected_map = color.deltaE_ciede2000(color.rgb2lab(reference), color.rgb2lab(changed))
    actual_map = delta_e2000_map(to_batch(changed), to_batch(reference))
    assert actual_map.shape == (1, 64, 80)
    assert np.abs(actual_map[0].numpy() - expected_map).max() < 1e-8
    assert abs(delta_e2000(to_batch(changed), to_batch(reference)).item() - expected_map.mean()) < 1e-3


def test_delta_e2000_matches_skimage_on_random_colours_covering_all_hue_branches():
    generator = np.random.default_rng(3)
    colours_a = generator.random((1, 4000, 3))
    colours_b = generator.random((1, 4000, 3))
    colours_a[0, :20] = colours_a[0, 20:40]
    colours_b[0, :10] = 0.0
    colours_a[0, 40:50] = 0.0
    expected = color.deltaE_ciede2000(color.rgb2lab(colours_a), color.rgb2lab(colours_b))
    lab_hue_a = np.arctan2(color.rgb2lab(colours_a)[..., 2], color.rgb2lab(colours_a)[..., 1])
    lab_hue_b = np.arctan2(color.rgb2lab(colours_b)[..., 2], color.rgb2lab(colours_b)[..., 1])
    assert (np.abs(lab_hue_a - lab_hue_b) > np.pi).sum() > 100, "sample must exercise the hue wrap-around"
    actual = delta_e2000_map(to_batch(colours_b), to_batch(colours_a))
    assert np.abs(actual[0].numpy() - expected).max() < 1e-8


def test_delta_e2000_black_to_white_is_lightness_difference():
    black = torch.zeros(1, 3, 2, 2)
    white = torch.ones(1, 3, 2, 2)
    # Mean lightness 50 makes S_L = 1, and white has (a, b) ~ 0, so the difference is the L difference 100.
    assert delta_e2000(black, white).item() == pytest.approx(100.0, abs=1e-2)


# ---- properties ------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(image_pairs())
def test_psnr_is_symmetric(pair):
    first, second = pair
    torch.testing.assert_close(psnr(first, second), psnr(second, first), rtol=1e-12, atol=0.0)


@PROPERTY_SETTINGS
@given(image_batches())
def test_self_comparison_is_perfect(images):
    torch.testing.assert_close(ssim(images, images), torch.ones(images.shape[0], dtype=torch.float64))
    assert torch.all(delta_e2000_map(images, images) == 0.0)
    torch.testing.assert_close(
        histogram_similarity(images, images), torch.ones(images.shape[0], dtype=torch.float64)
    )
    assert torch.all(l1_similarity(images, images) == 1.0)
    assert torch.all(psnr(images, images) == math.inf)


@PROPERTY_SETTINGS
@given(image_pairs())
def test_delta_e2000_and_ssim_are_symmetric(pair):
    first, second = pair
    torch.testing.assert_close(delta_e2000_map(first, second), delta_e2000_map(second, first), rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(ssim(first, second), ssim(second, first), rtol=1e-12, atol=1e-12)
    assert torch.all(delta_e2000(first, second) >= 0.0)


@PROPERTY_SETTINGS
@given(image_pairs(batch=2))
def test_metrics_are_per_image(pair):
    first, second = pair
    for metric in (psnr, ssim, delta_e2000, histogram_similarity, l1_similarity, mean_absolute_error):
        together = metric(first, second)
        assert together.shape == (2,)
        alone = torch.cat([metric(first[i : i + 1], second[i : i + 1]) for i in range(2)])
        torch.testing.assert_close(together, alone, rtol=1e-12, atol=1e-12, equal_nan=True)
    torch.testing.assert_close(
        delta_e2000_map(first, second)[1:], delta_e2000_map(first[1:], second[1:]), rtol=1e-12, atol=1e-12
    )


@PROPERTY_SETTINGS
@given(image_batches(batch=1), st.integers(0, 2**31 - 1))
def test_histogram_similarity_ignores_pixel_order(images, seed):
    flat = images.flatten(2)
    order = torch.randperm(flat.shape[-1], generator=torch.Generator().manual_seed(seed))
    shuffled = flat[..., order].reshape(images.shape)
    other = torch.rand(images.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    torch.testing.assert_close(histogram_similarity(shuffled, images), torch.ones(1, dtype=torch.float64))
    torch.testing.assert_close(
        histogram_similarity(shuffled, other), histogram_similarity(images, other), rtol=1e-12, atol=1e-12
    )


@PROPERTY_SETTINGS
@given(image_pairs(), st.integers(2, 64))
def test_histogram_similarity_is_a_cosine_of_nonnegative_features(pair, bins):
    values = histogram_similarity(*pair, bins=bins)
    assert torch.all(values >= 0.0) and torch.all(values <= 1.0 + 1e-12)


# ---- histogram similarity ----------------------------------------------------------------------------


def hard_histogram_cosine(first_hwc: np.ndarray, second_hwc: np.ndarray, bins: int) -> float:
    """Reference: hard histograms whose bins are the nearest-centre cells of centres k / (bins - 1)."""
    centres = np.linspace(0.0, 1.0, bins)
    edges = np.concatenate([[0.0], (centres[:-1] + centres[1:]) / 2.0, [1.0]])

    def features(image: np.ndarray) -> np.ndarray:
        return np.concatenate([np.histogram(image[..., c], bins=edges)[0] / image[..., c].size for c in range(3)])

    first, second = features(first_hwc), features(second_hwc)
    return float(first @ second / (np.linalg.norm(first) * np.linalg.norm(second)))


@pytest.mark.parametrize(
    ("name", "edit"), [(name, edit) for name in PHOTOS for edit in ["gamma", "blur", "colour_shift"]]
)
def test_histogram_similarity_is_close_to_hard_histogram_cosine_for_smooth_images(photos, name, edit):
    reference = filters.gaussian(photos[name], sigma=1.0, channel_axis=-1)
    changed = edited(reference, edit)
    soft = histogram_similarity(to_batch(changed), to_batch(reference), bins=32).item()
    assert abs(soft - hard_histogram_cosine(changed, reference, bins=32)) < 0.02


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.8])
def test_histogram_kernel_splits_a_value_linearly_between_neighbouring_bins(fraction):
    bins = 9
    bin_index = 3
    between = torch.full((1, 3, 5, 5), (bin_index + fraction) / (bins - 1), dtype=torch.float64)
    at_centre = torch.full((1, 3, 5, 5), bin_index / (bins - 1), dtype=torch.float64)
    # Feature of `between`: 1 - f in bin k and f in bin k + 1 per channel; `at_centre` is all in bin k.
    expected = (1.0 - fraction) / math.hypot(1.0 - fraction, fraction)
    assert histogram_similarity(between, at_centre, bins=bins).item() == pytest.approx(expected, abs=1e-12)


def test_histogram_similarity_drops_with_colour_shift(photos):
    reference = to_batch(photos["coffee"])
    mild = (reference * torch.tensor([1.03, 1.0, 0.97], dtype=torch.float64).view(1, 3, 1, 1)).clamp(0, 1)
    strong = (reference * torch.tensor([1.6, 0.7, 0.4], dtype=torch.float64).view(1, 3, 1, 1)).clamp(0, 1)
    identical = histogram_similarity(reference, reference).item()
    mild_score = histogram_similarity(mild, reference).item()
    strong_score = histogram_similarity(strong, reference).item()
    assert identical == pytest.approx(1.0, abs=1e-12)
    assert strong_score < mild_score < identical
    assert strong_score < 0.8


def test_histogram_similarity_disjoint_values_is_zero():
    dark = torch.full((1, 3, 4, 4), 0.0)
    bright = torch.full((1, 3, 4, 4), 1.0)
    assert histogram_similarity(dark, bright, bins=8).item() == 0.0


# ---- gradients ---------------------------------------------------------------------------------------


FLAT_LEVELS = [0.0, 1.0, 0.5, 0.18]


def finite_gradient(metric, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    prediction = prediction.clone().requires_grad_(True)
    metric(prediction, target).sum().backward()
    assert prediction.grad is not None
    assert torch.isfinite(prediction.grad).all(), f"{metric.__name__}: non-finite gradient"
    return prediction.grad


@pytest.mark.parametrize("metric", [delta_e2000, ssim, histogram_similarity, l1_similarity])
@pytest.mark.parametrize("level", FLAT_LEVELS)
def test_gradients_are_finite_for_identical_flat_images(metric, level):
    image = torch.full((1, 3, 12, 12), level, dtype=torch.float64)
    finite_gradient(metric, image, image)


@pytest.mark.parametrize("prediction_level", FLAT_LEVELS)
@pytest.mark.parametrize("target_level", FLAT_LEVELS)
def test_delta_e2000_gradients_are_finite_between_neutral_colours(prediction_level, target_level):
    prediction = torch.full((1, 3, 4, 4), prediction_level, dtype=torch.float64)
    target = torch.full((1, 3, 4, 4), target_level, dtype=torch.float64)
    gradient = finite_gradient(delta_e2000, prediction, target)
    if prediction_level != target_level:
        assert gradient.abs().sum() > 0


def test_delta_e2000_gradients_are_finite_for_identical_photos_and_mixed_black(photos):
    image = to_batch(photos["astronaut"])
    assert finite_gradient(delta_e2000, image, image).abs().max() == 0.0
    with_black = image.clone()
    with_black[..., :8, :] = 0.0
    gradient = finite_gradient(delta_e2000, with_black, image)
    assert gradient.abs().sum() > 0


@pytest.mark.parametrize(
    ("metric", "shape"),
    [
        (delta_e2000, (2, 3, 3, 4)),
        (ssim, (1, 3, 11, 12)),
        (histogram_similarity, (2, 3, 4, 5)),
        (psnr, (2, 3, 4, 5)),
        (l1_similarity, (2, 3, 4, 5)),
    ],
)
def test_gradients_match_finite_differences(metric, shape):
    generator = torch.Generator().manual_seed(11)
    prediction = torch.rand(shape, generator=generator, dtype=torch.float64).requires_grad_(True)
    target = torch.rand(shape, generator=generator, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: metric(p, target), (prediction,))


def test_rgb_to_lab_is_finite_and_matches_skimage_at_black_thresholds_and_out_of_range():
    values = torch.tensor([-0.2, 0.0, 0.04045, 0.0404, 0.5, 1.0, 1.1], dtype=torch.float64)
    image = values.repeat(3, 1).reshape(1, 3, 1, -1).requires_grad_(True)
    lab = rgb_to_lab(image)
    np.testing.assert_allclose(to_hwc(lab), color.rgb2lab(to_hwc(image)), atol=1e-9)
    lab.sum().backward()
    assert torch.isfinite(image.grad).all()


# ---- small helpers and validation ---------------------------------------------------------------------


def test_l1_similarity_and_mean_absolute_error_values():
    prediction = torch.full((2, 3, 4, 4), 0.2)
    target = torch.full((2, 3, 4, 4), 0.5)
    target[1] = 0.2
    torch.testing.assert_close(mean_absolute_error(prediction, target), torch.tensor([0.3, 0.0]))
    torch.testing.assert_close(l1_similarity(prediction, target), torch.tensor([0.7, 1.0]))


def test_evaluate_pair_reports_batch_means(photos):
    reference = torch.cat([to_batch(photos["coffee"]), to_batch(photos["chelsea"])])
    changed = torch.cat([to_batch(edited(photos["coffee"], "gamma")), to_batch(edited(photos["chelsea"], "noise"))])
    report = evaluate_pair(changed.float(), reference.float())
    assert set(report) == {"psnr", "ssim", "delta_e2000", "histogram_similarity"}
    assert all(isinstance(value, float) for value in report.values())
    assert report["ssim"] == pytest.approx(ssim(changed, reference).mean().item(), abs=1e-4)
    assert report["delta_e2000"] == pytest.approx(delta_e2000(changed, reference).mean().item(), abs=1e-3)
    assert report["psnr"] == pytest.approx(psnr(changed, reference).mean().item(), abs=1e-3)


@pytest.mark.parametrize(
    ("prediction", "target", "message"),
    [
        (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 17), "shapes differ"),
        (torch.rand(3, 16, 16), torch.rand(3, 16, 16), "4-D"),
        (torch.rand(1, 4, 16, 16), torch.rand(1, 4, 16, 16), "3 colour channels"),
        (torch.rand(1, 1, 16, 16), torch.rand(1, 3, 16, 16), "3 colour channels"),
        (torch.rand(1, 3, 0, 16), torch.rand(1, 3, 0, 16), "positive"),
    ],
)
@pytest.mark.parametrize(
    "metric", [psnr, ssim, delta_e2000, delta_e2000_map, histogram_similarity, l1_similarity, evaluate_pair]
)
def test_invalid_shapes_raise_value_error(metric, prediction, target, message):
    with pytest.raises(ValueError, match=message):
        metric(prediction, target)


def test_invalid_arguments_raise():
    image = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.rand(1, 3, 10, 16), torch.rand(1, 3, 10, 16))
    with pytest.raises(ValueError, match="data_range"):
        psnr(image, image, data_range=0.0)
    with pytest.raises(ValueError, match="bins"):
        histogram_similarity(image, image, bins=1)
    with pytest.raises(TypeError, match="floating-point"):
        psnr((image * 255).to(torch.uint8), (image * 255).to(torch.uint8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        delta_e2000(image.numpy(), image)
    with pytest.raises(ValueError, match="4-D"):
        rgb_to_lab(torch.rand(3, 4, 4))


def test_paired_bootstrap_intervals():
    from veraretouch.evaluation.bootstrap import paired_bootstrap

    rng = np.random.default_rng(0)
    clear = paired_bootstrap(rng.normal(1.0, 1.0, 400))
    assert clear["samples_ci"][0] > 0.7 and clear["samples_ci"][1] < 1.3 and clear["samples_ci"][0] < clear["mean"]
    noise = paired_bootstrap(rng.normal(0.0, 1.0, 400))
    assert noise["samples_ci"][0] < 0 < noise["samples_ci"][1]
    # Four photos, each with its own offset shared by its 100 samples: the samples look sure, the photos do not.
    offsets = np.repeat([1.0, -0.6, 0.9, -0.5], 100)
    groups = np.repeat(["a", "b", "c", "d"], 100).tolist()
    correlated = paired_bootstrap(offsets + rng.normal(0, 0.1, 400), groups)
    assert correlated["samples_ci"][0] > 0 and correlated["groups_ci"][0] < 0 < correlated["groups_ci"][1]
    with pytest.raises(ValueError, match="group labels"):
        paired_bootstrap([1.0, 2.0], ["a"])
