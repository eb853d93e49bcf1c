"""The finishing stage: Lightroom's spatial effects, applied to the pointwise (LUT) result.

Dehaze, Clarity, Texture, Sharpening, post-crop vignette and grain look at neighbours, so no LUT
can hold them. Each is differentiable here on ``(B, 3, H, W)`` sRGB tensors; `veraretouch.lut.
finishing` is the fast full-resolution path for photos and shares every image analysis with this
module (`analysis_fields`, `grain_grids`), so the two differ only by float round-off.

How the image is read and changed, in one pass over the LUT's output ``x``:

- *Analysis* runs on block means of ``x``: ``k = max(1, short_side // ANALYSIS_SIDE)`` for
  clarity and dehaze, ``TEXTURE_SIDE`` for texture, so scales are fractions of the short side and
  a look does not change with resolution. Fields are upsampled bilinearly (pixel centres aligned).
- *Dehaze* (dark-channel prior, smoothed): haze ``h`` = blurred per-pixel channel minimum over the
  airlight ``A`` (a softmax-weighted mean of the haziest colours); ``x <- A + (x - A) s`` with
  ``s = (1 - HAZE_ADDED * relu(-d)) / max(T_MIN, 1 - DEHAZE_STRENGTH * relu(d) * h)``.
- *Luma detail* on the luma ``L`` of ``x`` (Rec. 709 weights on encoded values), added to every
  channel and weighted by ``w(L) = 4 L (1 - L)`` (midtones): clarity ``L - blur(L)`` at
  `CLARITY_SIGMA`, texture ``blur_fine - blur_medium`` (a band), sharpening an unsharp mask at
  ``SharpenRadius`` pixels with halo limiting (Detail) and an edge mask (Masking).
- *Vignette* on an ellipse-to-rectangle (Roundness) distance from the centre, raised-cosine
  falloff from the Midpoint over the Feather; highlight / colour priority scale the encoded
  values by ``gain ** (1 / 2.2)`` (an exposure change in linear light under a 2.2 power law),
  paint overlay blends towards black or white.
- *Grain*: seeded noise on a grid whose size is a fraction of the image (GrainSize), a
  second grid twice as fine mixed in by roughness (GrainFrequency), upsampled, times
  ``GRAIN_STD * amount * w(L)``: zero-mean, the same for the same seed, any resolution.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..plan.parameters import FINISHING, FINISHING_SLICE, control, default_params
from .colorspace import LUMINANCE_WEIGHTS
from .shapes import rise

ANALYSIS_SIDE = 384
"""Clarity and dehaze analyse block means about this many pixels on the short side."""
TEXTURE_SIDE = 1536
CLARITY_SIGMA = 0.02
"""Clarity's blur, as a fraction of the short side (80 px on a 24 MP photo)."""
CLARITY_GAIN = 1.0
TEXTURE_SIGMAS = (0.0005, 0.003)
"""Texture's band: detail between these blurs (fractions of the short side)."""
TEXTURE_GAIN = 2.0
DEHAZE_SIGMA = 0.03
DEHAZE_STRENGTH = 0.9
"""Dehaze +100 removes this fraction of the estimated haze (the dark-channel prior's omega)."""
HAZE_ADDED = 0.5
"""Dehaze -100 blends this much of the airlight into every pixel."""
T_MIN = 0.15
AIRLIGHT_TEMPERATURE = 0.02
SHARPEN_GAIN = 1.0
"""Sharpness 100 adds the full high-pass once (150: one and a half times)."""
HALO_SCALE = 0.02
EDGE_GRADIENT = 0.02
"""Edge masking keeps sharpening where the blurred luma changes by this much per pixel."""
VIGNETTE_STOPS = 1.5
"""PostCropVignetteAmount -100 darkens the fully vignetted corner by this many stops."""
PAINT_STRENGTH = 0.8
DISPLAY_GAMMA = 2.2
GRAIN_STD = 0.06
"""GrainAmount 100 adds noise of this standard deviation (15 levels) to mid grey."""
GRAIN_GRID = 1200
"""Grain cells across the short side at GrainSize 0 is ``GRAIN_GRID / 0.4``; size 100: ``/ 2.0``."""
MAX_BLUR_RADIUS_SIGMAS = 3.0

