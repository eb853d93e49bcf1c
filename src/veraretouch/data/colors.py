"""Colour pools: the renderer is pointwise, so it trains on sampled colours rather than images.

A pool is an ``(N, 3)`` float tensor of sRGB colours: pixels of photos (downsized, so every
photo counts about equally) mixed at sampling time with uniform colours from the whole cube so
rare saturated corners are covered too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..interfaces.batch import IMAGE_SUFFIXES


def photo_color_pool(paths: list[Path], pixels_per_photo: int = 65536, seed: int = 0) -> torch.Tensor:
    """``(len(paths) * pixels_per_photo, 3)`` colours sampled from each photo's downsized pixels."""
    rng = np.random.default_rng(seed)
    chunks = []
    for path in paths:
        with Image.open(path) as image:
            image.draft("RGB", (512, 512))
            rgb = np.asarray(image.convert("RGB").resize((256, 256), Image.BILINEAR)).reshape(-1, 3)
        chunks.append(rgb[rng.integers(0, len(rgb), pixels_per_photo)])
    if not chunks:
        return torch.empty(0, 3)
    return torch.from_numpy(np.concatenate(chunks)).float() / 255.0


def photo_paths(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def sample_colors(pool: torch.Tensor, count: int, generator: torch.Generator, uniform_share: float = 0.25) -> torch.Tensor:
    """``(count, 3)`` colours: ``uniform_share`` of them uniform in the cube, the rest from ``pool``."""
    uniform = int(count * uniform_share) if len(pool) else count
    picked = pool[torch.randint(0, len(pool), (count - uniform,), generator=generator)] if len(pool) else pool[:0]
    return torch.cat([torch.rand(uniform, 3, generator=generator), picked])
