"""Auto mode on photos it has never seen, degraded by another tool (issue 14).

Held-out photos: every photo of ``../shared/photos`` and ``../shared/photos-more`` in the test split
(`data.samples.split_of`: never trained on, never used to choose a configuration) and the whole
Tux Paint source (``tuxpaint-*``, held out of data v2 altogether). Each is loaded at a long side of
``--side`` and degraded by ImageMagick, a different tool than our operators and camera faults:

| type | ImageMagick options (random magnitudes, seeded) |
|---|---|
| under / over | ``-colorspace RGB -evaluate multiply k -colorspace sRGB``, k 0.4-0.75 / 1.3-2 (linear light) |
| warm / cool / green | channel gains in linear light (R up B down / B up R down / G up) |
| flat | ``+level`` lo%,hi% (lifted blacks, dropped whites) |
| desaturated / oversaturated | ``-modulate 100,S`` with S 50-75 / 130-160 |
| hue | ``-modulate 100,100,H`` with a 5-14 degree rotation |
| combined | under or over, a cast and ``+level`` together |

and also left as it is ("none": the planner should leave a good photo alone). Every method is scored
against the undegraded photo (PSNR, CIEDE2000) and rendered the way users get it (planner on a
256 px copy, edit baked into a 65^3 LUT, applied to the whole image).

With ``--data data/v2`` the auto samples of the dataset's test split (its own slider degradations,
camera faults and untouched inputs) are scored too ("data-<source>" columns, "data-test-split" mean).

Run: ``.venv/bin/python benchmarks/auto_heldout.py [--models shipped runs/planner-v3 ...] [--side 512]
[--data data/v2]``.
Writes benchmarks/results/auto_heldout.json and prints the Markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from veraretouch.data.samples import split_of
from veraretouch.data.shards import load_photo
from veraretouch.evaluation.baselines import BASELINES
from veraretouch.evaluation.metrics import delta_e2000, psnr
from veraretouch.planner.base import PLANNER_SIDE
from veraretouch.planner.features import planner_copy
from veraretouch.planner.pipeline import PlanningPipeline

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
HELD_OUT_SOURCE = "tuxpaint-*"


def _linear(*options: str) -> list[str]:
    return ["-colorspace", "RGB", *options, "-colorspace", "sRGB"]


def _gains(r: float, g: float, b: float) -> list[str]:
    return _linear(*(part for channel, gain in zip("RGB", (r, g, b)) if gain != 1.0
                     for part in ("-channel", channel, "-evaluate", "multiply", f"{gain:.3f}")), "+channel")


def _cast(rng: random.Random) -> list[str]:
    return rng.choice([_warm, _cool, _green])(rng)


def _warm(rng):
    return _gains(rng.uniform(1.06, 1.15), 1.0, rng.uniform(0.78, 0.9))


def _cool(rng):
    return _gains(rng.uniform(0.85, 0.94), 1.0, rng.uniform(1.08, 1.2))


def _green(rng):
    return _gains(1.0, rng.uniform(1.06, 1.14), 1.0)


def _flat(rng):
    return ["+level", f"{rng.uniform(6, 16):.0f}%,{rng.uniform(84, 94):.0f}%"]


DEGRADATIONS = {
    "under": lambda rng: _linear("-evaluate", "multiply", f"{rng.uniform(0.4, 0.75):.3f}"),
    "over": lambda rng: _linear("-evaluate", "multiply", f"{rng.uniform(1.3, 2.0):.3f}"),
    "warm": _warm, "cool": _cool, "green": _green, "flat": _flat,
    "desaturated": lambda rng: ["-modulate", f"100,{rng.uniform(50, 75):.0f},100"],
    "oversaturated": lambda rng: ["-modulate", f"100,{rng.uniform(130, 160):.0f},100"],
    "hue": lambda rng: ["-modulate", f"100,100,{100 + rng.choice([-1, 1]) * rng.uniform(2.8, 7.8):.1f}"],
    "combined": lambda rng: [
        *_linear("-evaluate", "multiply", f"{rng.choice([rng.uniform(0.5, 0.75), rng.uniform(1.3, 1.6)]):.3f}"),
        *_cast(rng), *_flat(rng)],
    "none": lambda rng: [],
}


def held_out_photos(split: str = "test") -> list[Path]:
    """The test photos and the held-out source; ``split="validation"``: the validation photos instead
    (for choosing among configurations without looking at the test photos)."""
    photos = [p for folder in (SHARED / "photos", SHARED / "photos-more") if folder.is_dir()
              for p in sorted(folder.iterdir()) if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    if split == "validation":
        return [p for p in photos if not p.match(HELD_OUT_SOURCE) and split_of(p.name) == "validation"]
    return [p for p in photos if p.match(HELD_OUT_SOURCE) or split_of(p.name) == "test"]


def _read(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).copy()).permute(2, 0, 1)[None].float() / 255.0


def degraded_set(photos: list[Path], side: int, tool: str, seed: int) -> list[dict]:
    """``[{photo, type, options, source, target}]``: every photo under every degradation type."""
    rng, cases = random.Random(seed), []
    with tempfile.TemporaryDirectory() as folder:
        for photo in photos:
            original = Path(folder) / "target.png"
            array = (load_photo(photo, side)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            Image.fromarray(array).save(original)
            target = _read(original)
            for kind, make in DEGRADATIONS.items():
                options = make(rng)
                degraded = Path(folder) / "degraded.png"
                subprocess.run([tool, str(original), *options, "-depth", "8", str(degraded)], check=True)
                cases.append({"photo": photo.name, "type": kind, "options": " ".join(options),
                              "source": _read(degraded) if options else target, "target": target})
    return cases


def held_out_cases(split: str, side: int, limit: int, seed: int) -> tuple[list[Path], list[dict]]:
    """The held-out photos of ``split`` (at most ``limit``, 0: all) and their `degraded_set`; exits with
    a clear message when ImageMagick or the ../shared photos are missing."""
    tool = shutil.which("magick") or shutil.which("convert")
    photos = held_out_photos(split)
    if tool is None or not photos:
        sys.exit("needs ImageMagick (apt-get install imagemagick) and ../shared photos")
    torch.set_num_threads(1)
    photos = photos[:limit] if limit else photos
    return photos, degraded_set(photos, side, tool, seed)


def run_method(name: str, retouch, cases: list[dict]) -> list[dict]:
    rows = []
    for case in cases:
        started = time.perf_counter()
        result = retouch(case["source"]).clamp(0, 1)
        rows.append({"method": name, "photo": case["photo"], "type": case["type"],
                     "psnr": min(100.0, float(psnr(result, case["target"]))),
                     "delta_e2000": float(delta_e2000(result, case["target"]).mean()),
                     "seconds": time.perf_counter() - started})
    return rows


def planner_retouch(models: str | None):
    pipeline = PlanningPipeline(models=None if models in (None, "shipped") else models)

    def retouch(image: torch.Tensor) -> torch.Tensor:
        return pipeline.plan(planner_copy(image, PLANNER_SIDE), "auto").apply_tensor(image)

    return retouch


def test_split_cases(data: Path, limit: int, side: int) -> list[dict]:
    """Auto samples of a built dataset's test split (its own degradations: sliders, camera faults,
    none), as cases of type ``data-<source>``."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from planner import test_pairs

    return [{"photo": photo, "type": f"data-{record.get('auto_source', 'sliders')}", "options": "", "source": source,
             "target": target} for record, photo, source, target in test_pairs(data, "auto", limit, side)]


