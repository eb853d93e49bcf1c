"""Plain-direction requests ("add warmth", "deeper blacks") with the slider move each one means.

Style training data names looks (presets, film stocks, moods); a look moves many sliders at once,
so the words for a single direction are never tied to a single move, and the planner does not
learn that "cooler" lowers the temperature (the instruction suite's failures, docs/benchmarks.md).
`direction_plans` samples such requests with a move of random strength in the named direction;
`training.planner` adds them to the style samples. The phrasings are ours and none is a prompt of
the benchmark's instruction suite (a test checks), which tests whether the mapping carries over to
other words.
"""
from __future__ import annotations

import re

import torch

from ..plan.parameters import default_params, param_index

DIRECTIONS: tuple[tuple[tuple[str, ...], dict[str, tuple[float, float]]], ...] = (
    (("lighten it", "raise the exposure", "more light overall", "a lighter image"), {"Exposure2012": (0.3, 0.9)}),
    (("dim it", "lower the exposure", "less light overall", "a darker image"), {"Exposure2012": (-0.9, -0.3)}),
    (("add warmth", "warm tones", "a warmer white balance", "golden tones"), {"IncrementalTemperature": (15, 40)}),
    (("colder tones", "a cool white balance", "icy blue tones", "take the warmth out"),
     {"IncrementalTemperature": (-40, -15)}),
    (("richer colours", "more saturation", "boost the colours", "vivid, saturated colour"),
     {"Vibrance": (20, 50), "Saturation": (5, 25)}),
    (("less saturation", "washed-out colours", "subdued colour", "tone the colours down"), {"Saturation": (-60, -25)}),
    (("greyscale", "a monochrome photo", "remove all colour", "black-and-white conversion"), {"Monochrome": (1, 1)}),
    (("add contrast", "stronger contrast", "more punch in the tones", "crisp, contrasty tones"),
     {"Contrast2012": (20, 60)}),
    (("less contrast", "gentle tones", "reduce the contrast", "a soft, low-contrast image"),
     {"Contrast2012": (-60, -20)}),
    (("matte blacks", "lifted blacks", "a faded, matte finish", "raise the black point"),
     {"Blacks2012": (25, 60), "Shadows2012": (10, 30)}),
    (("deeper blacks", "richer blacks", "darker shadows", "lower the black point"),
     {"Blacks2012": (-60, -25), "Shadows2012": (-30, -10)}),
    (("greener greens", "boost the greens", "lush green foliage"), {"SaturationAdjustmentGreen": (30, 70)}),
    (("less green", "desaturate the greens", "muted foliage"), {"SaturationAdjustmentGreen": (-70, -30)}),
    (("bluer blues", "boost the blues", "a deeper blue sky"), {"SaturationAdjustmentBlue": (30, 70)}),
    (("orange highlights and teal shadows", "a blockbuster colour grade", "teal in the shadows, orange in the lights"),
     {"ColorGradeShadowHue": (190, 210), "ColorGradeShadowSat": (25, 50), "ColorGradeHighlightHue": (30, 45),
      "ColorGradeHighlightSat": (25, 50)}),
    (("an antique brown tone", "vintage brown toning", "an old photograph's brown tint"),
     {"Saturation": (-80, -60), "ColorGradeGlobalHue": (35, 45), "ColorGradeGlobalSat": (20, 40)}),
)
"""(phrasings, {slider: (low, high)}): each sample draws one phrasing and a value of each slider."""


LOOK_WORDS: tuple[tuple[frozenset[str], str, int], ...] = (
    (frozenset({"warm", "warmer", "warmth", "golden"}), "cast_b", +1),
    (frozenset({"cool", "cooler", "cold", "colder", "icy"}), "cast_b", -1),
    (frozenset({"bright", "brighter", "lighter", "airy"}), "mean_lightness", +1),
    (frozenset({"dark", "darker", "moody", "moodier"}), "mean_lightness", -1),
    (frozenset({"vivid", "vibrant", "saturated", "colourful", "colorful"}), "mean_chroma", +1),
    (frozenset({"muted", "desaturated"}), "mean_chroma", -1),
)
"""Unambiguous look words, the `reasoning.measure` statistic each one promises to move and which way.
Style requests are written from preset names and descriptions ("Make it cooler" for a preset whose
only cooling is a faint colour grade); `look_words_agree` says whether a label does what its words say."""


def look_words_agree(text: str, before: dict[str, float], after: dict[str, float], margin: float = 2.0) -> bool:
    """False when ``text`` uses a `LOOK_WORDS` word whose statistic (``before`` -> ``after``
    measurements of the label's render) does not move its way by at least ``margin`` (CIELAB units
    for casts and chroma, lightness x 100; 2 is about one just-noticeable difference)."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    for vocabulary, name, sign in LOOK_WORDS:
        if words & vocabulary:
            scale = 100.0 if name == "mean_lightness" else 1.0
            if sign * (after[name] - before[name]) * scale < margin:
                return False
    return True


def direction_plans(count: int, generator: torch.Generator) -> tuple[list[str], torch.Tensor]:
    """``count`` requests and their ``(count, P)`` plans: a random direction, phrasing and strength."""
    params = default_params(count)
    texts = []
    choices = torch.randint(0, len(DIRECTIONS), (count,), generator=generator).tolist()
    for row, choice in enumerate(choices):
        phrasings, moves = DIRECTIONS[choice]
        texts.append(phrasings[int(torch.randint(0, len(phrasings), (1,), generator=generator))])
        for name, (low, high) in moves.items():
            params[row, param_index(name)] = low + (high - low) * float(torch.rand(1, generator=generator))
    return texts, params
