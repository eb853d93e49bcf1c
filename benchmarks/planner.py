"""Planner benchmarks (issue 5): auto and style mode on held-out photos and presets, degradations made
by another tool, an instruction-following suite, explanation checks and end-to-end speed.

Run: ``.venv/bin/python benchmarks/planner.py --data data/v1 [--models runs/planner] [--side 512]``
(``--data``: a dataset from `veraretouch data build` over ../shared/photos; ``--models``: a run
folder with ``compact_planner/``, default the shipped planner). Prints Markdown (paste into
docs/benchmarks.md) and writes benchmarks/results/planner.json. Every result is rendered the way
users get it: the planner sees a 256 px copy, the edit is baked into a 65^3 LUT and applied to the
whole image (here at a long side of ``--side``).

Sections:
- auto, test split: inverse-degradation samples of the test photos (never trained on) vs the
  photo itself; ours against doing nothing, per-channel auto-levels, grey-world + auto-levels.
- auto, ImageMagick degradations: the held-out photos (validation + test) degraded by ImageMagick
  (`-modulate`, `-level`/`+level`, `-gamma`, channel gains, `-sigmoidal-contrast`), a different
  tool than our operators, so the planner cannot have learned its exact edits.
- style, held-out presets: test photos with test-split presets (never trained on), asked for in
  the data set's words; mean CIEDE2000 to the preset render, ours vs the input.
- instruction suite: phrasings, each with a measured statistic that must move the right way on
  every held-out photo (mean over photos, and the share of photos that moved the right way).
- explanations: share of the auto and style results above whose explanation passes the checker.
- speed: `veraretouch auto` on a 24 MP JPEG in one process (decode, plan, render, encode), median.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from veraretouch.data.samples import Recipe, render_pair, split_of
from veraretouch.data.shards import load_photo, read_shard
from veraretouch.evaluation.baselines import BASELINES
from veraretouch.evaluation.metrics import evaluate_pair
from veraretouch.planner.base import PLANNER_SIDE
from veraretouch.planner.features import planner_copy
from veraretouch.planner.pipeline import PlanningPipeline
from veraretouch.reasoning.measure import measure

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"
METRICS = ("psnr", "ssim", "delta_e2000", "histogram_similarity")

SUITE = [  # (prompt, statistic, direction)
    ("make it brighter", "mean_lightness", +1), ("brighten it up a lot", "mean_lightness", +1),
    ("a bright, airy high-key look", "mean_lightness", +1), ("make it darker", "mean_lightness", -1),
    ("darker and moodier", "mean_lightness", -1), ("a low-key, dark look", "mean_lightness", -1),
    ("make it warmer", "cast_b", +1), ("warm golden hour glow", "cast_b", +1), ("warmer and moodier", "cast_b", +1),
    ("make it cooler", "cast_b", -1), ("cold blue winter tones", "cast_b", -1), ("cool it down", "cast_b", -1),
    ("more vivid colours", "mean_chroma", +1), ("make the colours pop", "mean_chroma", +1),
    ("punchier, more saturated", "mean_chroma", +1), ("muted, desaturated colours", "mean_chroma", -1),
    ("soft pastel colours", "mean_chroma", -1), ("black and white", "mean_chroma", -1),
    ("classic monochrome", "mean_chroma", -1), ("more contrast", "contrast", +1),
    ("punchy high contrast look", "contrast", +1), ("softer, low contrast", "contrast", -1),
    ("flat, matte finish", "lightness_p05", +1), ("faded film look", "lightness_p05", +1),
    ("lift the shadows", "lightness_p05", +1), ("crush the blacks", "lightness_p05", -1),
    ("more vivid greens", "green_chroma", +1), ("mute the greens", "green_chroma", -1),
    ("deeper, richer blues", "blue_chroma", +1), ("teal and orange", "teal_orange", +1),
    ("cinematic teal shadows and warm highlights", "teal_orange", +1), ("sepia tone", "cast_b", +1),
]


def statistic(image: torch.Tensor, name: str) -> float:
    """A suite statistic of a ``(1, 3, H, W)`` image (CIELAB units, `reasoning.measure` keys)."""
    if name == "teal_orange":  # warm highlights against cool shadows: mean b* of bright minus dark pixels
        from veraretouch.operators.colorspace import rgb_to_lab

        lab = rgb_to_lab(image.double())[0]
        lightness, b = lab[0].flatten(), lab[2].flatten()
        bright, dark = lightness > 60, lightness < 40
        return float(b[bright].mean() - b[dark].mean()) if bright.any() and dark.any() else 0.0
    return float(measure(image)[0][name])


def score(methods: dict[str, torch.Tensor], target: torch.Tensor) -> dict[str, dict[str, float]]:
    return {name: evaluate_pair(image.clamp(0, 1), target) for name, image in methods.items()}


def summarise(rows: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    methods = rows[0].keys()
    return {m: {k: float(np.mean([min(r[m][k], 100.0) for r in rows])) for k in METRICS} for m in methods}


def test_samples(data: Path, subset: str, limit: int) -> list[dict]:
    manifest = json.loads((data / "manifest.json").read_text())
    records = [r for name in manifest["shards"] if name.startswith("test-")
               for r in read_shard(data / name) if r["subset"] == subset]
    step = max(1, len(records) // limit)
    return records[::step][:limit]


def test_pairs(data: Path, subset: str, limit: int, side: int):
    """``(record, photo name, source, target)`` of the test split's ``subset`` samples at ``side``
    (each photo loaded once, while its samples come; from ``data/photos`` when the build gathered
    several folders there, else ``../shared/photos``)."""
    photos, cache = (data / "photos" if (data / "photos").is_dir() else PHOTOS), {}
    for record in test_samples(data, subset, limit):
        recipe = Recipe.from_json(record)
        if recipe.photo not in cache:
            cache = {recipe.photo: load_photo(photos / recipe.photo, 2 * side)}
        yield (record, recipe.photo, *render_pair(recipe, cache[recipe.photo], side))


def dataset_section(pipeline, data: Path, subset: str, limit: int, side: int, with_baselines: bool):
    rows, checked = [], []
    for record, _, source, target in test_pairs(data, subset, limit, side):
        planned = pipeline.plan(
            planner_copy(source, PLANNER_SIDE), subset, record.get("instruction") if subset == "style" else None
        )
        checked.append(not planned.explanation.contradictions)
        methods = {"ours": planned.apply_tensor(source), "none": source}
        if with_baselines:
            methods.update({name: fn(source) for name, fn in BASELINES.items() if name != "identity"})
        rows.append(score(methods, target))
    return summarise(rows), checked, len(rows)


IM_DEGRADATIONS = (
    lambda r: ["-modulate", f"{r.uniform(65, 85):.0f},{r.uniform(60, 90):.0f},100"],
    lambda r: ["-modulate", f"{r.uniform(115, 135):.0f},{r.uniform(110, 140):.0f},100"],
    lambda r: ["+level", f"{r.uniform(8, 18):.0f}%,{r.uniform(82, 92):.0f}%"],
    lambda r: ["-level", f"{r.uniform(4, 10):.0f}%,{r.uniform(88, 96):.0f}%"],
    lambda r: ["-gamma", f"{r.choice([r.uniform(0.6, 0.8), r.uniform(1.25, 1.6)]):.2f}"],
    lambda r: ["-channel", "R", "-evaluate", "multiply", f"{r.uniform(1.08, 1.18):.2f}", "-channel", "B", "-evaluate",
               "multiply", f"{r.uniform(0.82, 0.92):.2f}", "+channel"],
    lambda r: ["-channel", "B", "-evaluate", "multiply", f"{r.uniform(1.08, 1.18):.2f}", "-channel", "R", "-evaluate",
               "multiply", f"{r.uniform(0.85, 0.93):.2f}", "+channel"],
    lambda r: ["+sigmoidal-contrast", f"{r.uniform(3, 5):.1f},50%"],
)


def imagemagick_section(pipeline, side: int, per_photo: int):
    tool = shutil.which("magick") or shutil.which("convert")
    if tool is None:
        return None
    rng, rows, checked = random.Random(0), [], []
    photos = [
        p for p in sorted(PHOTOS.iterdir()) if p.suffix.lower() in (".jpg", ".png") and split_of(p.name) != "train"
    ]
    with tempfile.TemporaryDirectory() as folder:
        for photo in photos:
            target = load_photo(photo, side)
            original = Path(folder) / "target.png"
            Image.fromarray((target[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(original)
            reference = (
                torch.from_numpy(np.asarray(Image.open(original).convert("RGB")).copy()).permute(2, 0, 1)[None] / 255.0
            )
            for index in range(per_photo):
                options = IM_DEGRADATIONS[index % len(IM_DEGRADATIONS)](rng)
                degraded = Path(folder) / "degraded.png"
                subprocess.run([tool, str(original), *options, str(degraded)], check=True)
                source = (
                    torch.from_numpy(np.asarray(Image.open(degraded).convert("RGB")).copy()).permute(2, 0, 1)[None]
                    / 255.0
                )
                planned = pipeline.plan(planner_copy(source, PLANNER_SIDE), "auto")
                checked.append(not planned.explanation.contradictions)
                methods = {"ours": planned.apply_tensor(source), "none": source,
                           **{name: fn(source) for name, fn in BASELINES.items() if name != "identity"}}
                rows.append(score(methods, reference))
    return summarise(rows), checked, len(rows), len(photos)


def suite_section(pipeline, side: int):
    photos = [load_photo(p, side) for p in sorted(PHOTOS.iterdir())
              if p.suffix.lower() in (".jpg", ".png") and split_of(p.name) != "train"]
    results = []
    for prompt, name, direction in SUITE:
        changes = []
        for photo in photos:
            planned = pipeline.plan(planner_copy(photo, PLANNER_SIDE), "style", prompt)
            changes.append(statistic(planned.apply_tensor(photo), name) - statistic(photo, name))
        mean = float(np.mean(changes))
        right = float(np.mean([np.sign(c) == direction for c in changes]))
        results.append({"prompt": prompt, "statistic": name, "direction": direction, "mean_change": round(mean, 3),
                        "photos_right": round(right, 3), "pass": bool(np.sign(mean) == direction and right >= 0.5)})
    return results, len(photos)


def speed_section(models: str | None, repeats: int) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from param_speed import make_source  # noqa: E402  (the same 24 MP source as the param benchmark)

    from veraretouch.cli import main as cli_main

    with tempfile.TemporaryDirectory() as folder:
        source, origin = make_source(Path(folder), 24)
        args = ["auto", str(source), "-o", str(Path(folder) / "out"), "--overwrite"] + (
            ["--models", models] if models else []
        )
        started = time.perf_counter()
        cli_main(args)
        first = time.perf_counter() - started
        totals, parts = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            cli_main(args)
            totals.append(time.perf_counter() - started)
            parts.append(json.loads((Path(folder) / "out" / "source.plan.json").read_text())["timings_s"])
        process = []
        for _ in range(2):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "veraretouch", *args], check=True, capture_output=True)
            process.append(time.perf_counter() - started)
    return {"source": origin, "first_call_s": round(first, 3), "median_s": round(statistics.median(totals), 3),
            "parts_median_s": {k: round(statistics.median(p[k] for p in parts), 3) for k in parts[0]},
            "whole_process_median_s": round(statistics.median(process), 3), "repeats": repeats}


def table(summary: dict[str, dict[str, float]]) -> str:
    lines = ["| method | PSNR dB | SSIM | ΔE00 | hist. sim. |", "|---|---|---|---|---|"]
    for method, m in summary.items():
        lines.append(
            f"| {method} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['delta_e2000']:.2f} "
            f"| {m['histogram_similarity']:.4f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--models", default=None)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--auto-samples", type=int, default=200)
    parser.add_argument("--style-samples", type=int, default=150)
    parser.add_argument("--im-per-photo", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip", default="", help="comma list of sections to skip: auto,im,style,suite,speed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    skip = set(filter(None, args.skip.split(",")))
    pipeline = PlanningPipeline("compact", models=args.models)
    results: dict = {"side": args.side, "models": args.models or "shipped"}
    checks: list[bool] = []
    if "auto" not in skip:
        summary, checked, count = dataset_section(pipeline, args.data, "auto", args.auto_samples, args.side, True)
        checks += checked
        results["auto_test"] = {"samples": count, "methods": summary}
        print(f"### Auto mode, test split ({count} samples, {args.side} px)\n\n{table(summary)}\n")
    if "im" not in skip:
        section = imagemagick_section(pipeline, args.side, args.im_per_photo)
        if section is None:
            print("ImageMagick not found: skipped the ImageMagick degradations\n")
        else:
            summary, checked, count, photos = section
            checks += checked
            results["auto_imagemagick"] = {"samples": count, "photos": photos, "methods": summary}
            print(
                f"### Auto mode, ImageMagick degradations ({count} on {photos} held-out photos)\n\n{table(summary)}\n"
            )
    if "style" not in skip:
        summary, checked, count = dataset_section(pipeline, args.data, "style", args.style_samples, args.side, False)
        checks += checked
        reduction = 1 - summary["ours"]["delta_e2000"] / summary["none"]["delta_e2000"]
        results["style_test"] = {"samples": count, "methods": summary, "delta_e_reduction": round(reduction, 4)}
        print(f"### Style mode, held-out presets ({count} samples)\n\n{table(summary)}\n\nΔE00 reduced by "
              f"{100 * reduction:.1f} %\n")
    if "suite" not in skip:
        suite, photos = suite_section(pipeline, args.side)
        passed = sum(r["pass"] for r in suite)
        results["instruction_suite"] = {"photos": photos, "passed": passed, "total": len(suite), "rows": suite}
        print(f"### Instruction suite: {passed} of {len(suite)} move their statistic the right way ({photos} photos)\n")
        print("| prompt | statistic | wanted | mean change | photos right |\n|---|---|---|---|---|")
        for r in suite:
            print(
                f"| {r['prompt']} | {r['statistic']} | {'+' if r['direction'] > 0 else '-'} "
                f"| {r['mean_change']:+.2f} | "
                f"{100 * r['photos_right']:.0f} % |"
            )
        print()
    if checks:
        results["explanations"] = {"checked": len(checks), "passed": sum(checks)}
        print(f"### Explanations: {sum(checks)} of {len(checks)} pass the claim checker\n")
    if "speed" not in skip:
        results["speed"] = speed_section(args.models, args.repeats)
        print(f"### Speed (24 MP JPEG, auto)\n\n```\n{json.dumps(results['speed'], indent=2)}\n```")
    out = ROOT / "benchmarks" / "results" / "planner.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
