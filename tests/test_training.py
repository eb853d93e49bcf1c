"""Training runs: losses fall, runs stop and resume where they left off, outputs load back."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from veraretouch.encoders import ReferenceEncoder, SliderEncoder
from veraretouch.renderer import RendererConfig, RetouchRenderer
from veraretouch.training.loop import ScheduleConfig, learning_rate_at
from veraretouch.training.reference import ReferenceTrainingConfig, random_crops, train_reference_encoder
from veraretouch.training.renderer import RendererTrainer, RendererTrainingConfig, sample_aspect_masks, train_renderer

TINY_RENDERER = dict(hidden_widths=(16, 16), aspect_dim=8, encoder_hidden=16, plans_per_step=4, colors_per_step=64,
                     hue_harmonics=2, warmup_steps=2, eval_every=3, checkpoint_every=3, eval_plans=8, eval_colors=512)


def test_schedule_warms_up_then_decays_to_the_final_rate():
    config = ScheduleConfig(steps=100, learning_rate=1.0, final_learning_rate=0.01, warmup_steps=10)
    rates = [learning_rate_at(config, step) for step in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[10:], rates[11:]))
    assert learning_rate_at(config, 100) == pytest.approx(0.01)


def test_aspect_masks_keep_a_strict_non_empty_subset_when_masked():
    masks = sample_aspect_masks(2000, 0.5, torch.Generator().manual_seed(0))
    kept = masks.sum(1)
    assert set(kept.tolist()) == {1.0, 2.0, 3.0}
    assert 0.4 < (kept < 3).float().mean() < 0.6


def test_renderer_training_stops_resumes_and_exports(tmp_path):
    config = RendererTrainingConfig(steps=6, **TINY_RENDERER)
    train_renderer(tmp_path, None, None, config, progress=False, until=3)
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [int(r["step"]) for r in rows] == [3]
    trainer = train_renderer(tmp_path, None, None, config, progress=False)
    assert trainer.step == 6
    assert [int(r["step"]) for r in csv.DictReader(open(tmp_path / "log.csv"))] == [3, 6]
    renderer = RetouchRenderer.from_pretrained(tmp_path / "renderer")
    assert renderer.config == RendererConfig([16, 16], 8, "film", 2)
    SliderEncoder.from_pretrained(tmp_path / "slider_encoder")
    assert (tmp_path / "loss.png").stat().st_size > 0


def test_renderer_training_improves_held_out_fidelity(tmp_path):
    config = RendererTrainingConfig(steps=40, learning_rate=5e-3, **{**TINY_RENDERER, "plans_per_step": 8})
    trainer = RendererTrainer(tmp_path, None, None, config)
    first = trainer.evaluate()["psnr_paper"]
    for _ in range(40):
        loss = trainer.training_loss()
        trainer.optimizer.zero_grad()
        loss.backward()
        trainer.optimizer.step()
    assert trainer.evaluate()["psnr_paper"] > first + 1.0


def write_photos(folder, count: int = 3) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        gradient = np.linspace(0, 255, 48, dtype=np.float64)
        base = rng.uniform(0.3, 1.0, 3)
        pixels = (gradient[:, None, None] * base[None, None, :] + rng.uniform(0, 40, (48, 48, 3))).clip(0, 255)
        Image.fromarray(pixels.astype(np.uint8)).save(folder / f"photo{index}.png")


def test_random_crops_never_pair_a_photo_with_itself():
    thumbnails = torch.rand(3, 3, 20, 20)
    generator = torch.Generator().manual_seed(0)
    crops, first = random_crops(thumbnails, 50, 8, generator)
    _, second = random_crops(thumbnails, 50, 8, generator, exclude=first)
    assert crops.shape == (50, 3, 8, 8) and not (first == second).any()


def test_reference_training_runs_resumes_and_exports(tmp_path):
    write_photos(tmp_path / "photos")
    renderer = RetouchRenderer(RendererConfig([16, 16], 8))
    config = ReferenceTrainingConfig(steps=4, plans_per_step=4, loss_colors=32, sample_side=8, warmup_steps=1,
                                     eval_every=2, checkpoint_every=2)
    train_reference_encoder(tmp_path / "run", renderer, tmp_path / "photos", None, config, progress=False, until=2)
    trainer = train_reference_encoder(tmp_path / "run", renderer, tmp_path / "photos", None, config, progress=False)
    assert trainer.step == 4
    encoder = ReferenceEncoder.from_pretrained(tmp_path / "run" / "reference_encoder")
    assert encoder.config.aspect_dim == 8
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert [int(r["step"]) for r in rows] == [2, 4] and all(float(r["psnr_pair"]) > 0 for r in rows)


def test_reference_training_needs_two_photos(tmp_path):
    write_photos(tmp_path / "photos", count=1)
    with pytest.raises(ValueError, match="two training photos"):
        train_reference_encoder(tmp_path / "run", RetouchRenderer(RendererConfig([8], 4)), tmp_path / "photos", None,
                                ReferenceTrainingConfig(steps=1), progress=False)
