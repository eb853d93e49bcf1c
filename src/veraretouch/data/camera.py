"""Faults a camera makes, for inverse-degradation data that is not made of our own sliders.

`degrade.sample_degradations` draws slider plans, so its inputs are exactly what the renderer's
inverse can reach. A camera errs differently: it meters the exposure wrong (a gain in *linear*
light, clipping at the sensor's white), balances white for the wrong illuminant (channel gains
along the daylight locus, plus a green-magenta tint), renders a flat "camera-neutral" tone curve
(low contrast, lifted blacks, soft highlights), gets the saturation wrong or slightly rotates hues.
A share of samples is left as it is, so the planner learns to leave a good photo alone.

A fault set is a small record (``dict``: names below -> numbers, missing = no fault) so recipes
store it as JSON; `apply_camera_faults` renders it, differentiably, on ``(B, 3, H, W)`` sRGB.
The order follows a camera: white balance and exposure on linear sensor values (clipped at 1),
saturation in linear light, then the tone curve and the hue error in the rendered (sRGB) image.
"""
from __future__ import annotations

import math

import torch

from ..operators.colorspace import (
    LUMINANCE_WEIGHTS,
    linear_rgb_to_srgb,
    oklab_to_srgb,
    srgb_to_linear_rgb,
    srgb_to_oklab,
)
from .degrade import uniform

FAULT_RANGES = {
    "exposure_ev": ((-2.0, -0.35), (0.3, 1.2)),
    "white_balance_mired": ((-80.0, -15.0), (15.0, 80.0)),
    "tint": ((-0.12, -0.04), (0.04, 0.12)),
    "flat": ((0.2, 0.5),),
    "saturation": ((0.45, 0.8), (1.2, 1.6)),
    "hue_degrees": ((-14.0, -5.0), (5.0, 14.0)),
}
"""Magnitudes drawn per fault (one range picked at random, then uniform in it). Exposure errors up
to -2 EV and +1.2 EV (over-exposure beyond that clips most of a frame, which no edit can undo);
white balance +-15..80 mired along the daylight locus (+46 mired turns D65 into about 5000 K, a
warm cast like R x1.1 / B x0.8); tint as a green-channel gain of +-4..12 %; ``flat`` the share of
contrast taken away (with lifted blacks and soft highlights in proportion); saturation as a factor
on linear chroma; small hue rotations in OKLab."""
FAULT_WEIGHTS = {"exposure_ev": 0.3, "white_balance_mired": 0.25, "tint": 0.12, "flat": 0.15,
                 "saturation": 0.12, "hue_degrees": 0.06}
"""How often each fault is drawn as a sample's first fault (then others, `FAULT_COUNT_WEIGHTS`)."""
FAULT_COUNT_WEIGHTS = (0.55, 0.3, 0.15)
"""Probability that a faulty sample has one, two or three faults."""
KIND_NAMES = {
    "exposure_ev": ("underexposed", "overexposed"), "white_balance_mired": ("cool cast", "warm cast"),
    "tint": ("magenta tint", "green tint"), "flat": ("flat", "flat"), "saturation": ("washed out", "garish"),
    "hue_degrees": ("hue shifted", "hue shifted"),
}
"""Each fault's problem name by sign (negative, positive), in `degrade.KINDS`' words."""
D65_KELVIN = 6504.0
FLAT_BLACK_LIFT, FLAT_WHITE_DROP, FLAT_MIDTONE_SLOPE_LOSS = 0.25, 0.2, 0.6
"""A flat tone of strength ``f``: blacks lifted to ``0.25 f``, whites dropped to ``1 - 0.2 f`` (as
ImageMagick's ``+level``), and an inverse S (``x + 0.6 f sin(2 pi x) / 2 pi``) that takes ``0.6 f`` of
the midtone slope away and gives it to the ends, as a camera's soft tone curve does."""


def daylight_linear_rgb(kelvin: torch.Tensor) -> torch.Tensor:
    """``(...,)`` correlated colour temperatures (4000-25000 K) -> ``(..., 3)`` linear sRGB of the CIE
    daylight illuminant at that temperature, green normalised to 1 (CIE 15 daylight locus)."""
    t = kelvin.clamp(4000.0, 25000.0)
    x = torch.where(t <= 7000.0,
                    -4.6070e9 / t ** 3 + 2.9678e6 / t ** 2 + 0.09911e3 / t + 0.244063,
                    -2.0064e9 / t ** 3 + 1.9018e6 / t ** 2 + 0.24748e3 / t + 0.237040)
    y = -3.0 * x ** 2 + 2.870 * x - 0.275
    xyz = torch.stack([x / y, torch.ones_like(x), (1 - x - y) / y], dim=-1)
    to_rgb = xyz.new_tensor([[3.2404542, -1.5371385, -0.4985314],
                             [-0.9692660, 1.8760108, 0.0415560],
                             [0.0556434, -0.2040259, 1.0572252]])
    rgb = xyz @ to_rgb.T
    return rgb / rgb[..., 1:2]


