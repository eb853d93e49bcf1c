"""Reference-transfer benchmark: show an edit on one photo, apply it to another.

For every held-out preset: photo1 and photo2 are two different held-out photos (long side
256); the example is (photo1, preset(photo1)); the score is the PSNR of the transfer to photo2
against preset(photo2) rendered by the operators. Modes:

- pair: ReferenceEncoder(photo1, preset(photo1)), then the renderer on photo2;
- pair + refine: those latents refined on the example's pixels (L-BFGS, `refine_latents`);
- target: ReferenceEncoder(photo2, preset(photo1)) in single-target mode (no before image);
- baselines: no edit at all; the SliderEncoder fed the preset's true sliders (the ceiling the
  renderer allows); and, with --fit, sliders fitted to the example (`fit_plan`) applied to photo2.

Run: ``.venv/bin/python benchmarks/reference.py [--models RUN] [--fit 20]``. Shipped weights
unless --models. Writes benchmarks/results/reference.json and prints Markdown.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from renderer import ROOT, SHARED, held_out_photos, summary  # noqa: E402

from veraretouch.data.plans import preset_plans, sample_paper_plans  # noqa: E402
from veraretouch.evaluation import psnr  # noqa: E402
from veraretouch.operators import render  # noqa: E402
from veraretouch.renderer.edit import refine_latents  # noqa: E402
from veraretouch.weights import load_models  # noqa: E402


def pairs_of(photos: list[torch.Tensor], count: int) -> list[tuple[int, int]]:
    """``count`` (example photo, target photo) index pairs, never the same photo, cycling through all."""
    n = len(photos)
    return [(i % n, (i + 1 + (i // n) % (n - 1)) % n) for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=None, help="run folder (default: shipped weights)")
    parser.add_argument(
        "--fit", type=int, default=0, metavar="N", help="also run the slider-fitting baseline on N presets"
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N presets (quick runs)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "reference.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    renderer, slider_encoder, encoder = load_models(args.models, "renderer", "slider_encoder", "reference_encoder")
    photos = held_out_photos()
    if (SHARED / "presets").is_dir():
        plans, names = preset_plans(SHARED / "presets", "held_out")
        source = "held-out presets"
    else:
        plans, names = sample_paper_plans(40, torch.Generator().manual_seed(7)), [f"paper{i}" for i in range(40)]
        source = "paper-distribution plans (no ../shared/presets)"
    if args.limit:
        plans, names = plans[:args.limit], names[:args.limit]
    scores: dict[str, list[float]] = {k: [] for k in ("identity", "slider_oracle", "pair", "pair_refined", "target")}
    refine_seconds = []
    fit_scores, fit_seconds = [], []
    started = time.perf_counter()
    for index, ((first, second), params) in enumerate(zip(pairs_of(photos, len(plans)), plans)):
        params = params[None].float()
        example, other = photos[first], photos[second]
        with torch.no_grad():
            example_after, other_after = render(example, params), render(other, params)
            pair = encoder(example, example_after, mode="pair")
            target = encoder(other, example_after, mode="target")
            scores["identity"].append(psnr(other, other_after).item())
            scores["slider_oracle"].append(psnr(renderer(other, slider_encoder(params)), other_after).item())
            scores["pair"].append(psnr(renderer(other, pair), other_after).item())
            scores["target"].append(psnr(renderer(other, target), other_after).item())
        tick = time.perf_counter()
        refined = refine_latents(renderer, example, example_after, pair)
        refine_seconds.append(time.perf_counter() - tick)
        with torch.no_grad():
            scores["pair_refined"].append(psnr(renderer(other, refined), other_after).item())
        if index < args.fit:
            from veraretouch.fitting import fit_plan

            tick = time.perf_counter()
            fitted = fit_plan(example, example_after, extensions=True).plan.to_tensor()[None].float()
            fit_seconds.append(time.perf_counter() - tick)
            fit_scores.append(psnr(render(other, fitted), other_after).item())
    results = {"source": source, "photos": len(photos), "presets": len(plans),
               **{key: summary([min(s, 99.0) for s in values]) for key, values in scores.items()},
               "refine_seconds_median": float(np.median(refine_seconds)),
               "seconds": time.perf_counter() - started}
    if fit_scores:
        results["slider_fit"] = summary(fit_scores)
        results["slider_fit_seconds_median"] = float(np.median(fit_seconds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{len(plans)} {source}, {len(photos)} held-out photos (long side 256): example on one photo, "
          "scored on another\n")
    print("| mode | mean PSNR (dB) | 5th percentile | pairs |\n|---|---|---|---|")
    labels = {"identity": "no edit (baseline)", "pair": "pair: encoder", "pair_refined": "pair: encoder + refine",
              "target": "target only: encoder", "slider_fit": "pair: sliders fitted to the example",
              "slider_oracle": "SliderEncoder of the true sliders (ceiling)"}
    for key, label in labels.items():
        if key in results:
            value = results[key]
            print(f"| {label} | {value['mean']:.2f} | {value['p5']:.2f} | {value['count']} |")
    print(f"\nrefine: {results['refine_seconds_median']:.2f} s median per example (1 thread)")
    if fit_scores:
        print(f"slider fit: {results['slider_fit_seconds_median']:.2f} s median per example")


if __name__ == "__main__":
    main()
