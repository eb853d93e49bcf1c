"""The parametric retouch pipeline: a plan's parameters -> a pointwise colour function.

Order (Lightroom's panel order, in the space where each step is natural):

1. sRGB decode to linear light; camera calibration (primaries, shadow tint) as a profile would.
2. White balance (IncrementalTemperature / Tint, plus the raw Temperature / Tint as their
   rendered-file equivalents) and Exposure: multiplicative in linear light.
   The result is clipped to the gamut, as an output-referred editor clips a rendered file.
3. OKLab: Contrast, Highlights, Shadows, Whites, Blacks, parametric zones on lightness.
4. sRGB-encoded: the point curves (ToneCurvePV2012 and per channel), as Lightroom draws them.
5. OKLab: HSL per band, Vibrance, Saturation, Monochrome (with the B&W mix), Color Grading.
6. sRGB encode, clipped to [0, 1].

Every step depends on the pixel's own colour only, so any plan is exactly a 3D LUT. Arithmetic
runs in float64 by default: float32 OKLab round trips err by up to 2e-5 in the deep shadows, and
identity at default sliders is promised to 1e-5. Stages whose controls are all at their defaults
are skipped unless gradients are wanted (they are identities, so the result is unchanged).
"""
from __future__ import annotations

import torch
from torch import nn

from ..plan.parameters import (
    CALIBRATION,
    CURVES_SLICE,
    GRADING,
    HSL_BANDS,
    N_PARAMS,
    SLIDERS,
    default_params,
    param_index,
)
from .calibration import calibrate
from .color import color_grade_oklab, hsl_oklab, monochrome_oklab, saturation_oklab
from .colorspace import linear_rgb_to_oklab, linear_rgb_to_srgb, oklab_to_linear_rgb, srgb_to_linear_rgb
from .tone import exposure, point_curves, tone_oklab, white_balance


def _check(image: torch.Tensor, params: torch.Tensor) -> None:
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"expected an image batch of shape (B, 3, H, W), got {tuple(image.shape)}")
    if params.ndim != 2 or params.shape[1] != N_PARAMS:
        raise ValueError(f"expected parameters of shape (B, {N_PARAMS}), got {tuple(params.shape)}")
    if params.shape[0] not in (1, image.shape[0]):
        raise ValueError(f"parameter batch {params.shape[0]} does not match image batch {image.shape[0]}")


_STAGE_CONTROLS = {
    "tone": [spec.name for spec in SLIDERS[1:10]],
    "hsl": [f"{kind}Adjustment{band}" for kind in ("Hue", "Saturation", "Luminance") for band in HSL_BANDS],
    "saturation": ["Vibrance", "Saturation"],
    "monochrome": ["Monochrome"],
    "calibration": [spec.name for spec in CALIBRATION],
    "grading": [spec.name for spec in GRADING if spec.name.endswith(("Sat", "Lum"))],
}
_STAGE_INDEX = {stage: [param_index(name) for name in names] for stage, names in _STAGE_CONTROLS.items()}
_STAGE_INDEX["curves"] = list(range(CURVES_SLICE.start, CURVES_SLICE.stop))
_DEFAULTS = default_params()


def _active(params: torch.Tensor, stage: str) -> bool:
    """Whether a stage can change any colour; stages at their defaults are identities and are skipped
    when no gradient is wanted (they are always computed when one is, since they have gradients)."""
    if torch.is_grad_enabled() and params.requires_grad:
        return True
    index = _STAGE_INDEX[stage]
    return bool((params[:, index] != _DEFAULTS[index].to(params.dtype)).any())


def render(image: torch.Tensor, params: torch.Tensor, compute_dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Render ``(B, 3, H, W)`` sRGB images in [0, 1] with ``(B, P)`` (or ``(1, P)``) plan parameters.

    Differentiable in both arguments with finite gradients everywhere (black, white, neutrals,
    slider extremes). Returns the input's dtype.
    """
    _check(image, params)
    x = image.to(compute_dtype)
    p = params.to(compute_dtype)
    linear = srgb_to_linear_rgb(x)
    if _active(params, "calibration"):
        linear = calibrate(linear, p)
    linear = exposure(white_balance(linear, p), p).clamp(0.0, 1.0)
    lab = linear_rgb_to_oklab(linear)
    if _active(params, "tone"):
        lab = tone_oklab(lab, p)
    if _active(params, "curves"):
        display = point_curves(linear_rgb_to_srgb(oklab_to_linear_rgb(lab).clamp(0.0, 1.0)), p)
        lab = linear_rgb_to_oklab(srgb_to_linear_rgb(display))
    for stage, operator in _COLOR_STAGES:
        if _active(params, stage):
            lab = operator(lab, p)
    return linear_rgb_to_srgb(oklab_to_linear_rgb(lab).clamp(0.0, 1.0)).to(image.dtype)


_COLOR_STAGES = (("hsl", hsl_oklab), ("saturation", saturation_oklab), ("monochrome", monochrome_oklab),
                 ("grading", color_grade_oklab))


def render_chunked(image: torch.Tensor, params: torch.Tensor, rows: int = 64) -> torch.Tensor:
    """`render` in bands of ``rows`` image rows, to bound memory on large photos (no gradients)."""
    with torch.no_grad():
        return torch.cat([render(image[:, :, top:top + rows], params) for top in range(0, image.shape[2], rows)], 2)


class RetouchOperators(nn.Module):
    """`render` as a module with no weights of its own: ``module(image, params)``.

    Holds the default (identity) parameters as a buffer for convenience.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("identity_params", default_params(1), persistent=False)

    def forward(self, image: torch.Tensor, params: torch.Tensor | None = None) -> torch.Tensor:
        return render(image, self.identity_params if params is None else params)
