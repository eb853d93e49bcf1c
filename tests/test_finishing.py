"""The finishing stage (vignette, grain, clarity, texture, dehaze, sharpening) and the new pointwise
controls (B&W mixer, calibration, raw white balance): behaviour, properties, torch vs fast path."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from veraretouch import Plan, PlanError
from veraretouch.io.images import Photo
from veraretouch.lut.finishing import finish_pixels
from veraretouch.lut.photo import apply_plan
from veraretouch.operators import render
from veraretouch.operators.color import BAND_SRGB
from veraretouch.operators.colorspace import srgb_to_oklab
from veraretouch.operators.finishing import finish, luma
from veraretouch.plan.parameters import HSL_BANDS
from veraretouch.plan.xmp import plan_from_xmp, plan_to_xmp


def scene(height: int = 240, width: int = 360, seed: int = 0) -> np.ndarray:
    """A photo-like uint8 image: smooth colour gradients, blobs, edges and fine texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([0.5 + 0.3 * np.sin(6 * x + 1), 0.45 + 0.3 * np.cos(5 * y), 0.4 + 0.25 * np.sin(4 * (x + y))], -1)
    base[(x > 0.3) & (x < 0.5) & (y > 0.2)] *= 0.6
    base += 0.04 * rng.standard_normal((height, width, 1))
    return np.clip(np.round(base * 255), 0, 255).astype(np.uint8)


def torch_levels(pixels: np.ndarray, plan: Plan, seed: int = 0) -> np.ndarray:
    image = torch.from_numpy(pixels.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    return finish(image, plan.to_tensor()[None], seed)[0].permute(1, 2, 0).numpy().astype(np.float64) * 255.0


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels.astype(np.float64) / 255.0).permute(2, 0, 1)[None]


EFFECT_PLANS = {
    "clarity": {"Clarity2012": 70},
    "negative clarity": {"Clarity2012": -60},
    "texture": {"Texture": 80},
    "dehaze": {"Dehaze": 60},
    "haze": {"Dehaze": -70},
    "sharpening": {"Sharpness": 120, "SharpenRadius": 1.6, "SharpenDetail": 10, "SharpenEdgeMasking": 50},
    "vignette": {"PostCropVignetteAmount": -60, "PostCropVignetteRoundness": -50, "PostCropVignetteFeather": 10},
    "paint vignette": {"PostCropVignetteAmount": 50, "PostCropVignetteStyle": 3, "PostCropVignetteMidpoint": 20},
    "grain": {"GrainAmount": 70, "GrainSize": 40, "GrainFrequency": 80},
    "all": {"Clarity2012": 30, "Texture": 20, "Dehaze": 20, "Sharpness": 40, "PostCropVignetteAmount": -30,
            "GrainAmount": 40},
}


@pytest.mark.parametrize("name", list(EFFECT_PLANS))
def test_fast_path_matches_torch(name):
    """Mean difference <= 0.5 levels and at most 2 levels anywhere (grain with the same seed)."""
    pixels = scene()
    plan = Plan(values=EFFECT_PLANS[name])
    fast = finish_pixels(pixels.copy(), plan.to_tensor(), seed=3).astype(np.float64)
    difference = np.abs(fast - torch_levels(pixels, plan, seed=3))
    assert np.abs(fast - pixels).mean() > 0.3, "the effect must change the image for the comparison to mean anything"
    assert difference.mean() <= 0.5 and difference.max() <= 2.0, (difference.mean(), difference.max())


def test_fast_path_keeps_dtype_for_16_bit_and_float():
    pixels = scene(64, 96)
    plan = Plan(values={"Clarity2012": 50, "GrainAmount": 30})
    reference = finish_pixels(pixels.copy(), plan.to_tensor())
    wide = finish_pixels(pixels.astype(np.uint16) * 257, plan.to_tensor())
    floats = finish_pixels(pixels.astype(np.float32) / 255.0, plan.to_tensor())
    assert wide.dtype == np.uint16 and floats.dtype == np.float32
    assert np.abs(wide / 257.0 - reference).max() <= 1.0
    assert np.abs(floats * 255.0 - reference).max() <= 1.0


def test_zero_amounts_are_the_identity():
    image = to_tensor(scene(32, 48))
    details = Plan(values={"GrainSize": 80, "PostCropVignetteMidpoint": 10, "SharpenRadius": 2.0})
    assert torch.equal(finish(image, details.to_tensor(torch.float64)[None]), image)
    pixels = scene(32, 48)
    assert finish_pixels(pixels, details.to_tensor()) is pixels


