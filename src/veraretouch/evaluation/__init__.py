"""Benchmark metrics: per-image PSNR, SSIM, CIEDE2000, colour-histogram and L1 similarity."""
from . import metrics
from .metrics import *  # noqa: F403 -- the public names are exactly metrics.__all__

__all__ = list(metrics.__all__)
