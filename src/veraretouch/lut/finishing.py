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

import math

import cv2
import numpy as np
import torch
from numba import njit, prange

from ..operators import finishing as ops
from ..operators.colorspace import LUMINANCE_WEIGHTS
from ..parameters import control

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
    small = _block_mean(pixels, factor, levels) if wants_small else None
    fine = _block_mean(pixels, fine_factor, levels) if "texture" in effects else None
    fields = ops.analysis_fields(_tensor(small), _tensor(fine), params.float(), effects)

    def field(name: str) -> np.ndarray:
        return fields[name][0, 0].numpy().astype(np.float32) if name in fields else _EMPTY

    def value(name: str) -> float:
        return float(control(params, name))

    airlight = fields["airlight"].reshape(3).double().numpy() if "airlight" in fields else np.zeros(3)
    blurred = _sharpen_blur(pixels, levels, float(control(params, "SharpenRadius"))) if "sharpen" in effects else _EMPTY
    rows, columns, table, table_top = _vignette_tables(params, height, width) if "vignette" in effects else (
        np.zeros(1), np.zeros(1), np.zeros(2), 1.0)
    highlight, colour, paint = (float(w) for w in ops.style_weights(params, torch.float64))
    coarse, fine_grain = (ops.grain_grids(value("GrainSize"), height, width, seed) if "grain" in effects
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
    ])
    _finish_kernel(pixels, out, settings, field("dehaze_scale"), airlight, field("clarity_blur"),
                   field("texture_band"), blurred, rows, columns, table, coarse, fine_grain)
    return out


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
    height, width = pixels.shape[0], pixels.shape[1]
    scale = 1.0 / (factor * factor * levels)
    for by in prange(out.shape[0]):
        for bx in range(out.shape[1]):
            for c in range(3):
                total = 0.0
                for dy in range(factor):
                    y = min(by * factor + dy, height - 1)
                    for dx in range(factor):
                        total += pixels[y, min(bx * factor + dx, width - 1), c]
                out[by, bx, c] = total * scale


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
    power = torch.linspace(0.0, top, VIGNETTE_TABLE_SIZE, dtype=torch.float64)
    table = ops.vignette_mask_of_distance(power.clamp_min(1e-12) ** (1.0 / exponent), params)
    return rows, columns, table.reshape(-1).numpy(), top


@njit(inline="always")
def _bilinear(field, y, x, scale_y, scale_x):
    """torch's bilinear ``align_corners=False`` sample of ``field`` at output pixel ``(y, x)``."""
    sy = max((y + 0.5) * scale_y - 0.5, 0.0)
    sx = max((x + 0.5) * scale_x - 0.5, 0.0)
    y0 = min(int(sy), field.shape[0] - 1)
    x0 = min(int(sx), field.shape[1] - 1)
    y1 = min(y0 + 1, field.shape[0] - 1)
    x1 = min(x0 + 1, field.shape[1] - 1)
    fy, fx = sy - y0, sx - x0
    top = field[y0, x0] + fx * (field[y0, x1] - field[y0, x0])
    bottom = field[y1, x0] + fx * (field[y1, x1] - field[y1, x0])
    return top + fy * (bottom - top)


@njit(inline="always")
def _rise(x, start, end):
    t = min(max((x - start) / (end - start), 0.0), 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * t)


@njit(parallel=True, cache=True)
def _finish_kernel(pixels, out, settings, dehaze_scale, airlight, clarity_blur, texture_band, blurred,
                   rows, columns, table, coarse, fine):
    levels, factor, fine_factor = settings[0], settings[1], settings[2]
    clarity, texture, sharpness, detail, masking = settings[3], settings[4], settings[5], settings[6], settings[7]
    vignette, highlight, colour, paint, highlight_contrast, table_top = (
        settings[8], settings[9], settings[10], settings[11], settings[12], settings[13])
    grain, weight_coarse, weight_fine, dehaze = settings[14], settings[15], settings[16], settings[17]
    halo, edge_gradient, stops_per_gamma, paint_strength = settings[18], settings[19], settings[20], settings[21]
    red, green, blue = settings[22], settings[23], settings[24]
    height, width = pixels.shape[0], pixels.shape[1]
    for y in prange(height):
        rgb = np.empty(3)
        for x in range(width):
            for c in range(3):
                rgb[c] = pixels[y, x, c] / levels
            lightness = red * rgb[0] + green * rgb[1] + blue * rgb[2]
            clamped = min(max(lightness, 0.0), 1.0)
            weight = 4.0 * clamped * (1.0 - clamped)
            if dehaze > 0:
                scale = _bilinear(dehaze_scale, y, x, 1.0 / factor, 1.0 / factor)
                for c in range(3):
                    rgb[c] = airlight[c] + (rgb[c] - airlight[c]) * scale
            delta = 0.0
            if clarity != 0:
                delta += clarity * weight * (lightness - _bilinear(clarity_blur, y, x, 1.0 / factor, 1.0 / factor))
            if texture != 0:
                delta += texture * weight * _bilinear(texture_band, y, x, 1.0 / fine_factor, 1.0 / fine_factor)
            if sharpness != 0:
                high = lightness - blurred[y, x]
                limited = high / (1.0 + (1.0 - detail) * abs(high) / halo)
                dx = (blurred[y, min(x + 1, width - 1)] - blurred[y, max(x - 1, 0)]) / 2.0
                dy = (blurred[min(y + 1, height - 1), x] - blurred[max(y - 1, 0), x]) / 2.0
                edge = _rise(math.sqrt(dx * dx + dy * dy + 1e-12), 0.0, edge_gradient)
                delta += sharpness * limited * (1.0 - masking * (1.0 - edge))
            for c in range(3):
                rgb[c] += delta
            if vignette != 0:
                power = rows[y] + columns[x]
                position = min(power / table_top, 1.0) * (table.shape[0] - 1)
                node = min(int(position), table.shape[0] - 2)
                mask = table[node] + (position - node) * (table[node + 1] - table[node])
                factor_v = 2.0 ** (stops_per_gamma * vignette * mask)
                shaded = red * rgb[0] + green * rgb[1] + blue * rgb[2]
                protection = _rise(shaded, 0.5, 1.0) * (0.3 + 0.7 * highlight_contrast)
                protected = factor_v + (1.0 - factor_v) * protection if vignette < 0 else factor_v
                gain = highlight * protected + colour * factor_v
                target = 1.0 if vignette > 0 else 0.0
                for c in range(3):
                    rgb[c] = rgb[c] * gain + paint * (rgb[c] + (target - rgb[c]) * (paint_strength * abs(vignette) * mask))
            if grain != 0:
                noise = weight_coarse * _bilinear(coarse, y, x, coarse.shape[0] / height, coarse.shape[1] / width)
                noise += weight_fine * _bilinear(fine, y, x, fine.shape[0] / height, fine.shape[1] / width)
                for c in range(3):
                    rgb[c] += grain * weight * noise
            for c in range(3):
                value = min(max(rgb[c], 0.0), 1.0)
                if levels == 1.0:
                    out[y, x, c] = value
                else:
                    out[y, x, c] = int(value * levels + 0.5)
