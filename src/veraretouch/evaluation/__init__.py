"""Benchmark metrics: per-image PSNR, SSIM, CIEDE2000, colour-histogram and L1 similarity."""
from .metrics import (
    delta_e2000,
    delta_e2000_map,
    evaluate_pair,
    histogram_similarity,
    l1_similarity,
    mean_absolute_error,
    psnr,
    rgb_to_lab,
    ssim,
)

__all__ = [
    "psnr",
    "ssim",
    "rgb_to_lab",
    "delta_e2000",
    "delta_e2000_map",
    "histogram_similarity",
    "mean_absolute_error",
    "l1_similarity",
    "evaluate_pair",
]
