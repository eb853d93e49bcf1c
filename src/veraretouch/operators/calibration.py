"""Camera calibration and raw white balance, as they act on already-rendered (sRGB) photos.

Calibration (Lightroom's Calibration panel) moves the camera's primaries: ``RedHue`` rotates the
colour that pure red becomes, ``RedSaturation`` scales its chroma, and so on. Here each primary of
linear sRGB is moved in OKLCh and the three moved primaries form a 3x3 matrix in linear light,
scaled so white stays white: a smooth, invertible-for-moderate-values map that, like Lightroom's,
moves every colour in proportion to how much of that primary it holds. ``ShadowTint`` adds a
green (-) / magenta (+) cast that fades out above the shadows.

Raw white balance (``Temperature`` in Kelvin, ``Tint``) has no meaning on a rendered file, whose
white balance is baked in. Lightroom shows rendered files only the relative -100..100 scale and,
when a raw preset carries absolute values, "tries to apply the equivalent white balance adjustment
(but using the JPEG scale)" (Julieanne Kost, Adobe, 2013). We do the same: the rendered file is
taken as balanced for daylight (`REFERENCE_K`), and ``Temperature`` becomes the incremental
temperature / tint whose channel gains equal the von Kries gains between the Planckian whites of
daylight and of ``Temperature`` (`kelvin_to_incremental`); ``Tint`` adds 2/3 of itself to the
incremental tint (Lightroom's raw tint runs -150..150 where the rendered one runs -100..100).
"""
from __future__ import annotations

import numpy as np
import torch

from ..plan.parameters import control
from .colorspace import LUMINANCE_WEIGHTS, linear_rgb_to_oklab, oklab_to_linear_rgb
from .shapes import rise

PRIMARY_MAX_HUE_DEG = 30.0
"""``RedHue`` (etc.) at +-100 rotates the primary's OKLCh hue by this much (+ towards the next band)."""
PRIMARY_MAX_CHROMA = 0.5
"""``RedSaturation`` (etc.) at +-100 scales the primary's OKLab chroma by 1 +- this."""
SHADOW_TINT_LOG2_GAINS = (0.25, -0.35, 0.25)
"""log2 channel gains at ``ShadowTint`` +100 in the deepest shadows (+ magenta)."""
SHADOW_END = 0.18
"""``ShadowTint`` fades out (raised cosine) between linear luminance 0 and this (mid grey)."""
REFERENCE_K = 5500.0
"""The white balance a rendered file is taken to have (daylight); `Temperature` at this value changes nothing."""
RAW_TINT_SCALE = 2.0 / 3.0
_PRIMARIES = ("Red", "Green", "Blue")
_XYZ_TO_LINEAR_SRGB = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])
_MIRED_RANGE = (1e6 / 50000.0, 1e6 / 2000.0)
_TABLE_SIZE = 257


