"""Behaviour of the parametric operators: identity, direction of every slider, batching, gradients."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from veraretouch.operators import render
from veraretouch.operators.color import BAND_CENTRES_DEG, band_blend
from veraretouch.operators.colorspace import chroma_and_hue, oklab_to_srgb, srgb_to_oklab
from veraretouch.plan import Plan
from veraretouch.plan.parameters import (
    CURVE_SAMPLES,
    GRADING,
    HSL_BANDS,
    SCALARS,
    SLIDERS,
    curve_samples,
    default_params,
    param_index,
)

torch.manual_seed(0)


def grey_ramp(n: int = 64) -> torch.Tensor:
    """Neutral tones from black to white, ``(1, 3, 1, n)``."""
    return torch.linspace(0.0, 1.0, n, dtype=torch.float64).reshape(1, 1, 1, n).expand(1, 3, 1, n).clone()


def oklch_patch(lightness: float, chroma: float, hue_deg: float) -> torch.Tensor:
    h = math.radians(hue_deg)
    lab = torch.tensor([lightness, chroma * math.cos(h), chroma * math.sin(h)], dtype=torch.float64)
    return oklab_to_srgb(lab.reshape(1, 3, 1, 1))


def band_patches(lightness: float = 0.7, chroma: float = 0.1) -> torch.Tensor:
    """One patch per HSL band centre, ``(1, 3, 1, 8)``."""
    return torch.cat([oklch_patch(lightness, chroma, float(h)) for h in BAND_CENTRES_DEG], dim=3)


def with_value(name: str, value: float, batch: int = 1) -> torch.Tensor:
    params = default_params(batch, dtype=torch.float64)
    params[:, param_index(name)] = value
    return params


def lightness(image: torch.Tensor) -> torch.Tensor:
    return srgb_to_oklab(image)[:, 0]


def chroma_hue(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lab = srgb_to_oklab(image)
    chroma, hue = chroma_and_hue(lab[:, 1], lab[:, 2])
    return chroma, torch.rad2deg(hue)


def sweep(name: str, measure, image: torch.Tensor, values=(-100.0, -50.0, 0.0, 50.0, 100.0)) -> list[float]:
    return [float(measure(render(image, with_value(name, v)))) for v in values]


def assert_increasing(series: list[float], strict: bool = True) -> None:
    pairs = list(zip(series, series[1:]))
    assert all((b > a + 1e-6) if strict else (b >= a - 1e-9) for a, b in pairs), series


def photo_like(batch: int = 1, size: int = 32) -> torch.Tensor:
    """Smooth random colours including black, white and a neutral ramp."""
    image = torch.rand(batch, 3, size, size, dtype=torch.float64)
    image = torch.nn.functional.avg_pool2d(image, 3, 1, 1)
    image[:, :, 0, :] = torch.linspace(0, 1, size, dtype=torch.float64)
    image[:, :, 1, 0] = 0.0
    image[:, :, 1, 1] = 1.0
    return image


# ------------------------------------------------------------------ identity and structure

def test_default_parameters_are_the_identity_in_float32():
    image = photo_like(2).float()
    out = render(image, default_params(2))
    assert out.dtype == torch.float32
    assert (out - image).abs().max() < 1e-5


def test_every_stage_is_the_identity_at_defaults_even_when_computed():
    """With gradients wanted no stage is skipped, so this checks each stage's own identity."""
    image = photo_like(2).float()
    params = default_params(2).requires_grad_(True)
    assert (render(image, params) - image).abs().max() < 1e-5


def test_default_parameters_are_the_identity_on_every_8bit_grey_and_primary():
    levels = torch.arange(256, dtype=torch.float32) / 255
    image = torch.stack(torch.meshgrid(levels, levels[::17], levels[::15], indexing="ij")).reshape(1, 3, 256, -1)
    assert (render(image, default_params(1)) - image).abs().max() < 1e-5


def test_batched_parameters_equal_one_at_a_time():
    image = photo_like(3)
    params = default_params(3, torch.float64)
    params[0, param_index("Exposure2012")] = 1.0
    params[1, param_index("HueAdjustmentBlue")] = -60.0
    params[2, param_index("ColorGradeShadowSat")] = 40.0
    together = render(image, params)
    for i in range(3):
        alone = render(image[i:i + 1], params[i:i + 1])
        assert torch.allclose(together[i:i + 1], alone, atol=1e-12)


