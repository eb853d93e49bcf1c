"""Array plumbing between files' interleaved samples, a photo's pixels and alpha, and Pillow.

Decoders hand back (H, W[, S]) samples in the file's channel order (BGR from OpenCV) and encoders
want them interleaved again; a `Photo` keeps colour (or grey) and alpha apart, so that alpha is
never touched by colour conversion. These small helpers do the splitting and joining, the exact
16-to-8-bit rounding that JPEG needs, and the fast hand-over of 8-bit pixels to Pillow.
"""
from __future__ import annotations

import numpy as np
from PIL import Image


def split_samples(samples: np.ndarray, grey: bool, bgr: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W[, S]) samples -> (H, W, 1|3) pixels and the alpha plane when there is one."""
    if samples.ndim == 2:
        samples = samples[..., None]
    alpha = samples[..., -1] if samples.shape[2] in (2, 4) else None
    if grey:
        return samples[..., :1], alpha
    return (samples[..., 2::-1] if bgr else samples[..., :3]), alpha


def join_samples(pixels: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """(H, W, 1|3) pixels and an optional (H, W) alpha -> (H, W, S) interleaved samples."""
    return pixels if alpha is None else np.concatenate([pixels, alpha[..., None]], axis=2)


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """Round 16-bit levels to 8-bit: round(v * 255 / 65535) in exact integer arithmetic."""
    if pixels.dtype == np.uint8:
        return pixels
    return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def to_pillow(pixels: np.ndarray) -> Image.Image:
    """(H, W, 1|3) uint8 -> Pillow L/RGB image (frombytes: twice as fast as fromarray for RGB)."""
    height, width, channels = pixels.shape
    return Image.frombytes("L" if channels == 1 else "RGB", (width, height), np.ascontiguousarray(pixels))
