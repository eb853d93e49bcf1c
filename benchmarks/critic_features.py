"""Which features let the aesthetic critic generalise to photos it has not seen (issue 6)?

The shipped critic reads colour statistics (`evaluation.aesthetic.critic_features`) and reaches
~70 % pairwise accuracy on the held-out photos (target 90 %). This trains the same critic (same
pairs, same seeds, same MLP and ranking loss) on three feature sets and reports held-out accuracy:

- ``colour``: `critic_features` (63 statistics);
- ``imagenet``: the per-channel mean and deviation of EfficientNet-Lite0's early activations
  (`EfficientNetLite0.activation_statistics`, 352 values): what an ImageNet network's first layers
  see of tone and colour, a prior learned from a million photos rather than from our 32;
- ``colour+imagenet``: both.

each on the critic's colour sets (1,024 sampled colours, what it scores during RL) and on square
crops at ``--image-side`` (spatial structure kept). Needs ``../shared/photos`` and the backbone extra.

Run: ``.venv/bin/python benchmarks/critic_features.py [--crops 16] [--image-side 128]``; writes
benchmarks/results/critic_features.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from veraretouch.data.colors import photo_paths
from veraretouch.data.samples import split_of
from veraretouch.encoders.efficientnet_lite import imagenet_normalize, load_efficientnet_lite0
from veraretouch.evaluation.aesthetic import CRITIC_FEATURES, critic_features
from veraretouch.training.critic import CriticTrainingConfig, PairSet, build_pairs, evaluate_critic, fit_critic

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"
FEATURE_SETS = ("colour", "imagenet", "colour+imagenet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    parser.add_argument("--crops", type=int, default=CriticTrainingConfig.crops_per_photo, help="crops per photo")
    parser.add_argument("--image-side", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    network = load_efficientnet_lite0()

    @torch.no_grad()
    def both(images: torch.Tensor) -> torch.Tensor:
        return torch.cat([critic_features(images), network.activation_statistics(imagenet_normalize(images))], 1)

    paths = photo_paths(args.photos)
    splits = {"train": [p for p in paths if split_of(p.name) == "train"],
              "held_out": [p for p in paths if split_of(p.name) != "train"]}
    config = CriticTrainingConfig(crops_per_photo=args.crops, seed=args.seed)
    columns = {"colour": slice(0, CRITIC_FEATURES), "imagenet": slice(CRITIC_FEATURES, None),
               "colour+imagenet": slice(None)}
    results = {}
    for inputs, side in (("colour sets", None), (f"{args.image_side} px crops", args.image_side)):
        started = time.perf_counter()
        pairs = {split: build_pairs(photos, args.crops, args.seed + index, config.degradations, True, both, side)
                 for index, (split, photos) in enumerate(splits.items())}
        seconds = time.perf_counter() - started
        for name in FEATURE_SETS:
            def subset(p: PairSet) -> PairSet:
                return PairSet(p.features[:, columns[name]], p.better, p.worse, p.pair_kinds, p.image_kinds)

            critic = fit_critic(subset(pairs["train"]), config)
            train, held_out = (
                evaluate_critic(critic, subset(pairs["train"])),
                evaluate_critic(critic, subset(pairs["held_out"])),
            )
            results[f"{inputs}, {name}"] = {"train": train["accuracy"], "held_out": held_out["accuracy"],
                                             "held_out_finished_vs_worse": held_out["accuracy_finished_vs_worse"],
                                             "held_out_by_kind": held_out["accuracy_by_kind"],
                                             "feature_seconds": round(seconds, 1)}
    out = ROOT / "benchmarks" / "results" / "critic_features.json"
    out.write_text(json.dumps({"photos": {k: len(v) for k, v in splits.items()}, "crops_per_photo": args.crops,
                               "seed": args.seed, "results": results}, indent=2) + "\n")
    kinds = ("degraded", "mild", "mild>degraded", "warm cast", "blown")
    print("| inputs, features | train | held-out | held-out finished vs worse | " + " | ".join(kinds) + " |")
    print("|---" * (4 + len(kinds)) + "|")
    for name, row in results.items():
        print(f"| {name} | {row['train']:.2f} | {row['held_out']:.2f} | {row['held_out_finished_vs_worse']:.2f} | "
              + " | ".join(f"{row['held_out_by_kind'][k]:.2f}" for k in kinds) + " |")


if __name__ == "__main__":
    main()