EFFECTS = {
    "dehaze": ("Dehaze",),
    "clarity": ("Clarity2012",),
    "texture": ("Texture",),
    "sharpen": ("Sharpness",),
    "vignette": ("PostCropVignetteAmount",),
    "grain": ("GrainAmount",),
}
"""Each effect and the amount that switches it on (an effect at amount 0 changes nothing)."""
_DEFAULTS = default_params()


def luma(image: torch.Tensor) -> torch.Tensor:
    """``(B, 1, H, W)`` Rec. 709 luma of encoded sRGB values."""
    return (image * image.new_tensor(LUMINANCE_WEIGHTS).reshape(1, 3, 1, 1)).sum(1, keepdim=True)


def midtones(lightness: torch.Tensor) -> torch.Tensor:
    """``4 L (1 - L)``: 1 at mid grey, 0 at black and white."""
    lightness = lightness.clamp(0.0, 1.0)
    return 4.0 * lightness * (1.0 - lightness)


def amount(params: torch.Tensor, name: str, dtype: torch.dtype) -> torch.Tensor:
    return control(params, name).to(dtype) / 100.0


def active_effects(params: torch.Tensor) -> list[str]:
    """The effects whose amount is non-zero anywhere in the ``(B, P)`` batch."""
    return [effect for effect, (name,) in EFFECTS.items() if bool((control(params, name) != 0).any())]


def has_finishing(params: torch.Tensor) -> bool:
    return bool(active_effects(params.reshape(-1, params.shape[-1])))


def pointwise_params(params: torch.Tensor) -> torch.Tensor:
    """``params`` with every finishing control at its default: what a LUT (or a .cube) can hold."""
    out = params.clone()
    out[..., FINISHING_SLICE] = _DEFAULTS[FINISHING_SLICE].to(params)
    return out


def finishing_values(values: dict[str, float]) -> dict[str, float]:
    """The finishing controls among a plan's values."""
    names = {spec.name for spec in FINISHING}
    return {name: value for name, value in values.items() if name in names}


# ------------------------------------------------------------------------------------- analysis
def block_factor(short_side: int, target: int) -> int:
    return max(1, short_side // target)


def block_mean(image: torch.Tensor, factor: int) -> torch.Tensor:
    """Means over ``factor x factor`` blocks; the bottom / right edges are padded by repetition."""
    if factor == 1:
        return image
    height, width = image.shape[-2:]
    padded = F.pad(image, (0, -width % factor, 0, -height % factor), mode="replicate")
    return F.avg_pool2d(padded, factor)


def upsample(field: torch.Tensor, factor: int, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling of a block-mean field back to ``size`` (pixel centres aligned)."""
    if factor == 1:
        return field
    full = F.interpolate(field, size=(field.shape[-2] * factor, field.shape[-1] * factor), mode="bilinear",
                         align_corners=False)
    return full[..., :size[0], :size[1]]


def gaussian_kernel(sigma: float, limit: int) -> torch.Tensor:
    """Normalised 1-D Gaussian taps out to ``3 sigma`` (at most ``limit`` each side), float64."""
    radius = max(1, min(int(math.ceil(MAX_BLUR_RADIUS_SIGMAS * sigma)), limit))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-0.5 * (offsets / max(sigma, 1e-6)) ** 2)
    return taps / taps.sum()


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)`` with mirrored borders (reflect-101, as OpenCV's default).

    Without autograd on a CPU tensor the same taps run through OpenCV's separable filter (torch's
    convolutions are 10x slower on these one-channel shapes); tests/test_finishing.py compares both.
    """
    height, width = image.shape[-2:]
    if min(height, width) < 2:
        return image
    kernel = gaussian_kernel(sigma, min(height, width) - 1).to(image.dtype)
    radius = (len(kernel) - 1) // 2
    channels = image.shape[1]
    if image.device.type == "cpu" and not (torch.is_grad_enabled() and image.requires_grad):
        import cv2

        depth = cv2.CV_64F if image.dtype == torch.float64 else cv2.CV_32F
        taps = kernel.numpy().astype(np.float64 if image.dtype == torch.float64 else np.float32)
        planes = image.detach().reshape(-1, height, width).numpy()
        return torch.from_numpy(np.stack([cv2.sepFilter2D(np.ascontiguousarray(plane), depth, taps, taps,
                                                          borderType=cv2.BORDER_REFLECT_101) for plane in planes])
                                ).reshape(image.shape).to(image.dtype)
    flat = image.reshape(-1, 1, height, width)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="reflect"), kernel.reshape(1, 1, 1, -1))
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="reflect"), kernel.reshape(1, 1, -1, 1))
    return flat.reshape(-1, channels, height, width)


