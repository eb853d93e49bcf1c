"""SliderEncoder: a plan's parameters -> the three control latents, each aspect from its own controls.

Decoupled by construction: the lighting latent sees only lighting controls, and so on. Where
Lightroom's extensions cross aspects the split is by what the control changes: colour grading's
``Lum`` values and the master point curve are lighting; its tints (hue as a direction scaled by
strength), Blending, Balance, the red/green/blue curves and Monochrome are global colour.
All layers are bias-free and features are zero for the identity plan, so the identity plan
encodes to exactly zero latents, which the renderer maps to the identity exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..operators.color import oklch_radians_to_wheel_hue, wheel_hue_to_oklch_radians
from ..operators.colorspace import chroma_and_hue
from ..plan.parameters import (
    ASPECTS,
    CURVE_CHANNELS,
    CURVE_SAMPLES,
    CURVES_SLICE,
    GLOBAL_COLOR,
    HSL_BANDS,
    LIGHTING,
    SLIDERS,
    SPECIFIC_COLOR,
    SPECS,
    control,
    curve_samples,
    default_params,
    param_index,
)
from ..pretrained import PretrainedMixin

GRADE_ZONES = ("Shadow", "Midtone", "Highlight", "Global")


def _magnitudes(names: list[str], like: torch.Tensor) -> torch.Tensor:
    return like.new_tensor([max(abs(SPECS[n].minimum), abs(SPECS[n].maximum)) for n in names])


def _scaled(params: torch.Tensor, names: list[str]) -> torch.Tensor:
    """Controls divided by their largest magnitude, ``(B, len(names))``."""
    return torch.cat([control(params, n).reshape(-1, 1) for n in names], dim=1) / _magnitudes(names, params)


def _curve_offsets(params: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
    identity = torch.linspace(0.0, 1.0, CURVE_SAMPLES, dtype=params.dtype, device=params.device)
    return torch.cat([curve_samples(params, name) - identity for name in names], dim=1)


_SLIDERS_OF = {aspect: [spec.name for spec in SLIDERS if spec.aspect == aspect] for aspect in ASPECTS}


def aspect_features(params: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-aspect feature vectors ``(B, F_g)`` of ``(B, P)`` parameters; all zero for the identity plan."""
    lighting_sliders, global_sliders, specific_sliders = (_SLIDERS_OF[aspect] for aspect in ASPECTS)
    angles = [wheel_hue_to_oklch_radians(control(params, f"ColorGrade{z}Hue").reshape(-1, 1)) for z in GRADE_ZONES]
    strengths = [control(params, f"ColorGrade{z}Sat").reshape(-1, 1) / 100.0 for z in GRADE_ZONES]
    tints = torch.cat([s * torch.cos(a) for s, a in zip(strengths, angles)]
                      + [s * torch.sin(a) for s, a in zip(strengths, angles)], dim=1)
    zone_shape = torch.cat([(control(params, "ColorGradeBlending").reshape(-1, 1) - 50.0) / 50.0,
                            control(params, "ColorGradeBalance").reshape(-1, 1) / 100.0], dim=1)
    return {
        LIGHTING: torch.cat([_scaled(params, lighting_sliders),
                             _scaled(params, [f"ColorGrade{z}Lum" for z in GRADE_ZONES]),
                             _curve_offsets(params, CURVE_CHANNELS[:1])], dim=1),
        GLOBAL_COLOR: torch.cat([_scaled(params, global_sliders), tints, zone_shape,
                                 control(params, "Monochrome").reshape(-1, 1),
                                 _curve_offsets(params, CURVE_CHANNELS[1:])], dim=1),
        SPECIFIC_COLOR: _scaled(params, specific_sliders),
    }


FEATURE_SIZES = {
    LIGHTING: 10 + 4 + CURVE_SAMPLES,
    GLOBAL_COLOR: 4 + 8 + 2 + 1 + 3 * CURVE_SAMPLES,
    SPECIFIC_COLOR: 3 * len(HSL_BANDS),
}


def flat_features(params: torch.Tensor) -> torch.Tensor:
    """`aspect_features` concatenated in `ASPECTS` order: ``(B, sum(FEATURE_SIZES))``."""
    features = aspect_features(params)
    return torch.cat([features[aspect] for aspect in ASPECTS], dim=1)