def summarise(rows: list[dict]) -> dict:
    """``{method: {type: {psnr, delta_e2000, n}}}`` plus each method's ``degraded`` mean (all types but none)."""
    summary: dict = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        kinds = list(dict.fromkeys([*DEGRADATIONS, *(r["type"] for r in mine)]))
        by_type = {kind: [r for r in mine if r["type"] == kind] for kind in kinds}
        by_type["degraded"] = [r for r in mine if r["type"] in DEGRADATIONS and r["type"] != "none"]
        by_type["data-test-split"] = [r for r in mine if r["type"].startswith("data-")]
        summary[method] = {kind: {"psnr": round(float(np.mean([r["psnr"] for r in part])), 2),
                                  "delta_e2000": round(float(np.mean([r["delta_e2000"] for r in part])), 2),
                                  "n": len(part)} for kind, part in by_type.items() if part}
    return summary


def targets(summary: dict, method: str) -> dict:
    """Issue 14's held-out targets for ``method`` against doing nothing."""
    ours, none = summary[method], summary["none"]
    worse = [kind for kind in DEGRADATIONS if kind != "none" and ours[kind]["psnr"] <= none[kind]["psnr"]]
    split = ({"test_split_gain_db": round(ours["data-test-split"]["psnr"] - none["data-test-split"]["psnr"], 2)}
             if "data-test-split" in ours else {})
    return {**split, "psnr_gain_db": round(ours["degraded"]["psnr"] - none["degraded"]["psnr"], 2),
            "delta_e_ratio": round(ours["degraded"]["delta_e2000"] / none["degraded"]["delta_e2000"], 3),
            "types_not_better": worse,
            "undegraded_delta_e2000": ours["none"]["delta_e2000"], "undegraded_psnr": ours["none"]["psnr"],
            "met": {"psnr_plus_3db": ours["degraded"]["psnr"] >= none["degraded"]["psnr"] + 3,
                    "delta_e_0.7x": ours["degraded"]["delta_e2000"] <= 0.7 * none["degraded"]["delta_e2000"],
                    "better_on_all_types_but_one": len(worse) <= 1,
                    "undegraded_delta_e_1.5": ours["none"]["delta_e2000"] <= 1.5,
                    "undegraded_psnr_33": ours["none"]["psnr"] >= 33}}


