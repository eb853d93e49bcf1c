"""Reasoning text for the planner: per aspect a problem span and a plan span, true to the image and the edit.

Training pairs come from inverse degradation: a good photo is degraded, the planner sees the degraded
input and must say what is wrong (problem) and how the fix (the inverse edit, ``plan``) addresses it.
`describe` writes that text from the input's measurements (`veraretouch.data.measure`) and the plan:

- A problem states an image fault only when the measurements show it *and* the plan corrects it
  ("underexposed" needs a dark input and a brightening plan). Otherwise it speaks of the change the
  plan wants without a verdict on the image, so it contradicts neither.
- A plan describes each notable slider move (``|value| >= 5``, exposure ``>= 0.1 EV``) with a magnitude
  word tied to the value (`MAGNITUDES`), in one of several voices, phrasings and orders.

- Beyond the 38 sliders (presets): Monochrome is stated ("convert it to black and white"); point curves
  and colour grading are mentioned without a direction, as they have none.

Every phrasing is one the checker (`veraretouch.data.checker`) parses, so our own text checks clean
and a flipped word is caught. The measurement thresholds for writing a fault (`state_supported`) sit
next to the looser ones for calling a claim false (`state_contradicted`), so the margins are visible.

Also here: `param_instruction` / `param_instruction_json` (a request for a plan's slider moves, in words
or as a VeraRetouch param file) and `style_instructions` (requests for a named preset look).
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Callable

import torch

from ..evaluation.metrics import rgb_to_lab
from ..formats._common import is_identity_curve
from ..formats.jsonplan import plan_to_param_file
from ..operators import render
from ..operators.colorspace import linear_rgb_to_srgb
from ..operators.shapes import bump_height
from ..operators.tone import TONE_ZONES
from ..parameters import GLOBAL_COLOR, GROUPS, HSL_BANDS, LIGHTING, SLIDERS, SPECIFIC_COLOR, group_of
from ..plan import Plan
from .measure import band_key

# ------------------------------------------------------------------------------------------ tags
ASPECTS = GROUPS
"""The three aspects, in span order: lighting, global_color, specific_color."""
SPAN_KINDS = ("problem", "plan")
SPAN_NAMES = tuple(f"{aspect}_{kind}" for aspect in ASPECTS for kind in SPAN_KINDS)
"""The six spans in the order a reasoning text holds them."""
TAGS = {name: (f"<{name}>", f"</{name}>") for name in SPAN_NAMES}
"""Span name -> (opening tag, closing tag): ``TAGS["lighting_problem"] == ("<lighting_problem>", "</lighting_problem>")``."""
(LIGHTING_PROBLEM, LIGHTING_PLAN, GLOBAL_COLOR_PROBLEM, GLOBAL_COLOR_PLAN,
 SPECIFIC_COLOR_PROBLEM, SPECIFIC_COLOR_PLAN) = SPAN_NAMES


def span_name(aspect: str, kind: str) -> str:
    """``span_name("lighting", "plan") == "lighting_plan"``."""
    if aspect not in ASPECTS or kind not in SPAN_KINDS:
        raise ValueError(f"unknown span {aspect!r} / {kind!r}")
    return f"{aspect}_{kind}"


def format_reasoning(spans: dict[str, tuple[str, str]]) -> str:
    """The tagged text of ``aspect -> (problem, plan)``: six spans, one per line, in `SPAN_NAMES` order."""
    lines = []
    for aspect in ASPECTS:
        for kind, content in zip(SPAN_KINDS, spans[aspect]):
            opening, closing = TAGS[span_name(aspect, kind)]
            lines.append(f"{opening}{content}{closing}")
    return "\n".join(lines)


_TAG_PATTERN = re.compile(r"<(/?)([a-z_]+)>")


def parse_tagged(text: str) -> tuple[dict[str, str], list[str]]:
    """The six span contents of a reasoning text, and what is wrong with its tags.

    Problems reported: unknown tags, spans missing, repeated, nested, unclosed or empty, and spans out
    of `SPAN_NAMES` order. Text outside the spans (e.g. the edit that follows) is allowed. A span that
    is opened and closed once is returned even when other spans are broken.
    """
    errors: list[str] = []
    spans: dict[str, str] = {}
    order: list[str] = []
    open_name, open_end = None, 0
    for match in _TAG_PATTERN.finditer(text):
        closing, name = match.group(1) == "/", match.group(2)
        if name not in TAGS:
            errors.append(f"unknown tag {match.group(0)}")
            continue
        if not closing:
            if open_name is not None:
                errors.append(f"<{name}> opens inside <{open_name}>, which is not closed")
            open_name, open_end = name, match.end()
            continue
        if open_name != name:
            errors.append(f"</{name}> closes a span that is not open")
            continue
        content = text[open_end:match.start()].strip()
        if name in spans:
            errors.append(f"<{name}> appears more than once")
        elif not content:
            errors.append(f"<{name}> is empty")
        else:
            spans[name] = content
        order.append(name)
        open_name = None
    if open_name is not None:
        errors.append(f"<{open_name}> is never closed")
    errors.extend(f"<{name}> is missing" for name in SPAN_NAMES if name not in order)
    seen = [name for name in SPAN_NAMES if name in order]
    firsts = list(dict.fromkeys(order))
    if firsts != seen:
        errors.append(f"spans out of order: {', '.join(firsts)} (expected {', '.join(seen)})")
    return spans, errors


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
    values = tuple(sorted((k, v) for k, v in plan.values.items() if group_of(k) == LIGHTING))
    curves = tuple(sorted((k, v) for k, v in plan.curves.items() if group_of(k) == LIGHTING))
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


# ------------------------------------------------------------------------------------------ wording
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


ADVERBS = (
    ("slightly", "a little", "a touch", "a bit", "gently", "subtly"),
    ("moderately", "noticeably", "a fair bit", "a fair amount"),
    ("strongly", "a lot", "considerably", "substantially", "significantly"),
    ("heavily", "dramatically", "drastically", "very strongly", "massively"),
)
"""Adverbs per entry of `MAGNITUDES` ("lift the shadows a lot")."""
QUANTITIES = (
    ("a touch of", "a little", "a bit of", "a hint of", "a small amount of"),
    ("a fair amount of", "a moderate amount of", "a good bit of", "a noticeable amount of"),
    ("a lot of", "plenty of", "a large amount of", "a strong dose of"),
    ("a great deal of", "a huge amount of", "a massive dose of", "an extreme amount of"),
)
"""Quantities per entry of `MAGNITUDES` ("add a touch of contrast")."""
COMPARATIVES = (
    ("slightly", "a little", "a bit", "a touch"),
    ("noticeably", "moderately", "somewhat"),
    ("much", "considerably", "a lot", "substantially"),
    ("far", "dramatically", "massively", "hugely"),
)
"""Comparative modifiers per entry of `MAGNITUDES` ("make it much warmer")."""
STOPS = ((1 / 3, "a third of a stop"), (0.5, "half a stop"), (2 / 3, "two thirds of a stop"), (1.0, "a stop"),
         (1.0, "one stop"), (1.5, "a stop and a half"), (2.0, "two stops"), (2.5, "two and a half stops"),
         (3.0, "three stops"), (4.0, "four stops"), (5.0, "five stops"))
"""Spoken exposure amounts and their EV; the checker reads them back."""
APPROXIMATELY = ("about", "roughly", "around")

_LIGHTING_TEMPLATES = {
    ("exposure", "up"): ("raise|the exposure {ev}", "lift|the exposure {ev}", "push|the exposure up {ev}",
                         "open|up the exposure {ev}", "add|{evq} of exposure", "increase|the exposure {ev}",
                         "bring|the exposure up {ev}"),
    ("exposure", "down"): ("lower|the exposure {ev}", "pull|the exposure down {ev}", "reduce|the exposure {ev}",
                           "bring|the exposure down {ev}", "take|{evq} off the exposure", "drop|the exposure {ev}"),
    ("contrast", "up"): ("add|{q} contrast", "increase|the contrast {m}", "boost|the contrast {m}",
                         "raise|contrast {m}", "give|the image {q} extra contrast", "give|it {q} extra punch"),
    ("contrast", "down"): ("reduce|the contrast {m}", "soften|the contrast {m}", "lower|contrast {m}",
                           "take|{q} contrast out", "ease|the contrast back {m}", "flatten|the contrast {m}"),
    ("highlights", "up"): ("raise|the highlights {m}", "brighten|the highlights {m}", "lift|the highlights {m}",
                           "push|the highlights up {m}"),
    ("highlights", "down"): ("pull|the highlights down {m}", "recover|the highlights {m}",
                             "bring|down the highlights {m}", "tame|the highlights {m}",
                             "lower|the highlights {m}", "darken|the highlights {m}"),
    ("shadows", "up"): ("lift|the shadows {m}", "open|up the shadows {m}", "brighten|the shadows {m}",
                        "raise|the shadows {m}", "bring|up the shadows {m}"),
    ("shadows", "down"): ("deepen|the shadows {m}", "darken|the shadows {m}", "lower|the shadows {m}",
                          "push|the shadows down {m}"),
    ("whites", "up"): ("raise|the whites {m}", "push|the whites up {m}", "brighten|the whites {m}",
                       "lift|the white point {m}"),
    ("whites", "down"): ("pull|the whites down {m}", "lower|the whites {m}", "bring|the whites down {m}",
                         "tame|the whites {m}"),
    ("blacks", "up"): ("lift|the blacks {m}", "raise|the blacks {m}", "raise|the black point {m}",
                       "brighten|the blacks {m}"),
    ("blacks", "down"): ("deepen|the blacks {m}", "lower|the blacks {m}", "darken|the blacks {m}",
                         "push|the blacks down {m}", "drop|the black point {m}"),
    ("curve", "up"): ("raise|{zone} {m}", "lift|{zone} {m}", "brighten|{zone} {m}", "push|{zone} up {m}"),
    ("curve", "down"): ("lower|{zone} {m}", "darken|{zone} {m}", "pull|{zone} down {m}"),
}
_CURVE_ZONES = {
    "curve_shadows": ("the shadow region of the tone curve", "the curve's shadow zone", "the tone curve's shadows"),
    "curve_darks": ("the darks on the tone curve", "the curve's darks", "the darks zone of the curve"),
    "curve_lights": ("the lights on the tone curve", "the curve's lights", "the lights zone of the curve"),
    "curve_highlights": ("the highlight region of the tone curve", "the curve's highlight zone",
                         "the tone curve's highlights"),
}
_GLOBAL_TEMPLATES = {
    ("temperature", "up"): ("warm|it up {m}", "warm|the white balance {m}", "warm|the image {m}",
                            "make|it {c} warmer", "add|{q} warmth", "raise|the temperature {m}",
                            "nudge|the temperature up {m}", "shift|the white balance {m} towards warm"),
    ("temperature", "down"): ("cool|it down {m}", "cool|the white balance {m}", "cool|the image {m}",
                              "make|it {c} cooler", "take|{q} warmth out", "lower|the temperature {m}",
                              "shift|the white balance {m} towards blue", "add|{q} blue to the white balance"),
    ("tint", "up"): ("shift|the tint {m} towards magenta", "add|{q} magenta", "push|the tint {m} towards magenta",
                     "raise|the tint {m}", "move|the tint towards magenta {m}"),
    ("tint", "down"): ("shift|the tint {m} towards green", "add|{q} green", "push|the tint {m} towards green",
                       "lower|the tint {m}", "move|the tint towards green {m}"),
    ("vibrance", "up"): ("raise|the vibrance {m}", "boost|vibrance {m}", "add|{q} vibrance",
                         "increase|the vibrance {m}"),
    ("vibrance", "down"): ("lower|the vibrance {m}", "reduce|vibrance {m}", "pull|the vibrance back {m}",
                           "ease|off the vibrance {m}"),
    ("saturation", "up"): ("boost|the saturation {m}", "raise|saturation {m}", "add|{q} saturation",
                           "increase|the overall saturation {m}"),
    ("saturation", "down"): ("reduce|the saturation {m}", "lower|saturation {m}", "desaturate|the image {m}",
                             "pull|the saturation back {m}", "take|{q} saturation out"),
}
_BAND_TEMPLATES = {
    ("saturation", "up"): ("boost|{b} {m}", "saturate|{b} {m}", "intensify|{b} {m}", "enrich|{b} {m}",
                           "make|{b} {c} richer", "give|{b} {c} more saturation", "raise|{b1} saturation {m}"),
    ("saturation", "down"): ("desaturate|{b} {m}", "mute|{b} {m}", "tone|{b} down {m}",
                             "lower|{b1} saturation {m}", "reduce|{b1} saturation {m}"),
    ("luminance", "up"): ("brighten|{b} {m}", "lighten|{b} {m}", "make|{b} {c} lighter",
                          "raise|{b1} luminance {m}", "lift|{b1} luminance {m}"),
    ("luminance", "down"): ("darken|{b} {m}", "make|{b} {c} darker", "lower|{b1} luminance {m}",
                            "reduce|{b1} luminance {m}"),
    ("hue", "any"): ("shift|{b} {m} towards {t}", "push|{b} {m} towards {t}", "rotate|{b1} hue {m} towards {t}",
                     "move|{b} {m} towards {t}", "nudge|{b} towards {t} {m}"),
}
BAND_WORDS = {
    "Red": ("red",), "Orange": ("orange",), "Yellow": ("yellow",), "Green": ("green",),
    "Aqua": ("aqua", "cyan"), "Blue": ("blue",), "Purple": ("purple", "violet"), "Magenta": ("magenta", "pink"),
}
"""Words for each HSL band (first: the usual one); the plural adds an "s"."""


@dataclass(frozen=True)
class _Move:
    aspect: str
    attribute: str
    slider: str
    value: float
    band: str | None = None

    @property
    def direction(self) -> str:
        return "up" if self.value > 0 else "down"

    @property
    def magnitude(self) -> int:
        return magnitude_index(self.slider, self.value)

    def claim(self, span: str) -> Claim:
        return Claim(self.aspect, span, self.attribute, self.direction, MAGNITUDES[self.magnitude], self.band)


def _notable_moves(plan: Plan) -> dict[str, list[_Move]]:
    """Moves of at least `NOTABLE_SLIDER` (`NOTABLE_EV`), per aspect, largest first (1 EV counts as 60)."""
    moves: dict[str, list[_Move]] = {aspect: [] for aspect in ASPECTS}
    attribute_of = {slider: name for name, slider in {**LIGHTING_SLIDER_OF, **GLOBAL_SLIDER_OF}.items()}
    for spec in SLIDERS:
        value = plan.get(spec.name)
        if magnitude_index(spec.name, value) < 0:
            continue
        if spec.group == SPECIFIC_COLOR:
            kind, band = spec.name.split("Adjustment")
            moves[SPECIFIC_COLOR].append(_Move(SPECIFIC_COLOR, kind.lower(), spec.name, value, band))
        else:
            moves[spec.group].append(_Move(spec.group, attribute_of[spec.name], spec.name, value))
    for items in moves.values():
        items.sort(key=lambda move: -abs(move.value) * (60.0 if move.slider == "Exposure2012" else 1.0))
    return moves


def _plural(band: str, rng: random.Random) -> str:
    return rng.choice(BAND_WORDS[band]) + "s"


def _value_note(move: _Move, rng: random.Random) -> str:
    if move.slider == "Exposure2012":
        return rng.choice((f" ({move.value:+.2f} EV)", f" (Exposure {move.value:+.2f})"))
    if move.band is not None:
        short = f"{move.band} {move.attribute}"
    else:
        short = move.slider.replace("2012", "").replace("Incremental", "").replace("Parametric", "curve ")
    return rng.choice((f" ({move.value:+.0f})", f" ({short} {move.value:+.0f})"))


def _stop_phrase(ev: float, rng: random.Random) -> str:
    """The nearest spoken amount of `STOPS`, hedged by which side of it the value lies."""
    best = min(abs(amount - abs(ev)) for amount, _ in STOPS)
    amount, phrase = rng.choice([(amount, text) for amount, text in STOPS if abs(amount - abs(ev)) == best])
    if abs(abs(ev) - amount) < 0.05:
        hedges = APPROXIMATELY
    else:
        hedges = APPROXIMATELY + (("nearly", "close to", "just under") if abs(ev) < amount else ("just over",))
    return f"{rng.choice(hedges)} {phrase}"


def _fill(template: str, move: _Move, rng: random.Random, form: int, pronoun: bool) -> str:
    """One clause: ``verb|rest`` with the verb in ``form`` (0 base, 1 third person, 2 gerund)."""
    verb, rest = template.split("|")
    level = move.magnitude
    fields = {"m": rng.choice(ADVERBS[level]), "q": rng.choice(QUANTITIES[level]), "c": rng.choice(COMPARATIVES[level])}
    if move.slider == "Exposure2012":
        spoken = abs(move.value) >= EXPOSURE_MAGNITUDE_EDGES[1] and rng.random() < 0.7
        fields["ev"] = f"by {_stop_phrase(move.value, rng)}" if spoken else fields["m"]
        quantity = re.sub(r"\s+of$", "", rng.choice(QUANTITIES[level]))
        fields["evq"] = _stop_phrase(move.value, rng) if spoken else quantity
    if move.attribute in _CURVE_ZONES:
        fields["zone"] = rng.choice(_CURVE_ZONES[move.attribute])
    if move.band is not None:
        fields["b"] = "them" if pronoun else f"the {_plural(move.band, rng)}"
        fields["b1"] = "their" if pronoun else f"the {BAND_WORDS[move.band][0]}"
        if move.attribute == "hue":
            fields["t"] = rng.choice(BAND_WORDS[neighbour(move.band, move.direction)])
    clause = f"{verb_forms(verb)[form]} {rest.format(**fields)}"
    return re.sub(r"\s+", " ", clause).strip()


def _action_clause(move: _Move, rng: random.Random, form: int, pronoun: bool = False, note: float = 0.25) -> str:
    if move.band is not None:
        key = (move.attribute, "any" if move.attribute == "hue" else move.direction)
        templates = _BAND_TEMPLATES[key]
    elif move.aspect == LIGHTING:
        key = ("curve" if move.attribute in _CURVE_ZONES else move.attribute, move.direction)
        templates = _LIGHTING_TEMPLATES[key]
    else:
        templates = _GLOBAL_TEMPLATES[(move.attribute, move.direction)]
    if move.band is not None and not pronoun and rng.random() < 0.8:
        templates = tuple(t for t in templates if "{b}" in t) or templates
    if move.magnitude >= 2:
        templates = tuple(t for t in templates if not t.startswith("nudge|")) or templates
    clause = _fill(rng.choice(templates), move, rng, form, pronoun)
    return clause + (_value_note(move, rng) if rng.random() < note else "")


# ------------------------------------------------------------------------------------------ sentences
_VOICES = {
    # voice: (verb form, openers of the first sentence, openers of later sentences)
    "imperative": (0, ("", "", "First, ", "To fix this, ", "To correct it, ", "Here, "),
                   ("", "Then ", "Next, ", "After that, ", "Also ", "In addition, ")),
    "first": (0, ("I'll ", "I will ", "I'd ", "My plan is to ", "The fix is to ", "I want to ", "Here I'll "),
              ("I'll also ", "Then I'll ", "I'll then ", "Next I'll ", "I also want to ", "After that I'll ")),
    "third": (1, ("The edit ", "This fix ", "The correction ", "My edit ", "The adjustment "),
              ("It also ", "It then ", "On top of that it ", "Beyond that, it ", "The edit also ")),
    "by": (2, ("I'll fix this by ", "The fix works by ", "I'll correct it by ", "This is addressed by ",
               "The plan is to correct it by "), ()),
}


def _join(clauses: list[str], rng: random.Random) -> str:
    if len(clauses) == 1:
        return clauses[0]
    last = rng.choice((" and ", ", and ", ", then ", " and then "))
    return ", ".join(clauses[:-1]) + last + clauses[-1]


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _capitalise(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _sentences(groups: list[list[Callable[[int], str]]], rng: random.Random) -> list[str]:
    """Sentences from groups of clauses (each a function of the verb form); a voice per span."""
    voice = rng.choice(tuple(_VOICES))
    form, firsts, laters = _VOICES[voice]
    sentences = []
    for index, group in enumerate(groups):
        if index == 0 or not laters:
            opener = rng.choice(firsts) if index == 0 else rng.choice(_VOICES["first"][2])
            clause_form = form if index == 0 else 0
        else:
            opener, clause_form = rng.choice(laters), form
        sentences.append(_capitalise(opener + _join([clause(clause_form) for clause in group], rng)) + ".")
    return sentences


def _chunks(items: list, rng: random.Random, largest: int = 3) -> list[list]:
    """Consecutive groups of 1..largest items."""
    groups, start = [], 0
    while start < len(items):
        size = rng.randint(1, largest)
        groups.append(items[start:start + size])
        start += size
    return groups


# ------------------------------------------------------------------------------------------ plan spans
MAX_MOVES_IN_TEXT = {LIGHTING: 6, GLOBAL_COLOR: 4, SPECIFIC_COLOR: 4}
"""At most this many moves (bands, for specific colour) are spelled out per plan span; the rest are
summed up as smaller tweaks (the edit itself follows the text)."""

_SMALLER_TWEAKS = ("Smaller tweaks cover the rest", "The remaining sliders only get minor touches",
                   "A few minor adjustments round it off", "Everything else gets only small refinements",
                   "The other sliders move only a little", "Minor touches handle what is left",
                   "What remains is small-scale polish")
_NAMED_TWEAKS = ("Smaller tweaks go to {names}", "Only minor touches for {names}",
                 "Minor refinements to {names} finish it", "There are also small touches to {names}",
                 "Light fine-tuning for {names} completes it", "The last details are small tweaks to {names}")
_SLIDER_NAMES = {
    "exposure": "the exposure", "contrast": "the contrast", "highlights": "the highlights", "shadows": "the shadows",
    "whites": "the whites", "blacks": "the blacks", "curve_shadows": "the curve's shadow zone",
    "curve_darks": "the curve's darks", "curve_lights": "the curve's lights",
    "curve_highlights": "the curve's highlight zone", "temperature": "the temperature", "tint": "the tint",
    "vibrance": "the vibrance", "saturation": "the saturation",
}
def _tweaks_sentence(hidden: list[_Move], rng: random.Random) -> str:
    """A sentence saying the moves left out are small, naming up to three of them half the time."""
    if rng.random() < 0.5:
        return rng.choice(_SMALLER_TWEAKS) + "."
    names = []
    for move in hidden:
        if move.band is None:
            names.append(_SLIDER_NAMES[move.attribute])
        else:
            names.append(f"the {rng.choice(BAND_WORDS[move.band])} {move.attribute}")
    names = list(dict.fromkeys(names))
    listed = _and_list(rng.sample(names, min(3, len(names))))
    return rng.choice(_NAMED_TWEAKS).format(names=listed, Names=_capitalise(listed)) + "."


_NOTHING_PLAN = {
    LIGHTING: ("Leave the exposure and tones as they are.", "No lighting changes are needed.",
               "The tones stay untouched.", "Nothing to change in the lighting.",
               "Lighting stays as it is.", "No tonal adjustment is needed here."),
    GLOBAL_COLOR: ("Leave the white balance and saturation as they are.", "No global colour changes are needed.",
                   "The overall colour stays untouched.", "Nothing to change in the global colour.",
                   "White balance and saturation stay as they are."),
    SPECIFIC_COLOR: ("Leave the individual colours as they are.", "No per-colour changes are needed.",
                     "The HSL sliders stay untouched.", "Nothing to change colour by colour.",
                     "Individual hues stay as they are."),
}
_NOTHING_PROBLEM = {
    LIGHTING: ("Exposure and tonal balance already look right.", "The lighting is already well balanced.",
               "There is no tonal problem to fix.", "The tones already sit where they should.",
               "Brightness and contrast are already fine."),
    GLOBAL_COLOR: ("The white balance and overall saturation already look right.",
                   "The overall colour is already balanced.", "There is no colour cast to fix.",
                   "Global colour is already fine."),
    SPECIFIC_COLOR: ("The individual colours already look right.", "No single colour stands out as wrong.",
                     "Each colour family already looks natural.", "There is no per-colour problem to fix."),
}
_OVERALL = {
    "up": ("Overall the image ends up brighter.", "The net effect is a brighter picture.",
           "Taken together, this brightens the frame.", "All in all, the picture comes out brighter."),
    "down": ("Overall the image ends up darker.", "The net effect is a darker picture.",
             "Taken together, this darkens the frame.", "All in all, the picture comes out darker."),
}


def _plan_span(aspect: str, moves: list[_Move], m: dict[str, float], plan: Plan,
               rng: random.Random) -> tuple[str, list[Claim]]:
    if not moves:
        return rng.choice(_NOTHING_PLAN[aspect]), [Claim(aspect, "plan", "all", "none")]
    claims: list[Claim] = []
    if aspect == SPECIFIC_COLOR:
        bands = list(dict.fromkeys(move.band for move in moves))
        shown_bands = bands[:MAX_MOVES_IN_TEXT[aspect]]
        if rng.random() < 0.3:
            rng.shuffle(shown_bands)
        groups = []
        for band in shown_bands:
            band_moves = [move for move in moves if move.band == band][:3]
            rng.shuffle(band_moves)
            claims.extend(move.claim("plan") for move in band_moves)
            groups.append([
                (lambda form, move=move, first=i == 0: _action_clause(move, rng, form, pronoun=not first))
                for i, move in enumerate(band_moves)
            ])
        hidden = [move for move in moves if move.band not in shown_bands]
    else:
        shown = moves[:MAX_MOVES_IN_TEXT[aspect]]
        if rng.random() < 0.5:
            rng.shuffle(shown)
        claims.extend(move.claim("plan") for move in shown)
        clauses = [(lambda form, move=move: _action_clause(move, rng, form)) for move in shown]
        groups = _chunks(clauses, rng)
        hidden = moves[len(shown):]
    sentences = _sentences(groups, rng)
    if hidden and rng.random() < 0.7:
        sentences.append(_tweaks_sentence(hidden, rng))
    if aspect == LIGHTING:
        change = brightness_change(plan, m["median_lightness"])
        if abs(change) >= 2 * BRIGHTNESS_STEP and rng.random() < 0.4:
            direction = "up" if change > 0 else "down"
            sentences.append(rng.choice(_OVERALL[direction]))
            claims.append(Claim(aspect, "plan", "brightness", direction))
    return " ".join(sentences), claims


# ------------------------------------------------------------------------------------------ problem spans
def _degree(level: int, rng: random.Random) -> str:
    return rng.choice((("slightly", "a little", "a bit", "somewhat"), ("clearly", "noticeably", "quite"),
                       ("badly", "heavily", "very"))[level])


def _degree_too(level: int, rng: random.Random) -> str:
    return rng.choice((("a little", "slightly", "a bit"), ("clearly", "noticeably", "quite"),
                       ("far", "much", "way"))[level])


def _degree_adjective(level: int, rng: random.Random) -> str:
    return rng.choice((("slight", "faint", "mild"), ("clear", "distinct", "noticeable"),
                       ("strong", "heavy", "marked"))[level])


_STATE_SENTENCES = {
    ("exposure", "low"): ("The image is {d} underexposed", "The photo looks {dt} too dark",
                          "Everything sits {dt} too dark", "The exposure is {dt} too low for the scene",
                          "The frame reads {d} dim and murky", "It comes out {d} underexposed"),
    ("exposure", "high"): ("The image is {d} overexposed", "The photo looks {dt} too bright",
                           "Everything sits {dt} too bright", "The exposure is {dt} too high for the scene",
                           "It comes out {d} overexposed"),
    ("contrast", "low"): ("The tones look flat", "The image lacks contrast", "Contrast is {d} weak",
                          "It feels flat and low in contrast", "The picture looks {d} flat"),
    ("contrast", "high"): ("The contrast is {d} harsh", "It looks {dt} too contrasty",
                           "There is too much contrast", "The tones are {d} harsh"),
    ("highlights", "high"): ("The highlights are blown", "The bright areas are clipped",
                             "Highlight detail is lost to clipping", "The brightest tones are burnt out"),
    ("highlights", "low"): ("The highlights look dull", "The highlights are grey and dull",
                            "The brightest tones look {d} dull", "The highlights lack brilliance"),
    ("shadows", "low"): ("The shadows are crushed", "Shadow detail is blocked up",
                         "The darkest tones are clipped", "The shadows look crushed and heavy"),
    ("blacks", "high"): ("The blacks look milky", "The blacks are washed out and greyish",
                         "The blacks look {d} milky", "The darkest tones look {d} milky"),
    ("temperature", "high"): ("There is a {a} warm cast", "The image leans {d} warm", "Neutrals look {d} yellowish",
                              "The white balance is {dt} too warm", "A {a} yellow cast sits over the frame"),
    ("temperature", "low"): ("There is a {a} cool cast", "The image leans {d} cool", "Neutrals look {d} bluish",
                             "The white balance is {dt} too cool", "A {a} blue cast sits over the frame"),
    ("tint", "high"): ("There is a {a} magenta cast", "Neutrals look {d} pinkish", "The tint leans {d} magenta",
                       "A {a} magenta tint sits over the frame"),
    ("tint", "low"): ("There is a {a} green cast", "Neutrals look {d} greenish", "The tint leans {d} green",
                      "A {a} green tint sits over the frame"),
    ("saturation", "low"): ("The colours look {d} muted", "The colours are dull and undersaturated",
                            "The palette looks {d} drab", "Colour looks {d} muted overall"),
    ("saturation", "high"): ("The colours look {d} oversaturated", "The colours are {d} garish",
                             "The palette looks {d} overcooked", "Colour is {dt} too saturated overall"),
}
_BAND_STATE_SENTENCES = {
    ("saturation", "low"): ("The {b} look {d} muted", "The {b} are {d} dull", "The {b} lack saturation"),
    ("saturation", "high"): ("The {b} are {d} garish", "The {b} look {d} oversaturated", "The {b} are too loud"),
    ("luminance", "low"): ("The {b} are {dt} too dark", "The {b} look {d} heavy"),
    ("luminance", "high"): ("The {b} are {dt} too light", "The {b} look {dt} too bright"),
    ("hue", "high"): ("The {b} lean {d} towards {t}", "The {b} drift {d} towards {t}", "The {b} veer towards {t}"),
    ("hue", "low"): ("The {b} lean {d} towards {t}", "The {b} drift {d} towards {t}", "The {b} veer towards {t}"),
}
_DETAILS = {
    ("exposure", "low"): ("with the median tone at only {median:.0%} lightness",
                          "with half the pixels below {median:.0%} lightness"),
    ("exposure", "high"): ("with the median tone at {median:.0%} lightness",
                           "with half the pixels above {median:.0%} lightness"),
    ("highlights", "high"): ("with {clip_high:.0%} of the pixels clipping", "and {clip_high:.0%} of pixels clip"),
    ("shadows", "low"): ("with {clip_low:.0%} of the pixels at pure black", "and {clip_low:.0%} of pixels clip"),
}
_CAUTIOUS = {
    ("brightness", "up"): ("The overall brightness can come up", "The image would benefit from more brightness",
                           "Brightness can go up for this scene"),
    ("brightness", "down"): ("The overall brightness can come down", "The image would read better with less brightness",
                             "Brightness can come down for a richer look"),
    ("contrast", "up"): ("The image would benefit from more contrast", "The tones could use more contrast",
                         "Contrast can go up for more depth"),
    ("contrast", "down"): ("The image would benefit from less contrast", "The tones could use less contrast",
                           "Contrast can come down for a gentler look"),
    ("temperature", "up"): ("The colour balance could sit warmer", "The image would suit a warmer balance",
                            "A warmer white balance would suit the scene"),
    ("temperature", "down"): ("The colour balance could sit cooler", "The image would suit a cooler balance",
                              "A cooler white balance would suit the scene"),
    ("colourfulness", "up"): ("The colours could be more vivid", "Colour intensity can go up",
                              "The image would benefit from richer colour"),
    ("colourfulness", "down"): ("The colours could be calmer", "Colour intensity can come down",
                                "The image would benefit from less colour intensity"),
}
_NEUTRAL_LEADS = {
    LIGHTING: ("No single tonal fault dominates, but the tones need refining.",
               "The tonal balance needs some refinement rather than a rescue.",
               "The lighting is workable and mainly needs reshaping.",
               "The tones are usable but can be shaped better.", "The tonal range can be shaped more deliberately.",
               "The lighting is a matter of refinement here.", "The tones need reshaping more than a rescue."),
    GLOBAL_COLOR: ("The overall colour needs a little refinement.", "The global colour is workable but can be tuned.",
                   "White balance and saturation deserve a small revision.",
                   "The overall colour is usable, though it can be balanced better.",
                   "Global colour is a matter of fine-tuning here.", "The colour balance only needs a light revision.",
                   "The overall colour just needs tuning."),
    SPECIFIC_COLOR: ("A few colour families need individual attention.", "Some hues deserve individual tuning.",
                     "Individual colours can be tuned further.", "Some colour families can be shaped individually.",
                     "A handful of hues need separate attention.", "The per-colour balance can be refined."),
}


def _state_sentence(attribute: str, state: str, m: dict[str, float], level: int, rng: random.Random,
                    band: str | None = None) -> str:
    if band is None:
        sentence = rng.choice(_STATE_SENTENCES[(attribute, state)]).format(
            d=_degree(level, rng), dt=_degree_too(level, rng), a=_degree_adjective(level, rng))
        details = _DETAILS.get((attribute, state))
        if details and rng.random() < 0.35:
            sentence += ", " + rng.choice(details).format(
                median=m["median_lightness"], clip_high=m["highlight_clipping"], clip_low=m["shadow_clipping"])
    else:
        target = rng.choice(BAND_WORDS[neighbour(band, "up" if state == "high" else "down")])
        sentence = rng.choice(_BAND_STATE_SENTENCES[(attribute, state)]).format(
            b=_plural(band, rng), d=_degree(level, rng), dt=_degree_too(level, rng), t=target)
    return re.sub(r"\s+", " ", sentence)


def _lighting_problems(moves: list[_Move], m: dict[str, float], plan: Plan,
                       rng: random.Random) -> list[tuple[str, Claim]]:
    values = {move.slider: move.value for move in moves}
    found: list[tuple[str, Claim]] = []

    def add(attribute: str, state: str, level: int) -> None:
        found.append((_state_sentence(attribute, state, m, level, rng),
                      Claim(LIGHTING, "problem", attribute, state, MAGNITUDES[level])))

    median = m["median_lightness"]
    change = brightness_change(plan, median)
    if change >= BRIGHTNESS_STEP and state_supported("exposure", "low", m):
        add("exposure", "low", 2 if median < 0.22 else 1 if median < 0.35 else 0)
    elif change <= -BRIGHTNESS_STEP and state_supported("exposure", "high", m):
        add("exposure", "high", 2 if median > 0.8 else 1 if median > 0.65 else 0)
    elif abs(change) >= 2 * BRIGHTNESS_STEP:
        direction = "up" if change > 0 else "down"
        found.append((rng.choice(_CAUTIOUS[("brightness", direction)]),
                      Claim(LIGHTING, "problem", "brightness", direction)))
    contrast = values.get("Contrast2012", 0.0)
    if contrast >= NOTABLE_SLIDER and state_supported("contrast", "low", m):
        add("contrast", "low", 1 if m["contrast"] < 0.1 else 0)
    elif contrast <= -NOTABLE_SLIDER and state_supported("contrast", "high", m):
        add("contrast", "high", 1 if m["contrast"] > 0.34 else 0)
    elif abs(contrast) >= SLIDER_MAGNITUDE_EDGES[1] and rng.random() < 0.6:
        direction = "up" if contrast > 0 else "down"
        found.append((rng.choice(_CAUTIOUS[("contrast", direction)]),
                      Claim(LIGHTING, "problem", "contrast", direction)))
    highlights, whites = values.get("Highlights2012", 0.0), values.get("Whites2012", 0.0)
    if min(highlights, whites) <= -NOTABLE_SLIDER and state_supported("highlights", "high", m):
        add("highlights", "high", 1)
    elif max(highlights, whites) >= NOTABLE_SLIDER and state_supported("highlights", "low", m):
        add("highlights", "low", 0)
    shadows, blacks = values.get("Shadows2012", 0.0), values.get("Blacks2012", 0.0)
    if max(shadows, blacks) >= NOTABLE_SLIDER and state_supported("shadows", "low", m):
        add("shadows", "low", 1)
    elif min(shadows, blacks) <= -NOTABLE_SLIDER and state_supported("blacks", "high", m):
        add("blacks", "high", 0)
    return found


def _global_problems(moves: list[_Move], m: dict[str, float], plan: Plan,
                     rng: random.Random) -> list[tuple[str, Claim]]:
    values = {move.slider: move.value for move in moves}
    found: list[tuple[str, Claim]] = []
    for attribute, slider, key, strong in (("temperature", "IncrementalTemperature", "cast_b", 10.0),
                                           ("tint", "IncrementalTint", "cast_a", 8.0)):
        value = values.get(slider, 0.0)
        state = "high" if value < 0 else "low"
        if value != 0.0 and state_supported(attribute, state, m):
            level = 1 if abs(m[key]) >= strong else 0
            found.append((_state_sentence(attribute, state, m, level, rng),
                          Claim(GLOBAL_COLOR, "problem", attribute, state, MAGNITUDES[level])))
        elif attribute == "temperature" and abs(value) >= SLIDER_MAGNITUDE_EDGES[1]:
            direction = "up" if value > 0 else "down"
            found.append((rng.choice(_CAUTIOUS[("temperature", direction)]),
                          Claim(GLOBAL_COLOR, "problem", "temperature", direction)))
    vibrance, saturation = plan.get("Vibrance"), plan.get("Saturation")
    total = vibrance + saturation
    boosts, cuts = max(vibrance, saturation) >= NOTABLE_SLIDER, min(vibrance, saturation) <= -NOTABLE_SLIDER
    if boosts and total >= NOTABLE_SLIDER and state_supported("saturation", "low", m):
        found.append((_state_sentence("saturation", "low", m, 1 if m["mean_chroma"] < 7 else 0, rng),
                      Claim(GLOBAL_COLOR, "problem", "saturation", "low")))
    elif cuts and total <= -NOTABLE_SLIDER and state_supported("saturation", "high", m):
        found.append((_state_sentence("saturation", "high", m, 1 if m["mean_chroma"] > 55 else 0, rng),
                      Claim(GLOBAL_COLOR, "problem", "saturation", "high")))
    elif abs(total) >= SLIDER_MAGNITUDE_EDGES[1] and min(vibrance, saturation) * max(vibrance, saturation) >= 0:
        direction = "up" if total > 0 else "down"
        found.append((rng.choice(_CAUTIOUS[("colourfulness", direction)]),
                      Claim(GLOBAL_COLOR, "problem", "colourfulness", direction)))
    return found


_PRESENCE = (
    "The {b} cover about {share:.0%} of the frame and need some tuning",
    "There is a fair amount of {b1} in the image (about {share:.0%})",
    "The {b} take up roughly {share:.0%} of the picture",
)
_ABSENCE = (
    "There is hardly any {b1} in the frame, so the {b1} sliders only act as a safeguard",
    "The {b} barely appear, so their sliders matter little here",
)


def _specific_problems(moves: list[_Move], m: dict[str, float], rng: random.Random) -> list[tuple[str, Claim | None]]:
    found: list[tuple[str, Claim | None]] = []
    bands = list(dict.fromkeys(move.band for move in moves))[:3]
    for band in bands:
        stated = False
        for move in (mv for mv in moves if mv.band == band):
            state = "low" if move.value > 0 else "high"
            if state_supported(move.attribute, state, m, band) and not stated:
                offset_or_value = abs(m[band_key(band, {"hue": "hue_offset", "saturation": "chroma",
                                                        "luminance": "lightness"}[move.attribute])])
                level = 1 if (move.attribute == "hue" and offset_or_value > 8) else 0
                found.append((_state_sentence(move.attribute, state, m, level, rng, band),
                              Claim(SPECIFIC_COLOR, "problem", move.attribute, state, MAGNITUDES[level], band)))
                stated = True
        if stated:
            continue
        share = m[band_key(band, "share")]
        fields = {"b": _plural(band, rng), "b1": BAND_WORDS[band][0], "share": share}
        if share >= 0.03 and rng.random() < 0.6:
            found.append((rng.choice(_PRESENCE).format(**fields), None))
        elif share < 0.005 and rng.random() < 0.6:
            found.append((rng.choice(_ABSENCE).format(**fields), None))
    return found


_LINKS = (", and ", "; ", ", while ", " and ")


def _problem_span(aspect: str, findings: list[tuple[str, Claim | None]], rng: random.Random) -> str:
    if not findings:
        return rng.choice(_NEUTRAL_LEADS[aspect])
    rng.shuffle(findings)
    texts = [text for text, _ in findings]
    sentences = []
    while texts:
        if len(texts) >= 2 and rng.random() < 0.4:
            first, second = texts.pop(0), texts.pop(0)
            sentences.append(f"{first}{rng.choice(_LINKS)}{second[:1].lower()}{second[1:]}.")
        else:
            sentences.append(texts.pop(0) + ".")
    verdicts = any(claim is not None and claim.direction in ("low", "high") for _, claim in findings)
    if not verdicts and rng.random() < 0.3:
        sentences.insert(0, rng.choice(_NEUTRAL_LEADS[aspect]))
    return " ".join(sentences)


# ------------------------------------------------------------------------------------------ describe
_CURVE_SENTENCES = ("A custom point curve shapes the tones further.", "The point curve adds its own shaping on top.",
                    "A point curve finishes the tonal shape.")
_GRADING_SENTENCES = ("Colour grading finishes the look.", "Split toning in the shadows and highlights completes it.",
                      "The colour grading wheels complete the look.", "Colour grading sets the final mood.")
_MONOCHROME_SENTENCES = ("Convert the image to black and white.", "The image is converted to monochrome.",
                         "Then turn it into a black and white picture.", "Render it in black and white.")
_MONOCHROME_PROBLEMS = ("The image is in colour, while the look is black and white.",
                        "The look calls for a monochrome rendering of this colour image.",
                        "This colour image is meant to end up in black and white.")


def _beyond_sliders(plan: Plan, m: dict[str, float],
                    rng: random.Random) -> dict[str, tuple[list[str], list[str], list[Claim]]]:
    """What a plan does beyond the 38 sliders (presets use it), per aspect: problem sentences, plan
    sentences and claims. Monochrome is stated (and checked); curves and colour grading are mentioned
    without direction words, as their effect is not a single direction."""
    extras: dict[str, tuple[list[str], list[str], list[Claim]]] = {aspect: ([], [], []) for aspect in ASPECTS}
    shaped = [name for name, points in plan.curves.items() if not is_identity_curve(points)]
    if "ToneCurvePV2012" in shaped:
        extras[LIGHTING][1].append(rng.choice(_CURVE_SENTENCES))
    graded = any(magnitude_index(name, plan.get(name)) >= 0 for name in plan.values
                 if name.startswith("ColorGrade") and name.endswith(("Sat", "Lum")))
    if graded or any(name != "ToneCurvePV2012" for name in shaped):
        extras[GLOBAL_COLOR][1].append(rng.choice(_GRADING_SENTENCES))
    if plan.monochrome:
        extras[GLOBAL_COLOR][1].insert(0, rng.choice(_MONOCHROME_SENTENCES))
        extras[GLOBAL_COLOR][2].append(Claim(GLOBAL_COLOR, "plan", "monochrome", "up"))
        if m["mean_chroma"] >= 5.0:
            extras[GLOBAL_COLOR][0].append(rng.choice(_MONOCHROME_PROBLEMS))
    return extras


def describe(input_measurements: dict[str, float], plan: Plan, rng: random.Random) -> Reasoning:
    """Tagged reasoning for fixing an input (its `measure` dict) with ``plan``: per aspect a problem span
    (faults both measured and corrected, else the wanted change without a verdict, else "nothing to
    fix") and a plan span (the notable slider moves), with the claims made. Deterministic per ``rng`` state."""
    moves = _notable_moves(plan)
    m = input_measurements
    extras = _beyond_sliders(plan, m, rng)
    spans: dict[str, tuple[str, str]] = {}
    claims: list[Claim] = []
    for aspect in ASPECTS:
        extra_problems, extra_plans, extra_claims = extras[aspect]
        if not moves[aspect] and (extra_problems or extra_plans):
            problem = " ".join(extra_problems) or rng.choice(_NEUTRAL_LEADS[aspect])
            spans[aspect] = (problem, " ".join(extra_plans))
            claims.extend(extra_claims)
            continue
        if not moves[aspect]:
            problem = rng.choice(_NOTHING_PROBLEM[aspect])
            problem_claims = [Claim(aspect, "problem", "all", "none")]
        else:
            if aspect == LIGHTING:
                findings = _lighting_problems(moves[aspect], m, plan, rng)
            elif aspect == GLOBAL_COLOR:
                findings = _global_problems(moves[aspect], m, plan, rng)
            else:
                findings = _specific_problems(moves[aspect], m, rng)
            problem = _problem_span(aspect, list(findings), rng)
            problem_claims = [claim for _, claim in findings if claim is not None]
        plan_text, plan_claims = _plan_span(aspect, moves[aspect], m, plan, rng)
        spans[aspect] = (" ".join([problem, *extra_problems]), " ".join([plan_text, *extra_plans]))
        claims.extend(problem_claims + plan_claims + extra_claims)
    return Reasoning(format_reasoning(spans), spans, tuple(claims))


def describe_many(measurements: list[dict[str, float]], plans: list[Plan], rng: random.Random) -> list[Reasoning]:
    """`describe` for many pairs, with the plans' grey responses rendered in one batch (much faster)."""
    _grey_responses([_lighting_key(plan) for plan in plans])
    return [describe(m, plan, rng) for m, plan in zip(measurements, plans)]


# ------------------------------------------------------------------------------------------ instructions
_REQUEST_OPENERS = ("", "Please ", "Could you ", "Can you ", "I'd like you to ", "Edit this photo: ",
                    "Retouch it: ", "Go ahead and ")


def param_instruction(plan: Plan, rng: random.Random) -> str:
    """A plain-language request for every notable slider move of ``plan`` (lighting, then colour).

    E.g. "Please raise the exposure by about half a stop, lift the shadows a lot and cool it slightly."
    Uses the same phrasings as the plan spans, so `veraretouch.data.checker` can read it back.
    """
    moves = _notable_moves(plan)
    clauses = []
    for aspect in ASPECTS:
        items = list(moves[aspect])
        if aspect == SPECIFIC_COLOR:
            items.sort(key=lambda move: HSL_BANDS.index(move.band))
        elif rng.random() < 0.5:
            rng.shuffle(items)
        previous_band = None
        for move in items:
            clauses.append(_action_clause(move, rng, 0, pronoun=move.band is not None and move.band == previous_band,
                                          note=0.15))
            previous_band = move.band
    if not clauses:
        return rng.choice(("Leave this photo as it is.", "No changes, please.", "Keep the image unchanged."))
    opener = rng.choice(_REQUEST_OPENERS)
    text = _capitalise(opener + _join(clauses, rng))
    return text + ("?" if opener in ("Could you ", "Can you ") else ".")


def param_instruction_json(plan: Plan, include_defaults: bool = False) -> str:
    """The plan's 38 sliders as a VeraRetouch param file: ``{"Exposure2012": {"value": 50}, ...}``.

    Exposure is in hundredths of an EV, every other slider in slider units, all rounded to integers
    (`veraretouch.formats.jsonplan`); colour grading, monochrome and curves are not carried. Sliders at 0
    are left out unless ``include_defaults``. `Plan.from_json` reads it back.
    """
    document = plan_to_param_file(plan, allow_lossy=True)
    if not include_defaults:
        document = {name: entry for name, entry in document.items() if entry["value"] != 0}
    return json.dumps(document)


# ------------------------------------------------------------------------------------------ style requests
FILM_BRANDS = ("Kodak", "Fujifilm", "Fujicolor", "Fuji", "Ilford", "Agfa", "AgfaChrome", "CineStill", "Cinestill",
               "Polaroid", "Lomography", "Foma", "Kentmere", "Adox", "Bergger", "Ferrania", "Rollei", "Konica")
FILM_CATEGORIES = ("Color-Negative", "Slide", "Black-White")
_CATEGORY_WORDS = {
    "Color-Negative": "colour negative film", "Slide": "slide film", "Black-White": "black and white film",
    "Alternative-Process": "alternative process", "Decade": "period", "Geographic": "travel", "Seasonal": "seasonal",
    "Genre": "genre", "Mobile": "mobile filter", "Creative": "creative", "Video": "video grade",
    "Photographer": "photographer", "Utility": "utility",
}
LOOK_WORDS = {
    "warm": "warmer", "golden": "more golden", "cool": "cooler", "cold": "colder", "moody": "moodier",
    "dark": "darker", "bright": "brighter", "airy": "airier", "soft": "softer", "dreamy": "dreamier",
    "pastel": "more pastel", "muted": "more muted", "desaturated": "less saturated", "vibrant": "more vibrant",
    "vivid": "more vivid", "saturated": "more saturated", "punchy": "punchier", "contrasty": "more contrasty",
    "faded": "more faded", "matte": "more matte", "gritty": "grittier", "grainy": "grainier", "clean": "cleaner",
    "crisp": "crisper", "cinematic": "more cinematic", "nostalgic": "more nostalgic", "vintage": "more vintage",
    "retro": "more retro", "dramatic": "more dramatic", "ethereal": "more ethereal",
    "creamy": "creamier", "rich": "richer", "lush": "lusher", "gloomy": "gloomier", "sunny": "sunnier",
    "hazy": "hazier", "teal": "more teal", "earthy": "earthier", "natural": "more natural", "neutral": "more neutral",
    "high-key": "more high-key", "low-key": "more low-key", "high-contrast": "higher in contrast",
    "low-contrast": "lower in contrast",
}
"""Look adjectives a preset description may use, and the comparative a user would ask for."""
_SYNONYMS = {"cold": "cool", "desaturated": "muted", "vivid": "vibrant", "saturated": "vibrant", "contrasty": "punchy",
             "high-contrast": "punchy", "matte": "faded", "retro": "vintage", "nostalgic": "vintage",
             "low-contrast": "soft", "gloomy": "moody"}
"""Look words folded into one, so a request never asks for "cooler and colder"."""
_OPPOSITES = (("warm", "cool"), ("golden", "cool"), ("dark", "bright"), ("dark", "airy"), ("dark", "high-key"),
              ("muted", "vibrant"), ("muted", "rich"), ("soft", "punchy"), ("faded", "punchy"), ("clean", "gritty"),
              ("high-key", "low-key"), ("moody", "sunny"), ("moody", "airy"), ("neutral", "warm"), ("neutral", "cool"),
              ("neutral", "golden"), ("neutral", "teal"), ("pastel", "rich"), ("pastel", "dark"), ("bright", "low-key"))
_NEGATIONS = {"not", "no", "never", "without", "less", "avoid", "instead", "rather", "nor", "lacks", "lacking"}


def look_adjectives(description: str | None, limit: int = 6) -> list[str]:
    """Distinct `LOOK_WORDS` in ``description`` in order of first use (synonyms folded), skipping
    negated ones ("NOT teal", "less aggressive") and any whose opposite came first."""
    if not description:
        return []
    text = description.lower().replace("high contrast", "high-contrast").replace("low contrast", "low-contrast")
    words = re.findall(r"[a-z]+(?:-[a-z]+)?", text)
    found: list[str] = []
    for index, word in enumerate(words):
        candidates = [word] if word in LOOK_WORDS else word.split("-") if "-" in word else []
        for candidate in candidates:
            candidate = _SYNONYMS.get(candidate, candidate)
            if candidate not in LOOK_WORDS or candidate in found:
                continue
            if _NEGATIONS.intersection(words[max(0, index - 2):index]):
                continue
            if any({candidate, other} == set(pair) for pair in _OPPOSITES for other in found):
                continue
            found.append(candidate)
        if len(found) >= limit:
            break
    return found


def _clean_name(name: str) -> tuple[str, bool, bool]:
    """Display name of a preset (numbering, underscores, tags and suffixes removed), whether it is
    black and white, and whether it is a video variant."""
    text = name.replace("_", " ")
    mono = bool(re.search(r"\[?\b(bw|b&w|b/w)\b\]?", text, flags=re.IGNORECASE))
    video = bool(re.search(r"\bvideo\b", text, flags=re.IGNORECASE))
    text = re.sub(r"^\s*[\d.]+\s+", "", text)
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)|\b(bw|b&w|b/w|of)\b\s", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\bvideo\b|\s-\s*tuned\b|\bversion\s*\d+\b", "", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<=[a-z])-(?=[A-Z][a-z])", " ", text)
    return re.sub(r"\s+", " ", text).strip(" -"), mono, video


