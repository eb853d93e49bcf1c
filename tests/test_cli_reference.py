"""`veraretouch reference` and `veraretouch train` as a user runs them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from veraretouch import Plan
from veraretouch.cli import main

BRIGHT_WARM = Plan({"Exposure2012": 0.8, "IncrementalTemperature": 30, "Vibrance": 20})


def run(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def example_pair(sample_rgb, tmp_path) -> tuple[Path, Path]:
    """A before/after pair: the sample photo and the same photo with BRIGHT_WARM applied."""
    before = tmp_path / "before.png"
    Image.fromarray(sample_rgb).save(before)
    plan = BRIGHT_WARM.save(tmp_path / "bright.json")
    assert run("param", before, "--params", plan, "-o", tmp_path / "edited") == 0
    return before, tmp_path / "edited" / "before.png"


@pytest.fixture
def other_photo(tmp_path) -> Path:
    from skimage import data

    path = tmp_path / "coffee.jpg"
    Image.fromarray(data.coffee()[::2, ::2]).save(path, quality=95)
    return path


def test_pair_mode_transfers_the_edit_and_writes_every_output(example_pair, other_photo, tmp_path):
    before, after = example_pair
    out = tmp_path / "out"
    assert run("reference", other_photo, "--before", before, "--after", after, "-o", out, "--export", "cube,xmp") == 0
    source = np.asarray(Image.open(other_photo)).astype(float)
    result = np.asarray(Image.open(out / "coffee.jpg")).astype(float)
    assert result.mean() > source.mean() + 10, "the example brightens, so must the transfer"
    assert (result[..., 0] - result[..., 2]).mean() > (source[..., 0] - source[..., 2]).mean(), "and warms"
    record = json.loads((out / "coffee.plan.json").read_text())
    assert record["mode"] == "reference" and record["latent_edit"]["source"]["mode"] == "pair"
    assert record["preset_fit_psnr_db"] > 30
    preset = Plan.from_file(out / "coffee.xmp")
    assert preset.values.get("Exposure2012", 0) > 0.2, preset.values
    assert (out / "coffee.cube").stat().st_size > 0


def test_target_mode_and_aspects(example_pair, other_photo, tmp_path):
    _, after = example_pair
    out = tmp_path / "out"
    assert run("reference", other_photo, "--after", after, "-o", out, "--aspects", "global_color") == 0
    record = json.loads((out / "coffee.plan.json").read_text())
    assert record["latent_edit"]["groups"] == ["global_color"] and record["latent_edit"]["source"]["mode"] == "target"


def test_only_lighting_keeps_the_exposure_and_drops_the_warmth(example_pair, other_photo, tmp_path):
    """--aspects lighting: the transfer matches the operators with only the lighting sliders of
    the example's edit, not the whole edit (the warm white balance is switched off)."""
    import torch

    from veraretouch.evaluation import psnr
    from veraretouch.operators import render

    before, after = example_pair
    assert run("reference", other_photo, "--before", before, "--after", after, "-o", tmp_path / "o",
               "--aspects", "lighting", "--format", "png") == 0
    as_tensor = lambda path: torch.from_numpy(np.asarray(Image.open(path)).copy()).permute(2, 0, 1)[None].float() / 255  # noqa: E731
    source, result = as_tensor(other_photo), as_tensor(tmp_path / "o" / "coffee.png")
    only_light = render(source, BRIGHT_WARM.restricted_to(["lighting"]).to_tensor()[None])
    whole = render(source, BRIGHT_WARM.to_tensor()[None])
    assert psnr(result, only_light) > psnr(result, whole) + 3
    assert psnr(result, only_light) > 28


def test_reference_refuses_mismatched_pairs_and_bad_aspects(example_pair, other_photo, tmp_path, capsys):
    before, _ = example_pair
    assert run("reference", other_photo, "--before", before, "--after", other_photo, "-o", tmp_path / "o") == 2
    assert "different aspect ratios" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run("reference", other_photo, "--after", before, "-o", tmp_path / "o", "--aspects", "contrast")
    assert "choose from lighting, global_color, specific_color" in capsys.readouterr().err


def test_reference_with_models_from_a_run_folder(example_pair, other_photo, tmp_path):
    from veraretouch.encoders import ReferenceEncoder, ReferenceEncoderConfig
    from veraretouch.renderer import RendererConfig, RetouchRenderer

    RetouchRenderer(RendererConfig([8], 4)).save_pretrained(tmp_path / "run" / "renderer")
    ReferenceEncoder(ReferenceEncoderConfig(aspect_dim=4, pixel_widths=[8], head_hidden=8)).save_pretrained(
        tmp_path / "run" / "reference_encoder")
    _, after = example_pair
    assert run("reference", other_photo, "--after", after, "-o", tmp_path / "o", "--models", tmp_path / "run") == 0
    assert len(json.loads((tmp_path / "o" / "coffee.plan.json").read_text())["latent_edit"]["latents"]) == 12
    assert run("reference", other_photo, "--after", after, "-o", tmp_path / "o2", "--models", tmp_path / "nowhere") == 2


def test_train_renderer_from_the_command_line_resumes(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for index in range(2):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(photos / f"p{index}.png")
    out = tmp_path / "run"
    assert run("train", "renderer", "--photos", photos, "-o", out, "--steps", "2") == 0
    assert "step 2 of 2, finished" in capsys.readouterr().out
    assert (out / "renderer" / "model.safetensors").exists() and (out / "log.csv").exists()
    assert run("train", "renderer", "--photos", tmp_path / "missing", "-o", out) == 2
