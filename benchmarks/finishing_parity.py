"""Finishing stage: the fast full-resolution path against the differentiable torch path, per effect,
on real photos.

Run: ``.venv/bin/python benchmarks/finishing_parity.py [--side 1500]``.
Prints a Markdown table (paste into docs/benchmarks.md) and writes benchmarks/results/finishing_parity.json.
Each shared photo (../shared/photos; scikit-image's coffee when absent) is resized to ``side`` on
its long side; the torch path runs in float32 on the same 8-bit pixels; the difference is in
8-bit levels (grain with the same seed).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from veraretouch import Plan
from veraretouch.lut.finishing import finish_pixels
from veraretouch.operators.finishing import finish

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"
EFFECTS = {
    "vignette (highlight priority)": {"PostCropVignetteAmount": -50, "PostCropVignetteFeather": 30},
    "vignette (paint, round)": {"PostCropVignetteAmount": 40, "PostCropVignetteStyle": 3,
                                "PostCropVignetteRoundness": 80},
    "grain": {"GrainAmount": 50, "GrainSize": 40, "GrainFrequency": 60},
    "clarity": {"Clarity2012": 60},
    "texture": {"Texture": 70},
    "dehaze": {"Dehaze": 50},
    "haze": {"Dehaze": -50},
    "sharpening": {"Sharpness": 100, "SharpenRadius": 1.5, "SharpenDetail": 20, "SharpenEdgeMasking": 30},
}


def photos(side: int) -> list[tuple[str, np.ndarray]]:
    paths = sorted(PHOTOS.glob("*.jpg"))[:4] if PHOTOS.is_dir() else []
    images = [(p.name, Image.open(p).convert("RGB")) for p in paths]
    if not images:
        from skimage import data

        images = [("skimage coffee", Image.fromarray(data.coffee()))]
    out = []
    for name, image in images:
        scale = side / max(image.size)
        out.append((name, np.asarray(image.resize((round(image.width * scale), round(image.height * scale))))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=1500)
    args = parser.parse_args()
    rows = {}
    images = photos(args.side)
    for effect, values in EFFECTS.items():
        params = Plan(values=values).to_tensor()
        means, maxima = [], []
        for _, pixels in images:
            fast = finish_pixels(pixels.copy(), params, seed=7).astype(np.float64)
            image = torch.from_numpy(pixels.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
            with torch.no_grad():
                exact = finish(image, params[None], seed=7)[0].permute(1, 2, 0).numpy().astype(np.float64) * 255.0
            difference = np.abs(fast - exact)
            means.append(float(difference.mean()))
            maxima.append(float(difference.max()))
        rows[effect] = {"mean_levels": max(means), "max_levels": max(maxima)}
    out = ROOT / "benchmarks" / "results" / "finishing_parity.json"
    out.write_text(json.dumps({"side": args.side, "photos": [name for name, _ in images], "effects": rows},
                              indent=2) + "\n")
    print(f"{len(images)} photos, long side {args.side} px; worst photo per effect")
    print("| effect | mean diff (levels) | max diff (levels) |\n|---|---|---|")
    for effect, row in rows.items():
        print(f"| {effect} | {row['mean_levels']:.3f} | {row['max_levels']:.2f} |")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