def _article(phrase: str) -> str:
    """"a" or "an" for a phrase, by its first letter (a rough rule; names like "Ektar" get "an")."""
    return "an" if phrase[:1].lower() in "aeio" else "a"


def _film_short_names(name: str) -> list[str]:
    """``"Kodak Portra 400" -> ["Portra 400", "Portra"]``: the stock without the brand, then without the speed."""
    words = name.split()
    if words and words[0] in FILM_BRANDS:
        words = words[1:]
    with_speed = " ".join(words)
    without = " ".join(word for word in words if not re.fullmatch(r"[+\-]?\d+[A-Za-z]?", word))
    return [short for short in dict.fromkeys((with_speed, without)) if short and short != name]


_FILM_TEMPLATES = ("give it {a} {name} film look", "make this look like it was shot on {short}",
                   "emulate {name}", "I want the {short} look", "{short} film vibes, please",
                   "process it like a roll of {name}", "make it look like {short} film",
                   "can you give this the look of {name}?", "apply {a} {name} emulation")
_STYLE_TEMPLATES = {
    "Photographer": ("edit it in the style of {name}", "make it look like {a} {name} photograph",
                     "give it {name}'s colour and tone", "channel {name} in this edit", "{name} style, please"),
    "Decade": ("give it {a} {name} feel", "make it look like {name}", "I want {a} {name} look",
               "take it back to {name}"),
    "Geographic": ("give it {a} {name} vibe", "make it feel like {name}", "{a} {name} look, please",
                   "edit it like {a} {name} travel photo"),
    "Seasonal": ("give it {a} {name} mood", "make it feel like {name}", "{a} {name} look, please"),
    "Mobile": ("apply {a} {name} filter", "make it look like the {name} filter", "give it that {name} filter look"),
    "Video": ("grade it like {name}", "give it {a} {name} grade", "{a} {name} colour grade, please"),
    "Alternative-Process": ("make it look like {a} {name}", "give it {a} {name} look", "emulate {a} {name} print"),
    "Utility": ("apply the {name} preset", "use the {name} setting"),
}
_GENERIC_TEMPLATES = ("give it {a} {name} look", "apply the {name} style", "I'd like {a} {name} look",
                      "{name}, please", "edit it with {a} {name} feel", "make it look like the {name} preset")