def analysis_fields(small: torch.Tensor, fine: torch.Tensor, params: torch.Tensor,
                    effects: list[str]) -> dict[str, torch.Tensor]:
    """Low-resolution fields of the wanted effects from block means ``small`` (clarity / dehaze
    grid) and ``fine`` (texture grid) of the LUT output.

    Returns ``clarity_blur`` and ``dehaze_scale`` on the small grid, ``airlight`` ``(B, 3, 1, 1)``,
    ``texture_band`` on the fine grid: what both the torch and the fast path upsample.
    """
    fields: dict[str, torch.Tensor] = {}
    small_scale = min(small.shape[-2:])
    if "clarity" in effects:
        fields["clarity_blur"] = gaussian_blur(luma(small), CLARITY_SIGMA * small_scale)
    if "texture" in effects:
        fine_scale = min(fine.shape[-2:])
        fine_luma = luma(fine)
        fields["texture_band"] = (gaussian_blur(fine_luma, TEXTURE_SIGMAS[0] * fine_scale)
                                  - gaussian_blur(fine_luma, TEXTURE_SIGMAS[1] * fine_scale))
    if "dehaze" in effects:
        dark = gaussian_blur(small.amin(1, keepdim=True), DEHAZE_SIGMA * small_scale)
        weights = torch.softmax(dark.flatten(1) / AIRLIGHT_TEMPERATURE, dim=1).reshape(dark.shape)
        airlight = (small * weights).sum((2, 3), keepdim=True)
        haze = (dark / airlight.amin(1, keepdim=True).clamp_min(0.05)).clamp(0.0, 1.0)
        strength = amount(params, "Dehaze", small.dtype)
        transmission = (1.0 - DEHAZE_STRENGTH * strength.clamp_min(0.0) * haze).clamp_min(T_MIN)
        fields["dehaze_scale"] = (1.0 - HAZE_ADDED * (-strength).clamp_min(0.0)) / transmission
        fields["airlight"] = airlight
    return fields


def grain_grid_shape(size: float, height: int, width: int) -> tuple[int, int]:
    """Cells of the coarse grain grid for ``GrainSize`` ``size`` on an image of ``height x width``."""
    cells = GRAIN_GRID / (0.4 + 1.6 * size / 100.0)
    short = min(height, width)
    return max(2, round(cells * height / short)), max(2, round(cells * width / short))


