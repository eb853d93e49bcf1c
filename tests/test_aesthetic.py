"""The aesthetic critic: pairs, training on synthetic photos, ranking, save/load."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from veraretouch.data.samples import split_of
from veraretouch.evaluation.aesthetic import CRITIC_FEATURES, AestheticCritic, colors_as_image, critic_features
from veraretouch.training.critic import (
    OVERPROCESSED_KINDS,
    CriticTrainingConfig,
    crop_variants,
    posterise,
    train_critic,
)


def synthetic_photo(seed: int, side: int = 64) -> np.ndarray:
    """A smooth, moderately colourful 'photo': a low-resolution random field upsampled, in mid tones."""
    generator = torch.Generator().manual_seed(seed)
    field = torch.rand(1, 3, 3, 3, generator=generator)
    smooth = torch.nn.functional.interpolate(field, size=(side, side), mode="bicubic", align_corners=True)[0]
    grey = smooth.mean(dim=0, keepdim=True)
    image = (grey + 0.5 * (smooth - grey)).clamp(0, 1) * 0.7 + 0.15
    return (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory) -> Path:
    """Synthetic photos named so both the train and the held-out split get some."""
    folder = tmp_path_factory.mktemp("photos")
    splits = {"train": 0, "held_out": 0}
    index = 0
    while splits["train"] < 12 or splits["held_out"] < 4:
        name = f"synthetic-{index}.png"
        split = "train" if split_of(name) == "train" else "held_out"
        if splits[split] < (12 if split == "train" else 4):
            Image.fromarray(synthetic_photo(index)).save(folder / name)
            splits[split] += 1
        index += 1
    return folder


def test_colour_sets_read_as_images():
    colors = torch.rand(2, 1024, 3)
    image = colors_as_image(colors)
    assert image.shape == (2, 3, 32, 32)
    assert torch.equal(image.flatten(2).transpose(1, 2), colors)
    assert critic_features(colors).shape == (2, CRITIC_FEATURES)
    assert colors_as_image(torch.rand(1, 60, 3)).shape == (1, 3, 6, 10)


def test_critic_features_end_with_the_clipping_shares():
    black, white = torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)
    assert critic_features(black)[0, -2:].tolist() == [0.0, 1.0]          # any channel at 255, all at 0
    assert critic_features(white)[0, -2:].tolist() == [1.0, 0.0]


def test_crop_variants_are_worse_versions_of_each_crop():
    crops = torch.rand(3, 3, 8, 8) * 0.6 + 0.2
    variants = crop_variants(crops, torch.Generator().manual_seed(0), degradations=2)
    assert variants["degraded"].shape == variants["mild"].shape == (6, 3, 8, 8)
    assert all(variants[kind].shape == (3, 3, 8, 8) for kind in OVERPROCESSED_KINDS)
    mild_change = (variants["mild"] - crops.repeat_interleave(2, 0)).abs().mean()
    strong_change = (variants["degraded"] - crops.repeat_interleave(2, 0)).abs().mean()
    assert 0 < mild_change < strong_change
    assert torch.equal(variants["finished"], crops)
    assert len(posterise(crops, 3).unique()) <= 3


def test_trained_critic_ranks_clean_photos_above_overprocessed_ones(photo_dir, tmp_path):
    torch.manual_seed(0)
    config = CriticTrainingConfig(crops_per_photo=2, steps=200, batch_size=128, hidden=32)
    critic, results = train_critic(photo_dir, tmp_path / "run", config, progress=False)
    held_out = results["held_out"]
    assert results["photos"] == {"train": 12, "held_out": 4}
    assert held_out["accuracy_by_kind"]["posterised"] > 0.5
    assert held_out["accuracy_by_kind"]["oversaturated"] > 0.5
    assert held_out["accuracy_finished_vs_overprocessed"] > 0.6
    rewards = held_out["mean_reward_by_image_kind"]
    assert rewards["finished"] > rewards["posterised"] and rewards["finished"] > rewards["oversaturated"]
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["held_out"]["pairs"] == held_out["pairs"] > 0

    loaded = AestheticCritic.from_pretrained(tmp_path / "run" / "aesthetic_critic")
    images = torch.rand(2, 3, 16, 16)
    assert torch.allclose(loaded.score(images), critic.eval().score(images))
    assert float(loaded.finished_score) == pytest.approx(results["finished_score"])


def test_pairs_of_image_crops_with_another_feature_function_keep_the_pair_layout(photo_dir):
    from veraretouch.training.critic import CriticTrainingConfig, build_pairs, fit_critic

    photos = sorted(photo_dir.iterdir())[:2]
    colour = build_pairs(photos, 2, seed=0)
    seen = []

    def channel_means(images):
        seen.append(images.shape[-2:])
        return images.mean(dim=(2, 3))

    crops = build_pairs(photos, 2, seed=0, features_of=channel_means, image_side=24)
    assert set(seen) == {(24, 24)}, "square crops of the asked side"
    assert crops.features.shape == (len(colour.features), 3)
    assert torch.equal(crops.better, colour.better) and torch.equal(crops.worse, colour.worse)
    assert crops.pair_kinds == colour.pair_kinds and crops.image_kinds == colour.image_kinds
    critic = fit_critic(crops, CriticTrainingConfig(steps=2, batch_size=8))
    assert critic.config.features == 3, "the critic takes the width of the features it is trained on"
