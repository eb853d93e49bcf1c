"""The finishing stage (`veraretouch.operators.finishing`) at full resolution on ``(H, W, 3)`` pixels.

The image analyses are the torch module's own functions run on small block-mean images (a few
hundred thousand pixels), so only the per-pixel combination is written twice: once in torch, once
as a compiled kernel (`finishing_kernel.finish_rows`) that reads each pixel once, upsamples the
fields, applies dehaze, the luma detail (clarity, texture, sharpening), the vignette and the grain,
and writes the result in the pixels' own dtype. Sharpening's full-resolution blur is OpenCV's
separable filter with the torch module's taps and border. The vignette's distance is separable (a
row term plus a column term) and its falloff is read from a table of the torch falloff.
tests/test_finishing.py checks both paths agree within 0.5 levels on average and 2 at most.
"""
from __future__ import annotations

import contextlib
import math

import cv2
import numba
import numpy as np
import torch
from numba import njit, prange

from ..operators import finishing as ops
from ..operators.colorspace import LUMINANCE_WEIGHTS
from ..plan.parameters import control
from .finishing_kernel import finish_rows
from .kernel import _TASKS_PER_THREAD, _thread_count

VIGNETTE_TABLE_SIZE = 8192
_LEVELS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}
_EMPTY = np.zeros((1, 1), dtype=np.float32)


def finish_pixels(pixels: np.ndarray, params: torch.Tensor, seed: int = 0, out: np.ndarray | None = None) -> np.ndarray:
    """``ops.finish`` on ``(H, W, 3)`` uint8 / uint16 / float32 sRGB pixels with one plan's ``(P,)``
    or ``(1, P)`` parameters; same dtype back (``out`` may be ``pixels``). No effect: ``pixels``."""
    params = params.reshape(1, -1).double()
    effects = ops.active_effects(params)
    if not effects:
        return pixels
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype not in _LEVELS:
        raise ValueError(f"expected (H, W, 3) uint8, uint16 or float32 pixels, got {pixels.shape} {pixels.dtype}")
    pixels = np.ascontiguousarray(pixels)
    out = np.empty_like(pixels) if out is None else out
    levels = _LEVELS[pixels.dtype]
    height, width = pixels.shape[:2]
    short = min(height, width)
    factor = ops.block_factor(short, ops.ANALYSIS_SIDE)
    fine_factor = ops.block_factor(short, ops.TEXTURE_SIDE)
    wants_small = bool({"clarity", "dehaze"} & set(effects))
    with _dynamic_rows(height):
        small = _block_mean(pixels, factor, levels) if wants_small else None
        fine = _block_mean(pixels, fine_factor, levels) if "texture" in effects else None
    fields = ops.analysis_fields(_tensor(small), _tensor(fine), params.float(), effects)

    def field(name: str) -> np.ndarray:
        return fields[name][0, 0].numpy().astype(np.float32) if name in fields else _EMPTY

    def value(name: str) -> float:
        return float(control(params, name))

    airlight = (
        fields["airlight"].reshape(3).numpy().astype(np.float32) if "airlight" in fields else np.zeros(3, np.float32)
    )
    blurred = _sharpen_blur(pixels, levels, float(control(params, "SharpenRadius"))) if "sharpen" in effects else _EMPTY
    rows, columns, table, table_top = _vignette_tables(params, height, width) if "vignette" in effects else (
        np.zeros(1, np.float32), np.zeros(1, np.float32), np.zeros(2), 1.0)
    highlight, colour, paint = (float(w) for w in ops.style_weights(params, torch.float64))
    coarse, fine_grain = (ops.grain_grids(value("GrainSize"), height, width, seed, value("GrainFrequency") > 0)
                          if "grain" in effects
                          else (_EMPTY, _EMPTY))
    weight_coarse, weight_fine = ops.roughness_weights(value("GrainFrequency") / 100.0)
    settings = np.array([
        levels, factor, fine_factor,
        ops.CLARITY_GAIN * value("Clarity2012") / 100.0 * ("clarity" in effects),
        ops.TEXTURE_GAIN * value("Texture") / 100.0 * ("texture" in effects),
        ops.SHARPEN_GAIN * value("Sharpness") / 100.0 * ("sharpen" in effects),
        value("SharpenDetail") / 100.0, value("SharpenEdgeMasking") / 100.0,
        value("PostCropVignetteAmount") / 100.0 * ("vignette" in effects),
        highlight, colour, paint, value("PostCropVignetteHighlightContrast") / 100.0, table_top,
        ops.GRAIN_STD * value("GrainAmount") / 100.0 * ("grain" in effects), weight_coarse, weight_fine,
        float("dehaze" in effects), ops.HALO_SCALE, ops.EDGE_GRADIENT, ops.VIGNETTE_STOPS / ops.DISPLAY_GAMMA,
        ops.PAINT_STRENGTH, *LUMINANCE_WEIGHTS,
    ], dtype=np.float32)
    small_field = field("dehaze_scale") if "dehaze" in effects else field("clarity_blur")
    texture_band = field("texture_band")
    strength = value("PostCropVignetteAmount") / 100.0
    factor_table = np.exp2(ops.VIGNETTE_STOPS * strength * table / ops.DISPLAY_GAMMA).astype(np.float32)
    with _dynamic_rows(height):
        finish_rows(
            pixels,
            out,
            settings,
            field("dehaze_scale"),
            _axes(small_field, height, width, 1 / factor, 1 / factor),
            airlight,
            field("clarity_blur"),
            texture_band,
            _axes(texture_band, height, width, 1 / fine_factor, 1 / fine_factor),
            blurred,
            rows,
            columns,
            table.astype(np.float32),
            factor_table,
            _RISE,
            coarse,
            _axes(coarse, height, width, coarse.shape[0] / height, coarse.shape[1] / width),
            fine_grain,
            _axes(fine_grain, height, width, fine_grain.shape[0] / height, fine_grain.shape[1] / width),
        )
    return out


