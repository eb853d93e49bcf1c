"""The parameter registry: every scalar control with its name, aspect, range and default.

One flat vector per plan, ``(P,)`` or batched ``(B, P)``, laid out as
``[38 core sliders | 14 colour-grading values | monochrome | 8 B&W mixer | 7 calibration |
2 raw white balance | 16 finishing | 4 x CURVE_SAMPLES tone-curve samples]``.
Everything before the finishing block is pointwise (a 3D LUT); the finishing block holds the
spatial effects (`veraretouch.operators.finishing`), applied after the LUT.
Names are the Lightroom / Camera Raw XMP ``crs:`` names, so a plan reads like a preset.
Units are Lightroom's: ``Exposure2012`` in EV, the rest in slider units (usually -100..100).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

LIGHTING = "lighting"
GLOBAL_COLOR = "global_color"
SPECIFIC_COLOR = "specific_color"
ASPECTS = (LIGHTING, GLOBAL_COLOR, SPECIFIC_COLOR)
"""The three aspects of an edit, in the renderer's latent order (and the order reasoning texts use):
one word for the idea that the CLI (--aspects), the API and the renderer's three latents share."""

HSL_BANDS = ("Red", "Orange", "Yellow", "Green", "Aqua", "Blue", "Purple", "Magenta")
CURVE_CHANNELS = ("ToneCurvePV2012", "ToneCurvePV2012Red", "ToneCurvePV2012Green", "ToneCurvePV2012Blue")
CURVE_SAMPLES = 33
"""Each point curve is stored as its output at this many evenly spaced inputs in [0, 1]."""


@dataclass(frozen=True)
class ParamSpec:
    """One scalar control: XMP name, aspect (lighting, global_color, specific_color), inclusive range,
    default, unit and meaning."""

    name: str
    aspect: str
    minimum: float
    maximum: float
    default: float = 0.0
    unit: str = "slider"
    description: str = ""

    def check(self, value: float) -> None:
        from ..errors import PlanError

        if not (self.minimum <= value <= self.maximum):
            raise PlanError(
                f"{self.name}={value:g} is out of range [{self.minimum:g}, {self.maximum:g}] ({self.description})"
            )


def _tone(name: str, description: str) -> ParamSpec:
    return ParamSpec(name, LIGHTING, -100.0, 100.0, description=description)


_LIGHTING_SLIDERS = (
    ParamSpec("Exposure2012", LIGHTING, -5.0, 5.0, unit="EV",
              description="exposure in stops: + brighter midtones with a soft highlight roll-off"),
    _tone("Contrast2012", "S-curve about the midtones: + more contrast"),
    _tone("Highlights2012", "bright zone: - recovers (darkens) highlights, + brightens them"),
    _tone("Shadows2012", "dark zone: + lifts shadows, - deepens them"),
    _tone("Whites2012", "white point: + pushes the brightest tones up (clips), - pulls them down"),
    _tone("Blacks2012", "black point: - deepens the darkest tones (clips), + lifts them"),
    _tone("ParametricShadows", "tone-curve zone below the 25% split: + brighter"),
    _tone("ParametricDarks", "tone-curve zone between the 25% and 50% splits: + brighter"),
    _tone("ParametricLights", "tone-curve zone between the 50% and 75% splits: + brighter"),
    _tone("ParametricHighlights", "tone-curve zone above the 75% split: + brighter"),
)

_GLOBAL_COLOR_SLIDERS = (
    ParamSpec("IncrementalTemperature", GLOBAL_COLOR, -100.0, 100.0,
              description="relative white balance: + warmer (more yellow/red), - cooler (bluer)"),
    ParamSpec("IncrementalTint", GLOBAL_COLOR, -100.0, 100.0,
              description="relative white balance: + more magenta, - more green"),
    ParamSpec("Vibrance", GLOBAL_COLOR, -100.0, 100.0,
              description="saturation weighted towards muted colours, protecting skin tones"),
    ParamSpec("Saturation", GLOBAL_COLOR, -100.0, 100.0,
              description="uniform chroma scale: -100 is monochrome, +100 doubles chroma"),
)