def grain_grids(size: float, height: int, width: int, seed: int, rough: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Seeded float32 grids of zero-mean, unit-variance uniform noise (three times cheaper to draw
    than normal noise; bilinear upsampling sums four of them, which looks Gaussian): the coarse
    grid and one twice as fine for roughness (``rough``; a 1 x 1 zero grid otherwise)."""
    rows, columns = grain_grid_shape(size, height, width)
    generator = np.random.default_rng([seed, rows, columns])

    def draw(shape: tuple[int, int]) -> np.ndarray:
        noise = generator.random(shape, dtype=np.float32)
        noise -= np.float32(0.5)
        noise *= np.float32(math.sqrt(12.0))
        return noise

    coarse = draw((rows, columns))
    return coarse, draw((2 * rows, 2 * columns)) if rough else np.zeros((1, 1), dtype=np.float32)


def roughness_weights(roughness: float) -> tuple[float, float]:
    """Weights of the coarse and fine grain grids for GrainFrequency / 100, normalised to unit power."""
    norm = math.sqrt((1.0 - roughness) ** 2 + roughness ** 2)
    return (1.0 - roughness) / norm, roughness / norm


def grain_noise(params: torch.Tensor, height: int, width: int, seed: int, dtype: torch.dtype) -> torch.Tensor:
    """``(B, 1, H, W)`` unit grain noise per image of the batch (grids depend on each image's size
    and roughness, which therefore carry no gradient; the amount does)."""
    noises = []
    for row in params.detach().double().cpu():
        size = float(row[FINISHING_SLICE.start + _INDEX["GrainSize"]])
        roughness = float(row[FINISHING_SLICE.start + _INDEX["GrainFrequency"]]) / 100.0
        coarse, fine = grain_grids(size, height, width, seed, rough=roughness > 0)
        weight_coarse, weight_fine = roughness_weights(roughness)
        noise = 0.0
        for grid, weight in ((coarse, weight_coarse), (fine, weight_fine)):
            noise = noise + weight * F.interpolate(torch.from_numpy(grid)[None, None].to(dtype), size=(height, width),
                                                   mode="bilinear", align_corners=False)
        noises.append(noise)
    return torch.cat(noises, 0).to(params.device)


_INDEX = {spec.name: i for i, spec in enumerate(FINISHING)}


# ------------------------------------------------------------------------------------- vignette
def vignette_distance(params: torch.Tensor, height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
    """``(B, 1, H, W)`` distance from the centre: 1 on the frame's inscribed ellipse at Roundness 0,
    a circle (of the frame's mean half-side) at +100, a superellipse of exponent 8 at -100."""
    roundness = amount(params, "PostCropVignetteRoundness", dtype)
    towards_circle = roundness.clamp_min(0.0)
    exponent = 2.0 + 6.0 * (-roundness).clamp_min(0.0)
    mean_half = math.sqrt(height * width) / 2.0
    half_x = (1.0 - towards_circle) * width / 2.0 + towards_circle * mean_half
    half_y = (1.0 - towards_circle) * height / 2.0 + towards_circle * mean_half
    xs = (torch.arange(width, dtype=dtype) + 0.5 - width / 2.0).reshape(1, 1, 1, -1).abs()
    ys = (torch.arange(height, dtype=dtype) + 0.5 - height / 2.0).reshape(1, 1, -1, 1).abs()
    power = (xs / half_x) ** exponent + (ys / half_y) ** exponent
    return power.clamp_min(1e-12) ** (1.0 / exponent)


def vignette_mask_of_distance(distance: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """0 inside ``start = 0.25 + Midpoint/100``, rising (raised cosine) to 1 over ``0.05 + 0.95 Feather/100``."""
    dtype = distance.dtype
    start = 0.25 + amount(params, "PostCropVignetteMidpoint", dtype)
    width = 0.05 + 0.95 * amount(params, "PostCropVignetteFeather", dtype)
    return rise(distance, start, start + width)


def style_weights(params: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weights of highlight priority, colour priority and paint overlay (a fractional style blends)."""
    style = control(params, "PostCropVignetteStyle").to(dtype)
    highlight = (2.0 - style).clamp(0.0, 1.0)
    paint = (style - 2.0).clamp(0.0, 1.0)
    return highlight, 1.0 - highlight - paint, paint


def apply_vignette(image: torch.Tensor, mask: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """The vignette on ``image`` given its ``mask`` (1 where fully vignetted)."""
    dtype = image.dtype
    strength = amount(params, "PostCropVignetteAmount", dtype)
    highlight, colour, paint = style_weights(params, dtype)
    factor = torch.exp2(VIGNETTE_STOPS * strength * mask / DISPLAY_GAMMA)
    protection = rise(luma(image), 0.5, 1.0) * (0.3 + 0.7 * amount(params, "PostCropVignetteHighlightContrast", dtype))
    protected = factor + (1.0 - factor) * protection * (strength < 0).to(dtype)
    scaled = image * (highlight * protected + colour * factor)
    target = (strength > 0).to(dtype)
    painted = image + (target - image) * (PAINT_STRENGTH * strength.abs() * mask)
    return scaled + paint * painted


# ------------------------------------------------------------------------------------- sharpening
def edge_gradient(blurred: torch.Tensor) -> torch.Tensor:
    """Magnitude of central differences (one-sided at the borders' repeated edge) of ``(B, 1, H, W)``."""
    padded = F.pad(blurred, (1, 1, 1, 1), mode="replicate")
    dx = (padded[..., 1:-1, 2:] - padded[..., 1:-1, :-2]) / 2.0
    dy = (padded[..., 2:, 1:-1] - padded[..., :-2, 1:-1]) / 2.0
    return torch.sqrt(dx * dx + dy * dy + 1e-12)


def sharpen_delta(lightness: torch.Tensor, blurred: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Unsharp-mask luma change: ``gain * h / (1 + (1 - detail) |h| / HALO_SCALE) * mask``."""
    dtype = lightness.dtype
    high = lightness - blurred
    detail = amount(params, "SharpenDetail", dtype)
    limited = high / (1.0 + (1.0 - detail) * high.abs() / HALO_SCALE)
    masking = amount(params, "SharpenEdgeMasking", dtype)
    mask = 1.0 - masking * (1.0 - rise(edge_gradient(blurred), 0.0, EDGE_GRADIENT))
    return SHARPEN_GAIN * amount(params, "Sharpness", dtype) * limited * mask


def sharpen_radius(params: torch.Tensor) -> float:
    """One blur radius per call: the batch's largest (plans in a batch rarely differ here)."""
    return float(control(params, "SharpenRadius").detach().max())


# ------------------------------------------------------------------------------------- the stage
def finish(image: torch.Tensor, params: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The finishing stage on ``(B, 3, H, W)`` sRGB in [0, 1] with ``(B or 1, P)`` parameters.

    Differentiable in the image and in every amount; effects at amount 0 are skipped (they are
    identities) unless the parameters want gradients. ``seed`` fixes the grain.
    """
    effects = list(EFFECTS) if torch.is_grad_enabled() and params.requires_grad else active_effects(params)
    if not effects:
        return image
    height, width = image.shape[-2:]
    short = min(height, width)
    dtype = image.dtype
    x = image
    lightness = luma(x)
    factor = block_factor(short, ANALYSIS_SIDE)
    fine_factor = block_factor(short, TEXTURE_SIDE)
    fields = analysis_fields(block_mean(x, factor), block_mean(x, fine_factor) if "texture" in effects else x,
                             params, effects)
    if "dehaze" in effects:
        airlight = fields["airlight"]
        x = airlight + (x - airlight) * upsample(fields["dehaze_scale"], factor, (height, width))
    delta = torch.zeros_like(lightness)
    weight = midtones(lightness)
    if "clarity" in effects:
        detail = lightness - upsample(fields["clarity_blur"], factor, (height, width))
        delta = delta + CLARITY_GAIN * amount(params, "Clarity2012", dtype) * weight * detail
    if "texture" in effects:
        band = upsample(fields["texture_band"], fine_factor, (height, width))
        delta = delta + TEXTURE_GAIN * amount(params, "Texture", dtype) * weight * band
    if "sharpen" in effects:
        delta = delta + sharpen_delta(lightness, gaussian_blur(lightness, sharpen_radius(params)), params)
    x = x + delta
    if "vignette" in effects:
        mask = vignette_mask_of_distance(vignette_distance(params, height, width, dtype), params)
        x = apply_vignette(x, mask, params)
    if "grain" in effects:
        noise = grain_noise(params, height, width, seed, dtype)
        x = x + GRAIN_STD * amount(params, "GrainAmount", dtype) * weight * noise
    return x.clamp(0.0, 1.0)
