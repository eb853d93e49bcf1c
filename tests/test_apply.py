"""The fast full-resolution path (plan -> baked LUT -> kernel) agrees with the direct torch render."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import torch

from veraretouch import Plan, PlanError
from veraretouch.formats import write_cube
from veraretouch.io.images import Photo
from veraretouch.lut.photo import apply_plan, bake_plan_lut
from veraretouch.operators import render
from veraretouch.plan.files import read_plan
from veraretouch.plan.parameters import FINISHING_NAMES

SMOOTH_PLANS = {
    "gentle": Plan({"Exposure2012": 0.3, "Contrast2012": 20, "Shadows2012": 20, "Highlights2012": -20,
                    "HueAdjustmentOrange": -10, "HueAdjustmentBlue": 15, "ColorGradeShadowHue": 200,
                    "ColorGradeShadowSat": 10}),
    "grade-curves": Plan({"ColorGradeShadowHue": 210, "ColorGradeShadowSat": 30, "ColorGradeHighlightHue": 40,
                          "ColorGradeHighlightSat": 25, "ColorGradeMidtoneLum": 10},
                         curves={"ToneCurvePV2012": ((0, 20), (64, 55), (128, 128), (192, 196), (255, 235)),
                                 "ToneCurvePV2012Blue": ((0, 10), (255, 240))}),
    "monochrome": Plan({"Monochrome": 1.0, "Contrast2012": 30}),
}
CLIPPING_PLANS = {
    "strong-tone": Plan({"Exposure2012": 1.2, "Contrast2012": 60, "Highlights2012": -80, "Shadows2012": 70,
                         "Whites2012": 30, "Blacks2012": -40}),
    "saturated-colour": Plan({"IncrementalTemperature": 40, "IncrementalTint": -20, "Vibrance": 50, "Saturation": 20,
                              "HueAdjustmentOrange": -40, "SaturationAdjustmentBlue": 60,
                              "LuminanceAdjustmentGreen": -50}),
}


def photo_from(rgb: np.ndarray) -> Photo:
    return Photo(pixels=rgb, alpha=None, format="PNG", exif=None, icc_profile=None)


def direct_levels(rgb: np.ndarray, plan: Plan) -> np.ndarray:
    """The exact float64 render, in 8-bit levels (not rounded)."""
    image = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].double() / 255.0
    out = render(image, plan.to_tensor().double()[None])
    return out[0].permute(1, 2, 0).numpy() * 255.0


def error_levels(rgb: np.ndarray, plan: Plan) -> np.ndarray:
    """|fast 8-bit output - exact render rounded to 8 bits|, in levels."""
    fast = apply_plan(photo_from(rgb), plan).pixels.astype(np.float64)
    return np.abs(fast - np.round(direct_levels(rgb, plan)))


def random_colours(n: int = 200_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n // 500, 500, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", list(SMOOTH_PLANS))
def test_lut_path_matches_direct_render_within_two_levels_for_smooth_edits(name, sample_rgb):
    error = error_levels(sample_rgb, SMOOTH_PLANS[name])
    assert error.max() <= 2.0, (name, error.max())
    assert error.mean() <= 0.25, (name, error.mean())


@pytest.mark.parametrize("name", list(SMOOTH_PLANS) + list(CLIPPING_PLANS))
def test_lut_path_near_clipping_is_off_only_in_rare_pixels(name, sample_rgb):
    """Where an edit pushes a channel through 0 or 1 the exact render has a kink that a 65^3 LUT
    cell straddles; those pixels may be several levels off, but they must stay rare, on photos
    and on random colours (which reach far more saturated corners than photos do)."""
    for rgb in (sample_rgb, random_colours()):
        error = error_levels(rgb, {**SMOOTH_PLANS, **CLIPPING_PLANS}[name])
        assert error.mean() <= 0.25
        assert (error > 2).mean() <= 0.005
        assert error.max() <= 16


def test_lut_path_matches_direct_render_on_real_presets(sample_rgb, shared_presets):
    """The pointwise part of real presets (their finishing effects are compared in test_finishing.py)."""
    rng = np.random.default_rng(1)
    for path in rng.choice(shared_presets, size=8, replace=False):
        try:
            plan = read_plan(path)
        except PlanError:
            continue
        plan = Plan(values={k: v for k, v in plan.values.items() if k not in FINISHING_NAMES}, curves=plan.curves)
        error = error_levels(sample_rgb, plan)
        assert error.mean() <= 0.25 and (error > 2).mean() <= 0.005 and error.max() <= 16, path.name


def test_identity_plan_leaves_8bit_photos_unchanged(sample_rgb):
    out = apply_plan(photo_from(sample_rgb), Plan()).pixels
    assert np.array_equal(out, sample_rgb)


def test_in_place_reuses_the_photo_buffer_and_matches(sample_rgb):
    plan = SMOOTH_PLANS["gentle"]
    expected = apply_plan(photo_from(sample_rgb), plan).pixels
    photo = photo_from(sample_rgb.copy())
    result = apply_plan(photo, plan, in_place=True)
    assert result.pixels is photo.pixels
    assert np.array_equal(result.pixels, expected)
    untouched = sample_rgb.copy()
    apply_plan(photo_from(untouched), plan)
    assert np.array_equal(untouched, sample_rgb), "the default never modifies the input"


def test_tensor_input_takes_the_exact_differentiable_path(sample_rgb):
    image = torch.from_numpy(sample_rgb.copy()).permute(2, 0, 1)[None].float() / 255
    params = SMOOTH_PLANS["gentle"].to_tensor().requires_grad_(True)
    out = apply_plan(image, params)
    out.mean().backward()
    assert out.shape == image.shape and torch.isfinite(params.grad).all() and params.grad.abs().sum() > 0


def test_baked_luts_are_cached_and_read_only():
    first = bake_plan_lut(SMOOTH_PLANS["gentle"], 17)
    assert bake_plan_lut(SMOOTH_PLANS["gentle"], 17) is first
    assert not first.flags.writeable
    with pytest.raises(ValueError, match="LUT size"):
        bake_plan_lut(SMOOTH_PLANS["gentle"], 1)


@pytest.mark.external
def test_cube_export_matches_ffmpeg_lut3d(tmp_path, sample_rgb):
    """Independent check: ffmpeg's lut3d filter with our .cube reproduces our render."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    from PIL import Image

    plan = SMOOTH_PLANS["grade-curves"]
    source = tmp_path / "in.png"
    Image.fromarray(sample_rgb).save(source)
    cube = write_cube(bake_plan_lut(plan, 65), tmp_path / "plan.cube")
    result = tmp_path / "ffmpeg.png"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(source), "-vf",
                    f"lut3d=file={cube}:interp=tetrahedral", "-pix_fmt", "rgb24", str(result)], check=True)
    theirs = np.asarray(Image.open(result).convert("RGB")).astype(np.float64)
    ours = direct_levels(sample_rgb, plan)
    assert theirs.shape == ours.shape
    assert np.abs(theirs - ours).mean() <= 1.0
