"""Plan-scale calibration curves (issue 5): validation PSNR of each mode's plan scaled towards the
identity, 0 (no edit) to 1.2, for the shipped compact planner or a run's.

Run: ``.venv/bin/python benchmarks/planner_calibration.py --cache data/v1-planner-cache [--models RUN]``
(the planner cache of `veraretouch train planner`, made from data v1). Every mode is calibrated
here (training calibrates auto mode only); prints a Markdown table and the scale each mode would
get, writes benchmarks/results/planner_calibration.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from veraretouch.planner.base import MODES
from veraretouch.planner.text import InstructionEmbedder
from veraretouch.training.planner import calibrate_mode_scales
from veraretouch.training.planner_cache import load_planner_cache
from veraretouch.weights import load_models

ROOT = Path(__file__).resolve().parents[1]
SHOWN = (0.0, 0.2, 0.5, 0.8, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument(
        "--models", type=Path, default=None, help="a run folder with compact_planner/ (default shipped)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    renderer, slider_encoder = load_models(None, "renderer", "slider_encoder")
    planner = load_models(args.models, "compact_planner")[0]
    validation = load_planner_cache(args.cache, "validation", InstructionEmbedder())
    curves = calibrate_mode_scales(planner, validation, renderer, slider_encoder, modes=MODES)
    print("| scale | " + " | ".join(f"{scale:g}" for scale in SHOWN) + " |\n|---|" + "---|" * len(SHOWN))
    for mode, curve in curves.items():
        print(f"| {mode} | " + " | ".join(f"{curve[scale]:.2f}" for scale in SHOWN) + " |")
    scales = dict(zip(MODES, planner.config.mode_scales))
    print(f"\nbest scale per mode: {scales}")
    results = {"models": str(args.models or "shipped"), "best_scales": scales, "validation_psnr_by_scale": curves}
    (ROOT / "benchmarks" / "results" / "planner_calibration.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
