"""Planner training on a tiny dataset: the cache, training and resuming, calibration, the
extra samples (directions, param requests as style, look words)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from veraretouch.encoders.slider import flat_features, params_from_features
from veraretouch.plan import Plan
from veraretouch.plan.parameters import SCALARS, default_params, param_index
from veraretouch.planner import MODES, CompactPlanner
from veraretouch.planner.compact import PLAN_FEATURES
from veraretouch.planner.features import FEATURE_SIZE
from veraretouch.planner.text import TEXT_DIM

# ------------------------------------------------------------------------------- training
TRAIN_PHOTOS = ("photo1.png", "photo2.png", "photo18.png")  # train, train, validation (split_of)
TRAIN_PRESETS = ("look0.xmp", "look1.xmp", "look11.xmp")  # train, train, validation
TINY = dict(steps=4, eval_every=2, checkpoint_every=2, batch_size=8, pixels_per_sample=32, hidden=32, blocks=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny built dataset (auto, style, param) as in test_data_build: (dataset folder, photos folder)."""
    from veraretouch.data.samples import split_of
    from veraretouch.data.shards import BuildConfig, build_dataset

    assert [split_of(name) for name in TRAIN_PHOTOS] == ["train", "train", "validation"]
    root = tmp_path_factory.mktemp("planner-data")
    photos, presets = root / "photos", root / "presets" / "Creative"
    photos.mkdir()
    presets.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in TRAIN_PHOTOS:
        ramp = np.linspace(30, 220, 96)[None, :, None] * rng.uniform(0.6, 1.0, 3)
        Image.fromarray((ramp + rng.normal(0, 12, (64, 96, 3))).clip(0, 255).astype(np.uint8)).save(photos / name)
    looks = [{"Exposure2012": 0.3, "Vibrance": 20}, {"Contrast2012": 25, "IncrementalTemperature": 20},
             {"Shadows2012": 30, "HueAdjustmentBlue": -20}]
    for name, values in zip(TRAIN_PRESETS, looks):
        Plan(values=values, name=Path(name).stem, description="a warm, moody look").save(presets / name)
    build_dataset(photos, root / "data", root / "presets", BuildConfig(per_photo=3, shard_size=3), progress=False)
    return root / "data", photos


@pytest.fixture(scope="module")
def cache(dataset, tmp_path_factory) -> Path:
    from veraretouch.training.planner_cache import build_planner_cache

    data, photos = dataset
    return build_planner_cache(data, photos, tmp_path_factory.mktemp("planner-cache") / "cache", progress=False)


@pytest.fixture(scope="module")
def cached(cache, embedder) -> dict[str, dict]:
    from veraretouch.training.planner_cache import load_planner_cache

    return {split: load_planner_cache(cache, split, embedder) for split in ("train", "validation")}


def test_the_cache_has_one_file_per_shard_and_resumes(dataset, cache):
    from veraretouch.training.planner_cache import build_planner_cache

    data, photos = dataset
    shards = sorted(p.stem for p in data.glob("*.tar"))
    assert sorted(p.stem for p in cache.glob("*.pt")) == shards and not list(cache.glob("*.tmp"))
    stamps = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.pt")}
    assert build_planner_cache(data, photos, cache, progress=False) == cache
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.pt")} == stamps, "nothing is redone"
    victim = sorted(cache.glob("train-*.pt"))[0]
    before = torch.load(victim, weights_only=False)
    victim.unlink()
    build_planner_cache(data, photos, cache, progress=False)
    after = torch.load(victim, weights_only=False)
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.pt") if p != victim} == {
        k: v for k, v in stamps.items() if k != victim.name}
    assert all(torch.equal(before[k], after[k]) for k in ("features", "input_colors", "plan_features")), "deterministic"


