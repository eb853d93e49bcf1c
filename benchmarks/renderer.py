"""Renderer benchmark: param fidelity (whole images, held-out photos), group decoupling, and speed.

Run: ``.venv/bin/python benchmarks/renderer.py [--models DIR] [--plans 40]``. Uses the shipped
weights unless ``--models`` names a training run folder (with ``renderer/`` and
``slider_encoder/``). Torch uses its default threads (both cores here) for the speed part.
Photos: the held-out split of ../shared/photos (never trained on), else scikit-image's bundled photos.
Writes benchmarks/results/renderer.json and prints Markdown.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from veraretouch.data.colors import photo_paths
from veraretouch.data.plans import is_held_out, preset_plans, sample_paper_plans
from veraretouch.evaluation import psnr
from veraretouch.lut import apply_lut
from veraretouch.operators import render
from veraretouch.plan.parameters import ASPECTS, restrict_to_aspects
from veraretouch.weights import load_models

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def held_out_photos(size: int = 256) -> list[torch.Tensor]:
    paths = [p for p in photo_paths(SHARED / "photos") if is_held_out(p)] if (SHARED / "photos").is_dir() else []
    images = [Image.open(p).convert("RGB") for p in paths]
    if not images:
        from skimage import data

        images = [Image.fromarray(d) for d in (data.astronaut(), data.coffee(), data.chelsea())]
    tensors = []
    for image in images:
        image.thumbnail((size, size), Image.LANCZOS)
        tensors.append(torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)[None].float() / 255)
    return tensors


def fidelity(renderer, encoder, photos, params, masks=None, chunk: int = 8) -> list[float]:
    """PSNR of renderer(photo, encoder(plan)) against the operators, per (photo, plan), in chunks of plans."""
    scores = []
    with torch.no_grad():
        latents = encoder(params)
        targets_params = params if masks is None else restrict_to_aspects(params, masks)
        for photo in photos:
            for start in range(0, params.shape[0], chunk):
                rows = slice(start, start + chunk)
                image = photo.expand(latents[rows].shape[0], -1, -1, -1)
                target = render(image, targets_params[rows], compute_dtype=torch.float32)
                predicted = renderer(image, latents[rows], None if masks is None else masks[rows])
                scores.extend(psnr(predicted, target).clamp(max=99.0).tolist())
    return scores


def summary(scores: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(scores)), "p5": float(np.percentile(scores, 5)), "count": len(scores)}


def lut_parity(renderer, encoder, photos, params) -> dict[str, float]:
    """8-bit levels between the baked 65^3 LUT (tetrahedral) and the direct MLP, on the photos."""
    errors = []
    with torch.no_grad():
        latents = encoder(params)
        for photo in photos:
            pixels = np.ascontiguousarray((photo[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
            exact = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
            for row in latents:
                fast = apply_lut(pixels, renderer.bake_lut(row[None])).astype(np.int16)
                direct = (renderer(exact, row[None])[0].permute(1, 2, 0).numpy() * 255).round().astype(np.int16)
                errors.append(np.abs(fast - direct))
    every = np.concatenate([e.ravel() for e in errors])
    return {"max_levels": int(every.max()), "mean_levels": float(every.mean()),
            "share_over_2_levels": float((every > 2).mean()), "images": len(errors)}


def speed(renderer, encoder) -> dict[str, float]:
    """24 MP through the baked LUT (bake included) vs the direct MLP on 4 MP, scaled to 24 MP."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (4000, 6000, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(pixels[::8, ::8]).resize((6000, 4000), Image.BILINEAR))
    latents = encoder(sample_paper_plans(1, torch.Generator().manual_seed(3)))
    renderer.bake_lut(latents)  # warm-up
    lut_times = []
    for _ in range(5):
        start = time.perf_counter()
        apply_lut(smooth, renderer.bake_lut(latents))
        lut_times.append(time.perf_counter() - start)
    four_mp = torch.from_numpy(smooth[:2000, :2000].copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        start = time.perf_counter()
        for rows in range(0, 2000, 100):
            renderer(four_mp[:, :, rows:rows + 100], latents)
        direct = (time.perf_counter() - start) * 6.0
    def median_bake() -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            renderer.bake_lut(latents)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    bake = median_bake()
    onnx = renderer.__dict__.pop("_onnx", None)  # the same bake through eager PyTorch, for the ratio
    bake_torch = median_bake()
    if onnx is not None:
        renderer.__dict__["_onnx"] = onnx
    lut = statistics.median(lut_times)
    return {"lut_24mp_s": lut, "bake_s": bake, "bake_torch_s": bake_torch, "onnx": onnx is not None,
            "direct_24mp_s_scaled": direct,
            "speedup": direct / lut, "threads": torch.get_num_threads(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=None, help="run folder (default: the shipped weights)")
    parser.add_argument("--plans", type=int, default=40)
    parser.add_argument("--parts", default="fidelity,parity,speed",
                        help="comma-separated parts to run (speed wants a quiet machine)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    out = ROOT / "benchmarks" / "results" / "renderer.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    renderer, encoder = load_models(args.models, "renderer", "slider_encoder")
    photos = held_out_photos()
    generator = torch.Generator().manual_seed(2026)
    paper = sample_paper_plans(args.plans, generator)
    results = {**previous, "photos": len(photos), "plans": args.plans}
    if "fidelity" in parts:
        results["paper"] = summary(fidelity(renderer, encoder, photos, paper))
        for index, group in enumerate(ASPECTS):
            mask = torch.zeros(len(ASPECTS))
            mask[index] = 1.0
            results[f"paper_only_{group}"] = summary(fidelity(renderer, encoder, photos, paper,
                                                              mask.expand(args.plans, -1)))
        if (SHARED / "presets").is_dir():
            held_out, _ = preset_plans(SHARED / "presets", "held_out")
            results["held_out_presets"] = summary(fidelity(renderer, encoder, photos, held_out))
    if "parity" in parts:
        results["lut_parity"] = lut_parity(renderer, encoder, photos, paper[:8])
    if "speed" in parts:
        results["speed"] = speed(renderer, encoder)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{results['photos']} held-out photos (long side 256), {args.plans} paper-distribution plans\n")
    print("| set | mean PSNR (dB) | 5th percentile | pairs |\n|---|---|---|---|")
    for key, value in results.items():
        if isinstance(value, dict) and "mean" in value:
            print(f"| {key} | {value['mean']:.2f} | {value['p5']:.2f} | {value['count']} |")
    if "lut_parity" not in results or "speed" not in results:
        return
    parity = results["lut_parity"]
    print(f"\nLUT vs direct MLP over {parity['images']} renders: max {parity['max_levels']} levels, mean "
          f"{parity['mean_levels']:.3f}, {100 * parity['share_over_2_levels']:.4f} % of values > 2 levels")
    s = results["speed"]
    print(f"\n24 MP through the baked 65^3 LUT (bake included): {s['lut_24mp_s']:.3f} s median (bake alone "
          f"{s['bake_s']:.3f} s{' with ONNX Runtime' if s['onnx'] else ''}, {s['bake_torch_s']:.3f} s in eager "
          f"PyTorch); direct MLP (4 MP x 6): {s['direct_24mp_s_scaled']:.1f} s; speed-up "
          f"{s['speedup']:.0f}x; {s['threads']} torch threads; peak RSS {s['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
