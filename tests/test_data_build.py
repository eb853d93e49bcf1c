"""Building planner data: determinism, split hygiene, quality gate, resume, loader, Ray = local."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from veraretouch.data.samples import Recipe, label_sample, make_recipe, split_of
from veraretouch.data.shards import BuildConfig, ShardBuilder, build_dataset, read_shard
from veraretouch.plan import Plan

PHOTOS = ("photo1.png", "photo2.png", "photo0.png", "photo18.png")  # train, train, test, validation
PRESETS = ("look0.xmp", "look1.xmp", "look6.xmp", "look11.xmp")  # train, train, test, validation
SMALL = dict(per_photo=2, shard_size=3)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sources")
    photos, presets = root / "photos", root / "presets" / "Creative"
    photos.mkdir()
    presets.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index, name in enumerate(PHOTOS):
        ramp = np.linspace(30, 220, 96)[None, :, None] * rng.uniform(0.6, 1.0, 3)
        pixels = (ramp + rng.normal(0, 12, (64, 96, 3))).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(photos / name)
    looks = [{"Exposure2012": 0.3, "Vibrance": 20}, {"Contrast2012": 25, "IncrementalTemperature": 20},
             {"Saturation": -30}, {"Shadows2012": 30, "HueAdjustmentBlue": -20}]
    for name, values in zip(PRESETS, looks):
        Plan(values=values, name=Path(name).stem, description="a warm, moody look").save(presets / name)
    return photos, root / "presets"


def build(sources, out: Path, **overrides) -> list[dict]:
    photos, presets = sources
    return build_dataset(photos, out, presets, BuildConfig(**{**SMALL, **overrides}), progress=False)


@pytest.fixture(scope="module")
def built(sources, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built")
    build(sources, out)
    return out


def shard_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.tar"))}


def test_same_seed_same_bytes_and_another_seed_differs(sources, built, tmp_path):
    build(sources, tmp_path / "again")
    assert shard_bytes(tmp_path / "again") == shard_bytes(built)
    recipe_a, _ = make_recipe("photo1.png", 0, 0, {"auto": 1.0}, {})
    recipe_b, _ = make_recipe("photo1.png", 0, 1, {"auto": 1.0}, {})
    assert recipe_a.input_plan != recipe_b.input_plan


def test_every_photo_lives_in_one_split_and_presets_follow_their_split(built):
    seen: dict[str, set[str]] = {}
    for shard in built.glob("*.tar"):
        split = shard.name.split("-")[0]
        for record in read_shard(shard):
            assert record["split"] == split == split_of(record["photo"])
            seen.setdefault(record["photo"], set()).add(split)
            if record["subset"] == "style":
                assert split_of(Path(record["preset"]["file"]).name) == split
    assert all(len(splits) == 1 for splits in seen.values()) and len(seen) == len(PHOTOS)


def test_records_hold_recipes_labels_and_checked_text(built):
    records = [r for shard in sorted(built.glob("*.tar")) for r in read_shard(shard)]
    assert {r["subset"] for r in records} <= {"auto", "style", "param"}
    for record in records:
        assert record["reasoning"].startswith("<lighting_problem>") and len(record["latents"]) == 192
        assert record["round_trip_psnr"] >= 30
        if record["subset"] == "auto":
            assert record["fit_psnr"] >= 30 and record["degradation_kinds"]
        else:
            assert record["instruction"]
    manifest = json.loads((built / "manifest.json").read_text())
    assert sorted(manifest["shards"]) == sorted(p.name for p in built.glob("*.tar"))


def test_quality_gate_drops_a_clipping_degradation(sources):
    photos, presets = sources
    builder = ShardBuilder(photos, presets, BuildConfig())
    recipe = Recipe("train/photo1/000000", "auto", "train", "photo1.png", (0.0, 0.0, 1.0, 1.0),
                    input_plan=Plan({"Exposure2012": 3.5, "Whites2012": 80}))
    sample = label_sample(recipe, {"degradation_kinds": ["overexposed"]}, builder.photo("photo1.png"),
                          builder.renderer, builder.slider_encoder)
    assert sample.dropped in ("clipped input", "fix not reachable")


def test_an_interrupted_build_resumes_to_the_same_files(sources, built, tmp_path, monkeypatch):
    original = ShardBuilder.build
    calls = {"count": 0}

    def failing(self, spec, out):
        calls["count"] += 1
        if calls["count"] == 2:
            raise KeyboardInterrupt
        return original(self, spec, out)

    monkeypatch.setattr(ShardBuilder, "build", failing)
    with pytest.raises(KeyboardInterrupt):
        build(sources, tmp_path / "resumed")
    monkeypatch.setattr(ShardBuilder, "build", original)
    assert len(list((tmp_path / "resumed").glob("*.tar"))) == 1 and not list((tmp_path / "resumed").glob("*.tmp"))
    build(sources, tmp_path / "resumed")
    assert shard_bytes(tmp_path / "resumed") == shard_bytes(built)


def test_loader_renders_recipes_and_reads_materialised_images(sources, built, tmp_path):
    from veraretouch.data.loader import RetouchDataset

    photos, _ = sources
    items = list(RetouchDataset(built, "train", photos, side=48))
    assert items and all(item["input"].shape[0] == 3 and max(item["input"].shape[1:]) == 48 for item in items)
    auto = [item for item in items if item["subset"] == "auto"]
    for item in auto:
        assert not torch.allclose(item["input"], item["target"])
    build(sources, tmp_path / "png", materialize=True, per_photo=1)
    materialised = list(RetouchDataset(tmp_path / "png", "train"))
    assert materialised and max(materialised[0]["input"].shape[1:]) == 384
    with pytest.raises(ValueError, match="photos_dir"):
        list(RetouchDataset(built, "train"))


@pytest.mark.slow
def test_ray_build_writes_the_same_shards_as_the_local_build(sources, built, tmp_path):
    pytest.importorskip("ray")
    photos, presets = sources
    build_dataset(photos, tmp_path / "ray", presets, BuildConfig(**SMALL), use_ray=True, progress=False)
    assert shard_bytes(tmp_path / "ray") == shard_bytes(built)


def test_two_photo_folders_a_held_out_source_and_camera_faults(sources, tmp_path):
    from veraretouch.data.card import write_card
    from veraretouch.data.shards import gather_photos

    photos, presets = sources
    more = tmp_path / "more"
    more.mkdir()
    for name in ("extra-photo3.png", "heldout-photo4.png"):
        Image.open(photos / "photo1.png").save(more / name)
    (more / "README.md").write_text(
        "| file | package | licence |\n|---|---|---|\n| extra-photo3.png | pkg 1.0 | CC0-1.0 |\n"
    )
    out = tmp_path / "data"
    folder, held_out = gather_photos([photos, more], out, ("heldout-*",))
    assert folder == out / "photos" and [p.name for p in held_out] == ["heldout-photo4.png"]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*PHOTOS, "extra-photo3.png"])
    stats = build_dataset(
        folder,
        out,
        presets,
        BuildConfig(per_photo=4, shard_size=4, subset_weights=(1.0, 0.0, 0.0), auto_mix=(0.0, 0.8, 0.2)),
        progress=False,
        held_out=held_out,
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert [p["name"] for p in manifest["held_out_photos"]] == ["heldout-photo4.png"]
    assert "heldout-photo4.png" not in {p["name"] for p in manifest["photos"]}
    records = [r for shard in sorted(out.glob("*.tar")) for r in read_shard(shard)]
    sources_seen = {r["auto_source"] for r in records}
    assert sources_seen <= {"camera", "none"} and "camera" in sources_seen
    for record in records:
        if record["auto_source"] == "none":
            assert record["target_plan"]["values"] == {} and record["degradation_kinds"] == []
        else:
            assert record["camera_faults"] and record["fit_psnr"] >= 30
    card = write_card(stats, out, "test").read_text()
    assert "| extra-photo3.png | train | pkg 1.0 · CC0-1.0 |" in card and "heldout-photo4.png | held out" in card
    with pytest.raises(ValueError, match="two photos named photo1.png"):
        Image.open(photos / "photo1.png").save(more / "photo1.png")
        gather_photos([photos, more], tmp_path / "clash")


@pytest.mark.parametrize(
    "option, value",
    [("--auto-mix", "1,2"), ("--auto-mix", "0,0,0"), ("--subset-weights", "a,b,c"), ("--subset-weights", "1,-1,1")],
)
def test_bad_mix_weights_are_usage_errors(sources, tmp_path, capsys, option, value):
    from veraretouch.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["data", "build", "--photos", str(sources[0]), "--out", str(tmp_path / "d"), option, value])
    assert exit_info.value.code == 2 and "expected 3" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