def test_cached_samples_are_consistent(cached):
    from veraretouch.training.planner_cache import PIXELS

    train = cached["train"]
    count = len(train["mode"])
    assert count > 0 and len(cached["validation"]["mode"]) > 0
    assert {MODES[m] for m in train["mode"].tolist()} >= {"auto"} and (train["mode"] != 0).any(), \
        "the tiny dataset must hold auto and instructed samples"
    assert train["features"].shape == (count, FEATURE_SIZE) and train["plan_features"].shape == (count, PLAN_FEATURES)
    assert train["input_colors"].shape == train["target_colors"].shape == (count, PIXELS, 3)
    assert train["text"].shape == (count, 384) and len(train["texts"]) == len(train["records"]) == count
    assert [MODES[m] for m in train["mode"].tolist()] == [r["subset"] for r in train["records"]]
    auto = train["mode"] == MODES.index("auto")
    assert train["text"][auto].abs().max() == 0
    assert torch.allclose(train["text"][~auto].norm(dim=1), torch.ones(int((~auto).sum())), atol=1e-4)
    # the labels are valid plans: projecting them changes nothing
    assert (flat_features(params_from_features(train["plan_features"].double())).float()
            - train["plan_features"]).abs().max() < 1e-4
    assert not torch.equal(train["input_colors"][auto], train["target_colors"][auto]), "auto inputs are degraded"


def test_loading_a_split_without_shards_is_a_clear_error(embedder, tmp_path):
    from veraretouch.training.planner_cache import load_planner_cache

    with pytest.raises(FileNotFoundError, match="build_planner_cache"):
        load_planner_cache(tmp_path, "train", embedder)


def test_planner_training_writes_its_outputs_and_resumes(cached, tmp_path):
    from veraretouch.training.planner import PlannerTrainer, PlannerTrainingConfig
    from veraretouch.weights import load_models

    renderer, encoder = load_models(None, "renderer", "slider_encoder")  # the dataset's latents are theirs
    config = PlannerTrainingConfig(**TINY)
    first = PlannerTrainer(tmp_path, cached["train"], cached["validation"], renderer, encoder, config)
    assert first.step == 0
    first.train(progress=False, until=2)
    assert first.step == 2 and (tmp_path / "checkpoint.pt").is_file()
    second = PlannerTrainer(tmp_path, cached["train"], cached["validation"], renderer, encoder, config)
    assert second.step == 2, "a second trainer on the same folder resumes"
    assert all(
        torch.equal(a, b) for a, b in zip(first.planner.state_dict().values(), second.planner.state_dict().values())
    )
    second.train(progress=False)
    assert second.step == 4
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0].startswith("step,loss") and [row.split(",")[0] for row in rows[1:]] == ["2", "4"]
    header = rows[0].split(",")
    last = dict(zip(header, rows[-1].split(",")))
    assert math.isfinite(float(last["psnr_auto"])) and math.isfinite(float(last["psnr_auto_none"]))
    assert second.planner.head.weight.abs().sum() > 0, "the zero head moved"
    loaded = CompactPlanner.from_pretrained(tmp_path / "compact_planner")
    assert torch.equal(loaded.feature_mean, cached["train"]["features"].mean(dim=0))
    data = cached["validation"]
    second.planner.eval()
    with torch.no_grad():
        scales = torch.tensor(loaded.config.mode_scales)[data["mode"]][:, None]
        expected = second.planner(data["features"], data["text"], data["mode"]) * scales
        assert torch.allclose(loaded(data["features"], data["text"], data["mode"]), expected, atol=1e-6)
    assert second.planner.config.mode_scales == (1.0, 1.0, 1.0), "training goes on unscaled"
    calibration = json.loads((tmp_path / "calibration.json").read_text())
    for mode, curve in calibration["validation_psnr_by_scale"].items():
        scale = calibration["mode_scales"][mode]
        assert curve[str(scale)] == max(curve.values()), "the kept scale is the best on the validation samples"