def test_one_parameter_row_broadcasts_over_the_image_batch():
    image = photo_like(2)
    params = with_value("Contrast2012", 40.0)
    assert torch.allclose(render(image, params), render(image, params.expand(2, -1)))


def test_render_is_pointwise():
    image = photo_like(1)
    params = Plan({"Exposure2012": 0.7, "Contrast2012": 30, "HueAdjustmentRed": 40}).to_tensor().double()[None]
    shuffled = torch.randperm(32 * 32)
    flat = image.reshape(1, 3, -1)
    out_shuffled = render(flat[:, :, shuffled].reshape(1, 3, 32, 32), params).reshape(1, 3, -1)
    out = render(image, params).reshape(1, 3, -1)[:, :, shuffled]
    assert torch.allclose(out, out_shuffled, atol=1e-12)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="B, 3, H, W"):
        render(torch.rand(3, 8, 8), default_params(1))
    with pytest.raises(ValueError, match="parameters of shape"):
        render(torch.rand(1, 3, 8, 8), torch.zeros(1, 5))
    with pytest.raises(ValueError, match="does not match"):
        render(torch.rand(2, 3, 8, 8), default_params(3))


# ------------------------------------------------------------------ gradients

def extreme_params(seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    params = default_params(1, torch.float64)
    for i, spec in enumerate(SCALARS):
        pick = torch.randint(0, 3, (1,), generator=generator).item()
        params[0, i] = (spec.minimum, spec.default, spec.maximum)[pick]
    return params


@pytest.mark.parametrize("seed", range(4))
def test_gradients_are_finite_at_black_white_greys_and_slider_extremes(seed):
    image = torch.cat([grey_ramp(16), band_patches()[..., :8].expand(1, 3, 1, 8).reshape(1, 3, 1, 8)], 3)
    image = torch.cat([image, torch.zeros(1, 3, 1, 24), torch.ones(1, 3, 1, 24)], 2).requires_grad_(True)
    for params in (default_params(1, torch.float64), extreme_params(seed)):
        params = params.clone().requires_grad_(True)
        out = render(image, params)
        out.sum().backward()
        assert torch.isfinite(image.grad).all()
        assert torch.isfinite(params.grad).all()
        image.grad = None


def test_every_slider_has_a_gradient_somewhere_at_default():
    """At the identity each of the 38 sliders (and each grading strength) moves some pixel."""
    image = torch.cat([photo_like(1, 16), band_patches(0.5, 0.12).expand(1, 3, 16, 8)], 3)
    params = default_params(1, torch.float64)
    params[0, param_index("ColorGradeShadowHue")] = 30.0
    params.requires_grad_(True)
    render(image, params).pow(2).sum().backward()
    for spec in SLIDERS + tuple(s for s in GRADING if s.name.endswith(("Sat", "Lum"))):
        assert params.grad[0, param_index(spec.name)].abs() > 1e-8, spec.name


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0), min_size=len(SLIDERS), max_size=len(SLIDERS)))
def test_tone_never_reverses_for_any_slider_values(fractions):
    """Any lighting settings keep a grey ramp's lightness non-decreasing (no tone reversals)."""
    params = default_params(1, torch.float64)
    for spec, fraction in zip(SLIDERS[:10], fractions):
        params[0, param_index(spec.name)] = fraction * spec.maximum
    out = lightness(render(grey_ramp(128), params)).flatten()
    assert (out[1:] - out[:-1]).min() >= -1e-9


# ------------------------------------------------------------------ direction of each slider

def test_exposure_brightens_monotonically_with_a_soft_shoulder():
    ramp = grey_ramp()
    assert_increasing(sweep("Exposure2012", lambda x: lightness(x).mean(), ramp, (-2, -1, -0.3, 0, 0.3, 1, 2)))
    plus_one = render(ramp, with_value("Exposure2012", 1.0))
    assert plus_one.max() <= 1.0 and (plus_one[..., -1] > 0.999).all(), "white maps to white, no hard clip"
    assert (plus_one[..., 1:] - plus_one[..., :-1]).min() > 0, "highlights keep separation"


def test_contrast_is_an_s_curve_about_the_midtones():
    ramp = grey_ramp(65)
    assert_increasing(sweep("Contrast2012", lambda x: lightness(x).std(), ramp))
    out = lightness(render(ramp, with_value("Contrast2012", 80.0))).flatten()
    before = lightness(ramp).flatten()
    dark, bright = before < 0.4, (before > 0.6) & (before < 0.98)
    assert (out[dark & (before > 0.02)] < before[dark & (before > 0.02)]).all()
    assert (out[bright] > before[bright]).all()