@settings(max_examples=8, deadline=None)
@given(amount=st.floats(10.0, 100.0))
def test_vignette_darkens_corners_in_proportion_and_leaves_the_centre(amount):
    grey = np.full((120, 180, 3), 128, dtype=np.uint8)
    corner_drop = []
    for strength in (amount / 2, amount):
        out = finish_pixels(grey.copy(), Plan(values={"PostCropVignetteAmount": -strength}).to_tensor())
        assert np.array_equal(out[50:70, 80:100], grey[50:70, 80:100])
        corner_drop.append(128.0 - out[0, 0].mean())
    assert 0 < corner_drop[0] < corner_drop[1]
    assert 1.4 <= corner_drop[1] / corner_drop[0] <= 2.6


def test_vignette_lightens_with_positive_amount_and_protects_highlights():
    grey = np.full((60, 90, 3), 100, dtype=np.uint8)
    assert finish_pixels(grey.copy(), Plan(values={"PostCropVignetteAmount": 60}).to_tensor())[0, 0, 0] > 100
    bright = np.full((60, 90, 3), 240, dtype=np.uint8)
    darkening = Plan(values={"PostCropVignetteAmount": -80}).to_tensor()
    protected = finish_pixels(bright.copy(), darkening)[0, 0, 0]
    colour_priority = Plan(values={"PostCropVignetteAmount": -80, "PostCropVignetteStyle": 2}).to_tensor()
    assert protected > finish_pixels(bright.copy(), colour_priority)[0, 0, 0]


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_grain_is_zero_mean_grows_with_amount_and_is_reproducible(seed):
    grey = np.full((200, 300, 3), 128, dtype=np.uint8)
    deviations = []
    for amount in (20, 50, 100):
        plan = Plan(values={"GrainAmount": amount}).to_tensor()
        out = finish_pixels(grey.copy(), plan, seed=seed).astype(np.float64)
        assert abs(out.mean() - 128.0) <= 0.5
        deviations.append(out.std())
        assert np.array_equal(finish_pixels(grey.copy(), plan, seed=seed), out.astype(np.uint8))
    assert deviations[0] < deviations[1] < deviations[2]
    other = finish_pixels(grey.copy(), Plan(values={"GrainAmount": 50}).to_tensor(), seed=seed + 1)
    assert not np.array_equal(
        other, finish_pixels(grey.copy(), Plan(values={"GrainAmount": 50}).to_tensor(), seed=seed)
    )


def test_grain_look_does_not_change_with_resolution():
    """Grain is scaled with the image: the same share of the frame holds the same grain (once the
    image has more pixels than the grain grid has cells, 600 across at GrainSize 100)."""
    plan = Plan(values={"GrainAmount": 60, "GrainSize": 100, "GrainFrequency": 0}).to_tensor()
    small = finish_pixels(np.full((1200, 1800, 3), 128, np.uint8), plan).astype(np.float64)[..., 0]
    large = finish_pixels(np.full((2400, 3600, 3), 128, np.uint8), plan).astype(np.float64)[..., 0]
    downsampled = large.reshape(1200, 2, 1800, 2).mean((1, 3))
    assert abs(small.std() - downsampled.std()) / small.std() < 0.15
    assert abs(small.std() - large.std()) / small.std() < 0.15


def high_pass_energy(image: torch.Tensor) -> float:
    lightness = luma(image)
    blurred = torch.nn.functional.avg_pool2d(lightness, 9, stride=1, padding=4, count_include_pad=False)
    return float((lightness - blurred).abs().mean())


@settings(max_examples=5, deadline=None)
@given(amount=st.floats(20.0, 100.0))
def test_clarity_raises_local_contrast_keeping_the_mean(amount):
    image = to_tensor(scene())
    out = finish(image, Plan(values={"Clarity2012": amount}).to_tensor(torch.float64)[None])
    midtones = (luma(image) > 0.3) & (luma(image) < 0.7)
    detail_before = (luma(image) - torch.nn.functional.avg_pool2d(luma(image), 31, 1, 15, count_include_pad=False))
    detail_after = (luma(out) - torch.nn.functional.avg_pool2d(luma(out), 31, 1, 15, count_include_pad=False))
    assert detail_after[midtones].abs().mean() > detail_before[midtones].abs().mean() * (1 + amount / 400)
    assert abs(float(out.mean() - image.mean())) * 255 <= 1.0


def test_texture_and_sharpening_raise_fine_detail():
    image = to_tensor(scene())
    for values in ({"Texture": 80}, {"Sharpness": 100}):
        out = finish(image, Plan(values=values).to_tensor(torch.float64)[None])
        assert high_pass_energy(out) > 1.1 * high_pass_energy(image), values
    softened = finish(image, Plan(values={"Texture": -80}).to_tensor(torch.float64)[None])
    assert high_pass_energy(softened) < high_pass_energy(image)