def test_calibration_shrinks_a_wrong_plan_to_nothing_and_keeps_a_right_one():
    from veraretouch.encoders.slider import flat_features
    from veraretouch.planner.compact import CompactPlannerConfig
    from veraretouch.training.planner import calibrate_mode_scales
    from veraretouch.weights import load_models

    renderer, slider_encoder = load_models(None, "renderer", "slider_encoder")
    planner = CompactPlanner(CompactPlannerConfig(hidden=8, blocks=1))
    plan = default_params(1)
    plan[0, param_index("Exposure2012")] = 0.8
    with torch.no_grad():
        planner.head.bias.copy_(flat_features(plan.double())[0].float())  # always "+0.8 EV"
    colors = torch.rand(6, 64, 3, generator=torch.Generator().manual_seed(0)) * 0.8
    brighter = renderer.render_colors(colors, slider_encoder(plan).expand(6, -1)).detach()
    modes = torch.tensor([MODES.index("auto")] * 3 + [MODES.index("param")] * 3)
    data = {"features": torch.rand(6, planner.config.image_features), "text": torch.zeros(6, TEXT_DIM), "mode": modes,
            "input_colors": colors, "target_colors": torch.cat([colors[:3], brighter[3:]])}
    curves = calibrate_mode_scales(planner, data, renderer, slider_encoder, modes=MODES)
    scales = dict(zip(MODES, planner.config.mode_scales))
    assert scales["auto"] == 0.0, "the auto targets are the inputs: any brightening is wrong"
    assert scales["param"] == 1.0 and curves["param"][1.0] > curves["param"][0.5] > curves["param"][0.0]
    assert scales["style"] == 1.0, "a mode without samples keeps its full plan"
    with torch.no_grad():
        planner.head.bias.mul_(-1.0)  # now always "-0.8 EV": the param targets want the opposite
    assert set(calibrate_mode_scales(planner, data, renderer, slider_encoder)) == {"auto"}
    assert dict(zip(MODES, planner.config.mode_scales)) == {"auto": 0.0, "style": 1.0, "param": 1.0}, \
        "by default only auto mode is calibrated: style and param requests ask for an edit"


def test_direction_requests_move_their_sliders_within_range():
    from veraretouch.data.directions import DIRECTIONS, direction_plans

    texts, params = direction_plans(400, torch.Generator().manual_seed(0))
    assert params.shape == (400, default_params(1).shape[1]) and len(set(texts)) > 40
    by_text = {phrase: moves for phrasings, moves in DIRECTIONS for phrase in phrasings}
    defaults = default_params(1)[0]
    for text, plan in zip(texts, params):
        moves = by_text[text]
        for name, (low, high) in moves.items():
            assert low <= float(plan[param_index(name)]) <= high, (text, name)
        untouched = [i for i, spec in enumerate(SCALARS) if spec.name not in moves]
        assert torch.equal(plan[untouched], defaults[untouched]), f"{text!r} moves only its own sliders"


def test_direction_samples_join_the_training_set_with_rendered_targets(cached, cache, embedder):
    from veraretouch.training.planner import with_direction_samples
    from veraretouch.weights import load_models

    train = cached["train"]
    _, slider_encoder = load_models(None, "renderer", "slider_encoder")
    merged = with_direction_samples(train, 6, slider_encoder, cache, embedder)
    count = len(train["mode"])
    assert len(merged["mode"]) == count + 6 and (merged["mode"][count:] == MODES.index("style")).all()
    assert len(merged["texts"]) == len(merged["records"]) == count + 6
    assert (
        merged["text"][count:].abs().sum() > 0 and merged["target_colors"].shape[1:] == train["target_colors"].shape[1:]
    )


def test_param_requests_join_style_mode_with_their_labels(cached):
    from veraretouch.training.planner import with_param_requests_as_style

    train = dict(cached["train"])
    train["mode"] = train["mode"].clone()
    train["mode"][:2] = MODES.index("param")  # whatever the tiny build kept, two param samples
    param_rows = (train["mode"] == MODES.index("param")).nonzero().flatten()
    merged = with_param_requests_as_style(train)
    count = len(train["mode"])
    assert len(merged["mode"]) == len(merged["texts"]) == len(merged["records"]) == count + len(param_rows)
    assert (merged["mode"][count:] == MODES.index("style")).all()
    for key in ("features", "plan_features", "latents", "text", "target_colors"):
        assert torch.equal(merged[key][count:], train[key][param_rows]), key
    assert merged["texts"][count:] == [train["texts"][row] for row in param_rows.tolist()]
    assert {record["subset"] for record in merged["records"][count:]} == {"style"}
    assert torch.equal(merged["mode"][:count], train["mode"]), "the original samples are untouched"