def white_balance_gains(mired_shift: torch.Tensor) -> torch.Tensor:
    """``(B,)`` shifts of the illuminant along the daylight locus (mired; + = warmer light left
    uncorrected) -> ``(B, 3)`` linear channel gains with unit luminance."""
    kelvin = 1e6 / (1e6 / D65_KELVIN + mired_shift)
    reference = daylight_linear_rgb(torch.tensor(D65_KELVIN, dtype=mired_shift.dtype))
    gains = daylight_linear_rgb(kelvin) / reference
    weights = gains.new_tensor(LUMINANCE_WEIGHTS)
    return gains / (gains * weights).sum(-1, keepdim=True)


def _column(faults: list[dict], name: str, neutral: float, like: torch.Tensor) -> torch.Tensor:
    return like.new_tensor([float(f.get(name, neutral)) for f in faults])[:, None, None, None]


def apply_camera_faults(srgb: torch.Tensor, faults: list[dict]) -> torch.Tensor:
    """``(B, 3, H, W)`` sRGB and one fault record per image -> the faulty images (see the module doc)."""
    if len(faults) != srgb.shape[0]:
        raise ValueError(f"{srgb.shape[0]} images but {len(faults)} fault records")
    unknown = sorted({name for f in faults for name in f} - set(FAULT_RANGES))
    if unknown:
        raise ValueError(f"unknown camera fault {unknown[0]!r}; known: {', '.join(FAULT_RANGES)}")
    linear = srgb_to_linear_rgb(srgb.clamp(0, 1))
    mired = srgb.new_tensor([float(f.get("white_balance_mired", 0.0)) for f in faults])
    gains = white_balance_gains(mired)[:, :, None, None]
    tint = _column(faults, "tint", 0.0, srgb)
    green = torch.cat([torch.zeros_like(tint), tint, torch.zeros_like(tint)], dim=1)
    linear = (linear * gains * (1 + green) * 2.0 ** _column(faults, "exposure_ev", 0.0, srgb)).clamp(0, 1)
    luminance = (linear * linear.new_tensor(LUMINANCE_WEIGHTS)[None, :, None, None]).sum(1, keepdim=True)
    linear = (luminance + _column(faults, "saturation", 1.0, srgb) * (linear - luminance)).clamp(0, 1)
    image = linear_rgb_to_srgb(linear)
    flat = _column(faults, "flat", 0.0, srgb)
    inverse_s = image + FLAT_MIDTONE_SLOPE_LOSS * flat / (2 * math.pi) * torch.sin(2 * math.pi * image)
    image = FLAT_BLACK_LIFT * flat + (1 - (FLAT_BLACK_LIFT + FLAT_WHITE_DROP) * flat) * inverse_s
    angle = torch.deg2rad(_column(faults, "hue_degrees", 0.0, srgb))
    if bool((angle != 0).any()):
        oklab = srgb_to_oklab(image.clamp(0, 1))
        a, b = oklab[:, 1:2], oklab[:, 2:3]
        rotated = torch.cat([oklab[:, :1], a * torch.cos(angle) - b * torch.sin(angle),
                             a * torch.sin(angle) + b * torch.cos(angle)], dim=1)
        image = oklab_to_srgb(rotated)
    return image.clamp(0, 1)


def sample_camera_faults(generator: torch.Generator) -> dict:
    """One faulty record: one to three faults (`FAULT_COUNT_WEIGHTS`), each of a magnitude drawn
    from `FAULT_RANGES`, rounded to 3 decimals so the JSON record renders the same image."""
    names = list(FAULT_WEIGHTS)
    weights = torch.tensor([FAULT_WEIGHTS[n] for n in names])
    count = int(torch.multinomial(torch.tensor(FAULT_COUNT_WEIGHTS), 1, generator=generator)) + 1
    chosen = [names[i] for i in torch.multinomial(weights, count, replacement=False, generator=generator).tolist()]
    record = {}
    for name in chosen:
        ranges = FAULT_RANGES[name]
        low, high = ranges[int(torch.randint(len(ranges), (), generator=generator))]
        record[name] = round(uniform(low, high, generator), 3)
    return record


def fault_kinds(record: dict) -> list[str]:
    """The problem names of a fault record (`KIND_NAMES`), in `FAULT_RANGES` order."""
    neutral = {"saturation": 1.0}
    return [KIND_NAMES[name][0 if record[name] < neutral.get(name, 0.0) else 1]
            for name in FAULT_RANGES if name in record and record[name] != neutral.get(name, 0.0)]
