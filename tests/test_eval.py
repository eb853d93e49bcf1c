"""`veraretouch eval`: the baselines, the report, and the command on tiny synthetic FiveK-style folders."""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from veraretouch.cli import evaluate as eval_cli
from veraretouch.cli.evaluate import add_eval_command
from veraretouch.errors import VeraRetouchError
from veraretouch.evaluation.baselines import BASELINES, auto_levels, grey_world_auto_levels, identity
from veraretouch.evaluation.folder import evaluate_folder, match_pairs
from veraretouch.evaluation.report import PSNR_CAP_DB, markdown_report, score, write_report
from veraretouch.operators.colorspace import linear_rgb_to_srgb, srgb_to_linear_rgb

SIDE = 64
BRIGHTEN = 0.7
"""The synthetic expert edit: target = input ** 0.7, which the fake "ours" knows."""


def scene(seed: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """A (1, 3, 64, 64) photo-like image: smooth colour gradients plus fine texture, values in [low, high]."""
    generator = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, SIDE)
    smooth = torch.stack([ramp[None, :].expand(SIDE, SIDE), ramp[:, None].expand(SIDE, SIDE),
                          (ramp[None, :] + ramp[:, None]).expand(SIDE, SIDE) / 2])
    image = 0.7 * smooth + 0.3 * torch.rand(3, SIDE, SIDE, generator=generator)
    return (low + (high - low) * image)[None]


