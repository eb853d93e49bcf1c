"""Compact-planner training variants against the shipped recipe (issue 5): validation PSNR per mode,
auto mode's validation PSNR with each subset of the plan's aspect groups, and the instruction suite.

Each variant trains `training.planner.train_planner` with the default `PlannerTrainingConfig` plus
the variant's changes, on a planner cache of data v1 (`training.planner_cache.build_planner_cache`), then
runs the instruction suite of `benchmarks/planner.py` on the held-out photos (512 px).

Run: ``.venv/bin/python benchmarks/planner_variants.py --cache data/v1-planner-cache [NAME ...]``
(about 9 minutes per variant on one core; default: all). Writes ``runs/planner-<name>/`` and adds
each result to benchmarks/results/planner_variants.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import product
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from planner import suite_section  # noqa: E402

from veraretouch.encoders.slider import params_from_features  # noqa: E402
from veraretouch.plan.parameters import ASPECTS, restrict_to_aspects  # noqa: E402
from veraretouch.planner.base import MODES  # noqa: E402
from veraretouch.planner.pipeline import PlanningPipeline  # noqa: E402
from veraretouch.training.planner import PlannerTrainingConfig, psnr_of_colors, train_planner  # noqa: E402
from veraretouch.weights import load_models  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "shipped-recipe": {},
    "param-requests-as-style": {"param_requests_as_style": True},
    "look-words-agree": {"look_words_agree": True},
    "look-words-agree+param-requests": {"look_words_agree": True, "param_requests_as_style": True},
    "text-hidden-256": {"text_hidden": 256},
    "text-hidden-256+param-requests": {"text_hidden": 256, "param_requests_as_style": True},
}


@torch.no_grad()
def auto_by_groups(trainer, renderer, slider_encoder) -> dict[str, float]:
    """Validation auto PSNR with only some aspect groups of each plan kept (key: the kept groups)."""
    data, planner = trainer.validation_set, trainer.planner.eval()
    index = (data["mode"] == MODES.index("auto")).nonzero().flatten()
    params = params_from_features(planner(data["features"][index], data["text"][index], data["mode"][index]))
    inputs, targets = data["input_colors"][index].float(), data["target_colors"][index].float()
    scores = {}
    for mask in product((0.0, 1.0), repeat=len(ASPECTS)):
        latents = slider_encoder(restrict_to_aspects(params, torch.tensor(mask)))
        kept = "+".join(g for g, m in zip(ASPECTS, mask) if m) or "none"
        scores[kept] = round(float(psnr_of_colors(renderer.render_colors(inputs, latents), targets).mean()), 2)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="planner cache of data v1")
    parser.add_argument("names", nargs="*", help=f"variants (default: all): {', '.join(VARIANTS)}")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}; choose from {', '.join(VARIANTS)}")
    torch.set_num_threads(1)
    renderer, slider_encoder = load_models(None, "renderer", "slider_encoder")
    results_path = ROOT / "benchmarks" / "results" / "planner_variants.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name in args.names or VARIANTS:
        out = ROOT / "runs" / f"planner-{name}"
        started = time.perf_counter()
        trainer = train_planner(out, args.cache, renderer, slider_encoder, PlannerTrainingConfig(**VARIANTS[name]),
                                progress=False)
        suite, photos = suite_section(PlanningPipeline(models=out), 512)
        results[name] = {
            "changes": VARIANTS[name],
            "validation_psnr": {k: round(v, 2) for k, v in trainer.evaluate().items()},
            "auto_psnr_by_kept_groups": auto_by_groups(trainer, renderer, slider_encoder),
            "suite_passed": sum(r["pass"] for r in suite),
            "suite_total": len(suite),
            "suite_photos": photos,
            "suite_failing": [r["prompt"] for r in suite if not r["pass"]],
            "seconds": round(time.perf_counter() - started),
        }
        results_path.write_text(json.dumps(results, indent=1) + "\n")
        row = results[name]
        print(f"| {name} | {row['validation_psnr']['psnr_auto']:.2f} | {row['validation_psnr']['psnr_style']:.2f} | "
              f"{row['validation_psnr']['psnr_param']:.2f} | {row['suite_passed']} of {len(suite)} |", flush=True)


if __name__ == "__main__":
    main()