def calibration_matrix(params: torch.Tensor, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``(B, 3, 3)`` linear-light matrices: column ``k`` is where primary ``k`` goes, scaled so that
    ``M @ (1, 1, 1) = (1, 1, 1)``. The identity when every calibration slider is 0."""
    batch = params.shape[0]
    primaries = torch.eye(3, dtype=dtype).reshape(1, 3, 3, 1).expand(batch, 3, 3, 1)
    lab = linear_rgb_to_oklab(primaries)
    lightness, a, b = lab[:, :1], lab[:, 1:2], lab[:, 2:3]
    hues = torch.cat([control(params, f"{p}Hue") for p in _PRIMARIES], 2).to(dtype).reshape(batch, 1, 3, 1)
    sats = torch.cat([control(params, f"{p}Saturation") for p in _PRIMARIES], 2).to(dtype).reshape(batch, 1, 3, 1)
    angle = torch.deg2rad(hues / 100.0 * PRIMARY_MAX_HUE_DEG)
    scale = 1.0 + sats / 100.0 * PRIMARY_MAX_CHROMA
    cos, sin = torch.cos(angle), torch.sin(angle)
    moved = torch.cat([lightness, (a * cos - b * sin) * scale, (a * sin + b * cos) * scale], dim=1)
    matrix = oklab_to_linear_rgb(moved)[..., 0]  # (B, channel, primary)
    white_weights = torch.linalg.solve(matrix, torch.ones(batch, 3, 1, dtype=dtype))
    return matrix * white_weights.transpose(1, 2)


def calibrate(linear_rgb: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Camera calibration on ``(B, 3, H, W)`` linear RGB: the primaries' matrix, then the shadow tint."""
    matrix = calibration_matrix(params, linear_rgb.dtype)
    moved = torch.einsum("bij,bjhw->bihw", matrix, linear_rgb)
    weights = linear_rgb.new_tensor(LUMINANCE_WEIGHTS).reshape(1, 3, 1, 1)
    luminance = (moved * weights).sum(1, keepdim=True)
    shadows = 1.0 - rise(luminance, 0.0, SHADOW_END)
    direction = linear_rgb.new_tensor(SHADOW_TINT_LOG2_GAINS).reshape(1, 3, 1, 1)
    gains = torch.exp2(control(params, "ShadowTint").to(linear_rgb.dtype) / 100.0 * shadows * direction)
    return moved * gains / (gains * weights).sum(1, keepdim=True)


def planckian_xy(kelvin: np.ndarray) -> np.ndarray:
    """CIE 1931 xy of the Planckian (black-body) white at ``kelvin`` (Kim et al. 2002 cubic
    fit, valid 1667-25000 K; hotter values are held at 25000 K, where the locus has flattened)."""
    t = np.clip(np.asarray(kelvin, dtype=np.float64), 1667.0, 25000.0)
    x = np.where(t <= 4000.0,
                 -0.2661239e9 / t ** 3 - 0.2343589e6 / t ** 2 + 0.8776956e3 / t + 0.179910,
                 -3.0258469e9 / t ** 3 + 2.1070379e6 / t ** 2 + 0.2226347e3 / t + 0.240390)
    y = np.where(t <= 2222.0, -1.1063814 * x ** 3 - 1.34811020 * x ** 2 + 2.18555832 * x - 0.20219683,
                 np.where(t <= 4000.0, -0.9549476 * x ** 3 - 1.37418593 * x ** 2 + 2.09137015 * x - 0.16748867,
                          3.0817580 * x ** 3 - 5.87338670 * x ** 2 + 3.75112997 * x - 0.37001483))
    return np.stack([x, y], axis=-1)


def _white_linear_rgb(kelvin: np.ndarray) -> np.ndarray:
    xy = planckian_xy(kelvin)
    xyz = np.stack([xy[..., 0] / xy[..., 1], np.ones_like(xy[..., 0]), (1 - xy[..., 0] - xy[..., 1]) / xy[..., 1]], -1)
    return xyz @ _XYZ_TO_LINEAR_SRGB.T


def kelvin_to_incremental(kelvin: np.ndarray, temperature_gains, tint_gains) -> np.ndarray:
    """``(..., 2)`` incremental (temperature, tint) slider values whose log2 channel gains (per 100,
    ``temperature_gains`` / ``tint_gains``) equal the von Kries gains ``white(REFERENCE_K) / white(kelvin)``
    up to an overall scale (which the white balance normalises away): a 3x3 solve per value."""
    log_gains = np.log2(_white_linear_rgb(np.asarray([REFERENCE_K]))[0] / _white_linear_rgb(kelvin))
    basis = np.stack([np.asarray(temperature_gains), np.asarray(tint_gains), np.ones(3)], axis=1)
    solution = np.linalg.solve(basis, log_gains[..., None])[..., 0]
    return 100.0 * solution[..., :2]


def raw_white_balance_table(temperature_gains, tint_gains) -> torch.Tensor:
    """``(2, _TABLE_SIZE)`` incremental (temperature, tint) at mireds evenly spaced over 2000-50000 K,
    offset so that interpolating it at `REFERENCE_K` gives exactly zero (the default is an identity)."""
    mireds = np.linspace(*_MIRED_RANGE, _TABLE_SIZE)
    table = kelvin_to_incremental(1e6 / mireds, temperature_gains, tint_gains).T
    at_reference = np.array([np.interp(1e6 / REFERENCE_K, mireds, row) for row in table])
    return torch.from_numpy(table - at_reference[:, None])


def raw_white_balance_shift(params: torch.Tensor, table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, 1, 1, 1)`` incremental temperature and tint equivalent to the plan's raw ``Temperature``
    and ``Tint`` (linear in mireds between table entries, so differentiable)."""
    mired = 1e6 / control(params, "Temperature").clamp(2000.0, 50000.0)
    position = (mired - _MIRED_RANGE[0]) / (_MIRED_RANGE[1] - _MIRED_RANGE[0]) * (_TABLE_SIZE - 1)
    index = position.detach().floor().clamp(0, _TABLE_SIZE - 2).long()
    fraction = position - index
    values = table.to(params.dtype)
    low, high = values[:, index.reshape(-1)], values[:, index.reshape(-1) + 1]
    shift = (low + fraction.reshape(1, -1) * (high - low)).reshape(2, -1, 1, 1, 1)
    return shift[0], shift[1] + RAW_TINT_SCALE * control(params, "Tint")