def _hsl(kind: str, band: str) -> ParamSpec:
    meaning = {
        "Hue": f"rotates the hue of {band.lower()}s: + towards the next band round the wheel",
        "Saturation": f"chroma of {band.lower()}s: -100 removes it, +100 doubles it",
        "Luminance": f"lightness of {band.lower()}s: + brighter, - darker",
    }[kind]
    return ParamSpec(f"{kind}Adjustment{band}", SPECIFIC_COLOR, -100.0, 100.0, description=meaning)


_SPECIFIC_COLOR_SLIDERS = tuple(_hsl(kind, band) for kind in ("Hue", "Saturation", "Luminance") for band in HSL_BANDS)

SLIDERS: tuple[ParamSpec, ...] = _LIGHTING_SLIDERS + _GLOBAL_COLOR_SLIDERS + _SPECIFIC_COLOR_SLIDERS
"""The 38 core sliders of the paper, in tensor order."""


def _grade(zone: str) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec(f"ColorGrade{zone}Hue", GLOBAL_COLOR, 0.0, 360.0, unit="degrees",
                  description=f"{zone.lower()} tint hue on Lightroom's wheel (0 red, 60 yellow, 120 green, 240 blue)"),
        ParamSpec(f"ColorGrade{zone}Sat", GLOBAL_COLOR, 0.0, 100.0,
                  description=f"{zone.lower()} tint strength"),
        ParamSpec(f"ColorGrade{zone}Lum", LIGHTING, -100.0, 100.0,
                  description=f"{zone.lower()} lightness offset"),
    )


GRADING: tuple[ParamSpec, ...] = (
    _grade("Shadow") + _grade("Midtone") + _grade("Highlight") + _grade("Global")
    + (
        ParamSpec("ColorGradeBlending", GLOBAL_COLOR, 0.0, 100.0, default=50.0,
                  description="overlap of the shadow / midtone / highlight zones"),
        ParamSpec("ColorGradeBalance", GLOBAL_COLOR, -100.0, 100.0,
                  description="moves the shadow/highlight split: + favours highlights"),
    )
)
"""Colour grading (Lightroom's ColorGrade* fields): crosses groups (tints are colour, Lum is lighting)."""

MONOCHROME = ParamSpec("Monochrome", GLOBAL_COLOR, 0.0, 1.0, unit="fraction",
                       description="Treatment=Monochrome: 1 removes all chroma before colour grading")

MIXER: tuple[ParamSpec, ...] = tuple(
    ParamSpec(f"GrayMixer{band}", SPECIFIC_COLOR, -100.0, 100.0,
              description=f"black & white mix: + renders {band.lower()}s lighter in the monochrome result")
    for band in HSL_BANDS)
"""Lightroom's B&W mix (GrayMixer*): acts only through Monochrome, scaled by its fraction."""


def _primary(colour: str) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec(f"{colour}Hue", SPECIFIC_COLOR, -100.0, 100.0,
                  description=f"camera calibration: rotates the {colour.lower()} primary's hue (+ round the wheel)"),
        ParamSpec(f"{colour}Saturation", SPECIFIC_COLOR, -100.0, 100.0,
                  description=f"camera calibration: chroma of the {colour.lower()} primary"),
    )


CALIBRATION: tuple[ParamSpec, ...] = (
    ParamSpec("ShadowTint", GLOBAL_COLOR, -100.0, 100.0,
              description="camera calibration: shadow tint, + magenta, - green"),
) + _primary("Red") + _primary("Green") + _primary("Blue")
"""Camera calibration (Lightroom's Calibration panel), applied first, in linear light."""

