"""`veraretouch train rl`: DAPO post-training of the compact planner, resumable, single or multi-process."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from veraretouch.cli import main
from veraretouch.encoders.slider import flat_features
from veraretouch.evaluation.aesthetic import AestheticCritic
from veraretouch.operators import render
from veraretouch.plan.parameters import default_params, param_index
from veraretouch.planner.base import MODES
from veraretouch.planner.compact import CompactPlanner
from veraretouch.planner.features import image_features
from veraretouch.training.rl import RLTrainer, RLTrainingConfig
from veraretouch.weights import load_models

PIXELS = 64
TINY = {"steps": 4, "prompts_per_batch": 4, "group_size": 4, "minibatches": 2, "pixels": 32, "eval_every": 2,
        "checkpoint_every": 2, "eval_samples": 4, "warmup_steps": 1, "learning_rate": 1e-3}


def synthetic_cache(count: int, seed: int) -> dict:
    """Cached samples in `training.planner_cache.load_planner_cache`'s format: random photos, each brightened or
    warmed by a random amount (the targets), auto and style modes, instructions for style."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(count, 3, 16, 16, generator=generator).pow(1.5)
    params = default_params(count)
    params[:, param_index("Exposure2012")] = torch.rand(count, generator=generator) * 0.8
    params[:, param_index("IncrementalTemperature")] = torch.rand(count, generator=generator) * 30
    targets = render(images, params).clamp(0, 1)
    picks = torch.randint(0, 256, (PIXELS,), generator=generator)
    modes = torch.tensor([MODES.index("auto" if i % 2 else "style") for i in range(count)])
    _, slider_encoder = load_models(None, "renderer", "slider_encoder")
    return {
        "features": image_features(images),
        "input_colors": images.flatten(2)[:, :, picks].transpose(1, 2).half(),
        "target_colors": targets.flatten(2)[:, :, picks].transpose(1, 2).half(),
        "plan_features": flat_features(params.double()).float(),
        "latents": slider_encoder(params).detach(),
        "mode": modes,
        "texts": ["" if m == 0 else "brighter and warmer" for m in modes.tolist()],
        "records": [
            {"key": f"s{i}", "subset": MODES[m], "kinds": [], "preset": None} for i, m in enumerate(modes.tolist())
        ],
    }


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cache")
    for split, count, seed in (("train", 24, 0), ("validation", 8, 1)):
        torch.save({**synthetic_cache(count, seed), "split": split}, folder / f"{split}-00000.pt")
    return folder


@pytest.fixture(scope="module")
def critic_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("critic")
    torch.manual_seed(0)
    AestheticCritic().save_pretrained(folder / "aesthetic_critic")
    return folder


@pytest.fixture(scope="module")
def splits(cache_dir) -> tuple[dict, dict]:
    from veraretouch.planner.text import InstructionEmbedder
    from veraretouch.training.planner_cache import load_planner_cache

    embedder = InstructionEmbedder()
    return load_planner_cache(cache_dir, "train", embedder), load_planner_cache(cache_dir, "validation", embedder)


def trainer(out: Path, splits, critic_dir: Path, **overrides) -> RLTrainer:
    renderer, slider_encoder, planner = load_models(None, "renderer", "slider_encoder", "compact_planner")
    critic = AestheticCritic.from_pretrained(critic_dir / "aesthetic_critic")
    return RLTrainer(out, *splits, planner, renderer, slider_encoder, critic, RLTrainingConfig(**{**TINY, **overrides}))