def test_look_words_must_move_their_statistic_the_way_they_say():
    from veraretouch.data.directions import look_words_agree

    before = {"cast_b": 2.0, "mean_lightness": 0.5, "mean_chroma": 20.0}
    cooler = {**before, "cast_b": -3.0}
    faint = {**before, "cast_b": 1.5}
    assert look_words_agree("Make it cooler", before, cooler)
    assert not look_words_agree("Make it cooler", before, faint), "a faint cooling is not what 'cooler' promises"
    assert not look_words_agree("Warmer, please", before, cooler)
    assert look_words_agree("Give it a Portra 400 grade", before, faint), "no look word, nothing to contradict"
    brighter = {**before, "mean_lightness": 0.53}
    assert look_words_agree("A bright and airy look", before, brighter)
    assert not look_words_agree("Darker and moody", before, brighter)
    assert not look_words_agree("cooler and brighter", before, {**cooler, "mean_lightness": 0.45}), "every word counts"


def test_preset_samples_whose_look_words_disagree_leave_the_training_set(cached):
    from veraretouch.training.planner import with_agreeing_look_words

    train = {key: value.clone() if torch.is_tensor(value) else list(value) for key, value in cached["train"].items()}
    rows = (train["mode"] == MODES.index("style")).nonzero().flatten()[:2].tolist()
    assert len(rows) == 2, "the tiny build has style samples"
    contradicted, unlabelled = rows
    train["texts"][contradicted] = "Make it much darker"
    train["target_colors"][contradicted] = (train["input_colors"][contradicted].float() * 0.5 + 0.5).half()
    train["records"][contradicted] = {**train["records"][contradicted], "preset": "A Preset"}
    train["texts"][unlabelled] = "Make it much darker"   # the same words on a sample with no preset: kept
    train["target_colors"][unlabelled] = train["target_colors"][contradicted]
    train["records"][unlabelled] = {**train["records"][unlabelled], "preset": None}
    kept = with_agreeing_look_words(train)
    assert len(kept["mode"]) == len(train["mode"]) - 1
    assert len(kept["texts"]) == len(kept["records"]) == len(kept["features"]) == len(kept["mode"])
    assert [r["key"] for r in kept["records"]] == [
        r["key"] for i, r in enumerate(train["records"]) if i != contradicted
    ]


def test_no_direction_phrasing_is_a_prompt_of_the_instruction_suite():
    import importlib.util

    from veraretouch.data.directions import DIRECTIONS

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "planner.py"
    spec = importlib.util.spec_from_file_location("planner_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    phrasings = {phrase.lower() for phrasings, _ in DIRECTIONS for phrase in phrasings}
    assert len(benchmark.SUITE) >= 30
    assert not phrasings & {prompt.lower() for prompt, _, _ in benchmark.SUITE}, "the suite must test unseen words"

def test_training_with_confidence_calibrates_the_shrinkage_on_validation(cached, tmp_path):
    from veraretouch.plan.parameters import ASPECTS as ASPECTS
    from veraretouch.training.planner import PlannerTrainer, PlannerTrainingConfig
    from veraretouch.weights import load_models

    renderer, encoder = load_models(None, "renderer", "slider_encoder")
    trainer = PlannerTrainer(tmp_path, cached["train"], cached["validation"], renderer, encoder,
                             PlannerTrainingConfig(**TINY, aspect_confidence=True))
    trainer.train(progress=False)
    assert trainer.planner.uncertainty.weight.abs().sum() > 0
    calibration = json.loads((tmp_path / "calibration.json").read_text())
    loaded = CompactPlanner.from_pretrained(tmp_path / "compact_planner")
    assert loaded.config.aspect_confidence
    assert loaded.config.aspect_shrinkage == tuple(calibration["aspect_shrinkage"][a] for a in ASPECTS)
    for aspect, curve in calibration["validation_psnr_by_shrinkage"].items():
        assert curve[str(calibration["aspect_shrinkage"][aspect])] == max(curve.values())
