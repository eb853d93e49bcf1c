"""Training the aesthetic critic (`evaluation.aesthetic.AestheticCritic`) on ranked pairs.

No pretrained aesthetic model can be had offline, so DAPO-AE's aesthetic reward comes from a small
critic trained on ranked pairs made from finished photos:

- a finished crop beats its degraded versions (`data.degrade.sample_degradations`: the planner's
  own problems, exposure, contrast, casts, bands) and a mildly degraded version beats the strongly
  degraded one (same plan at `MILD_SHARE` of its strength), so partial fixes earn partial credit;
- a finished crop beats badly over-processed versions of itself (`OVERPROCESSING`: saturation and
  vibrance pushed to +60..100, crushed blacks with contrast +80..100, blown highlights, heavy
  temperature / tint casts, posterisation to 3-4 levels per channel). These are what a policy
  maximising a naive "vivid and contrasty" score would drift to; ranking them low is the guard
  against reward hacking, and the held-out report says whether it holds.

The critic reads `evaluation.aesthetic.critic_features`; the loss is the logistic ranking loss
``softplus(-(s(better) - s(worse)))``, and ``s_finished`` (the reward's zero point) is the mean
score of the training photos' finished crops.

Photos are split by `data.samples.split_of` (train vs validation + test), so held-out numbers are
on photos the critic never saw. ``python -m veraretouch.training.critic --photos DIR -o RUN``
trains, writes ``RUN/aesthetic_critic/`` and ``RUN/results.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data.colors import photo_paths
from ..data.degrade import sample_degradations, uniform
from ..data.samples import crop_image, split_of
from ..data.shards import load_photo
from ..evaluation.aesthetic import (
    CRITIC_FEATURES,
    AestheticCritic,
    AestheticCriticConfig,
    colors_as_image,
    critic_features,
)
from ..operators import render
from ..plan.parameters import default_params, param_index
from ..planner.features import FEATURE_SIDE

MILD_SHARE = 0.35
"""A mildly degraded variant applies the degradation plan at this share of its strength."""
OVERPROCESSING = {
    "oversaturated": {"Saturation": (60.0, 100.0), "Vibrance": (60.0, 100.0)},
    "crushed": {"Contrast2012": (80.0, 100.0), "Blacks2012": (-100.0, -60.0), "Shadows2012": (-80.0, -40.0)},
    "blown": {"Exposure2012": (1.2, 2.5), "Whites2012": (50.0, 100.0)},
    "warm cast": {"IncrementalTemperature": (60.0, 100.0), "IncrementalTint": (-30.0, 30.0)},
    "cool cast": {"IncrementalTemperature": (-100.0, -60.0), "IncrementalTint": (-30.0, 30.0)},
    "tint cast": {"IncrementalTint": (60.0, 100.0)},
}
"""Over-processing as slider ranges (uniform draws; a tint cast's sign is drawn too)."""
POSTERISE_LEVELS = (3, 4)
OVERPROCESSED_KINDS = (*OVERPROCESSING, "posterised")
LOAD_SIDE = 256
"""Photos are loaded at this long side; crops are then area-resized to `FEATURE_SIDE`."""
CRITIC_COLORS = 1024
"""Colours sampled per crop for training: the planner cache's ``PIXELS``, so the critic learns on
the colour sets it scores during RL (and rendering and features cost a sixth of a 96 px crop's)."""
CROP_RANGE = (0.35, 1.0)
"""Crop width and height as shares of the photo's (wider than the data set's: any framing counts)."""


def ranking_loss(better: torch.Tensor, worse: torch.Tensor) -> torch.Tensor:
    """Logistic (Bradley-Terry) pairwise loss ``mean softplus(-(s_better - s_worse))``."""
    return F.softplus(worse - better).mean()


def overprocessing_params(kind: str, generator: torch.Generator) -> torch.Tensor:
    """``(P,)`` plan of one `OVERPROCESSING` kind with magnitudes drawn in its ranges."""
    params = default_params()
    for name, (low, high) in OVERPROCESSING[kind].items():
        value = uniform(low, high, generator)
        if kind == "tint cast" and float(torch.rand((), generator=generator)) < 0.5:
            value = -value
        params[param_index(name)] = value
    return params


def posterise(image: torch.Tensor, levels: int | torch.Tensor) -> torch.Tensor:
    """Quantise each channel to ``levels`` evenly spaced values (a number, or per image ``(B, 1, 1, 1)``)."""
    return (image * (levels - 1)).round() / (levels - 1)


def random_crop_box(generator: torch.Generator) -> tuple[float, float, float, float]:
    low, high = CROP_RANGE
    width, height = (uniform(low, high, generator) for _ in range(2))
    left = (1 - width) * float(torch.rand((), generator=generator))
    top = (1 - height) * float(torch.rand((), generator=generator))
    return left, top, left + width, top + height


def sample_colors_of(image: torch.Tensor, generator: torch.Generator, count: int = CRITIC_COLORS) -> torch.Tensor:
    """``count`` random pixels of a ``(1, 3, H, W)`` image, as a ``(1, 3, h, w)`` colour image (`colors_as_image`)."""
    colors = image.reshape(3, -1)[:, torch.randint(0, image.shape[-1] * image.shape[-2], (count,), generator=generator)]
    return colors_as_image(colors.T[None])


def crop_variants(crops: torch.Tensor, generator: torch.Generator, degradations: int = 2) -> dict[str, torch.Tensor]:
    """Finished ``(C, 3, h, w)`` crops (or colour images) and their worse versions, by kind, rows
    crop-major: ``finished`` ``(C, ...)``; ``degraded`` and ``mild`` ``(C * degradations, ...)``
    (mild row i is degraded row i at `MILD_SHARE`); one per crop of each `OVERPROCESSED_KINDS`."""
    count = len(crops)
    plans = sample_degradations(count * degradations, generator).params
    identity = default_params(len(plans))
    mild = identity + MILD_SHARE * (plans - identity)
    overdone = torch.stack([overprocessing_params(kind, generator) for kind in OVERPROCESSING for _ in range(count)])
    params = torch.cat([plans, mild, overdone])
    sources = torch.cat([crops.repeat_interleave(degradations, dim=0)] * 2 + [crops] * len(OVERPROCESSING))
    rendered = render(sources, params).float().clamp(0, 1)
    levels = torch.tensor(POSTERISE_LEVELS)[torch.randint(len(POSTERISE_LEVELS), (count,), generator=generator)]
    variants = {"finished": crops, "degraded": rendered[:len(plans)], "mild": rendered[len(plans):2 * len(plans)]}
    for index, kind in enumerate(OVERPROCESSING):
        start = 2 * len(plans) + index * count
        variants[kind] = rendered[start:start + count]
    variants["posterised"] = posterise(crops, levels.reshape(-1, 1, 1, 1).float())
    return variants


@dataclass
class PairSet:
    """Features of every image and ranked pairs ``(better, worse)`` of row indices, each pair tagged
    with its kind (the worse image's kind, or ``"mild>degraded"``)."""

    features: torch.Tensor
    better: torch.Tensor
    worse: torch.Tensor
    pair_kinds: list[str]
    image_kinds: list[str]


def square_crop(photo: torch.Tensor, box: tuple[float, float, float, float], side: int) -> torch.Tensor:
    """A crop of ``photo`` resized to ``(1, 3, side, side)`` (aspect not kept: for statistics)."""
    crop = crop_image(photo, box, side)
    return F.interpolate(crop, size=(side, side), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def crop_sample(photo: torch.Tensor, generator: torch.Generator, image_side: int | None = None) -> torch.Tensor:
    """One random crop of ``photo``: a colour set of `CRITIC_COLORS` (as a colour image), or with
    ``image_side`` a square image of that side."""
    box = random_crop_box(generator)
    if image_side:
        return square_crop(photo, box, image_side)
    return sample_colors_of(crop_image(photo, box, FEATURE_SIDE), generator)


def build_pairs(photos: list[Path], crops_per_photo: int, seed: int, degradations: int = 2,
                progress: bool = False, features_of=critic_features, image_side: int | None = None) -> PairSet:
    """Crops of each photo as colour sets (`sample_colors_of`; or, with ``image_side``, as square
    images of that side), their variants (`crop_variants`), ``features_of`` them and ranked pairs.
    The same seed draws the same crops and variants whatever ``features_of`` is."""
    from tqdm import tqdm

    generator = torch.Generator().manual_seed(seed)
    features, image_kinds, ranked = [], [], []
    for path in tqdm(photos, desc="critic pairs", unit="photo", disable=not progress):
        photo = load_photo(path, LOAD_SIDE)
        crops = torch.cat([crop_sample(photo, generator, image_side) for _ in range(crops_per_photo)])
        start: dict[str, int] = {}
        for kind, images in crop_variants(crops, generator, degradations).items():
            start[kind] = len(image_kinds)
            features.append(features_of(images))
            image_kinds += [kind] * len(images)
        for crop in range(crops_per_photo):
            finished = start["finished"] + crop
            for kind in ("degraded", "mild"):
                rows = range(start[kind] + crop * degradations, start[kind] + (crop + 1) * degradations)
                ranked += [(finished, row, kind) for row in rows]
                if kind == "degraded":
                    ranked += [(row - start["degraded"] + start["mild"], row, "mild>degraded") for row in rows]
            ranked += [(finished, start[kind] + crop, kind) for kind in OVERPROCESSED_KINDS]
    better, worse, pair_kinds = zip(*ranked) if ranked else ((), (), ())
    return PairSet(torch.cat(features) if features else torch.zeros(0, CRITIC_FEATURES),
                   torch.tensor(better, dtype=torch.long), torch.tensor(worse, dtype=torch.long), list(pair_kinds),
                   image_kinds)


@dataclass
class CriticTrainingConfig:
    """Defaults chosen by 4-fold cross-validation over the training photos (`docs/rl.md`): a small,
    regularised critic generalises to unseen photos best."""

    crops_per_photo: int = 16
    degradations: int = 2
    steps: int = 300
    batch_size: int = 512
    learning_rate: float = 2e-3
    weight_decay: float = 0.1
    hidden: int = 32
    layers: int = 1
    dropout: float = 0.3
    seed: int = 0


def fit_critic(pairs: PairSet, config: CriticTrainingConfig) -> AestheticCritic:
    """Train a critic on ranked pairs (AdamW, cosine-decayed learning rate); sets ``finished_score``."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    critic = AestheticCritic(AestheticCriticConfig(features=pairs.features.shape[1], hidden=config.hidden,
                                                   layers=config.layers, dropout=config.dropout))
    critic.set_feature_statistics(pairs.features)
    optimizer = torch.optim.AdamW(critic.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(config.steps, 1))
    critic.train()
    for _ in range(config.steps):
        batch = torch.randint(0, len(pairs.better), (config.batch_size,), generator=generator)
        loss = ranking_loss(critic(pairs.features[pairs.better[batch]]), critic(pairs.features[pairs.worse[batch]]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    critic.eval()
    with torch.no_grad():
        finished = torch.tensor([kind == "finished" for kind in pairs.image_kinds])
        critic.finished_score.copy_(critic(pairs.features[finished]).mean())
    return critic


@torch.no_grad()
def evaluate_critic(critic: AestheticCritic, pairs: PairSet) -> dict:
    """Pairwise ranking accuracy (overall, finished-vs-worse, per kind) and mean reward per image kind."""
    critic.eval()
    scores = critic(pairs.features)
    rewards = torch.sigmoid(scores - critic.finished_score)
    correct = (scores[pairs.better] > scores[pairs.worse]).float()
    kinds = sorted(set(pairs.pair_kinds))
    by_kind = {kind: torch.tensor([k == kind for k in pairs.pair_kinds]) for kind in kinds}
    finished_pairs = torch.tensor([kind != "mild>degraded" for kind in pairs.pair_kinds])
    overprocessed = torch.tensor([kind in OVERPROCESSED_KINDS for kind in pairs.pair_kinds])
    image_kinds = sorted(set(pairs.image_kinds))
    return {
        "pairs": len(correct),
        "accuracy": float(correct.mean()),
        "accuracy_finished_vs_worse": float(correct[finished_pairs].mean()),
        "accuracy_finished_vs_overprocessed": float(correct[overprocessed].mean()),
        "accuracy_by_kind": {kind: float(correct[mask].mean()) for kind, mask in by_kind.items()},
        "mean_reward_by_image_kind": {kind: float(rewards[torch.tensor([k == kind for k in pairs.image_kinds])].mean())
                                      for kind in image_kinds},
    }


def train_critic(photos_dir: Path, out: Path | None = None, config: CriticTrainingConfig | None = None,
                 progress: bool = True) -> tuple[AestheticCritic, dict]:
    """Build pairs from the train photos and the held-out (validation + test) photos, train, evaluate
    on both; with ``out``, save ``out/aesthetic_critic/`` and ``out/results.json``."""
    config = config or CriticTrainingConfig()
    started = time.perf_counter()
    paths = photo_paths(photos_dir)
    train_photos = [p for p in paths if split_of(p.name) == "train"]
    held_out_photos = [p for p in paths if split_of(p.name) != "train"]
    if not train_photos or not held_out_photos:
        raise ValueError(f"{photos_dir}: need photos in both the train and the held-out split")
    train_pairs = build_pairs(train_photos, config.crops_per_photo, config.seed, config.degradations, progress)
    held_out_pairs = build_pairs(held_out_photos, config.crops_per_photo, config.seed + 1, config.degradations,
                                 progress)
    features_seconds = time.perf_counter() - started
    critic = fit_critic(train_pairs, config)
    results = {
        "photos": {"train": len(train_photos), "held_out": len(held_out_photos)},
        "images": {"train": len(train_pairs.features), "held_out": len(held_out_pairs.features)},
        "train": evaluate_critic(critic, train_pairs),
        "held_out": evaluate_critic(critic, held_out_pairs),
        "finished_score": float(critic.finished_score),
        "seconds": {"features": round(features_seconds, 1), "total": round(time.perf_counter() - started, 1)},
        "config": asdict(config),
    }
    if out is not None:
        out = Path(out)
        critic.save_pretrained(out / "aesthetic_critic")
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return critic, results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the aesthetic critic on finished photos (DAPO-AE's reward).")
    parser.add_argument("--photos", type=Path, required=True, help="folder of finished photos")
    parser.add_argument("-o", "--out", type=Path, required=True, help="writes aesthetic_critic/ and results.json")
    parser.add_argument("--crops", type=int, default=CriticTrainingConfig.crops_per_photo, help="crops per photo")
    parser.add_argument("--steps", type=int, default=CriticTrainingConfig.steps)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = CriticTrainingConfig(crops_per_photo=args.crops, steps=args.steps, seed=args.seed)
    _, results = train_critic(args.photos, args.out, config)
    held_out = results["held_out"]
    print(json.dumps({"held_out_accuracy": held_out["accuracy"],
                      "held_out_accuracy_finished_vs_worse": held_out["accuracy_finished_vs_worse"],
                      "held_out_mean_reward": held_out["mean_reward_by_image_kind"],
                      "seconds": results["seconds"]}, indent=2))


if __name__ == "__main__":
    main()
