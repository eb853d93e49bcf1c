"""Compact-planner configurations for auto mode on data v2 (issue 14): sizes, features, confidence.

Each variant trains `training.planner.train_planner` (the default `PlannerTrainingConfig` plus the
variant's changes) on a planner cache of data v2, calibrates on the validation photos as export does
(per-aspect shrinkage when the variant has the confidence head, then the auto plan scale), and is
scored on the validation split only: auto PSNR (colour pairs) by what made the input (slider
degradation, camera faults, nothing), against doing nothing. The test photos are never looked at
here; `benchmarks/auto_heldout.py` scores the chosen planner on them.

Run: ``.venv/bin/python benchmarks/auto_variants.py --cache data/v2-planner-cache [NAME ...]``
(default: all). Writes ``runs/auto-<name>/`` and adds each result to benchmarks/results/auto_variants.json.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from veraretouch.planner.base import MODES
from veraretouch.training.planner import PlannerTrainingConfig, plan_psnr, psnr_of_colors, train_planner
from veraretouch.weights import load_models

ROOT = Path(__file__).resolve().parents[1]
ROBUST = ("lightness_quantiles", "rgb_moments", "zone_casts", "chroma", "clipping")
ILLUMINANT = (*ROBUST, "illuminant", "exposure_key")
ALL_COLOUR = (*ILLUMINANT, "hue_bands", "ab_histogram", "lightness_histogram", "rgb_histograms")
VARIANTS = {
    "v2-recipe": {},
    "confidence": {"aspect_confidence": True},
    "illuminant": {"feature_groups": ILLUMINANT, "aspect_confidence": True},
    "illuminant-128": {"feature_groups": ILLUMINANT, "hidden": 128, "aspect_confidence": True},
    "illuminant-512x2": {"feature_groups": ILLUMINANT, "hidden": 512, "blocks": 2, "aspect_confidence": True},
    "colour-features-128": {"feature_groups": ALL_COLOUR, "hidden": 128, "aspect_confidence": True},
    "illuminant-image-loss": {"feature_groups": ILLUMINANT, "image_weight": 1.0, "aspect_confidence": True},
    "illuminant-photos-32": {"feature_groups": ILLUMINANT, "max_train_photos": 32, "aspect_confidence": True},
    "illuminant-photos-100": {"feature_groups": ILLUMINANT, "max_train_photos": 100, "aspect_confidence": True},
}


@torch.no_grad()
def auto_by_source(planner, data: dict, renderer, slider_encoder) -> dict[str, dict[str, float]]:
    """Validation auto PSNR of the (calibrated) planner and of no edit, per input source."""
    planner.eval()
    auto = (data["mode"] == MODES.index("auto")).nonzero().flatten().tolist()
    sources = sorted({data["records"][row]["source"] for row in auto})
    scores = {}
    for source in ("all", *sources):
        rows = torch.tensor([row for row in auto if source == "all" or data["records"][row]["source"] == source])
        raw = planner(data["features"][rows], data["text"][rows], data["mode"][rows])
        inputs, targets = data["input_colors"][rows].float(), data["target_colors"][rows].float()
        scores[source] = {"ours": round(float(plan_psnr(raw, inputs, targets, renderer, slider_encoder).mean()), 2),
                          "none": round(float(psnr_of_colors(inputs, targets).mean()), 2), "n": len(rows)}
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="planner cache of data v2")
    parser.add_argument("--steps", type=int, default=None, help="override the schedule length")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "auto_variants.json",
                        help="JSON file the results are added to (one per process when running several)")
    parser.add_argument("names", nargs="*", help=f"variants (default: all): {', '.join(VARIANTS)}")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}; choose from {', '.join(VARIANTS)}")
    torch.set_num_threads(1)
    renderer, slider_encoder = load_models(None, "renderer", "slider_encoder")
    results_path = args.results
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    print("| variant | auto (all) | camera | sliders | none (left alone) | shrinkage k | auto scale | s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.names or VARIANTS:
        out = ROOT / "runs" / f"auto-{name}"
        started = time.perf_counter()
        changes = dict(VARIANTS[name], **({"steps": args.steps} if args.steps else {}))
        trainer = train_planner(out, args.cache, renderer, slider_encoder, PlannerTrainingConfig(**changes),
                                progress=False)
        trainer.export_models()
        calibration = json.loads((out / "calibration.json").read_text())
        planner = load_models(out, "compact_planner")[0]
        scores = auto_by_source(planner, trainer.validation_set, renderer, slider_encoder)
        results[name] = {"changes": changes, "validation_auto_psnr": scores,
                         "validation_psnr_uncalibrated": {k: round(v, 2) for k, v in trainer.evaluate().items()},
                         "aspect_shrinkage": calibration["aspect_shrinkage"],
                         "auto_scale": calibration["mode_scales"]["auto"],
                         "seconds": round(time.perf_counter() - started)}
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=1) + "\n")
        cell = {s: f"{v['ours']:.2f} ({v['none']:.2f})" for s, v in scores.items()}
        print(
            f"| {name} | {cell['all']} | {cell.get('camera', '')} | {cell.get('sliders', '')} "
            f"| {cell.get('none', '')} | "
            f"{', '.join(f'{k:g}' for k in calibration['aspect_shrinkage'].values())} | "
            f"{calibration['mode_scales']['auto']:g} | "
            f"{results[name]['seconds']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
