"""Param-mode speed and LUT accuracy on a 24 MP JPEG: `veraretouch param` end to end vs decode + encode alone.

Run: ``.venv/bin/python benchmarks/param_speed.py [--repeats 5] [--megapixels 24]``.
Prints a Markdown table (paste into docs/benchmarks.md) and writes benchmarks/results/param_speed.json.
All timings are medians over interleaved repeats in one run; the machine is shared, so compare
ratios from the same run, not absolute numbers across runs.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from veraretouch import Plan
from veraretouch.cli import main as cli_main
from veraretouch.io.images import read_image, write_image
from veraretouch.lut import apply_lut
from veraretouch.lut.photo import _bake_cached, apply_plan, bake_plan_lut
from veraretouch.operators import render

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"


def make_source(folder: Path, megapixels: float) -> tuple[Path, str]:
    """A photo-like JPEG of the requested size: the largest shared photo resized, else scikit-image's coffee."""
    candidates = sorted(PHOTOS.glob("*.jpg"), key=lambda p: p.stat().st_size) if PHOTOS.is_dir() else []
    if candidates:
        image, origin = Image.open(candidates[-1]).convert("RGB"), candidates[-1].name
    else:
        from skimage import data

        image, origin = Image.fromarray(data.coffee()), "skimage coffee"
    width = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    height = int(round(width / 1.5))
    path = folder / "source.jpg"
    image.resize((width, height), Image.LANCZOS).save(path, quality=95)
    return path, origin


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def lut_accuracy(source: Path, plan: Plan, size: int) -> tuple[float, float, float]:
    """Max and mean |LUT path - direct float64 render rounded to 8 bits| in levels on a 1024x1024 crop,
    and the share of pixels more than 2 levels off."""
    rgb = np.asarray(Image.open(source).convert("RGB"))[:1024, :1024].copy()
    fast = apply_lut(rgb, bake_plan_lut(plan, size)).astype(np.float64)
    tensor = torch.from_numpy(rgb).permute(2, 0, 1)[None].double() / 255
    with torch.no_grad():
        exact = render(tensor, plan.to_tensor().double()[None])[0].permute(1, 2, 0).numpy() * 255
    error = np.abs(fast - np.round(exact))
    return float(error.max()), float(error.mean()), float((error > 2).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--megapixels", type=float, default=24.0)
    args = parser.parse_args()
    os.environ["VERARETOUCH_LUT_CACHE"] = "off"  # every run bakes its LUT (batch_speed.py measures the store)
    plan_file = resources.files("veraretouch") / "examples" / "warm-film.json"
    plan = Plan.from_file(plan_file)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source, origin = make_source(folder, args.megapixels)
        width, height = Image.open(source).size
        photo = read_image(source)
        apply_plan(photo, plan)  # warm-up: numba compile / cache load, torch kernels

        def pillow_only():
            with Image.open(source) as image:
                image.load()
                image.save(folder / "pillow.jpg", quality=95, subsampling=0)

        def decode_encode():
            write_image(read_image(source), folder / "plain.jpg", quality=95, overwrite=True)

        def param_end_to_end():
            _bake_cached.cache_clear()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                code = cli_main(
                    ["param", str(source), "--params", str(plan_file), "-o", str(folder / "out"), "--overwrite"]
                )
            assert code == 0

        def bake():
            _bake_cached.cache_clear()
            bake_plan_lut(plan, 65)

        lut = bake_plan_lut(plan, 65)
        stages = {"pillow decode+encode": pillow_only, "veraretouch decode+encode": decode_encode,
                  "veraretouch param end to end": param_end_to_end, "bake 65^3 LUT": bake,
                  "apply LUT (kernel)": lambda: apply_lut(photo.pixels, lut)}
        samples: dict[str, list[float]] = {name: [] for name in stages}
        for _ in range(args.repeats):
            for name, function in stages.items():
                samples[name].append(timed(function))

        command = [sys.executable, "-m", "veraretouch", "param", str(source), "--params",
                   str(plan_file), "-o", str(folder / "proc"), "--overwrite"]
        baseline = [sys.executable, "-c", f"from PIL import Image; Image.open({str(source)!r}).save("
                    f"{str(folder / 'proc.jpg')!r}, quality=95, subsampling=0)"]
        processes = {"process: veraretouch param": command, "process: python + Pillow decode+encode": baseline}
        for name in processes:
            samples[name] = []
        for _ in range(max(3, args.repeats // 2)):
            for name, cmd in processes.items():
                samples[name].append(timed(lambda: subprocess.run(cmd, check=True, capture_output=True)))

        accuracy = {size: lut_accuracy(source, plan, size) for size in (33, 65)}

    medians = {name: statistics.median(values) for name, values in samples.items()}
    ratio = medians["veraretouch param end to end"] / medians["veraretouch decode+encode"]
    result = {
        "image": f"{width}x{height} JPEG q95 ({width * height / 1e6:.1f} MP) from {origin}",
        "plan": "src/veraretouch/examples/warm-film.json",
        "repeats": args.repeats, "medians_s": medians, "samples_s": samples,
        "ratio_end_to_end_over_decode_encode": ratio,
        "lut_error_levels": {str(k): {"max": v[0], "mean": v[1], "share_over_2": v[2]} for k, v in accuracy.items()},
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
        "torch": torch.__version__,
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "param_speed.json").write_text(json.dumps(result, indent=2) + "\n")

    print(f"\n{result['image']}, plan {result['plan']}, {args.repeats} repeats, medians\n")
    print("| step | median s |\n|---|---|")
    for name, value in medians.items():
        print(f"| {name} | {value:.3f} |")
    print(f"\nend to end / decode+encode = **{ratio:.2f}x** (budget 1.5x)\n")
    print("| LUT size | max error (levels) | mean error (levels) | pixels > 2 levels |\n|---|---|---|---|")
    for size, (maximum, mean, share) in accuracy.items():
        print(f"| {size}^3 | {maximum:.0f} | {mean:.3f} | {share:.4%} |")


if __name__ == "__main__":
    main()