def table(summary: dict) -> str:
    kinds = [k for k in summary["none"] if k in DEGRADATIONS or k == "degraded"]
    lines = ["| method | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for method, by_type in summary.items():
        lines.append(f"| {method} | " + " | ".join(f"{by_type[k]['psnr']:.2f} / {by_type[k]['delta_e2000']:.2f}"
                                                 for k in kinds) + " |")
    split = [k for k in summary["none"] if k.startswith("data-")]
    if split:
        lines += ["", "Test split of the built dataset (its own degradations), PSNR dB / ΔE00:", "",
                  "| method | " + " | ".join(split) + " |", "|---" * (len(split) + 1) + "|"]
        lines += [f"| {method} | " + " | ".join(f"{by_type[k]['psnr']:.2f} / {by_type[k]['delta_e2000']:.2f}"
                                                for k in split) + " |" for method, by_type in summary.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["shipped"],
                        help="planner run folders to compare ('shipped' = the packaged planner)")
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--limit", type=int, default=0, help="at most this many photos (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="test: test photos + the held-out source (the benchmark); validation: validation photos")
    parser.add_argument("--baselines", action="store_true", help="also auto-levels and grey-world")
    parser.add_argument("--data", type=Path, help="also score the auto samples of this built dataset's test split")
    parser.add_argument("--data-limit", type=int, default=300, help="at most this many test-split samples")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "auto_heldout.json")
    args = parser.parse_args()
    started = time.perf_counter()
    photos, cases = held_out_cases(args.split, args.side, args.limit, args.seed)
    if args.data:
        cases += test_split_cases(args.data, args.data_limit, args.side)
    rows = run_method("none", lambda image: image, cases)
    if args.baselines:
        for name, function in BASELINES.items():
            if name != "identity":
                rows += run_method(name, function, cases)
    for models in args.models:
        rows += run_method(models, planner_retouch(models), cases)
    summary = summarise(rows)
    result = {"photos": [p.name for p in photos], "split": args.split, "side": args.side, "seed": args.seed,
              "cases": [{k: c[k] for k in ("photo", "type", "options")} for c in cases],
              "summary": summary, "targets": {m: targets(summary, m) for m in args.models},
              "seconds": round(time.perf_counter() - started, 1), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(photos)} held-out photos, {len(cases)} cases; PSNR dB / ΔE00 per degradation type\n")
    print(table(summary))
    print(json.dumps(result["targets"], indent=1))


if __name__ == "__main__":
    main()
