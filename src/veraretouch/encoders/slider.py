"""SliderEncoder: a plan's parameters -> the three control latents, each group from its own controls.

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

from ..operators.color import wheel_hue_to_oklch_radians
from ..parameters import (
    CURVE_CHANNELS, CURVE_SAMPLES, GLOBAL_COLOR, GROUPS, HSL_BANDS, LIGHTING, SLIDERS, SPECIFIC_COLOR, SPECS,
    control, curve_samples,
)
from ..pretrained import PretrainedMixin

GRADE_ZONES = ("Shadow", "Midtone", "Highlight", "Global")


def _scaled(params: torch.Tensor, names: list[str]) -> torch.Tensor:
    """Controls divided by their largest magnitude, ``(B, len(names))``."""
    scale = params.new_tensor([max(abs(SPECS[n].minimum), abs(SPECS[n].maximum)) for n in names])
    return torch.cat([control(params, n).reshape(-1, 1) for n in names], dim=1) / scale


def _curve_offsets(params: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
    identity = torch.linspace(0.0, 1.0, CURVE_SAMPLES, dtype=params.dtype, device=params.device)
    return torch.cat([curve_samples(params, name) - identity for name in names], dim=1)


def group_features(params: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-group feature vectors ``(B, F_g)`` of ``(B, P)`` parameters; all zero for the identity plan."""
    lighting_sliders = [spec.name for spec in SLIDERS if spec.group == LIGHTING]
    global_sliders = [spec.name for spec in SLIDERS if spec.group == GLOBAL_COLOR]
    specific_sliders = [spec.name for spec in SLIDERS if spec.group == SPECIFIC_COLOR]
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


@dataclass
class SliderEncoderConfig:
    group_dim: int = 64
    hidden: int = 256


class SliderEncoder(nn.Module, PretrainedMixin):
    """Three bias-free MLPs (features -> hidden -> hidden -> group_dim), one per aspect group."""

    config_class = SliderEncoderConfig

    def __init__(self, config: SliderEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or SliderEncoderConfig()
        hidden, out = self.config.hidden, self.config.group_dim
        self.groups = nn.ModuleDict({
            group: nn.Sequential(nn.Linear(FEATURE_SIZES[group], hidden, bias=False), nn.GELU(),
                                 nn.Linear(hidden, hidden, bias=False), nn.GELU(),
                                 nn.Linear(hidden, out, bias=False))
            for group in GROUPS
        })

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        """``(B, P)`` parameters -> ``(B, 3 * group_dim)`` latents (lighting, global, specific)."""
        features = group_features(params.float())
        return torch.cat([self.groups[group](features[group]) for group in GROUPS], dim=1)