def test_a_run_logs_plots_and_exports_a_planner(tmp_path, splits, critic_dir):
    run = trainer(tmp_path / "rl", splits, critic_dir)
    start = {name: value.clone() for name, value in run.policy.planner.state_dict().items()}
    run.train(progress=False)
    for name in ("log.csv", "steps.csv", "rewards.png", "checkpoint.pt", "training_config.json"):
        assert (tmp_path / "rl" / name).is_file(), name
    steps = list(csv.DictReader(open(tmp_path / "rl" / "steps.csv")))
    assert [int(row["step"]) for row in steps] == [1, 2, 3, 4]
    evaluations = list(csv.DictReader(open(tmp_path / "rl" / "log.csv")))
    assert [int(row["step"]) for row in evaluations] == [0, 2, 4], "the SFT start is evaluated first"
    best = json.loads((tmp_path / "rl" / "best" / "best.json").read_text())
    assert abs(best["value"] - max(float(row["psnr_auto"]) for row in evaluations)) < 0.01  # the log rounds
    assert best["step"] == int(max(evaluations, key=lambda row: float(row["psnr_auto"]))["step"])
    assert (tmp_path / "rl" / "best" / "compact_planner" / "model.safetensors").is_file()
    assert float(evaluations[-1]["psnr_auto"]) > 0 and 0 < float(evaluations[-1]["aesthetic_auto"]) < 1
    exported = CompactPlanner.from_pretrained(tmp_path / "rl" / "compact_planner")
    changed = [name for name, value in exported.state_dict().items() if not torch.equal(value, start[name])]
    assert changed, "DAPO updates must reach the planner's weights"


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, splits, critic_dir):
    straight = trainer(tmp_path / "straight", splits, critic_dir)
    straight.train(progress=False)
    first = trainer(tmp_path / "resumed", splits, critic_dir)
    first.train(progress=False, until=2)
    resumed = trainer(tmp_path / "resumed", splits, critic_dir)
    assert resumed.step == 2
    resumed.train(progress=False)
    for (name, a), b in zip(straight.policy.state_dict().items(), resumed.policy.state_dict().values()):
        torch.testing.assert_close(a, b, msg=f"{name} differs after resuming")
    assert len(list(csv.DictReader(open(tmp_path / "resumed" / "steps.csv")))) == 4


def test_cli_runs_and_refuses_missing_prompts(tmp_path, cache_dir, critic_dir, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    assert main(["train", "rl", "--photos", str(photos), "-o", str(tmp_path / "none")]) == 2
    assert "needs --cache DIR" in capsys.readouterr().err
    assert main(["train", "rl", "--photos", str(photos), "--cache", str(photos), "-o", str(tmp_path / "none")]) == 2
    assert "no cached training shards" in capsys.readouterr().err
    assert main(["train", "rl", "--photos", str(photos), "--cache", str(cache_dir), "--critic", str(critic_dir),
                 "--steps", "2", "-o", str(tmp_path / "run")]) == 0
    assert "validation auto PSNR" in capsys.readouterr().out
    assert (tmp_path / "run" / "compact_planner" / "model.safetensors").is_file()


def test_torchrun_single_node_two_processes(tmp_path, cache_dir, critic_dir):
    """The documented launch: two processes split the sampling and end with one planner."""
    photos = tmp_path / "photos"
    photos.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "veraretouch", "train", "rl", "--photos", str(photos), "--cache", str(cache_dir),
               "--critic", str(critic_dir), "--steps", "2", "-o", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    steps = list(csv.DictReader(open(tmp_path / "run" / "steps.csv")))
    assert len(steps) == 2, "only rank 0 writes the log"
    assert all(float(row["draws"]) >= 2 for row in steps), "each step joins both processes' draws"
    assert (tmp_path / "run" / "compact_planner" / "model.safetensors").is_file()


@pytest.mark.slow
def test_ray_train_single_node(tmp_path, cache_dir, critic_dir):
    pytest.importorskip("ray.train")
    photos = tmp_path / "photos"
    photos.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "veraretouch", "train", "rl", "--photos", str(photos), "--cache", str(cache_dir),
               "--critic", str(critic_dir), "--steps", "2", "--ray", "2", "-o", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(csv.DictReader(open(tmp_path / "run" / "steps.csv")))) == 2
    assert (tmp_path / "run" / "compact_planner" / "model.safetensors").is_file()
