"""The finishing stage (`veraretouch.operators.finishing`) at full resolution on ``(H, W, 3)`` pixels.

The image analyses are the torch module's own functions run on small block-mean images (a few
hundred thousand pixels), so only the per-pixel combination is written twice: once in torch, once
here as a compiled kernel that reads each pixel once, upsamples the fields, applies dehaze, the
luma detail (clarity, texture, sharpening), the vignette and the grain, and writes the result in
the pixels' own dtype. Sharpening's full-resolution blur is OpenCV's separable filter with the
torch module's taps and border. The vignette's distance is separable (a row term plus a column
term) and its falloff is read from a table of the torch falloff. tests/test_finishing.py checks
both paths agree within 0.5 levels on average and 2 at most.
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
        _finish_kernel(
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


@njit(inline="always")
def _fill_row(field, axes, y, row):
    """The field interpolated vertically at output row ``y``: one value per field column."""
    y0, y1, fy = axes[0][y], axes[1][y], axes[2][y]
    for j in range(field.shape[1]):
        row[j] = field[y0, j] + fy * (field[y1, j] - field[y0, j])


@njit(inline="always")
def _at(row, axes, x):
    """Horizontal interpolation of a `_fill_row` row at output column ``x``."""
    low = row[axes[3][x]]
    return low + axes[5][x] * (row[axes[4][x]] - low)


@njit(inline="always")
def _lookup(table, position):
    """Linear interpolation of ``table`` at ``position`` in [0, 1] (clamped)."""
    scaled = min(max(position, np.float32(0)), np.float32(1)) * np.float32(table.shape[0] - 1)
    node = min(int(scaled), table.shape[0] - 2)
    return table[node] + (scaled - np.float32(node)) * (table[node + 1] - table[node])


@njit(inline="always")
def _interpolate_row(row, axes, values):
    """``values[x]`` = `_fill_row` ``row`` interpolated horizontally at every output column."""
    low, high, fraction = axes[3], axes[4], axes[5]
    for x in range(values.shape[0]):
        left = row[low[x]]
        values[x] = left + fraction[x] * (row[high[x]] - left)


@njit(parallel=True, fastmath=True, cache=True)
def _finish_kernel(pixels, out, settings, dehaze_scale, small_axes, airlight, clarity_blur, texture_band, fine_axes,
                   blurred, rows, columns, mask_table, factor_table, rise, coarse, coarse_axes, fine, fine_grain_axes):
    """Row by row, in simple loops over the row that the compiler vectorises (float32 arithmetic);
    ``settings`` as `finish_pixels` lays them out."""
    levels = settings[0]
    clarity, texture, sharpness, detail, masking = settings[3], settings[4], settings[5], settings[6], settings[7]
    vignette, highlight, colour, paint, highlight_contrast, table_top = (
        settings[8], settings[9], settings[10], settings[11], settings[12], settings[13])
    grain, weight_coarse, weight_fine, dehaze = settings[14], settings[15], settings[16], settings[17]
    halo, edge_gradient, paint_strength = settings[18], settings[19], settings[21]
    red, green, blue = settings[22], settings[23], settings[24]
    zero, one, half, four = np.float32(0), np.float32(1), np.float32(0.5), np.float32(4)
    height, width = pixels.shape[0], pixels.shape[1]
    inverse_levels = one / levels
    protection_scale = np.float32(0.3) + np.float32(0.7) * highlight_contrast
    target = one if vignette > 0 else zero
    paint_amount = paint * paint_strength * abs(vignette)
    last = np.float32(mask_table.shape[0] - 1)
    rise_last = np.float32(rise.shape[0] - 1)
    for y in prange(height):
        r = np.empty(width, dtype=np.float32)
        g = np.empty(width, dtype=np.float32)
        b = np.empty(width, dtype=np.float32)
        weight = np.empty(width, dtype=np.float32)
        delta = np.zeros(width, dtype=np.float32)
        values = np.empty(width, dtype=np.float32)
        for x in range(width):
            r[x] = np.float32(pixels[y, x, 0]) * inverse_levels
            g[x] = np.float32(pixels[y, x, 1]) * inverse_levels
            b[x] = np.float32(pixels[y, x, 2]) * inverse_levels
        for x in range(width):
            clamped = min(max(red * r[x] + green * g[x] + blue * b[x], zero), one)
            weight[x] = four * clamped * (one - clamped)
        if clarity != 0:
            row = np.empty(clarity_blur.shape[1], dtype=np.float32)
            _fill_row(clarity_blur, small_axes, y, row)
            _interpolate_row(row, small_axes, values)
            for x in range(width):
                delta[x] += clarity * weight[x] * (red * r[x] + green * g[x] + blue * b[x] - values[x])
        if texture != 0:
            row = np.empty(texture_band.shape[1], dtype=np.float32)
            _fill_row(texture_band, fine_axes, y, row)
            _interpolate_row(row, fine_axes, values)
            for x in range(width):
                delta[x] += texture * weight[x] * values[x]
        if sharpness != 0:
            above, below = blurred[max(y - 1, 0)], blurred[min(y + 1, height - 1)]
            here = blurred[y]
            for x in range(width):
                high = red * r[x] + green * g[x] + blue * b[x] - here[x]
                limited = high / (one + (one - detail) * abs(high) / halo)
                dx = (here[min(x + 1, width - 1)] - here[max(x - 1, 0)]) * half
                dy = (below[x] - above[x]) * half
                scaled = min(np.sqrt(dx * dx + dy * dy + np.float32(1e-12)) / edge_gradient, one) * rise_last
                node = min(int(scaled), rise.shape[0] - 2)
                edge = rise[node] + (scaled - np.float32(node)) * (rise[node + 1] - rise[node])
                delta[x] += sharpness * limited * (one - masking * (one - edge))
        if dehaze > 0:
            row = np.empty(dehaze_scale.shape[1], dtype=np.float32)
            _fill_row(dehaze_scale, small_axes, y, row)
            _interpolate_row(row, small_axes, values)
            for x in range(width):
                r[x] = airlight[0] + (r[x] - airlight[0]) * values[x]
                g[x] = airlight[1] + (g[x] - airlight[1]) * values[x]
                b[x] = airlight[2] + (b[x] - airlight[2]) * values[x]
        for x in range(width):
            r[x] += delta[x]
            g[x] += delta[x]
            b[x] += delta[x]
        if vignette != 0:
            row_term = rows[y]
            for x in range(width):
                scaled = min((row_term + columns[x]) / table_top, one) * last
                node = min(int(scaled), mask_table.shape[0] - 2)
                fraction = scaled - np.float32(node)
                mask = mask_table[node] + fraction * (mask_table[node + 1] - mask_table[node])
                if mask > 0:
                    factor_v = factor_table[node] + fraction * (factor_table[node + 1] - factor_table[node])
                    protected = factor_v
                    if vignette < 0:
                        shaded = red * r[x] + green * g[x] + blue * b[x]
                        position = min(max((shaded - half) * np.float32(2), zero), one) * rise_last
                        at = min(int(position), rise.shape[0] - 2)
                        protection = (
                            rise[at] + (position - np.float32(at)) * (rise[at + 1] - rise[at])
                        ) * protection_scale
                        protected = factor_v + (one - factor_v) * protection
                    gain = highlight * protected + colour * factor_v + paint
                    blend = paint_amount * mask
                    r[x] = r[x] * gain + (target - r[x]) * blend
                    g[x] = g[x] * gain + (target - g[x]) * blend
                    b[x] = b[x] * gain + (target - b[x]) * blend
        if grain != 0:
            row = np.empty(coarse.shape[1], dtype=np.float32)
            _fill_row(coarse, coarse_axes, y, row)
            _interpolate_row(row, coarse_axes, values)
            for x in range(width):
                delta[x] = weight_coarse * values[x]
            if weight_fine != 0:
                row = np.empty(fine.shape[1], dtype=np.float32)
                _fill_row(fine, fine_grain_axes, y, row)
                _interpolate_row(row, fine_grain_axes, values)
                for x in range(width):
                    delta[x] += weight_fine * values[x]
            for x in range(width):
                added = grain * weight[x] * delta[x]
                r[x] += added
                g[x] += added
                b[x] += added
        if levels == 1:
            for x in range(width):
                out[y, x, 0] = min(max(r[x], zero), one)
                out[y, x, 1] = min(max(g[x], zero), one)
                out[y, x, 2] = min(max(b[x], zero), one)
        else:
            for x in range(width):
                out[y, x, 0] = int(min(max(r[x], zero), one) * levels + half)
                out[y, x, 1] = int(min(max(g[x], zero), one) * levels + half)
                out[y, x, 2] = int(min(max(b[x], zero), one) * levels + half)
