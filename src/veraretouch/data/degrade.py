"""Degradations for inverse-degradation data: what a camera or a careless edit does to a photo.

A good photo is the target; a sampled degradation plan renders the "unretouched" input the
planner must learn to fix. Each degradation is one named *kind* per aspect (an under-exposed
frame, a colour cast, a band pushed off-hue, ...) with magnitudes drawn from ranges around the
paper's slider deviations (system notes §1), plus a little jitter on the aspect's other sliders
(Gaussians at ``JITTER`` times the paper's deviations, on ``JITTER_SHARE`` of them) so no two
inputs share exact values.

A sample touches one, two or three aspects (`ASPECT_COUNT_WEIGHTS`); the kinds it drew are its
ground-truth problems.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..plan.parameters import (
    ASPECTS,
    GLOBAL_COLOR,
    HSL_BANDS,
    LIGHTING,
    SLIDERS,
    SPECIFIC_COLOR,
    default_params,
    param_index,
)
from .plans import PAPER_STDDEV

JITTER = 0.3
JITTER_SHARE = 0.3
"""Each of the degraded aspect's other sliders gets jitter with this probability."""
ASPECT_COUNT_WEIGHTS = (0.45, 0.35, 0.20)
"""(Over-exposure stops at +0.9 EV: from +1.2 EV, 28 % of auto samples clipped more than
`samples.MAX_CLIPPED` of their pixels in the first shard and were dropped, most of them over-exposed.)"""
"""Probability that a sample degrades one, two or three aspects."""


@dataclass(frozen=True)
class Kind:
    """A degradation kind: the aspect it belongs to and slider ranges ``name -> (low, high)``
    drawn uniformly (a sign is part of the range)."""

    name: str
    aspect: str
    ranges: dict[str, tuple[float, float]]


KINDS = (
    Kind("underexposed", LIGHTING, {"Exposure2012": (-1.6, -0.5)}),
    Kind("overexposed", LIGHTING, {"Exposure2012": (0.3, 0.9), "Highlights2012": (0.0, 20.0)}),
    Kind("flat", LIGHTING, {"Contrast2012": (-60.0, -25.0), "Blacks2012": (10.0, 40.0), "Whites2012": (-40.0, -10.0)}),
    Kind(
        "harsh", LIGHTING, {"Contrast2012": (30.0, 70.0), "Shadows2012": (-50.0, -15.0), "Highlights2012": (10.0, 40.0)}
    ),
    Kind("crushed shadows", LIGHTING, {"Blacks2012": (-70.0, -30.0), "Shadows2012": (-50.0, -20.0)}),
    Kind("dull highlights", LIGHTING, {"Highlights2012": (-70.0, -30.0), "Whites2012": (-50.0, -20.0)}),
    Kind("warm cast", GLOBAL_COLOR, {"IncrementalTemperature": (20.0, 55.0)}),
    Kind("cool cast", GLOBAL_COLOR, {"IncrementalTemperature": (-55.0, -20.0)}),
    Kind("green tint", GLOBAL_COLOR, {"IncrementalTint": (-50.0, -20.0)}),
    Kind("magenta tint", GLOBAL_COLOR, {"IncrementalTint": (20.0, 50.0)}),
    Kind("washed out", GLOBAL_COLOR, {"Saturation": (-60.0, -25.0), "Vibrance": (-40.0, 0.0)}),
    Kind("garish", GLOBAL_COLOR, {"Saturation": (25.0, 50.0), "Vibrance": (10.0, 50.0)}),
    Kind("band", SPECIFIC_COLOR, {}),
)
BAND_MOVES = {"Hue": (20.0, 60.0), "Saturation": (30.0, 70.0), "Luminance": (20.0, 50.0)}
"""Specific colour ("band" kind): 1-3 random bands, each with one move of these magnitudes and a
random sign, named like "greens muted" or "blues shifted"."""


@dataclass
class Degradations:
    """``params`` ``(B, P)`` degradation plans and, per sample, the kinds drawn."""

    params: torch.Tensor
    kinds: list[list[str]]


def uniform(low: float, high: float, generator: torch.Generator) -> float:
    """One draw from U(low, high) from ``generator`` (a Python float)."""
    return low + (high - low) * float(torch.rand((), generator=generator))


def sample_degradations(count: int, generator: torch.Generator, scale: float = 1.0) -> Degradations:
    """``count`` degradation plans; ``scale`` multiplies every magnitude (0.5 gives subtler inputs)."""
    params = default_params(count)
    kinds: list[list[str]] = []
    by_aspect = {aspect: [k for k in KINDS if k.aspect == aspect] for aspect in ASPECTS}
    weights = torch.tensor(ASPECT_COUNT_WEIGHTS)
    for row in range(count):
        aspect_count = int(torch.multinomial(weights, 1, generator=generator)) + 1
        chosen = torch.randperm(len(ASPECTS), generator=generator)[:aspect_count]
        aspects = [ASPECTS[i] for i in sorted(chosen.tolist())]
        drawn = []
        for aspect in aspects:
            for spec in SLIDERS:
                if spec.aspect == aspect and float(torch.rand((), generator=generator)) < JITTER_SHARE:
                    params[row, param_index(spec.name)] = (
                        float(torch.randn((), generator=generator)) * PAPER_STDDEV[spec.name] * JITTER
                    )
            options = by_aspect[aspect]
            kind = options[int(torch.randint(len(options), (), generator=generator))]
            for name, (low, high) in kind.ranges.items():
                params[row, param_index(name)] = uniform(low, high, generator) * scale
            if aspect != SPECIFIC_COLOR:
                drawn.append(kind.name)
            else:
                bands = torch.randperm(len(HSL_BANDS), generator=generator)[
                    : int(torch.randint(1, 4, (), generator=generator))
                ]
                for band in bands.tolist():
                    move = list(BAND_MOVES)[int(torch.randint(len(BAND_MOVES), (), generator=generator))]
                    low, high = BAND_MOVES[move]
                    sign = 1.0 if float(torch.rand((), generator=generator)) < 0.5 else -1.0
                    params[row, param_index(f"{move}Adjustment{HSL_BANDS[band]}")] = (
                        sign * uniform(low, high, generator) * scale
                    )
                    direction = {"Hue": ("shifted", "shifted"), "Saturation": ("oversaturated", "muted"),
                                 "Luminance": ("too bright", "too dark")}[move][0 if sign > 0 else 1]
                    drawn.append(f"{HSL_BANDS[band].lower()}s {direction}")
        kinds.append(drawn)
    for index, spec in enumerate(SLIDERS):  # Lightroom's precision: 0.01 EV, whole slider units
        step = 0.01 if spec.unit == "EV" else 1.0
        params[:, index] = (params[:, index] / step).round().mul(step).clamp(spec.minimum, spec.maximum)
    return Degradations(params, kinds)
