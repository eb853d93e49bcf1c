"""Slider fitting: recovering known edits, staying put on identity pairs, curves, batches, the `fit` CLI."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from veraretouch import Plan
from veraretouch.cli import build_parser, main
from veraretouch.evaluation.metrics import psnr
from veraretouch.fitting import DEFAULT_STEPS, PER_STRATUM, FitError, fit_plan, sample_pairs
from veraretouch.io.images import read_image
from veraretouch.operators import render

SAMPLES = 4096
"""Fewer pairs than the default keep the tests fast; the fit quality barely depends on it."""
WARM_LOOK = Plan({"Exposure2012": 0.6, "IncrementalTemperature": 30, "Contrast2012": 20, "Shadows2012": 25,
                  "Vibrance": 15, "SaturationAdjustmentBlue": -30})


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255


@pytest.fixture(scope="module")
def photo(sample_rgb) -> torch.Tensor:
    """The 128x128 astronaut as a (1, 3, H, W) tensor."""
    return to_tensor(sample_rgb)


def rendered(image: torch.Tensor, plan: Plan) -> torch.Tensor:
    with torch.no_grad():
        return render(image, plan.to_tensor()[None])


def test_fit_recovers_a_slider_look_and_its_main_sliders(photo):
    after = rendered(photo, WARM_LOOK)
    calls = []
    result = fit_plan(photo, after, steps=120, sample_pixels=SAMPLES, progress=lambda step, loss: calls.append(step))
    assert result.psnr[0] > 35
    assert psnr(render(photo, result.params), after).item() == pytest.approx(result.psnr[0], abs=1.0)
    assert result.plan.get("Exposure2012") == pytest.approx(0.6, abs=0.1)
    assert result.plan.get("IncrementalTemperature") == pytest.approx(30, abs=5)
    assert min(result.history) < result.history[0] / 100
    assert calls == list(range(1, len(calls) + 1)) and len(calls) == min(len(result.history), 120)


def test_a_sparse_edit_comes_back_sparse(photo):
    look = Plan({"Exposure2012": 0.5, "Shadows2012": 40, "Saturation": -30})
    plan = fit_plan(photo, rendered(photo, look), steps=100, sample_pixels=SAMPLES).plan
    assert set(look.values) <= set(plan.values) and len(plan.values) <= 5, plan.values
    assert plan.get("Saturation") == pytest.approx(-30, abs=5)


def test_identity_pair_gives_a_default_plan(photo):
    result = fit_plan(photo, photo, steps=40, sample_pixels=SAMPLES)
    assert all(abs(value) <= 1 for value in result.plan.values.values()), result.plan.values
    assert "Exposure2012" not in result.plan.values and not result.plan.curves
    assert result.psnr[0] > 50


def test_extensions_fit_a_point_curve_edit_better_than_sliders(photo):
    curve_look = Plan(curves={"ToneCurvePV2012": ((0, 40), (64, 50), (192, 220), (255, 240)),
                              "ToneCurvePV2012Blue": ((0, 30), (255, 220))})
    after = rendered(photo, curve_look)
    sliders_only = fit_plan(photo, after, steps=100, sample_pixels=SAMPLES)
    extended = fit_plan(photo, after, steps=100, sample_pixels=SAMPLES, extensions=True)
    assert extended.psnr[0] > 35
    assert extended.psnr[0] > sliders_only.psnr[0] + 5
    assert extended.plan.curves and not sliders_only.plan.curves
    for points in extended.plan.curves.values():
        assert bool((torch.tensor([y for _, y in points]).diff() >= 0).all()), "fitted curves are monotone"


def test_pairs_in_a_batch_get_their_own_plans(photo):
    looks = [Plan({"Exposure2012": 0.8}), Plan({"Exposure2012": -0.8, "IncrementalTint": 30})]
    before = photo.expand(2, -1, -1, -1)
    after = torch.cat([rendered(photo, look) for look in looks])
    result = fit_plan(before, after, steps=80, sample_pixels=SAMPLES)
    assert len(result.plans) == 2 and result.params.shape[0] == 2
    assert min(result.psnr) > 35
    assert result.plans[0].get("Exposure2012") > 0.5 and result.plans[1].get("Exposure2012") < -0.5
    assert result.plans[1].get("IncrementalTint") > 15 > abs(result.plans[0].get("IncrementalTint"))
    with pytest.raises(ValueError):
        result.plan


def test_mismatched_pair_is_a_one_line_error(photo):
    with pytest.raises(FitError, match="same photo before and after an edit") as error:
        fit_plan(photo, photo[..., :100], steps=1)
    assert "\n" not in str(error.value)


def test_luminance_strata_represent_rare_highlights():
    before = torch.full((1, 3, 256, 256), 0.4)
    before[..., :2, :10] = 0.98  # 20 bright pixels in 65536
    source, target = sample_pairs(before, before * 0.5, sample_pixels=1000)
    assert source.shape == target.shape == (1, 3, 1, 1000 + 2 * PER_STRATUM)
    assert int((source[0, 0] > 0.9).sum()) >= PER_STRATUM
    torch.testing.assert_close(target, source * 0.5)
    ramp = torch.linspace(0, 1, 256).expand(1, 3, 256, 256)
    batch = torch.cat([before, ramp])
    source, target = sample_pairs(batch, batch.flip(0), sample_pixels=1000)
    assert source.shape == (2, 3, 1, 1000 + 16 * PER_STRATUM), "every image gets as many pairs as the richest"
    assert int((source[1, 0] < 0.1).sum()) >= PER_STRATUM


# ------------------------------------------------------------------------------------------ CLI
def run(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def pair(tmp_path, sample_rgb) -> tuple[Path, Path]:
    before, after = tmp_path / "before.png", tmp_path / "after.png"
    Image.fromarray(sample_rgb).save(before)
    edited = rendered(to_tensor(sample_rgb), WARM_LOOK)[0].permute(1, 2, 0).numpy()
    Image.fromarray(np.round(edited * 255).astype(np.uint8)).save(after)
    return before, after


def test_cli_writes_a_preset_that_renders_the_after_photo(pair, tmp_path, capsys):
    before, after = pair
    preset = tmp_path / "look.xmp"
    preset.write_text("keep me")
    assert run("fit", "--before", before, "--after", after, "-o", preset, "--steps", 100) == 2
    assert "already exists" in capsys.readouterr().err and preset.read_text() == "keep me"

    assert run("fit", "--before", before, "--after", after, "-o", preset, "--steps", 100, "--overwrite") == 0
    printed = capsys.readouterr().out
    assert "PSNR" in printed and "Exposure2012" in printed and "IncrementalTemperature" in printed
    plan = Plan.from_file(preset)
    assert plan.get("Exposure2012") > 0.3 and plan.get("IncrementalTemperature") > 15
    before_tensor, after_tensor = read_image(before).to_tensor(), read_image(after).to_tensor()
    assert psnr(render(before_tensor, plan.to_tensor()[None]), after_tensor).item() > 35


def test_cli_applies_exif_orientation_before_comparing_sizes(tmp_path, sample_rgb, capsys):
    upright = sample_rgb[:, :96]
    before, after = tmp_path / "before.jpg", tmp_path / "after.png"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored a quarter turn anticlockwise; viewers turn it clockwise
    Image.fromarray(np.rot90(upright).copy()).save(before, quality=98, exif=exif.tobytes())
    assert read_image(before).size == (96, 128)
    edited = rendered(to_tensor(upright), Plan({"Exposure2012": 0.5}))[0].permute(1, 2, 0).numpy()
    Image.fromarray(np.round(edited * 255).astype(np.uint8)).save(after)
    assert run("fit", "--before", before, "--after", after, "-o", tmp_path / "look.json", "--steps", 60) == 0
    assert Plan.from_file(tmp_path / "look.json").get("Exposure2012") == pytest.approx(0.5, abs=0.15)
    psnr_db = float(capsys.readouterr().out.split("PSNR ")[1].split(" dB")[0])
    assert psnr_db > 30, "a wrongly turned before photo would not fit"


@pytest.mark.parametrize("problem", ["size", "unreadable", "suffix"])
def test_cli_refuses_bad_input_on_one_line(pair, tmp_path, sample_rgb, capsys, problem):
    before, after = pair
    output = tmp_path / "look.xmp"
    if problem == "size":
        Image.fromarray(sample_rgb[:100]).save(after)
        expected = "must be the same photo before and after an edit, at the same size"
    elif problem == "unreadable":
        after.write_bytes(b"not an image")
        expected = str(after)
    else:
        output = tmp_path / "look.txt"
        expected = "use .json or .xmp"
    assert run("fit", "--before", before, "--after", after, "-o", output) == 2
    error = capsys.readouterr().err
    assert expected in error and error.count("\n") == 1
    assert not output.exists()


def test_cli_help_names_the_default_steps(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["fit", "--help"])
    text = capsys.readouterr().out
    assert f"default {DEFAULT_STEPS}" in text and "veraretouch fit --before" in text


def test_a_good_initial_guess_needs_fewer_evaluations(sample_rgb):
    import torch

    from veraretouch.fitting import fit_plan
    from veraretouch.operators import render
    from veraretouch.plan import Plan
    from veraretouch.plan.parameters import N_SLIDERS

    image = torch.from_numpy(sample_rgb.copy()).permute(2, 0, 1)[None].float() / 255
    params = Plan({"Exposure2012": 0.6, "Contrast2012": -30, "IncrementalTemperature": 25}).to_tensor()[None].float()
    after = render(image, params)
    cold = fit_plan(image, after, steps=12)
    warm = fit_plan(image, after, steps=12, initial_sliders=params[:, :N_SLIDERS] * 0.9)
    assert warm.psnr[0] > cold.psnr[0] + 3


def test_held_sliders_stay_at_zero(sample_rgb):
    import torch

    from veraretouch.fitting import fit_plan
    from veraretouch.operators import render
    from veraretouch.plan import Plan
    from veraretouch.plan.parameters import N_SLIDERS, param_index

    image = torch.from_numpy(sample_rgb.copy()).permute(2, 0, 1)[None].float() / 255
    after = render(image, Plan({"Exposure2012": 0.5, "IncrementalTemperature": 30}).to_tensor()[None].float())
    free = torch.zeros(1, N_SLIDERS)
    free[0, param_index("Exposure2012")] = 1
    plan = fit_plan(image, after, steps=20, free_sliders=free).plan
    assert set(plan.values) <= {"Exposure2012"} and plan.values["Exposure2012"] > 0.2
