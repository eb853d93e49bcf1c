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

from ..io.fileformats import IMAGE_SUFFIXES


def photo_thumbnails(paths: list[Path], side: int = 256) -> torch.Tensor:
    """``(len(paths), 3, side, side)`` sRGB thumbnails (whole photo, squashed to a square: the
    renderer and the reference encoder look at colours, not shapes)."""
    thumbnails = []
    for path in paths:
        with Image.open(path) as image:
            image.draft("RGB", (2 * side, 2 * side))
            thumbnails.append(np.asarray(image.convert("RGB").resize((side, side), Image.BILINEAR)))
    if not thumbnails:
        return torch.empty(0, 3, side, side)
    return torch.from_numpy(np.stack(thumbnails)).permute(0, 3, 1, 2).float() / 255.0


def photo_color_pool(paths: list[Path], pixels_per_photo: int = 65536, seed: int = 0) -> torch.Tensor:
    """``(len(paths) * pixels_per_photo, 3)`` colours sampled from each photo's 256x256 thumbnail."""
    rng = np.random.default_rng(seed)
    thumbnails = photo_thumbnails(paths).flatten(2).transpose(1, 2)
    chunks = [pixels[torch.from_numpy(rng.integers(0, len(pixels), pixels_per_photo))] for pixels in thumbnails]
    return torch.cat(chunks) if chunks else torch.empty(0, 3)


def photo_paths(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def sample_colors(
    pool: torch.Tensor, count: int, generator: torch.Generator, uniform_share: float = 0.25
) -> torch.Tensor:
    """``(count, 3)`` colours: ``uniform_share`` of them uniform in the cube, the rest from ``pool``."""
    uniform = int(count * uniform_share) if len(pool) else count
    picked = pool[torch.randint(0, len(pool), (count - uniform,), generator=generator)] if len(pool) else pool[:0]
    return torch.cat([torch.rand(uniform, 3, generator=generator), picked])