def save(image: torch.Tensor, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((image[0].permute(1, 2, 0) * 255).round().byte().numpy()).save(path)
    return path


def parse(*argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_eval_command(parser.add_subparsers())
    return parser.parse_args(["eval", *map(str, argv)])


# --------------------------------------------------------------------------------------- baselines


def test_identity_is_exact():
    image = scene(0)
    assert torch.equal(identity(image), image)


def test_auto_levels_stretches_a_low_contrast_photo_to_full_range_monotonically():
    image = scene(1, low=0.3, high=0.6)
    result = auto_levels(image)
    flat_in, flat_out = image.flatten(2)[0], result.flatten(2)[0]
    for channel_in, channel_out in zip(flat_in, flat_out):
        assert channel_out.min() == 0 and channel_out.max() == 1
        assert torch.quantile(channel_out, 0.01) < 0.05 and torch.quantile(channel_out, 0.99) > 0.95
        order = channel_in.argsort()
        assert (channel_out[order].diff() >= 0).all(), "levels never swap two values of a channel"


def test_auto_levels_leaves_a_flat_channel_alone():
    image = scene(2)
    image[:, 2] = 0.4
    assert torch.equal(auto_levels(image)[:, 2], image[:, 2])


def test_grey_world_removes_a_colour_cast():
    grey = srgb_to_linear_rgb(scene(3, 0.1, 0.9).mean(dim=1, keepdim=True).expand(-1, 3, -1, -1))
    cast = linear_rgb_to_srgb((grey * torch.tensor([1.3, 1.0, 0.6]).view(1, 3, 1, 1)).clamp(0, 1))
    means_before = cast.mean(dim=(2, 3))[0]
    means_after = grey_world_auto_levels(cast).mean(dim=(2, 3))[0]
    assert means_before.max() - means_before.min() > 0.1
    assert means_after.max() - means_after.min() < 0.01


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_treat_each_image_of_a_batch_alone(name):
    tinted = scene(6, 0.0, 0.3) * torch.tensor([1.0, 0.8, 0.5]).view(1, 3, 1, 1)
    batch = torch.cat([scene(4), scene(5, 0.2, 0.5), tinted])
    together = BASELINES[name](batch)
    assert together.shape == batch.shape and together.dtype == batch.dtype
    assert 0 <= together.min() and together.max() <= 1
    for index in range(len(batch)):
        torch.testing.assert_close(together[index:index + 1], BASELINES[name](batch[index:index + 1]))


# --------------------------------------------------------------------------------------- report


def test_a_method_equal_to_the_target_scores_perfectly():
    target = scene(7)
    scores = score(target.clone(), target)
    assert scores["psnr"] == PSNR_CAP_DB
    assert scores["delta_e2000"] == 0
    assert scores["ssim"] == pytest.approx(1.0)
    assert scores["histogram_similarity"] == pytest.approx(1.0)


def test_report_has_a_row_per_method_and_the_page_shows_existing_thumbnails(tmp_path):
    pairs = []
    for index in range(2):
        image = scene(10 + index, 0.2, 0.7)
        pairs.append((f"a000{index}", save(image, tmp_path / "in" / f"a000{index}.png"),
                      save(image, tmp_path / "expert" / f"a000{index}.png")))
    out = tmp_path / "report"
    results = evaluate_folder(pairs, {"identity": identity, "auto_levels": auto_levels}, 512, out, progress=False)
    assert results["summary"]["identity"] == {"psnr": PSNR_CAP_DB, "ssim": 1.0, "delta_e2000": 0.0,
                                              "histogram_similarity": pytest.approx(1.0)}
    written = write_report(results, out)
    assert [p.name for p in written] == ["results.md", "results.json", "index.html"]
    table = [line for line in (out / "results.md").read_text().splitlines() if line.startswith("| ")]
    assert [line.split("|")[1].strip() for line in table] == ["method", "identity", "auto_levels"]
    assert "**100.00**" in table[1]
    page = (out / "index.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 2 * 4, "before, two methods and target for each pair"
    assert all((out / source).is_file() for source in sources)
    assert json.loads((out / "results.json").read_text())["images"][0]["stem"] == "a0000"
    assert markdown_report(results) == (out / "results.md").read_text()


# --------------------------------------------------------------------------------------- command


def test_pairs_match_by_stem_whatever_the_suffix(tmp_path):
    for name in ("a0001.tif", "a0002.TIF", "a0003-kme_264.jpg", "a0009.png", "notes.txt"):
        (tmp_path / "input").mkdir(exist_ok=True)
        (tmp_path / "input" / name).touch()
    for name in ("a0001.TIF", "a0002.jpg", "a0003-kme_264.png", "a0010.jpeg"):
        (tmp_path / "expertC").mkdir(exist_ok=True)
        (tmp_path / "expertC" / name).touch()
    pairs, unmatched = match_pairs(tmp_path / "input", tmp_path / "expertC")
    assert [(stem, i.name, t.name) for stem, i, t in pairs] == [
        ("a0001", "a0001.tif", "a0001.TIF"), ("a0002", "a0002.TIF", "a0002.jpg"),
        ("a0003-kme_264", "a0003-kme_264.jpg", "a0003-kme_264.png")]
    assert unmatched == {"inputs": ["a0009"], "targets": ["a0010"]}


def test_no_matching_names_is_a_clear_error(tmp_path):
    save(scene(0), tmp_path / "in" / "a.png")
    save(scene(0), tmp_path / "out" / "b.png")
    args = parse("--inputs", tmp_path / "in", "--targets", tmp_path / "out", "--mode", "auto", "-o", tmp_path / "r")
    with pytest.raises(VeraRetouchError, match="matched by file name without the suffix") as error:
        args.run(args)
    assert "\n" not in str(error.value)


def test_style_mode_needs_a_prompt_and_auto_takes_none(tmp_path):
    args = parse("--inputs", tmp_path, "--targets", tmp_path, "--mode", "style")
    with pytest.raises(VeraRetouchError, match="--prompt"):
        args.run(args)
    args = parse("--inputs", tmp_path, "--targets", tmp_path, "--mode", "auto", "--prompt", "warmer")
    with pytest.raises(VeraRetouchError, match="no --prompt"):
        args.run(args)


@pytest.fixture
def fivek(tmp_path, monkeypatch) -> Path:
    """input/ and expertC/ with three pairs (mixed suffixes) and one unpaired input; "ours" knows the edit."""
    for index, suffix in enumerate((".png", ".tif", ".png")):
        image = scene(20 + index, 0.1, 0.8)
        save(image, tmp_path / "input" / f"a000{index}.png")
        save(image ** BRIGHTEN, tmp_path / "expertC" / f"a000{index}{suffix}")
    save(scene(30), tmp_path / "input" / "a0099.png")
    monkeypatch.setattr(eval_cli, "_ours", lambda args: lambda images: images ** BRIGHTEN)
    return tmp_path


def test_eval_end_to_end_scores_ours_best_and_never_overwrites(fivek, capsys):
    out = fivek / "report"
    argv = ("--inputs", fivek / "input", "--targets", fivek / "expertC", "--mode", "auto", "-o", out)
    args = parse(*argv)
    assert args.run(args) == 0
    captured = capsys.readouterr()
    assert "a0099" in captured.err and "without a partner" in captured.err
    results = json.loads((out / "results.json").read_text())
    assert [image["stem"] for image in results["images"]] == ["a0000", "a0001", "a0002"]
    assert results["methods"] == ["ours", "identity", "auto_levels", "grey_world_auto_levels"]
    summary = results["summary"]
    assert max(summary, key=lambda m: summary[m]["psnr"]) == "ours"
    assert min(summary, key=lambda m: summary[m]["delta_e2000"]) == "ours"
    assert summary["ours"]["psnr"] > 40
    assert results["unmatched"] == {"inputs": ["a0099"], "targets": []}
    assert "| ours |" in captured.out
    assert len(list((out / "thumbs").iterdir())) == 3 * 6

    with pytest.raises(VeraRetouchError, match="already exists"):
        args.run(args)
    args = parse(*argv, "--overwrite", "--baselines", "identity", "--limit", "1")
    assert args.run(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["methods"] == ["ours", "identity"] and len(results["images"]) == 1


def test_a_pair_that_cannot_be_read_is_listed_and_the_rest_are_scored(fivek, capsys):
    save(scene(31), fivek / "input" / "a0003.png")
    (fivek / "expertC" / "a0003.png").write_bytes(b"not an image")
    args = parse("--inputs", fivek / "input", "--targets", fivek / "expertC", "--mode", "auto", "--baselines", "",
                 "-o", fivek / "report")
    assert args.run(args) == 1
    results = json.loads((fivek / "report" / "results.json").read_text())
    assert [item["stem"] for item in results["failed"]] == ["a0003"]
    assert len(results["images"]) == 3 and results["methods"] == ["ours"]
    assert "a0003" in capsys.readouterr().err


def test_eval_help_teaches_the_metrics_and_fivek(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    text = capsys.readouterr().out
    for phrase in ("expertC", "higher is better", "lower is better", "default 512", "480p"):
        assert phrase in text
