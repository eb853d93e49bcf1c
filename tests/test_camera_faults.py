"""Camera faults for inverse-degradation data (data v2): each fault moves the image the way its
name says, no fault is the identity, records round-trip through recipes, and fits undo them."""
from __future__ import annotations

import hashlib
import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from veraretouch.data.camera import (
    FAULT_RANGES,
    apply_camera_faults,
    daylight_linear_rgb,
    fault_kinds,
    sample_camera_faults,
    white_balance_gains,
)
from veraretouch.data.samples import Recipe, make_recipe, render_pair
from veraretouch.operators.colorspace import rgb_to_lab, srgb_to_linear_rgb


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0.05, 0.9, 48)[None, None, None, :].expand(1, 3, 32, 48)
    return (ramp * torch.tensor([0.9, 0.8, 0.7])[None, :, None, None]
            + 0.05 * torch.rand(1, 3, 32, 48, generator=generator)).clamp(0, 1)


def lab_means(image: torch.Tensor) -> torch.Tensor:
    return rgb_to_lab(image.double())[0].flatten(1).mean(dim=1)


def test_no_fault_is_the_identity(photo):
    assert (apply_camera_faults(photo, [{}]) - photo).abs().max() < 1e-5


def test_the_daylight_locus_is_neutral_at_d65_and_warm_below_it():
    d65 = daylight_linear_rgb(torch.tensor(6504.0))
    assert torch.allclose(d65, torch.ones(3), atol=0.02), d65
    warm = daylight_linear_rgb(torch.tensor(4000.0))
    assert warm[0] > 1.1 and warm[2] < 0.8
    assert torch.allclose(white_balance_gains(torch.tensor([0.0]))[0], torch.ones(3), atol=0.02)


@pytest.mark.parametrize("name, value, channel, sign", [
    ("exposure_ev", -1.0, 0, -1), ("exposure_ev", 0.5, 0, 1),  # L*
    ("white_balance_mired", 50.0, 2, 1), ("white_balance_mired", -50.0, 2, -1),  # b*: warmer = yellower
    ("tint", 0.1, 1, -1), ("tint", -0.1, 1, 1),  # a*: green lowers it
])
def test_each_fault_moves_its_statistic_the_way_its_name_says(photo, name, value, channel, sign):
    change = lab_means(apply_camera_faults(photo, [{name: value}])) - lab_means(photo)
    assert sign * change[channel] > 1.0, (name, value, change)


def test_exposure_is_a_gain_in_linear_light(photo):
    darker = apply_camera_faults(photo, [{"exposure_ev": -1.0}])
    assert torch.allclose(srgb_to_linear_rgb(darker), srgb_to_linear_rgb(photo) / 2, atol=1e-4)


def test_flat_tone_lifts_blacks_drops_whites_and_lowers_contrast(photo):
    flat = apply_camera_faults(photo, [{"flat": 0.5}])
    assert flat.min() > photo.min() + 0.05 and flat.max() < photo.max()
    assert flat.std() < 0.85 * photo.std()


def test_saturation_and_hue_faults_change_chroma_and_hue_not_lightness(photo):
    lab = rgb_to_lab(photo.double())[0]
    for record in ({"saturation": 0.5}, {"hue_degrees": 12.0}):
        faulty = rgb_to_lab(apply_camera_faults(photo, [record]).double())[0]
        assert (faulty[0] - lab[0]).abs().mean() < 1.5, record
    washed = rgb_to_lab(apply_camera_faults(photo, [{"saturation": 0.5}]).double())[0]
    assert washed[1:].norm(dim=0).mean() < 0.7 * lab[1:].norm(dim=0).mean()


def test_faults_are_differentiable(photo):
    image = photo.clone().requires_grad_(True)
    apply_camera_faults(image, [{"exposure_ev": -0.5, "flat": 0.3, "hue_degrees": 8.0}]).mean().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_bad_records_are_refused(photo):
    with pytest.raises(ValueError, match="unknown camera fault 'blur'"):
        apply_camera_faults(photo, [{"blur": 1.0}])
    with pytest.raises(ValueError, match="1 images but 2"):
        apply_camera_faults(photo, [{}, {}])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2 ** 31))
def test_sampled_records_are_reproducible_in_range_and_named(seed):
    record = sample_camera_faults(torch.Generator().manual_seed(seed))
    assert record == sample_camera_faults(torch.Generator().manual_seed(seed))
    assert 1 <= len(record) <= 3
    for name, value in record.items():
        assert any(low <= value <= high for low, high in FAULT_RANGES[name]), (name, value)
    assert len(fault_kinds(record)) == len(record)


def test_kinds_follow_the_sign_of_each_fault():
    assert fault_kinds({"exposure_ev": -1.0, "white_balance_mired": 40.0}) == ["underexposed", "warm cast"]
    assert fault_kinds({"saturation": 1.4, "tint": -0.05}) == ["magenta tint", "garish"]


def test_recipes_carry_camera_faults_through_json(photo):
    weights = {"auto": 1.0}
    recipes = [make_recipe("a.jpg", index, 0, weights, {}, (0.0, 1.0, 0.0))[0] for index in range(4)]
    assert all(r.camera_faults and not r.input_plan.values for r in recipes)
    recipe = recipes[0]
    again = Recipe.from_json(json.loads(json.dumps(recipe.to_json())))
    assert again.camera_faults == recipe.camera_faults
    source, target = render_pair(again, photo, 32)
    assert (source - apply_camera_faults(target, [recipe.camera_faults])).abs().max() < 1e-5
    left_alone = make_recipe("a.jpg", 0, 0, weights, {}, (0.0, 0.0, 1.0))
    assert left_alone[1]["degradation_kinds"] == [] and "camera_faults" not in left_alone[0].to_json()


def test_the_default_mix_keeps_data_v1_recipes():
    """Slider degradations only (data v1's build) draw exactly the recipes they drew before camera
    faults existed: the digest was computed with the code of commit 0546d42, before this change."""
    weights = {"auto": 0.5, "param": 0.5}
    recipes = [make_recipe("b.jpg", index, 3, weights, {})[0].to_json() for index in range(6)]
    assert all("camera_faults" not in recipe for recipe in recipes)
    digest = hashlib.sha256(json.dumps(recipes, sort_keys=True).encode()).hexdigest()
    assert digest == "2445f81238a5597633601ac3a0cfdaa65897583e63693a814290460ad14b7150"