_ADJECTIVE_TEMPLATES = ("make it {w}", "{W}, please", "can you make it {w}?", "I'd like it {w}",
                        "go {w}", "a bit {w}, please", "make the photo {w}")
_COMBINED_TEMPLATES = ("give it {a} {name} look, {w}", "{w}, like {name}", "{a} {name} feel, {w}",
                       "make it {w}, in the spirit of {name}")


def style_instructions(name: str, category: str | None, description: str | None, rng: random.Random,
                       count: int) -> list[str]:
    """Up to ``count`` distinct natural-language requests for the look of a named preset.

    From the name ("Kodak Portra 400" -> "give it a Portra 400 film look", "make this look like it was
    shot on Portra"), its category (the preset folder: Color-Negative, Slide, Black-White, Photographer,
    Decade, Geographic, ...) and the look adjectives of its description ("warm, moody" -> "warmer and
    moodier"). Film stocks are recognised by brand (`FILM_BRANDS`) or a film category.
    """
    display, mono, video = _clean_name(name)
    article = _article(display)
    film = category in FILM_CATEGORIES or (display.split()[:1] and display.split()[0] in FILM_BRANDS)
    if video and category != "Video" and not film:
        category = "Video"
    candidates: list[str] = []
    if film:
        shorts = _film_short_names(display) or [display]
        for template in _FILM_TEMPLATES:
            candidates.append(template.format(name=display, short=rng.choice(shorts), a=article))
        if mono or category == "Black-White":
            candidates += [f"convert it to black and white like {display}",
                           f"a {rng.choice(shorts)} black and white look", f"make it monochrome, {display} style"]
    else:
        templates = _STYLE_TEMPLATES.get(category or "", _GENERIC_TEMPLATES)
        candidates += [template.format(name=display, a=article) for template in templates]
        candidates += [template.format(name=display, a=article) for template in rng.sample(_GENERIC_TEMPLATES, 2)]
    if category in _CATEGORY_WORDS and category not in ("Utility", "Genre", "Creative"):
        candidates.append(f"{article} {display} {_CATEGORY_WORDS[category]} look")
    adjectives = [LOOK_WORDS[word] for word in look_adjectives(f"{display}. {description or ''}")]
    if adjectives:
        for _ in range(max(3, count)):
            wanted = _and_list(rng.sample(adjectives, rng.randint(1, min(3, len(adjectives)))))
            candidates.append(rng.choice(_ADJECTIVE_TEMPLATES).format(w=wanted, W=_capitalise(wanted)))
            if rng.random() < 0.5:
                candidates.append(rng.choice(_COMBINED_TEMPLATES).format(name=display, w=wanted, a=article))
    unique = list(dict.fromkeys(_capitalise(text.strip()) for text in candidates))
    rng.shuffle(unique)
    return unique[:count]