@pytest.mark.parametrize("name,zone,outside", [
    ("Highlights2012", (0.6, 0.9), (0.0, 0.4)),
    ("Shadows2012", (0.1, 0.45), (0.6, 1.0)),
    ("Whites2012", (0.85, 0.97), (0.0, 0.45)),
    ("Blacks2012", (0.03, 0.3), (0.55, 1.0)),
    ("ParametricShadows", (0.1, 0.25), (0.4, 1.0)),
    ("ParametricDarks", (0.3, 0.45), (0.65, 1.0)),
    ("ParametricLights", (0.55, 0.7), (0.0, 0.35)),
    ("ParametricHighlights", (0.75, 0.9), (0.0, 0.6)),
])
def test_tone_zone_sliders_move_their_zone_only(name, zone, outside):
    ramp = grey_ramp(256)
    before = lightness(ramp).flatten()
    inside = (before > zone[0]) & (before < zone[1])
    untouched = (before >= outside[0]) & (before <= outside[1])
    assert_increasing(sweep(name, lambda x: lightness(x).flatten()[inside].mean(), ramp))
    for value in (-100.0, 100.0):
        after = lightness(render(ramp, with_value(name, value))).flatten()
        assert (after[untouched] - before[untouched]).abs().max() < 1e-6, value


def test_blacks_minus_deepens_shadows_and_clips_the_darkest():
    ramp = grey_ramp(256)
    out = lightness(render(ramp, with_value("Blacks2012", -100.0))).flatten()
    before = lightness(ramp).flatten()
    assert (out[1:40] < before[1:40]).all()
    assert out[:8].max() < 1e-6


def test_temperature_warms_and_tint_turns_magenta():
    grey = grey_ramp(16)[..., 3:14]
    assert_increasing(sweep("IncrementalTemperature", lambda x: (x[:, 0] - x[:, 2]).mean(), grey))
    assert_increasing(sweep("IncrementalTint", lambda x: ((x[:, 0] + x[:, 2]) / 2 - x[:, 1]).mean(), grey))


def test_white_balance_keeps_the_brightness_of_neutrals():
    grey = grey_ramp(16)[..., 2:10]
    for name in ("IncrementalTemperature", "IncrementalTint"):
        out = render(grey, with_value(name, 60.0))
        weights = torch.tensor([0.2126, 0.7152, 0.0722], dtype=torch.float64).reshape(1, 3, 1, 1)
        from veraretouch.operators.colorspace import srgb_to_linear_rgb
        assert torch.allclose((srgb_to_linear_rgb(out) * weights).sum(1), srgb_to_linear_rgb(grey)[:, 0], atol=2e-3)


def test_saturation_scales_chroma_and_minus_100_is_neutral_grey():
    image = photo_like(1)
    assert_increasing(sweep("Saturation", lambda x: chroma_hue(x)[0].mean(), image))
    grey = render(image, with_value("Saturation", -100.0))
    assert (grey.max(1).values - grey.min(1).values).max() < 1e-3


def test_vibrance_favours_muted_colours_and_protects_skin():
    muted = oklch_patch(0.6, 0.04, 250.0)
    vivid = oklch_patch(0.6, 0.2, 250.0)
    skin = oklch_patch(0.7, 0.06, 55.0)
    sky = oklch_patch(0.7, 0.06, 250.0)
    image = torch.cat([muted, vivid, skin, sky], 3)
    assert_increasing(sweep("Vibrance", lambda x: chroma_hue(x)[0].mean(), image))
    before = chroma_hue(image)[0].flatten()
    after = chroma_hue(render(image, with_value("Vibrance", 100.0)))[0].flatten()
    gain = after / before
    assert gain[0] > gain[1], "muted colours gain more than vivid ones"
    assert gain[2] < gain[3], "skin gains less than a sky of equal chroma"


