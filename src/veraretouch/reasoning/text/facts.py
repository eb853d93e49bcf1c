"""What a reasoning text is about: its claims, and the facts of plan and image that make them true.

- Claims: `Claim` (one structured statement) and `Reasoning` (a text with its spans and claims).
- Plan facts: magnitude words and their slider edges, which slider a claim is about, and the net
  brighten / darken of the lighting controls (`brightness_change`).
- Image states: the measurement thresholds for writing a fault (`state_supported`) sit next to the
  looser ones for calling a claim false (`state_contradicted`), so the margins are visible.
- `verb_forms`, shared by the phrasing that writes text and the lexicon that reads it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...operators import render
from ...operators.colorspace import linear_rgb_to_srgb, rgb_to_lab
from ...operators.shapes import bump_height
from ...operators.tone import TONE_ZONES
from ...plan import Plan
from ...plan.parameters import HSL_BANDS, LIGHTING, aspect_of
from ..measure import band_key


# ------------------------------------------------------------------------------------------ claims
@dataclass(frozen=True)
class Claim:
    """One structured statement of a reasoning text.

    ``direction`` is a change ("up" / "down": the attribute goes up or down; for ``hue``, "up" is
    towards the next band round the wheel, Red -> Orange) or a state of the input ("low" / "high",
    e.g. exposure low = too dark, temperature high = warm cast), or "none" (nothing to change;
    attribute "all" for the whole aspect). ``magnitude`` is one of `MAGNITUDES` or None.
    """

    aspect: str
    span: str
    attribute: str
    direction: str
    magnitude: str | None = None
    band: str | None = None


@dataclass(frozen=True)
class Reasoning:
    """A tagged reasoning text, its spans (aspect -> (problem, plan)) and the claims it makes."""

    text: str
    spans: dict[str, tuple[str, str]]
    claims: tuple[Claim, ...]


# ------------------------------------------------------------------------------------------ plan facts
MAGNITUDES = ("slight", "moderate", "strong", "very strong")
SLIDER_MAGNITUDE_EDGES = (5.0, 15.0, 30.0, 60.0)
"""``|slider|`` from each edge up gets the next magnitude word; below 5 the move is negligible."""
EXPOSURE_MAGNITUDE_EDGES = (0.1, 0.35, 0.75, 1.5)
"""The same for ``|Exposure2012|`` in EV: +0.3 is "a touch", +0.5 "about half a stop", +1 "about a stop";
from 0.35 EV a move may also be spoken in stops (`STOPS`)."""
NOTABLE_SLIDER, NOTABLE_EV = SLIDER_MAGNITUDE_EDGES[0], EXPOSURE_MAGNITUDE_EDGES[0]
STOPS = ((1 / 3, "a third of a stop"), (0.5, "half a stop"), (2 / 3, "two thirds of a stop"), (1.0, "a stop"),
         (1.0, "one stop"), (1.5, "a stop and a half"), (2.0, "two stops"), (2.5, "two and a half stops"),
         (3.0, "three stops"), (4.0, "four stops"), (5.0, "five stops"))
"""Spoken exposure amounts and their EV; the checker reads them back."""
BRIGHTNESS_STEP = 0.02
"""A plan brightens (darkens) an image when it moves a grey at the input's median lightness by at
least this much L*/100: about two just-noticeable differences."""

LIGHTING_SLIDER_OF = {
    "exposure": "Exposure2012", "contrast": "Contrast2012", "highlights": "Highlights2012",
    "shadows": "Shadows2012", "whites": "Whites2012", "blacks": "Blacks2012",
    "curve_shadows": "ParametricShadows", "curve_darks": "ParametricDarks",
    "curve_lights": "ParametricLights", "curve_highlights": "ParametricHighlights",
}
GLOBAL_SLIDER_OF = {"temperature": "IncrementalTemperature", "tint": "IncrementalTint",
                    "vibrance": "Vibrance", "saturation": "Saturation"}


def _zone_weight(name: str, partner: str) -> float:
    return bump_height(*TONE_ZONES[partner]) / bump_height(*TONE_ZONES[name])


ZONE_PARTNERS = {
    "shadows": ("ParametricShadows", _zone_weight("Shadows2012", "ParametricShadows")),
    "highlights": ("ParametricHighlights", _zone_weight("Highlights2012", "ParametricHighlights")),
}
"""Two sliders act on the same zone: a plain shadows claim is judged on Shadows2012 plus
ParametricShadows weighted by the ratio of their peak lifts (bump heights), likewise for highlights.
A claim that names the tone curve ("the curve's shadow zone") is judged on its own slider."""


def slider_of(attribute: str, band: str | None = None) -> str | None:
    """The slider a plan claim about ``attribute`` (of ``band``) describes; None for net claims."""
    if band is not None:
        return f"{attribute.capitalize()}Adjustment{band}"
    return LIGHTING_SLIDER_OF.get(attribute) or GLOBAL_SLIDER_OF.get(attribute)


def magnitude_index(slider: str, value: float) -> int:
    """Index into `MAGNITUDES` of a move, -1 when it is negligible."""
    edges = EXPOSURE_MAGNITUDE_EDGES if slider == "Exposure2012" else SLIDER_MAGNITUDE_EDGES
    return sum(abs(value) >= edge for edge in edges) - 1


def _lighting_key(plan: Plan) -> tuple:
    values = tuple(sorted((k, v) for k, v in plan.values.items() if aspect_of(k) == LIGHTING))
    curves = tuple(sorted((k, v) for k, v in plan.curves.items() if aspect_of(k) == LIGHTING))
    return values, curves


_GREY_LEVELS = torch.linspace(0.0, 1.0, 41, dtype=torch.float64)


def _grey_srgb(lightness: torch.Tensor) -> torch.Tensor:
    """sRGB value of neutral greys with CIELAB ``L*/100 = lightness`` (the inverse of L* = 116 f(Y) - 16)."""
    f = (lightness * 100.0 + 16.0) / 116.0
    luminance = torch.where(f > 6.0 / 29.0, f ** 3, 3 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0))
    return linear_rgb_to_srgb(luminance.clamp(0.0, 1.0))


_GREY_CACHE: dict[tuple, tuple[float, ...]] = {}
_GREY_CACHE_SIZE = 16384


def _grey_responses(keys: list[tuple]) -> list[tuple[float, ...]]:
    """L*/100 after the lighting controls of each plan key, for the `_GREY_LEVELS` greys: one batched
    render for all keys not cached yet."""
    missing = list(dict.fromkeys(key for key in keys if key not in _GREY_CACHE))
    if missing:
        if len(_GREY_CACHE) + len(missing) > _GREY_CACHE_SIZE:
            _GREY_CACHE.clear()
        params = torch.stack([Plan(values=dict(values), curves=dict(curves)).to_tensor(torch.float64)
                              for values, curves in missing])
        greys = _grey_srgb(_GREY_LEVELS).reshape(1, 1, -1, 1).expand(len(missing), 3, -1, 1)
        lightness = rgb_to_lab(render(greys, params))[:, 0, :, 0] / 100.0
        for key, row in zip(missing, lightness.tolist()):
            _GREY_CACHE[key] = tuple(row)
    return [_GREY_CACHE[key] for key in keys]


def brightness_change(plan: Plan, lightness: float) -> float:
    """Net change of L*/100 that the plan's lighting controls (exposure, tone sliders, curves) give a
    neutral grey of L*/100 = ``lightness``: the overall brighten / darken of an image with that median.
    Rendered on 41 greys (cached per plan) and interpolated."""
    response = _grey_responses([_lighting_key(plan)])[0]
    lightness = min(max(lightness, 0.0), 1.0)
    position = lightness * (len(response) - 1)
    low = min(int(position), len(response) - 2)
    weight = position - low
    return response[low] * (1 - weight) + response[low + 1] * weight - lightness


def hue_direction(band: str, target: str) -> str | None:
    """"up" when ``target`` lies 1-3 bands after ``band`` round the wheel, "down" when 1-3 before."""
    step = (HSL_BANDS.index(target) - HSL_BANDS.index(band)) % len(HSL_BANDS)
    return "up" if 1 <= step <= 3 else "down" if 5 <= step <= 7 else None


def neighbour(band: str, direction: str) -> str:
    """The next band round the wheel ("up") or the previous one ("down")."""
    step = 1 if direction == "up" else -1
    return HSL_BANDS[(HSL_BANDS.index(band) + step) % len(HSL_BANDS)]


# ------------------------------------------------------------------------------------------ image states
def state_supported(attribute: str, state: str, m: dict[str, float], band: str | None = None) -> bool:
    """Whether the measurements clearly show ``state`` ("low" / "high") of ``attribute``: strict
    thresholds, used before our text calls a fault. Lightness values are L*/100, chroma C*ab."""
    if band is not None:
        share = m[band_key(band, "share")]
        if share < 0.03:
            return False
        value = {"saturation": m[band_key(band, "chroma")], "luminance": m[band_key(band, "lightness")],
                 "hue": m[band_key(band, "hue_offset")]}[attribute]
        low, high = {"saturation": (18.0, 60.0), "luminance": (0.3, 0.75), "hue": (-4.0, 4.0)}[attribute]
        return value <= low if state == "low" else value >= high
    median, p05, p95 = m["median_lightness"], m["lightness_p05"], m["lightness_p95"]
    rules = {
        ("exposure", "low"): median < 0.45 and m["mean_lightness"] < 0.5,
        ("exposure", "high"): median > 0.55 and m["mean_lightness"] > 0.5,
        ("contrast", "low"): m["contrast"] < 0.14,
        ("contrast", "high"): m["contrast"] > 0.30,
        ("highlights", "high"): m["highlight_clipping"] >= 0.02 and p95 >= 0.9,
        ("highlights", "low"): p95 < 0.7 and m["highlight_clipping"] < 0.005,
        ("shadows", "low"): m["shadow_clipping"] >= 0.02 and p05 <= 0.06,
        ("blacks", "high"): p05 >= 0.25 and m["shadow_clipping"] < 0.005,
        ("temperature", "high"): m["cast_b"] >= 3.5,
        ("temperature", "low"): m["cast_b"] <= -3.5,
        ("tint", "high"): m["cast_a"] >= 3.0,
        ("tint", "low"): m["cast_a"] <= -3.0,
        ("saturation", "low"): m["mean_chroma"] < 12.0,
        ("saturation", "high"): m["mean_chroma"] > 40.0,
    }
    return rules.get((attribute, state), False)


def state_contradicted(attribute: str, state: str, m: dict[str, float], band: str | None = None) -> str | None:
    """Why the measurements rule out ``state`` of ``attribute`` (None when they do not): loose
    thresholds with a margin to `state_supported`, so only clear errors are called."""
    if band is not None:
        share = m[band_key(band, "share")]
        if share < 0.002:
            return f"there is almost no {band.lower()} in the image ({share:.1%} of pixels)"
        chroma, lightness, offset = (m[band_key(band, q)] for q in ("chroma", "lightness", "hue_offset"))
        tests = {
            ("saturation", "low"): (chroma > 40.0, f"{band.lower()} chroma is {chroma:.0f} C*ab, not muted (> 40)"),
            ("saturation", "high"): (chroma < 30.0, f"{band.lower()} chroma is only {chroma:.0f} C*ab (< 30)"),
            ("luminance", "low"): (lightness > 0.55, f"{band.lower()} lightness is {lightness:.2f} L*/100 (> 0.55)"),
            ("luminance", "high"): (lightness < 0.45, f"{band.lower()} lightness is {lightness:.2f} L*/100 (< 0.45)"),
            ("hue", "high"): (offset < -1.0, f"{band.lower()} hues sit {offset:+.1f} deg from the band centre, "
                                             f"towards {neighbour(band, 'down').lower()}"),
            ("hue", "low"): (offset > 1.0, f"{band.lower()} hues sit {offset:+.1f} deg from the band centre, "
                                           f"towards {neighbour(band, 'up').lower()}"),
        }
        failed, reason = tests.get((attribute, state), (False, ""))
        return reason if failed else None
    median, p05, p95 = m["median_lightness"], m["lightness_p05"], m["lightness_p95"]
    clip_high, clip_low = m["highlight_clipping"], m["shadow_clipping"]
    tests = {
        ("exposure", "low"): (median > 0.55, f"median lightness is {median:.2f} L*/100 (> 0.55), not dark"),
        ("exposure", "high"): (median < 0.45, f"median lightness is {median:.2f} L*/100 (< 0.45), not bright"),
        ("contrast", "low"): (m["contrast"] > 0.26, f"lightness std is {m['contrast']:.2f} (> 0.26), not flat"),
        ("contrast", "high"): (m["contrast"] < 0.18, f"lightness std is {m['contrast']:.2f} (< 0.18), not harsh"),
        ("highlights", "high"): (clip_high < 0.002 and p95 < 0.85,
                                 f"{clip_high:.1%} of pixels clip and the 95th percentile is {p95:.2f} L*/100"),
        ("highlights", "low"): (p95 > 0.85 or clip_high > 0.02,
                                f"the 95th percentile is {p95:.2f} L*/100 and {clip_high:.1%} of pixels clip"),
        ("shadows", "low"): (clip_low < 0.002 and p05 > 0.12,
                             f"{clip_low:.1%} of pixels clip to black and the 5th percentile is {p05:.2f} L*/100"),
        ("shadows", "high"): (p05 < 0.1 or clip_low > 0.02,
                              f"the 5th percentile is {p05:.2f} L*/100 and {clip_low:.1%} of pixels clip to black"),
        ("temperature", "high"): (m["cast_b"] < -1.0, f"the neutral cast is b* {m['cast_b']:+.1f} (cool), not warm"),
        ("temperature", "low"): (m["cast_b"] > 1.0, f"the neutral cast is b* {m['cast_b']:+.1f} (warm), not cool"),
        ("tint", "high"): (m["cast_a"] < -1.0, f"the neutral cast is a* {m['cast_a']:+.1f} (green), not magenta"),
        ("tint", "low"): (m["cast_a"] > 1.0, f"the neutral cast is a* {m['cast_a']:+.1f} (magenta), not green"),
        ("saturation", "low"): (m["mean_chroma"] > 30.0,
                                f"mean chroma is {m['mean_chroma']:.0f} C*ab (> 30), not muted"),
        ("saturation", "high"): (m["mean_chroma"] < 20.0, f"mean chroma is only {m['mean_chroma']:.0f} C*ab (< 20)"),
    }
    tests[("whites", "high")] = tests[("highlights", "high")]
    tests[("whites", "low")] = tests[("highlights", "low")]
    tests[("blacks", "low")] = tests[("shadows", "low")]
    tests[("blacks", "high")] = tests[("shadows", "high")]
    failed, reason = tests.get((attribute, state), (False, ""))
    return reason if failed else None


# ------------------------------------------------------------------------------------------ verb forms
_IRREGULAR_GERUNDS = {"drop": "dropping", "cut": "cutting"}


def verb_forms(lemma: str) -> tuple[str, str, str]:
    """(base, third person, gerund) of a regular verb: ``verb_forms("push") == ("push", "pushes", "pushing")``."""
    if lemma.endswith(("sh", "ch", "s", "x")):
        third = lemma + "es"
    elif lemma.endswith("y") and lemma[-2] not in "aeiou":
        third = lemma[:-1] + "ies"
    else:
        third = lemma + "s"
    if lemma in _IRREGULAR_GERUNDS:
        gerund = _IRREGULAR_GERUNDS[lemma]
    elif lemma.endswith("e") and not lemma.endswith("ee"):
        gerund = lemma[:-1] + "ing"
    else:
        gerund = lemma + "ing"
    return lemma, third, gerund