def chroma(image: torch.Tensor) -> torch.Tensor:
    lab = srgb_to_oklab(image)
    return torch.sqrt(lab[:, 1] ** 2 + lab[:, 2] ** 2)


def test_dehaze_raises_contrast_and_saturation_of_a_hazy_scene():
    clear = to_tensor(scene())
    transmission = 0.45
    hazy = clear * transmission + 0.85 * (1 - transmission)
    out = finish(hazy, Plan(values={"Dehaze": 80}).to_tensor(torch.float64)[None])
    assert float(luma(out).std()) > 1.3 * float(luma(hazy).std())
    assert float(chroma(out).mean()) > 1.3 * float(chroma(hazy).mean())
    fogged = finish(clear, Plan(values={"Dehaze": -80}).to_tensor(torch.float64)[None])
    assert float(luma(fogged).std()) < float(luma(clear).std())


def test_finishing_is_differentiable_in_amounts_and_image():
    image = to_tensor(scene(48, 64)).requires_grad_(True)
    params = Plan(values={name: 40.0 for name in ("Clarity2012", "Texture", "Dehaze", "Sharpness", "GrainAmount")}
                  | {"PostCropVignetteAmount": -40.0}).to_tensor(torch.float64)[None].requires_grad_(True)
    finish(image, params).square().mean().backward()
    assert torch.isfinite(params.grad).all() and torch.isfinite(image.grad).all()
    for name in ("Clarity2012", "Texture", "Dehaze", "Sharpness", "GrainAmount", "PostCropVignetteAmount"):
        from veraretouch.plan.parameters import param_index
        assert params.grad[0, param_index(name)] != 0, name


def band_patch_image() -> torch.Tensor:
    """One patch per band centre (the pure colours that define them) plus a grey patch."""
    colours = [BAND_SRGB[band] for band in HSL_BANDS] + [(0.5, 0.5, 0.5)]
    return torch.tensor(colours, dtype=torch.float64).T.reshape(1, 3, 1, -1)


@pytest.mark.parametrize("band_index,band", list(enumerate(HSL_BANDS)))
def test_mixer_band_brightens_only_its_colours_in_monochrome(band_index, band):
    patches = band_patch_image()
    plain = render(patches, Plan(values={"Monochrome": 1}).to_tensor(torch.float64)[None])
    mixed = render(patches, Plan(values={"Monochrome": 1, f"GrayMixer{band}": 60}).to_tensor(torch.float64)[None])
    change = (mixed - plain)[0, 0, 0]
    assert change[band_index] > 0.02
    others = [i for i in range(len(HSL_BANDS) + 1) if i != band_index]
    assert change[others].abs().max() < 1e-6
    colour = render(patches, Plan(values={f"GrayMixer{band}": 60}).to_tensor(torch.float64)[None])
    assert torch.allclose(colour, patches, atol=1e-6), "the mix acts only in black and white"


def test_calibration_moves_its_primary_and_keeps_white_and_grey():
    patches = torch.tensor([[0.8, 0.1, 0.1], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]],
                           dtype=torch.float64).T.reshape(1, 3, 1, -1)
    out = render(patches, Plan(values={"RedHue": 60, "RedSaturation": -50}).to_tensor(torch.float64)[None])
    assert torch.allclose(out[..., 1:], patches[..., 1:], atol=1e-6)
    assert float(out[0, 1, 0, 0]) > float(patches[0, 1, 0, 0]) + 0.02  # red turns towards orange: more green
    shadows = render(torch.full((1, 3, 1, 1), 0.15, dtype=torch.float64),
                     Plan(values={"ShadowTint": 60}).to_tensor(torch.float64)[None])
    assert shadows[0, 1] < shadows[0, 0] and shadows[0, 1] < shadows[0, 2]  # magenta: less green


def test_raw_temperature_on_rendered_files_is_a_shift_from_daylight():
    grey = torch.full((1, 3, 1, 1), 0.5, dtype=torch.float64)
    warm = render(grey, Plan(values={"Temperature": 7500}).to_tensor(torch.float64)[None])
    cool = render(grey, Plan(values={"Temperature": 3500}).to_tensor(torch.float64)[None])
    daylight = render(grey, Plan(values={"Temperature": 5500}).to_tensor(torch.float64)[None])
    assert warm[0, 0] > warm[0, 2] and cool[0, 0] < cool[0, 2]
    assert torch.allclose(daylight, grey, atol=1e-9)
    signed = plan_from_xmp(XMP.format('crs:Temperature="+400" crs:Tint="+6"'))
    assert signed.values == {"Temperature": 5900.0, "Tint": 6.0}


XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       '<rdf:Description xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" {}/></rdf:RDF></x:xmpmeta>')


def test_new_fields_round_trip_through_xmp_and_json():
    values = {"GrayMixerBlue": -35.0, "RedHue": 12.0, "ShadowTint": -8.0, "Temperature": 6200.0, "Tint": 9.0,
              "PostCropVignetteAmount": -22.0, "PostCropVignetteStyle": 2.0, "GrainAmount": 25.0, "GrainSize": 30.0,
              "Clarity2012": 15.0, "Texture": -10.0, "Dehaze": 5.0, "Sharpness": 40.0, "SharpenRadius": 1.3,
              "Monochrome": 1.0}
    assert plan_from_xmp(plan_to_xmp(Plan(values=values, name="x"))).values == values
    assert Plan.from_json(Plan(values=values).to_json()).values == values
    from veraretouch.plan.jsonplan import plan_to_param_file
    with pytest.raises(PlanError, match="cannot carry.*GrainAmount"):
        plan_to_param_file(Plan(values=values))
    aliases = plan_from_xmp(XMP.format('crs:SharpnessRadius="+2.0" crs:SharpnessMasking="30" crs:GrainRoughness="70"'))
    assert aliases.values == {"SharpenRadius": 2.0, "SharpenEdgeMasking": 30.0, "GrainFrequency": 70.0}
    assert aliases.unmodelled == {}


def test_apply_plan_renders_finishing_on_photos_and_tensors_alike():
    pixels = scene(120, 180)
    plan = Plan(values={"Exposure2012": 0.3, "Clarity2012": 40, "PostCropVignetteAmount": -40, "GrainAmount": 30})
    photo = Photo(pixels=pixels.copy(), alpha=None, format="PNG", exif=None, icc_profile=None)
    fast = apply_plan(photo, plan).pixels.astype(np.float64)
    exact = apply_plan(to_tensor(pixels).float(), plan)[0].permute(1, 2, 0).numpy() * 255.0
    difference = np.abs(fast - exact)
    assert difference.mean() <= 0.5 and difference.max() <= 3.0


def test_blur_backends_agree():
    """`gaussian_blur` runs OpenCV without autograd and torch convolutions with it: the same taps."""
    from veraretouch.operators.finishing import gaussian_blur

    image = torch.rand(2, 1, 37, 53, dtype=torch.float64)
    fast = gaussian_blur(image, 3.0)
    traced = gaussian_blur(image.clone().requires_grad_(True), 3.0)
    assert torch.allclose(fast, traced.detach(), atol=1e-12)


def test_cube_export_names_the_spatial_effects_it_drops(tmp_path, capsys):
    from PIL import Image

    from veraretouch.cli import main
    from veraretouch.formats import read_cube

    Image.fromarray(scene(40, 60)).save(tmp_path / "photo.png")
    Plan(values={"Exposure2012": 0.2, "GrainAmount": 30, "Clarity2012": 20}).save(tmp_path / "look.json")
    code = main(["param", str(tmp_path / "photo.png"), "--params", str(tmp_path / "look.json"), "-o",
                 str(tmp_path / "out"), "--export", "cube"])
    assert code == 0
    assert "the .cube export holds the pointwise part of the plan only" in capsys.readouterr().err
    text = (tmp_path / "out" / "photo.cube").read_text()
    assert text.startswith("# pointwise part of the plan only") and "GrainAmount=30" in text.splitlines()[0]
    assert read_cube(tmp_path / "out" / "photo.cube").shape == (65, 65, 65, 3)


def test_fit_recovers_vignette_and_clarity_with_spatial():
    from veraretouch.fitting import fit_plan

    before = to_tensor(scene(160, 240)).float()
    truth = Plan(values={"Exposure2012": 0.2, "PostCropVignetteAmount": -40, "Clarity2012": 50})
    after = apply_plan(before, truth)
    plain = fit_plan(before, after, steps=60)
    spatial = fit_plan(before, after, steps=60, spatial=True)
    values = spatial.plan.values
    assert -55 <= values.get("PostCropVignetteAmount", 0) <= -25 and 25 <= values.get("Clarity2012", 0) <= 75
    assert spatial.psnr[0] > plain.psnr[0] + 3


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (2, 2), (7, 3)])
def test_tiny_images_take_every_effect(shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape + (3,), dtype=np.uint8)
    plan = Plan(values=EFFECT_PLANS["all"])
    fast = finish_pixels(pixels.copy(), plan.to_tensor()).astype(np.float64)
    assert np.abs(fast - torch_levels(pixels, plan)).max() <= 2.0