RAW_WHITE_BALANCE: tuple[ParamSpec, ...] = (
    ParamSpec("Temperature", GLOBAL_COLOR, 2000.0, 50000.0, default=5500.0, unit="K",
              description="absolute white balance of a raw preset; on rendered files the equivalent shift "
                          "from daylight (5500 K), as Lightroom approximates it"),
    ParamSpec("Tint", GLOBAL_COLOR, -150.0, 150.0,
              description="absolute raw tint; on rendered files 2/3 of it acts as IncrementalTint"),
)
"""Lightroom's raw white balance; `veraretouch.operators.tone.white_balance` says how it renders."""

FINISHING: tuple[ParamSpec, ...] = (
    ParamSpec("PostCropVignetteAmount", LIGHTING, -100.0, 100.0,
              description="post-crop vignette: - darkens the edges, + lightens them"),
    ParamSpec("PostCropVignetteMidpoint", LIGHTING, 0.0, 100.0, default=50.0,
              description="how far from the centre the vignette starts: lower reaches further in"),
    ParamSpec("PostCropVignetteFeather", LIGHTING, 0.0, 100.0, default=50.0,
              description="width of the vignette's soft edge"),
    ParamSpec("PostCropVignetteRoundness", LIGHTING, -100.0, 100.0,
              description="vignette shape: - towards the frame's rectangle, + towards a circle"),
    ParamSpec("PostCropVignetteStyle", LIGHTING, 1.0, 3.0, default=1.0, unit="style",
              description="1 highlight priority, 2 colour priority, 3 paint overlay"),
    ParamSpec("PostCropVignetteHighlightContrast", LIGHTING, 0.0, 100.0,
              description="highlight priority: how much bright areas resist the darkening"),
    ParamSpec("GrainAmount", LIGHTING, 0.0, 100.0, description="film grain strength (luminance noise in midtones)"),
    ParamSpec("GrainSize", LIGHTING, 0.0, 100.0, default=25.0,
              description="grain size, relative to the image (the look is the same at any resolution)"),
    ParamSpec("GrainFrequency", LIGHTING, 0.0, 100.0, default=50.0,
              description="grain roughness: + mixes in a finer, irregular octave"),
    ParamSpec("Clarity2012", LIGHTING, -100.0, 100.0, description="large-scale local contrast in the midtones"),
    ParamSpec("Texture", LIGHTING, -100.0, 100.0, description="medium-scale detail in the midtones"),
    ParamSpec("Dehaze", LIGHTING, -100.0, 100.0,
              description="+ removes haze (contrast and saturation where it is low), - adds haze"),
    ParamSpec("Sharpness", LIGHTING, 0.0, 150.0, description="sharpening amount (unsharp mask on luminance)"),
    ParamSpec("SharpenRadius", LIGHTING, 0.5, 3.0, default=1.0, unit="px",
              description="sharpening radius in pixels"),
    ParamSpec("SharpenDetail", LIGHTING, 0.0, 100.0, default=25.0,
              description="sharpening of fine detail: low values suppress halos on strong edges"),
    ParamSpec("SharpenEdgeMasking", LIGHTING, 0.0, 100.0,
              description="restricts sharpening to edges: + leaves flat areas alone"),
)
"""Spatial effects (`veraretouch.operators.finishing`): they look at neighbours, so no LUT holds them."""

SCALARS: tuple[ParamSpec, ...] = SLIDERS + GRADING + (MONOCHROME,) + MIXER + CALIBRATION + RAW_WHITE_BALANCE + FINISHING
SCALAR_INDEX: dict[str, int] = {spec.name: i for i, spec in enumerate(SCALARS)}
SPECS: dict[str, ParamSpec] = {spec.name: spec for spec in SCALARS}

N_SLIDERS = len(SLIDERS)
N_SCALARS = len(SCALARS)
SLIDER_SLICE = slice(0, N_SLIDERS)
GRADING_SLICE = slice(N_SLIDERS, N_SLIDERS + len(GRADING))
MONOCHROME_INDEX = N_SLIDERS + len(GRADING)
FINISHING_SLICE = slice(MONOCHROME_INDEX + 1 + len(MIXER) + len(CALIBRATION) + len(RAW_WHITE_BALANCE), N_SCALARS)
FINISHING_NAMES = tuple(spec.name for spec in FINISHING)
CURVES_SLICE = slice(N_SCALARS, N_SCALARS + len(CURVE_CHANNELS) * CURVE_SAMPLES)
N_PARAMS = CURVES_SLICE.stop

