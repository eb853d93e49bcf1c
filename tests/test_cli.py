"""`veraretouch param` as a user runs it: outputs, exports, batches, and every way input can be bad."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from veraretouch import Plan
from veraretouch.cli import main

WARM = Plan({"Exposure2012": 0.4, "IncrementalTemperature": 30, "Vibrance": 20})


@pytest.fixture
def warm_xmp(tmp_path: Path) -> Path:
    return WARM.save(tmp_path / "warm.xmp")


def run(*args: str) -> int:
    return main([str(a) for a in args])


def test_param_writes_photo_plan_and_exports(sample_jpeg, warm_xmp, tmp_path, capsys):
    out = tmp_path / "out"
    assert run("param", sample_jpeg, "--params", warm_xmp, "-o", out, "--export", "cube,xmp") == 0
    result = np.asarray(Image.open(out / "astronaut.jpg"))
    source = np.asarray(Image.open(sample_jpeg))
    assert result.shape == source.shape
    assert result.mean() > source.mean() + 5, "exposure and warmth brighten the photo"
    assert result[..., 0].mean() - result[..., 2].mean() > source[..., 0].mean() - source[..., 2].mean()
    record = json.loads((out / "astronaut.plan.json").read_text())
    assert record["mode"] == "param"
    assert Plan.from_json(record["plan"]).values == WARM.values
    assert set(record["timings_s"]) == {"decode", "plan", "render", "encode"}
    assert Plan.from_file(out / "astronaut.xmp").values == WARM.values
    assert (out / "astronaut.cube").read_text().count("\n") > 65 ** 3
    assert "astronaut.jpg" in capsys.readouterr().out


def test_param_accepts_inline_values_and_the_veraretouch_param_file(sample_jpeg, tmp_path):
    param_file = tmp_path / "params.json"
    param_file.write_text(json.dumps({"Exposure2012": {"value": 50}, "Contrast2012": {"value": 20}}))
    assert run("param", sample_jpeg, "--params", param_file, "--set", "Vibrance=30", "-o", tmp_path / "out") == 0
    plan = Plan.from_json(json.loads((tmp_path / "out" / "astronaut.plan.json").read_text())["plan"])
    assert plan.values == {"Exposure2012": 0.5, "Contrast2012": 20.0, "Vibrance": 30.0}


def test_folder_and_glob_inputs_and_format_choice(sample_rgb, warm_xmp, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("a.png", "b.jpg"):
        Image.fromarray(sample_rgb).save(folder / name)
    (folder / "notes.txt").write_text("not a photo")
    assert run("param", folder, "--params", warm_xmp, "-o", tmp_path / "o1") == 0
    assert {p.name for p in (tmp_path / "o1").iterdir()} == {"a.png", "a.plan.json", "b.jpg", "b.plan.json"}
    assert run("param", str(folder / "*.png"), "--params", warm_xmp, "-o", tmp_path / "o2", "--format", "tiff") == 0
    assert Image.open(tmp_path / "o2" / "a.tif").format == "TIFF"


def test_one_bad_file_does_not_stop_the_batch(sample_jpeg, warm_xmp, tmp_path, capsys):
    broken = sample_jpeg.parent / "broken.jpg"
    broken.write_bytes(sample_jpeg.read_bytes()[:400])
    out = tmp_path / "out"
    assert run("param", broken, sample_jpeg, "--params", warm_xmp, "-o", out) == 1
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "Traceback" not in err
    assert (out / "astronaut.jpg").exists()
    assert not list(out.glob("broken*")), "no partial output for the bad file"
    assert not list(out.glob(".*tmp*")), "no temporary files left behind"


def test_existing_outputs_are_kept_unless_overwrite(sample_jpeg, warm_xmp, tmp_path):
    out = tmp_path / "out"
    assert run("param", sample_jpeg, "--params", warm_xmp, "-o", out) == 0
    before = (out / "astronaut.jpg").read_bytes()
    assert run("param", sample_jpeg, "--set", "Exposure2012=-1", "-o", out) == 1
    assert (out / "astronaut.jpg").read_bytes() == before
    assert run("param", sample_jpeg, "--set", "Exposure2012=-1", "-o", out, "--overwrite") == 0
    assert (out / "astronaut.jpg").read_bytes() != before


def test_never_writes_over_an_input(sample_jpeg, warm_xmp, capsys):
    assert run("param", sample_jpeg, "--params", warm_xmp, "-o", sample_jpeg.parent) == 2
    assert "replace an input" in capsys.readouterr().err


def test_same_stem_from_two_folders_is_refused(sample_rgb, warm_xmp, tmp_path, capsys):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        Image.fromarray(sample_rgb).save(tmp_path / folder / "same.png")
    assert run("param", tmp_path / "x" / "same.png", tmp_path / "y" / "same.png", "--params", warm_xmp,
               "-o", tmp_path / "out") == 2
    assert "would both write" in capsys.readouterr().err


@pytest.mark.parametrize("setting,message", [
    ("Exposur2012=1", "Exposure2012"),
    ("Contrast2012=250", "out of range"),
])
def test_bad_slider_values_are_refused_with_a_helpful_message(sample_jpeg, tmp_path, capsys, setting, message):
    assert run("param", sample_jpeg, "--set", setting, "-o", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_unknown_slider_error_lists_valid_names(sample_jpeg, tmp_path, capsys):
    assert run("param", sample_jpeg, "--set", "Warmth=10", "-o", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "Warmth" in err and "Valid names" in err and "IncrementalTemperature" in err


def test_malformed_and_hostile_plan_files(sample_jpeg, tmp_path, capsys):
    bomb = tmp_path / "bomb.xmp"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>')
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    for plan_file in (bomb, garbage, tmp_path / "missing.xmp"):
        assert run("param", sample_jpeg, "--params", plan_file, "-o", tmp_path / "out") == 2
        err = capsys.readouterr().err
        assert plan_file.name in err and "Traceback" not in err


def test_missing_inputs_and_bad_options(tmp_path, capsys, warm_xmp):
    assert run("param", tmp_path / "nope.jpg", "--params", warm_xmp, "-o", tmp_path / "out") == 2
    assert "nope.jpg" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        run("param", "x.jpg", "--params", warm_xmp, "-o", tmp_path, "--export", "psd")
    assert exit_info.value.code == 2


def test_help_teaches_by_example_and_runs_without_heavy_imports():
    code = ("import sys; from veraretouch.cli import build_parser; "
            "h = build_parser()._subparsers._group_actions[0].choices['param'].format_help(); "
            "print('torch' in sys.modules); print(h)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.startswith("False")
    assert "examples:" in output and "--export" in output and "hundredths of an EV" in output


def test_sliders_command_lists_all_controls(capsys):
    assert run("sliders") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 86 and lines[0].startswith("Exposure2012")
    assert any(line.startswith("GrainAmount") for line in lines) and lines[-1].startswith("SharpenEdgeMasking")