def params_from_features(features: torch.Tensor) -> torch.Tensor:
    """Inverse of `flat_features`: ``(B, F)`` features -> ``(B, P)`` parameters, projected onto valid plans.

    Sliders are clamped to their ranges; each grading tint ``(s cos a, s sin a)`` gives strength
    ``100 |.|`` (at most 100) and wheel hue from ``a`` (hue 0, the default, for no tint, so zero
    features are exactly the identity plan); curves are clamped to [0, 1] and made
    non-decreasing (running maximum). For features of a valid plan the round trip is exact, so
    ``flat_features(params_from_features(f)) == f`` exactly where ``f`` is already valid: a planner
    that predicts features renders, explains and exports one and the same plan.
    """
    lighting, global_color, specific = features.split([FEATURE_SIZES[g] for g in ASPECTS], dim=1)
    batch = features.shape[0]
    params = default_params(batch, dtype=features.dtype).to(features.device)
    columns: dict[int, torch.Tensor] = {}

    def put(names: list[str], values: torch.Tensor) -> None:
        bounded = values * _magnitudes(names, values)
        for index, name in enumerate(names):
            spec = SPECS[name]
            columns[param_index(name)] = bounded[:, index].clamp(spec.minimum, spec.maximum)

    put(_SLIDERS_OF[LIGHTING], lighting[:, :10])
    put([f"ColorGrade{z}Lum" for z in GRADE_ZONES], lighting[:, 10:14])
    put(_SLIDERS_OF[GLOBAL_COLOR], global_color[:, :4])
    tint_x, tint_y = global_color[:, 4:8], global_color[:, 8:12]
    strength, angle = chroma_and_hue(tint_x, tint_y)
    hue = torch.where(strength > 0, oklch_radians_to_wheel_hue(angle), torch.zeros_like(angle))
    for index, zone in enumerate(GRADE_ZONES):
        columns[param_index(f"ColorGrade{zone}Sat")] = (100.0 * strength[:, index]).clamp(max=100.0)
        columns[param_index(f"ColorGrade{zone}Hue")] = hue[:, index]
    columns[param_index("ColorGradeBlending")] = (50.0 + 50.0 * global_color[:, 12]).clamp(0.0, 100.0)
    columns[param_index("ColorGradeBalance")] = (100.0 * global_color[:, 13]).clamp(-100.0, 100.0)
    columns[param_index("Monochrome")] = global_color[:, 14].clamp(0.0, 1.0)
    put(_SLIDERS_OF[SPECIFIC_COLOR], specific)
    scalar_count = CURVES_SLICE.start
    scalars = torch.stack([columns.get(i, params[:, i]) for i in range(scalar_count)], dim=1)
    identity = torch.linspace(0.0, 1.0, CURVE_SAMPLES, dtype=features.dtype, device=features.device)
    offsets = torch.cat([lighting[:, 14:14 + CURVE_SAMPLES], global_color[:, 15:15 + 3 * CURVE_SAMPLES]], dim=1)
    curves = (
        (offsets.reshape(batch, len(CURVE_CHANNELS), CURVE_SAMPLES) + identity).clamp(0.0, 1.0).cummax(dim=2).values
    )
    return torch.cat([scalars, curves.reshape(batch, -1)], dim=1)


@dataclass
class SliderEncoderConfig:
    aspect_dim: int = 64
    hidden: int = 256


class SliderEncoder(nn.Module, PretrainedMixin):
    """Three bias-free MLPs (features -> hidden -> hidden -> aspect_dim), one per aspect."""

    config_class = SliderEncoderConfig
    renamed_weights = {"groups.": "aspects."}

    def __init__(self, config: SliderEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or SliderEncoderConfig()
        hidden, out = self.config.hidden, self.config.aspect_dim
        self.aspects = nn.ModuleDict({
            aspect: nn.Sequential(nn.Linear(FEATURE_SIZES[aspect], hidden, bias=False), nn.GELU(),
                                  nn.Linear(hidden, hidden, bias=False), nn.GELU(),
                                  nn.Linear(hidden, out, bias=False))
            for aspect in ASPECTS
        })

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        """``(B, P)`` parameters -> ``(B, 3 * aspect_dim)`` latents (lighting, global, specific)."""
        return self.encode_features(flat_features(params.float()))

    def encode_features(self, features: torch.Tensor) -> torch.Tensor:
        """Latents of `flat_features` ``(B, F)`` (a planner predicting features skips the parameters)."""
        parts = features.float().split([FEATURE_SIZES[g] for g in ASPECTS], dim=1)
        return torch.cat([self.aspects[aspect](part) for aspect, part in zip(ASPECTS, parts)], dim=1)
