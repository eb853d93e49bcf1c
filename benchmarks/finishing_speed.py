"""Finishing-stage speed on a 24 MP JPEG: a preset with grain, vignette and clarity vs the same preset
through the LUT alone, in-process: `veraretouch param` end to end (decode, render, encode: what a
user waits for) and the render alone (`apply_plan` on a decoded photo).

Run: ``.venv/bin/python benchmarks/finishing_speed.py [--repeats 7] [--megapixels 24]``.
Prints a Markdown table (paste into docs/benchmarks.md) and writes benchmarks/results/finishing_speed.json.
Timings are medians over interleaved repeats in one run, wall clock and process CPU time (all
threads); the machine is shared with other work, so compare the ratios of one run, not absolute
numbers across runs. The preset is a real one from
../shared/presets (a built-in equivalent when that folder is absent) reduced to its pointwise part
plus grain, vignette and clarity (the target's case); the full preset (texture, dehaze and
sharpening too) is timed as well.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numba
import torch
from param_speed import make_source  # benchmarks/ is on sys.path when run as a script

from veraretouch import Plan
from veraretouch.cli import main as cli_main
from veraretouch.io.images import read_image
from veraretouch.lut.photo import apply_plan, bake_plan_lut
from veraretouch.plan.parameters import FINISHING_NAMES

ROOT = Path(__file__).resolve().parents[1]
PRESET = ROOT.parent / "shared" / "presets" / "Presets" / "Decade" / "Y2K Digicam.xmp"
TARGET_EFFECTS = ("GrainAmount", "GrainSize", "GrainFrequency", "PostCropVignetteAmount", "PostCropVignetteMidpoint",
                  "PostCropVignetteFeather", "PostCropVignetteRoundness", "Clarity2012")


def plans() -> dict[str, Plan]:
    full = Plan.from_file(PRESET) if PRESET.is_file() else Plan(values={
        "Exposure2012": 0.2, "Contrast2012": 20, "GrainAmount": 25, "GrainSize": 30, "PostCropVignetteAmount": -20,
        "Clarity2012": 15, "Texture": 10, "Dehaze": 5, "Sharpness": 20})
    pointwise = {k: v for k, v in full.values.items() if k not in FINISHING_NAMES}
    target = pointwise | {k: v for k, v in full.values.items() if k in TARGET_EFFECTS}
    return {"LUT only (pointwise part)": Plan(values=pointwise, curves=full.curves),
            "LUT + grain, vignette, clarity": Plan(values=target, curves=full.curves),
            "LUT + every effect of the preset": full}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--megapixels", type=float, default=24.0)
    args = parser.parse_args()
    cases = plans()
    with tempfile.TemporaryDirectory() as tmp:
        source, origin = make_source(Path(tmp), args.megapixels)
        photo = read_image(source)
        for plan in cases.values():  # warm-up: bake (cached per pointwise plan), numba compile / cache load
            bake_plan_lut(plan)
            apply_plan(photo, plan)
        plan_files = {}
        for index, (name, plan) in enumerate(cases.items()):
            plan_files[name] = Path(tmp) / f"plan{index}.json"
            plan.save(plan_files[name])

        def end_to_end(name: str) -> None:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                code = cli_main(["param", str(source), "--params", str(plan_files[name]), "-o", str(Path(tmp) / "out"),
                                 "--overwrite"])
            assert code == 0

        samples: dict[str, list[float]] = {f"{kind}: {name}": [] for kind in ("end to end", "render") for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in samples}
        for _ in range(args.repeats):
            for name, plan in cases.items():
                for kind, run in (
                    ("end to end", lambda: end_to_end(name)),
                    ("render", lambda: apply_plan(photo, plan)),
                ):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    run()
                    samples[f"{kind}: {name}"].append(time.perf_counter() - start)
                    cpu[f"{kind}: {name}"].append(time.process_time() - start_cpu)
    medians = {name: statistics.median(times) for name, times in samples.items()}
    cpu_medians = {name: statistics.median(times) for name, times in cpu.items()}
    baselines = {kind: medians[f"{kind}: LUT only (pointwise part)"] for kind in ("end to end", "render")}
    result = {
        "source": origin,
        "megapixels": photo.size[0] * photo.size[1] / 1e6,
        "preset": PRESET.name,
        "plans": {name: json.loads(plan.to_json())["values"] for name, plan in cases.items()},
        "median_s": medians,
        "ratio_to_lut_only": {name: m / baselines[name.split(":")[0]] for name, m in medians.items()},
        "cpu_median_s": cpu_medians,
        "cpu_ratio_to_lut_only": {
            name: m / cpu_medians[name.split(":")[0] + ": LUT only (pointwise part)"] for name, m in cpu_medians.items()
        },
        "samples_s": samples,
        "cpu_samples_s": cpu,
        "repeats": args.repeats,
        "threads": {"numba": numba.get_num_threads(), "torch": torch.get_num_threads()},
        "machine": platform.processor() or platform.machine(),
    }
    out = ROOT / "benchmarks" / "results" / "finishing_speed.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['megapixels']:.1f} MP JPEG ({origin}), preset {PRESET.name}, median of {args.repeats}")
    print("| path | median wall (s) | x LUT only | median CPU (s) | x LUT only |\n|---|---|---|---|---|")
    for name, median in medians.items():
        print(f"| {name} | {median:.3f} | {result['ratio_to_lut_only'][name]:.2f} | {cpu_medians[name]:.3f} "
              f"| {result['cpu_ratio_to_lut_only'][name]:.2f} |")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
