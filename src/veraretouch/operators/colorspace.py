"""Colour spaces of the pipeline: sRGB <-> linear RGB <-> OKLab / OKLCh, and sRGB -> CIELAB, all differentiable.

Why these spaces:
- sRGB (IEC 61966-2-1) is what files hold; its decode is exact and piecewise, with a linear toe
  that keeps gradients finite at black.
- Linear light is where exposure and white balance are physical: a change of light or of
  illuminant multiplies linear values.
- OKLab (Ottosson 2020) is a perceptual space whose L tracks perceived lightness and whose
  (a, b) plane has near-constant hue lines, so tone curves act on lightness without hue shifts
  and hue bands / chroma scales behave as a photographer expects. Its cube root gets a linear
  toe below ``CBRT_TOE`` (a tiny deviation from the published space) so gradients stay finite
  at pure black while the forward/backward transforms remain exact inverses.
- CIELAB (`rgb_to_lab`, as scikit-image's ``rgb2lab``) is what CIEDE2000 and the measurements of
  casts and clipping are defined in; it decodes sRGB with `srgb_to_linear_rgb`.
"""
from __future__ import annotations

import torch

_LINEAR_RGB_TO_LMS = torch.tensor(
    [[0.4122214708, 0.5363325363, 0.0514459929],
     [0.2119034982, 0.6806995451, 0.1073969566],
     [0.0883024619, 0.2817188376, 0.6299787005]], dtype=torch.float64)
_LMS_CBRT_TO_OKLAB = torch.tensor(
    [[0.2104542553, 0.7936177850, -0.0040720468],
     [1.9779984951, -2.4285922050, 0.4505937099],
     [0.0259040371, 0.7827717662, -0.8086757660]], dtype=torch.float64)
# Inverses computed, not transcribed, so forward and backward are exact inverses in float64.
_LMS_TO_LINEAR_RGB = torch.linalg.inv(_LINEAR_RGB_TO_LMS)
_OKLAB_TO_LMS_CBRT = torch.linalg.inv(_LMS_CBRT_TO_OKLAB)

CBRT_TOE = 1e-4
_TOE_SLOPE = CBRT_TOE ** (-2.0 / 3.0)

LUMINANCE_WEIGHTS = (0.2126, 0.7152, 0.0722)
"""Rec. 709 / sRGB relative luminance weights for linear RGB."""


