"""RL against SFT (issue 6): the compact planner after `veraretouch train rl` against the planner it
started from, on the same held-out samples, with bootstrap 95 % intervals of the paired difference.

Run: ``.venv/bin/python benchmarks/rl.py --data data/v1 --rl runs/rl [--sft DIR] [--critic DIR]``
(``--sft``: a run folder with ``compact_planner/``, default the shipped planner; ``--critic``: the
aesthetic critic, default ``<rl>/critic``). Prints Markdown (paste into docs/benchmarks.md) and
writes benchmarks/results/rl.json. Results are rendered as users get them (planner on a 256 px
copy, 65^3 LUT on the whole image at ``--side``).

Sections, each for both planners on identical inputs:
- auto, test split: PSNR and CIEDE2000 against the target, and the critic's reward of the result
  (the aesthetic score), per sample;
- param, test split: PSNR against the target (param fidelity);
- style, held-out presets: CIEDE2000 to the preset render; and the instruction suite's passes.

Intervals: the mean paired difference RL - SFT, resampling samples (10,000 draws) and, because
samples of one photo are correlated, resampling photos (cluster bootstrap). A difference is
"outside noise" when the photo-level interval excludes 0.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from planner import PHOTOS, SUITE, statistic, test_pairs  # noqa: E402  (the planner benchmark's sets)

from veraretouch.data.samples import split_of  # noqa: E402
from veraretouch.data.shards import load_photo  # noqa: E402
from veraretouch.evaluation.aesthetic import AestheticCritic  # noqa: E402
from veraretouch.evaluation.bootstrap import paired_bootstrap  # noqa: E402
from veraretouch.evaluation.metrics import evaluate_pair  # noqa: E402
from veraretouch.planner.base import PLANNER_SIDE  # noqa: E402
from veraretouch.planner.features import planner_copy  # noqa: E402
from veraretouch.planner.pipeline import PlanningPipeline  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def dataset_rows(pipelines: dict, data: Path, subset: str, limit: int, side: int, critic) -> tuple[dict, list[str]]:
    """Per-sample metrics of each planner (and doing nothing) on the test split's ``subset`` samples."""
    rows: dict[str, dict[str, list[float]]] = {name: {} for name in [*pipelines, "none"]}
    photos = []
    for record, photo, source, target in test_pairs(data, subset, limit, side):
        results = {"none": source}
        for name, pipeline in pipelines.items():
            instruction = None if subset == "auto" else record.get("instruction")
            results[name] = pipeline.plan(planner_copy(source, PLANNER_SIDE), subset, instruction).apply_tensor(source)
        for name, image in results.items():
            metrics = evaluate_pair(image.clamp(0, 1), target)
            metrics["aesthetic"] = float(critic.reward(image.clamp(0, 1))[0].detach())
            for key, value in metrics.items():
                rows[name].setdefault(key, []).append(min(value, 100.0))
        photos.append(photo)
    return rows, photos


def suite_passes(pipeline, side: int) -> int:
    photos = [load_photo(p, side) for p in sorted(PHOTOS.iterdir())
              if p.suffix.lower() in (".jpg", ".png") and split_of(p.name) != "train"]
    passed = 0
    for prompt, name, direction in SUITE:
        changes = [
            statistic(pipeline.plan(planner_copy(photo, PLANNER_SIDE), "style", prompt).apply_tensor(photo), name)
            - statistic(photo, name)
            for photo in photos
        ]
        right = np.mean([np.sign(c) == direction for c in changes])
        passed += bool(np.sign(np.mean(changes)) == direction and right >= 0.5)
    return passed


def compare(rows: dict, photos: list[str], metric: str) -> dict:
    rl, sft = np.array(rows["rl"][metric]), np.array(rows["sft"][metric])
    return {"rl": float(rl.mean()), "sft": float(sft.mean()), "none": float(np.mean(rows["none"][metric])),
            "rl_minus_sft": paired_bootstrap(rl - sft, photos)}


def line(label: str, result: dict, unit: str = "") -> str:
    diff = result["rl_minus_sft"]
    low, high = diff["groups_ci"]
    sample_low, sample_high = diff["samples_ci"]
    return (f"| {label} | {result['none']:.3f}{unit} | {result['sft']:.3f}{unit} | {result['rl']:.3f}{unit} | "
            f"{diff['mean']:+.3f} | [{sample_low:+.3f}, {sample_high:+.3f}] | [{low:+.3f}, {high:+.3f}] |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--rl", type=Path, required=True, help="the RL run folder (compact_planner/)")
    parser.add_argument("--sft", type=Path, default=None, help="the SFT run folder (default: the shipped planner)")
    parser.add_argument("--critic", type=Path, default=None, help="default: <rl>/critic")
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--auto-samples", type=int, default=200)
    parser.add_argument("--param-samples", type=int, default=100)
    parser.add_argument("--style-samples", type=int, default=100)
    parser.add_argument("--skip-suite", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    critic_dir = args.critic or args.rl / "critic"
    critic = AestheticCritic.from_pretrained(
        critic_dir / "aesthetic_critic" if (critic_dir / "aesthetic_critic").is_dir() else critic_dir
    )
    pipelines = {"sft": PlanningPipeline("compact", models=args.sft), "rl": PlanningPipeline("compact", models=args.rl)}
    results: dict = {"side": args.side, "rl": str(args.rl), "sft": str(args.sft or "shipped")}
    header = ("| metric | no edit | SFT | RL | RL - SFT | 95 % CI (samples) | 95 % CI (photos) |\n"
              "|---|---|---|---|---|---|---|")
    auto, photos = dataset_rows(pipelines, args.data, "auto", args.auto_samples, args.side, critic)
    results["auto"] = {m: compare(auto, photos, m) for m in ("psnr", "delta_e2000", "aesthetic")}
    print(f"### Auto mode, test split ({len(photos)} samples on {len(set(photos))} photos, {args.side} px)\n\n{header}")
    print(line("PSNR dB", results["auto"]["psnr"]))
    print(line("ΔE00", results["auto"]["delta_e2000"]))
    print(line("critic reward", results["auto"]["aesthetic"]) + "\n")
    param, param_photos = dataset_rows(pipelines, args.data, "param", args.param_samples, args.side, critic)
    results["param"] = {"psnr": compare(param, param_photos, "psnr")}
    print(
        f"### Param mode, test split ({len(param_photos)} samples)\n\n{header}\n"
        f"{line('PSNR dB', results['param']['psnr'])}\n"
    )
    style, style_photos = dataset_rows(pipelines, args.data, "style", args.style_samples, args.side, critic)
    results["style"] = {"delta_e2000": compare(style, style_photos, "delta_e2000")}
    for name in ("sft", "rl"):
        results["style"][f"delta_e_reduction_{name}"] = (
            1 - results["style"]["delta_e2000"][name] / results["style"]["delta_e2000"]["none"]
        )
    print(f"### Style mode, held-out presets ({len(style_photos)} samples)\n\n{header}\n"
          f"{line('ΔE00', results['style']['delta_e2000'])}\n")
    if not args.skip_suite:
        results["suite"] = {name: suite_passes(pipeline, args.side) for name, pipeline in pipelines.items()}
        print(f"### Instruction suite: SFT {results['suite']['sft']} / RL {results['suite']['rl']} of {len(SUITE)}\n")
    out = ROOT / "benchmarks" / "results" / "rl.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(out)


if __name__ == "__main__":
    main()