@contextlib.contextmanager
def _dynamic_rows(height: int):
    """Hand rows out in small chunks, as `apply_lut` does: on a shared machine a slowed core then
    takes fewer rows instead of the whole pass waiting for its fixed share."""
    threads = _thread_count()
    previous_threads = numba.get_num_threads()
    numba.set_num_threads(threads)
    previous_chunksize = numba.set_parallel_chunksize(max(1, -(-height // (threads * _TASKS_PER_THREAD))))
    try:
        yield
    finally:
        numba.set_parallel_chunksize(previous_chunksize)
        numba.set_num_threads(previous_threads)


def _tensor(image: np.ndarray | None) -> torch.Tensor:
    if image is None:
        return torch.zeros(1, 3, 1, 1)
    return torch.from_numpy(image).permute(2, 0, 1)[None]


def _block_mean(pixels: np.ndarray, factor: int, levels: float) -> np.ndarray:
    """``ops.block_mean`` of the pixels scaled to [0, 1], as float32 ``(h, w, 3)``."""
    height, width = pixels.shape[:2]
    out = np.empty((-(-height // factor), -(-width // factor), 3), dtype=np.float32)
    _block_mean_kernel(pixels, out, factor, levels)
    return out


@njit(parallel=True, cache=True)
def _block_mean_kernel(pixels, out, factor, levels):
    """Row-major accumulation (each pixel read once, in memory order); edges repeat the last pixel."""
    height, width = pixels.shape[0], pixels.shape[1]
    small_width = out.shape[1]
    scale = np.float32(1.0 / (factor * factor * levels))
    for by in prange(out.shape[0]):
        totals = np.zeros((small_width, 3), dtype=np.float32)
        for dy in range(factor):
            y = min(by * factor + dy, height - 1)
            for x in range(width):
                block = x // factor
                for c in range(3):
                    totals[block, c] += np.float32(pixels[y, x, c])
            for x in range(width, small_width * factor):  # the right edge, padded by repetition
                for c in range(3):
                    totals[small_width - 1, c] += np.float32(pixels[y, width - 1, c])
        for bx in range(small_width):
            for c in range(3):
                out[by, bx, c] = totals[bx, c] * scale


def _sharpen_blur(pixels: np.ndarray, levels: float, radius: float) -> np.ndarray:
    """Full-resolution luma blurred with ``ops.gaussian_blur``'s taps and reflect-101 border."""
    lightness = np.empty(pixels.shape[:2], dtype=np.float32)
    _luma_kernel(pixels, lightness, levels, np.array(LUMINANCE_WEIGHTS))
    taps = ops.gaussian_kernel(radius, min(pixels.shape[:2]) - 1).numpy().astype(np.float32)
    if min(pixels.shape[:2]) < 2:
        return lightness
    return cv2.sepFilter2D(lightness, cv2.CV_32F, taps, taps, borderType=cv2.BORDER_REFLECT_101)


@njit(parallel=True, cache=True)
def _luma_kernel(pixels, out, levels, weights):
    for y in prange(pixels.shape[0]):
        for x in range(pixels.shape[1]):
            out[y, x] = (weights[0] * pixels[y, x, 0] + weights[1] * pixels[y, x, 1]
                         + weights[2] * pixels[y, x, 2]) / levels


def _vignette_tables(params: torch.Tensor, height: int, width: int):
    """Row and column terms ``(|x| / a) ** p`` of the distance and the falloff as a table over their sum."""
    roundness = float(control(params, "PostCropVignetteRoundness")) / 100.0
    towards_circle, exponent = max(roundness, 0.0), 2.0 + 6.0 * max(-roundness, 0.0)
    mean_half = math.sqrt(height * width) / 2.0
    half_x = (1.0 - towards_circle) * width / 2.0 + towards_circle * mean_half
    half_y = (1.0 - towards_circle) * height / 2.0 + towards_circle * mean_half
    columns = (np.abs(np.arange(width) + 0.5 - width / 2.0) / half_x) ** exponent
    rows = (np.abs(np.arange(height) + 0.5 - height / 2.0) / half_y) ** exponent
    top = float(columns.max() + rows.max())
    rows, columns = rows.astype(np.float32), columns.astype(np.float32)
    power = torch.linspace(0.0, top, VIGNETTE_TABLE_SIZE, dtype=torch.float64)
    table = ops.vignette_mask_of_distance(power.clamp_min(1e-12) ** (1.0 / exponent), params)
    return rows, columns, table.reshape(-1).numpy(), top


def _axis(count: int, source: int, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index along one axis: torch's bilinear ``align_corners=False`` source indices
    ``i0, i1`` and float32 weight of ``i1`` (``src = max((i + 0.5) * scale - 0.5, 0)``)."""
    position = np.maximum((np.arange(count) + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(position.astype(np.int64), source - 1)
    return low, np.minimum(low + 1, source - 1), (position - low).astype(np.float32)


def _axes(field: np.ndarray, height: int, width: int, scale_y: float, scale_x: float):
    return (*_axis(height, field.shape[0], scale_y), *_axis(width, field.shape[1], scale_x))


def _rise_table(size: int = 4096) -> np.ndarray:
    """``ops.rise(t, 0, 1)`` at ``size`` points over [0, 1] (the kernel interpolates it)."""
    return ops.rise(torch.linspace(0.0, 1.0, size, dtype=torch.float64), 0.0, 1.0).numpy().astype(np.float32)


_RISE = _rise_table()