def _hue_delta(after: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
    return torch.remainder(after - before + 180.0, 360.0) - 180.0


@pytest.mark.parametrize("band_index,band", list(enumerate(HSL_BANDS)))
def test_hsl_sliders_act_on_their_band_only(band_index, band):
    patches = band_patches(0.6, 0.09)
    chroma0, hue0 = chroma_hue(patches)
    far = [(band_index + k) % 8 for k in (2, 3, 4, 5, 6)]

    hues = [_hue_delta(chroma_hue(render(patches, with_value(f"HueAdjustment{band}", v)))[1], hue0)[0, 0]
            for v in (-100.0, -50.0, 0.0, 50.0, 100.0)]
    assert_increasing([float(h[band_index]) for h in hues])
    for h in hues:
        assert h[far].abs().max() < 1e-6

    patches = band_patches(0.65, 0.06)
    chroma0, hue0 = chroma_hue(patches)
    chromas = [chroma_hue(render(patches, with_value(f"SaturationAdjustment{band}", v)))[0][0, 0]
               for v in (-100.0, -50.0, 0.0, 50.0, 100.0)]
    assert_increasing([float(c[band_index]) for c in chromas])
    assert float(chromas[0][band_index]) < 1e-6, "-100 removes the band's colour"
    patches = band_patches(0.6, 0.09)
    for c in chromas:
        assert (c[far] - chroma0[0, 0, far]).abs().max() < 1e-6

    lights = [lightness(render(patches, with_value(f"LuminanceAdjustment{band}", v)))[0, 0]
              for v in (-100.0, -50.0, 0.0, 50.0, 100.0)]
    assert_increasing([float(value[band_index]) for value in lights])
    for value in lights:
        assert (value[far] - lightness(patches)[0, 0, far]).abs().max() < 1e-6


def test_hue_green_leaves_pure_red_alone_and_hsl_leaves_greys_alone():
    red = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).reshape(1, 3, 1, 1)
    assert torch.allclose(render(red, with_value("HueAdjustmentGreen", 100.0)), red, atol=1e-9)
    grey = grey_ramp(16)
    for kind in ("Hue", "Saturation", "Luminance"):
        out = render(grey, with_value(f"{kind}AdjustmentBlue", -100.0))
        assert torch.allclose(out, grey, atol=1e-6), kind


def test_band_weights_are_a_partition_of_unity():
    hues = torch.linspace(0, 360, 721, dtype=torch.float64).reshape(1, 1, 1, -1)
    total = sum(band_blend(hues, torch.eye(8, dtype=torch.float64)[i:i + 1]) for i in range(8))
    assert torch.allclose(total, torch.ones_like(total))
    at_centres = band_blend(BAND_CENTRES_DEG.reshape(1, 1, 1, -1), torch.arange(8, dtype=torch.float64)[None])
    assert torch.allclose(at_centres.flatten(), torch.arange(8, dtype=torch.float64))


# ------------------------------------------------------------------ extensions

def test_monochrome_removes_colour():
    out = render(photo_like(1), with_value("Monochrome", 1.0))
    assert (out.max(1).values - out.min(1).values).max() < 1e-3


def test_color_grading_tints_the_chosen_zone():
    ramp = grey_ramp(64)
    plan = Plan({"ColorGradeShadowHue": 240.0, "ColorGradeShadowSat": 60.0,
                 "ColorGradeHighlightHue": 60.0, "ColorGradeHighlightSat": 60.0})
    out = render(ramp, plan.to_tensor().double()[None])
    blue_minus_red = (out[:, 2] - out[:, 0]).flatten()
    assert blue_minus_red[4:14].min() > 0.01, "shadows turn blue"
    assert blue_minus_red[48:62].max() < -0.01, "highlights turn yellow"
    assert blue_minus_red[0].abs() < 1e-6, "pure black stays neutral"
    assert_increasing(sweep("ColorGradeMidtoneLum", lambda x: lightness(x).mean(), ramp))


def test_point_curve_brightens_where_it_is_raised():
    ramp = grey_ramp(64)
    lifted = Plan(curves={"ToneCurvePV2012": ((0, 0), (128, 170), (255, 255))})
    out = render(ramp, lifted.to_tensor().double()[None])
    assert (out[..., 5:59] > ramp[..., 5:59]).all()
    red_only = Plan(curves={"ToneCurvePV2012Red": ((0, 0), (128, 170), (255, 255))})
    out = render(ramp, red_only.to_tensor().double()[None])
    assert (out[:, 0, :, 5:59] > out[:, 1, :, 5:59]).all()
    assert torch.allclose(out[:, 1], ramp[:, 1]) and torch.allclose(out[:, 2], ramp[:, 2])


def test_curve_samples_are_differentiable():
    params = default_params(1, torch.float64).requires_grad_(True)
    render(grey_ramp(64), params).sum().backward()
    assert curve_samples(params.grad, "ToneCurvePV2012").abs().sum() > 0
    assert curve_samples(params.grad, "ToneCurvePV2012").shape == (1, CURVE_SAMPLES)