def srgb_to_linear_rgb(srgb: torch.Tensor) -> torch.Tensor:
    """sRGB decode: ``x / 12.92`` below 0.04045, else ``((x + 0.055) / 1.055) ** 2.4``."""
    curved = ((srgb.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4
    return torch.where(srgb <= 0.04045, srgb / 12.92, curved)


def linear_rgb_to_srgb(linear_rgb: torch.Tensor) -> torch.Tensor:
    """sRGB encode: ``12.92 x`` below 0.0031308, else ``1.055 x ** (1/2.4) - 0.055``."""
    curved = 1.055 * linear_rgb.clamp_min(0.0031308) ** (1.0 / 2.4) - 0.055
    return torch.where(linear_rgb <= 0.0031308, 12.92 * linear_rgb, curved)


def _matmul_channels(image: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Apply a 3x3 matrix to the channel axis of a ``(B, 3, H, W)`` tensor."""
    return torch.einsum("ij,bj...->bi...", matrix.to(image.dtype), image)


def _safe_cbrt(x: torch.Tensor) -> torch.Tensor:
    """Odd cube root with a linear toe (slope matched at ``CBRT_TOE``): finite gradient at 0."""
    magnitude = x.abs()
    root = magnitude.clamp_min(CBRT_TOE) ** (1.0 / 3.0)
    return torch.sign(x) * torch.where(magnitude < CBRT_TOE, magnitude * _TOE_SLOPE, root)


def _safe_cube(y: torch.Tensor) -> torch.Tensor:
    """Exact inverse of `_safe_cbrt`."""
    magnitude = y.abs()
    toe_end = CBRT_TOE ** (1.0 / 3.0)
    return torch.sign(y) * torch.where(magnitude < toe_end, magnitude / _TOE_SLOPE, magnitude * magnitude * magnitude)


def linear_rgb_to_oklab(linear_rgb: torch.Tensor) -> torch.Tensor:
    """Linear sRGB ``(B, 3, H, W)`` -> OKLab ``(B, 3, H, W)`` with channels (L, a, b); white is L = 1."""
    lms = _matmul_channels(linear_rgb, _LINEAR_RGB_TO_LMS)
    return _matmul_channels(_safe_cbrt(lms), _LMS_CBRT_TO_OKLAB)


def oklab_to_linear_rgb(oklab: torch.Tensor) -> torch.Tensor:
    """OKLab -> linear sRGB (may leave [0, 1] for out-of-gamut colours; callers clip)."""
    lms = _safe_cube(_matmul_channels(oklab, _OKLAB_TO_LMS_CBRT))
    return _matmul_channels(lms, _LMS_TO_LINEAR_RGB)


def srgb_to_oklab(srgb: torch.Tensor) -> torch.Tensor:
    return linear_rgb_to_oklab(srgb_to_linear_rgb(srgb))


def oklab_to_srgb(oklab: torch.Tensor) -> torch.Tensor:
    """OKLab -> sRGB, clipped to the displayable range [0, 1]."""
    return linear_rgb_to_srgb(oklab_to_linear_rgb(oklab).clamp(0.0, 1.0))


def chroma_and_hue(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """OKLCh chroma and hue (radians, in (-pi, pi]) with finite gradients at the neutral axis.

    ``atan2`` and ``sqrt`` have undefined gradients at a = b = 0; neutral pixels get a fixed
    stand-in so their (meaningless) hue has zero gradient instead of NaN.
    """
    squared = a * a + b * b
    neutral = squared < 1e-14
    chroma = torch.sqrt(torch.where(neutral, torch.ones_like(squared), squared)) * (~neutral)
    hue = torch.atan2(torch.where(neutral, torch.zeros_like(b), b), torch.where(neutral, torch.ones_like(a), a))
    return chroma, hue


def oklch_hue_degrees_of_srgb(colors: list[tuple[float, float, float]]) -> torch.Tensor:
    """OKLCh hue in degrees [0, 360) of sRGB colours, e.g. to place hue-band centres on real primaries."""
    srgb = torch.tensor(colors, dtype=torch.float64).T.reshape(1, 3, len(colors), 1)
    lab = srgb_to_oklab(srgb)
    _, hue = chroma_and_hue(lab[:, 1], lab[:, 2])
    return torch.rad2deg(hue.flatten()) % 360.0


# sRGB (D65) -> CIE XYZ matrix and the D65 2-degree white, with scikit-image's constants so Lab matches rgb2lab.
_XYZ_FROM_LINEAR_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_D65_WHITE_XYZ = (0.95047, 1.0, 1.08883)
_LAB_LINEAR_THRESHOLD = 0.008856


def check_image_batch(image: torch.Tensor, name: str) -> None:
    """Raise unless ``image`` is a floating-point ``(B, 3, H, W)`` tensor with non-empty H and W."""
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(image).__name__}")
    if image.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D (B, 3, H, W) batch, got shape {tuple(image.shape)}")
    if image.shape[1] != 3:
        raise ValueError(f"{name}: expected 3 colour channels in dim 1, got shape {tuple(image.shape)}")
    if image.shape[2] == 0 or image.shape[3] == 0:
        raise ValueError(f"{name}: image height and width must be positive, got shape {tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor in [0, 1], got dtype {image.dtype}")


def rgb_to_lab(image: torch.Tensor) -> torch.Tensor:
    """sRGB (B, 3, H, W) -> CIELAB (B, 3, H, W) under D65, 2-degree observer, as ``skimage.color.rgb2lab``.

    sRGB decode (`srgb_to_linear_rgb`, in float64); then XYZ = M @ rgb, divided
    by the D65 white; then f(t) = t^(1/3) for t > 0.008856, else 7.787 t + 16/116, and
    L = 116 f(Y) - 16, a = 500 (f(X) - f(Y)), b = 200 (f(Y) - f(Z)). Each power only sees inputs clamped
    into its own branch, so gradients are finite everywhere, including pure black. Values are not clipped.
    """
    check_image_batch(image, "image")
    linear_rgb = srgb_to_linear_rgb(image.double())
    xyz_from_linear_rgb = torch.tensor(_XYZ_FROM_LINEAR_RGB, dtype=torch.float64, device=image.device)
    white = torch.tensor(_D65_WHITE_XYZ, dtype=torch.float64, device=image.device).view(1, 3, 1, 1)
    xyz_relative = torch.einsum("ij,bjhw->bihw", xyz_from_linear_rgb, linear_rgb) / white
    f_xyz = torch.where(
        xyz_relative > _LAB_LINEAR_THRESHOLD,
        xyz_relative.clamp_min(_LAB_LINEAR_THRESHOLD) ** (1.0 / 3.0),
        7.787 * xyz_relative + 16.0 / 116.0,
    )
    f_x, f_y, f_z = f_xyz.unbind(dim=1)
    lab = torch.stack([116.0 * f_y - 16.0, 500.0 * (f_x - f_y), 200.0 * (f_y - f_z)], dim=1)
    return lab.to(image.dtype)