assert N_SLIDERS == 38, N_SLIDERS
assert SCALARS[FINISHING_SLICE] == FINISHING


def aspect_of(name: str) -> str:
    """The aspect (lighting / global_color / specific_color) of a scalar or curve."""
    if name in CURVE_CHANNELS:
        return LIGHTING if name == "ToneCurvePV2012" else GLOBAL_COLOR
    return SPECS[name].aspect


def default_params(batch: int | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The identity plan as a parameter vector ``(P,)``, or ``(batch, P)``: every control at its
    default; float32 unless ``dtype`` says otherwise. (torch is imported here, not with the module:
    reading a plan file needs no torch.)"""
    import torch

    dtype = dtype or torch.float32
    params = torch.zeros(N_PARAMS, dtype=dtype)
    for i, spec in enumerate(SCALARS):
        params[i] = spec.default
    identity_curve = torch.linspace(0.0, 1.0, CURVE_SAMPLES, dtype=dtype)
    params[CURVES_SLICE] = identity_curve.repeat(len(CURVE_CHANNELS))
    return params if batch is None else params.expand(batch, N_PARAMS).clone()


def param_index(name: str) -> int:
    """Index of a scalar control in the parameter vector, with a helpful error for unknown names."""
    if name in SCALAR_INDEX:
        return SCALAR_INDEX[name]
    from difflib import get_close_matches

    from ..errors import PlanError

    close = get_close_matches(name, SCALAR_INDEX, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise PlanError(f"unknown slider {name!r}.{hint} Valid names: {', '.join(SCALAR_INDEX)}")


def control(params: torch.Tensor, name: str) -> torch.Tensor:
    """One scalar control of a ``(B, P)`` batch as ``(B, 1, 1, 1)``, ready to broadcast over images."""
    return params[:, param_index(name)].reshape(-1, 1, 1, 1)


def curve_samples(params: torch.Tensor, name: str) -> torch.Tensor:
    """The ``(B, CURVE_SAMPLES)`` samples of one point curve of a ``(B, P)`` batch."""
    start = CURVES_SLICE.start + CURVE_CHANNELS.index(name) * CURVE_SAMPLES
    return params[:, start:start + CURVE_SAMPLES]


@functools.cache
def _aspect_ids() -> torch.Tensor:
    import torch

    ids = torch.empty(N_PARAMS, dtype=torch.long)
    for i, spec in enumerate(SCALARS):
        ids[i] = ASPECTS.index(spec.aspect)
    for c, name in enumerate(CURVE_CHANNELS):
        start = CURVES_SLICE.start + c * CURVE_SAMPLES
        ids[start:start + CURVE_SAMPLES] = ASPECTS.index(aspect_of(name))
    return ids


def __getattr__(name: str):
    if name == "PARAM_GROUP_IDS":  # a tensor: made on first use so that importing the registry needs no torch
        return _aspect_ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PARAM_GROUP_IDS: torch.Tensor
"""Aspect (index into ASPECTS) of every entry of the parameter vector."""


def restrict_to_aspects(params: torch.Tensor, aspect_mask: torch.Tensor) -> torch.Tensor:
    """``(B, P)`` parameters with every control outside the kept aspects reset to its default.

    ``aspect_mask`` is ``(B, 3)`` (or ``(3,)``) of 0/1 per aspect (lighting, global, specific).
    """
    keep = aspect_mask.to(params.dtype).reshape(-1, len(ASPECTS))[:, _aspect_ids().to(params.device)]
    return params * keep + default_params(dtype=params.dtype).to(params.device) * (1 - keep)
