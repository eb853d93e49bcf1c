"""Reasoning text built from a diagnosis and a plan together (`write_explanation`).

Per aspect, the problem span states each finding of the `Diagnosis` with its size and the numbers
measured ("The photo is about a stop too dark: median luminance 7 %, white point 60 %"), or, when
nothing was found, the numbers that show it ("No exposure or contrast fault measured: ...").
The plan span says what the edit does about each finding in size words of the same scale
("Raise the exposure by about a stop (+0.95 EV)"); "partly" / "beyond the measured fault" when the
move is two or more `MAGNITUDES` steps from the fault. A finding the plan does not correct is said
so, with the finding's confidence; one the plan moves the other way is stated inside a "does not
correct" sentence (the checker reads no fix into it). Remaining moves follow as clauses with their
values; what a preset does beyond the sliders (curves, colour grading) is stated as numbers.

Every sentence carries a measurement or a plan value: no filler. The text passes
`reasoning.text.check(..., measured=True)` (tests/test_explanations.py).
"""
from __future__ import annotations

import random

from ..plan import Plan
from ..plan.parameters import (
    CURVE_CHANNELS,
    CURVE_SAMPLES,
    GLOBAL_COLOR,
    HSL_BANDS,
    LIGHTING,
    SPECIFIC_COLOR,
    curve_samples,
)
from ..plan.unchanged import is_identity_curve
from .diagnosis import Diagnosis, Finding
from .measure import band_key
from .text import ASPECTS, BRIGHTNESS_STEP, Reasoning, brightness_change, format_reasoning
from .text.checker import fix_problem
from .text.facts import EXPOSURE_MAGNITUDE_EDGES, Claim, neighbour
from .text.phrasing import BAND_WORDS, COMPARATIVES, Move, action_clause, capitalise, notable_moves, stop_phrase

MAX_FINDINGS = {LIGHTING: 2, GLOBAL_COLOR: 2, SPECIFIC_COLOR: 1}
"""Findings stated per aspect (most confident first): three aspects stay under ~90 words."""
EVENING_LUMINANCE = 0.12
"""A warm cast the plan leaves is explained as evening or lamp light below this median luminance."""
MAX_CLAUSES = 2
MAX_LISTED = 2
"""... and at most this many more listed by value (the rest are smaller still)."""
NOTABLE_CURVE_LEVELS = 2.0
"""A point curve is stated when it moves a quarter, half or three-quarter tone by this many 8-bit
levels (the planner's curves are often within a level of the diagonal)."""
"""Plan moves spelled out per aspect; the rest are listed with their values."""
_DEGREE = ("slightly", "noticeably", "strongly", "very strongly")
"""One degree word per level, as the checker reads them (`reasoning.text.lexicon`)."""
_DEGREE_TOO = tuple(words[0] for words in COMPARATIVES)
"""... and before "too" (slightly, noticeably, much, far)."""
_STATES = {
    ("exposure", "low"): "The photo is {d} too dark", ("exposure", "high"): "The photo is {d} too bright",
    ("contrast", "low"): "The tones are {d} flat", ("contrast", "high"): "The contrast is {d} harsh",
    ("temperature", "high"): "There is a {d} warm cast", ("temperature", "low"): "There is a {d} cool cast",
    ("tint", "high"): "There is a {d} magenta cast", ("tint", "low"): "There is a {d} green cast",
    ("saturation", "low"): "The colours are {d} muted", ("saturation", "high"): "The colours are {d} oversaturated",
}
_BAND_STATES = {("saturation", "low"): "The {b} look {d} muted", ("saturation", "high"): "The {b} look {d} garish",
                ("hue", "high"): "The {b} lean {d} towards {t}", ("hue", "low"): "The {b} lean {d} towards {t}"}
_AGAINST = {
    "exposure": "darkness", "contrast": "tonal range", "temperature": "colour cast", "tint": "colour cast",
    "saturation": "saturation", "hue": "hue",
}
_NOTHING = {
    LIGHTING: "No exposure or contrast fault: median luminance {median:.0f} %, black point {black:.0f} %, "
              "white point {white:.0f} %.",
    GLOBAL_COLOR: "No colour fault: grey estimates span b* {b_min:+.0f} to "
                  "{b_max:+.0f}, 90th-percentile chroma {chroma:.0f}.",
    SPECIFIC_COLOR: "No colour family stands out: {band}s cover {share:.0f} % of the frame at chroma "
                    "{band_chroma:.0f}.",
}
_LEAVE = {LIGHTING: "Leave the exposure and tones as they are.",
          GLOBAL_COLOR: "Leave the white balance and saturation as they are.",
          SPECIFIC_COLOR: "Leave the individual colours as they are."}
_FIXES: dict[tuple[str, str], tuple[tuple[str, int], ...]] = {
    ("contrast", "low"): (("Contrast2012", 1), ("Blacks2012", -1), ("Whites2012", 1)),
    ("contrast", "high"): (("Contrast2012", -1), ("Shadows2012", 1), ("Highlights2012", -1)),
    ("temperature", "high"): (("IncrementalTemperature", -1),),
    ("temperature", "low"): (("IncrementalTemperature", 1),),
    ("tint", "high"): (("IncrementalTint", -1),), ("tint", "low"): (("IncrementalTint", 1),),
    ("saturation", "low"): (("Vibrance", 1), ("Saturation", 1)),
    ("saturation", "high"): (("Vibrance", -1), ("Saturation", -1)),
}
"""The sliders that correct a fault and the sign of a correcting move (exposure: the net brightening)."""


def _fixes(finding: Finding) -> tuple[tuple[str, int], ...]:
    if finding.band is not None:
        slider = f"{finding.attribute.capitalize()}Adjustment{finding.band}"
        return ((slider, 1 if finding.state == "low" else -1),)
    if finding.attribute == "exposure":
        return (("Exposure2012", 1 if finding.state == "low" else -1),)
    return _FIXES[(finding.attribute, finding.state)]


def _status(finding: Finding, moves: list[Move], plan: Plan, m: dict[str, float]) -> tuple[str, list[Move]]:
    """"against" when the plan makes the fault worse by the checker's own test (`checker.fix_problem`),
    else "fixed" (with the correcting moves, if any slider does) or "left"."""
    claim = Claim(finding.aspect, "problem", finding.attribute, finding.state, band=finding.band)
    if fix_problem(claim, plan, m) is not None:
        return "against", []
    helping = [mv for mv in moves for slider, sign in _fixes(finding) if mv.slider == slider and mv.value * sign > 0]
    if helping:
        return "fixed", helping
    if finding.attribute == "exposure" and finding.band is None:
        change = brightness_change(plan, m["median_lightness"]) * (1 if finding.state == "low" else -1)
        if change >= BRIGHTNESS_STEP:
            return "fixed", []
    return "left", []


def _degree(finding: Finding, rng: random.Random) -> str:
    if finding.attribute == "exposure" and finding.unit == "stops":
        return stop_phrase(finding.size, rng)
    return (_DEGREE_TOO if finding.attribute == "exposure" else _DEGREE)[finding.level]


def _problem_sentence(finding: Finding, status: str, m: dict[str, float], rng: random.Random) -> str:
    degree = _degree(finding, rng)
    if finding.band is not None:
        band = BAND_WORDS[finding.band][0] + "s"
        target = BAND_WORDS[neighbour(finding.band, "up" if finding.state == "high" else "down")][0]
        state = _BAND_STATES[(finding.attribute, finding.state)].format(b=band, d=degree, t=target)
    else:
        state = _STATES[(finding.attribute, finding.state)].format(d=degree)
    if status == "against":
        noun = _AGAINST[finding.attribute]
        return (f"The plan does not correct the measured {noun} ({state[0].lower()}{state[1:]}; "
                f"{finding.evidence}).")
    sentence = f"{state}: {finding.evidence}."
    if status == "left":
        sentence += " " + _left_reason(finding, m)
    return sentence


def _left_reason(finding: Finding, m: dict[str, float]) -> str:
    """Why a finding stays: a warm cast in a dark scene is likely the scene's light; otherwise the
    planner's choice, with how sure the diagnosis is."""
    if finding.attribute == "temperature" and finding.state == "high" and m["median_luminance"] < EVENING_LUMINANCE:
        return (f"The plan leaves it, as a scene this dark (median luminance {100 * m['median_luminance']:.0f} %) "
                "is often lit by evening or lamp light.")
    return f"Left as it is (confidence {finding.confidence:.1f})."


def _plan_level(moves: list[Move]) -> int:
    return max(mv.magnitude for mv in moves)


def _problem_level(finding: Finding) -> int | None:
    """The level the checker will read from the problem sentence's size words."""
    if finding.attribute == "exposure" and finding.unit == "stops":
        return max(0, sum(finding.size >= edge for edge in EXPOSURE_MAGNITUDE_EDGES) - 1)
    return finding.level


def _fix_sentence(finding: Finding, moves: list[Move], plan: Plan, rng: random.Random) -> str:
    """What the plan does about a finding it corrects, in size words of the same scale."""
    if not moves:  # exposure corrected by the tone sliders together
        return ("Overall the image ends up brighter." if finding.state == "low"
                else "Overall the image ends up darker.")
    clauses = [action_clause(mv, rng, 0, note=1.0) for mv in moves[:2]]
    level = _problem_level(finding)
    plan_level = _plan_level(moves[:2])
    prefix = ""
    if level is not None and plan_level <= level - 2:
        prefix = "Partly correct it: "
    elif level is not None and plan_level >= level + 2:
        prefix = "Correct it beyond the measured fault: "
    return capitalise(prefix + " and ".join(clauses)) + "."


def _extras(plan: Plan) -> dict[str, list[str]]:
    """Sentences for what a plan does beyond the sliders, as values: curves, grading, monochrome."""
    extras: dict[str, list[str]] = {aspect: [] for aspect in ASPECTS}
    params = None
    for name in CURVE_CHANNELS:
        points = plan.curves.get(name)
        if points is None or is_identity_curve(points):
            continue
        if params is None:
            params = plan.to_tensor()[None]
        samples = curve_samples(params, name)[0]
        offsets = [255 * (float(samples[i]) - i / (CURVE_SAMPLES - 1)) for i in
                   (CURVE_SAMPLES // 4, CURVE_SAMPLES // 2, 3 * CURVE_SAMPLES // 4)]
        if max(abs(o) for o in offsets) < NOTABLE_CURVE_LEVELS:
            continue
        channel = name.replace("ToneCurvePV2012", "").lower() or "tone"
        aspect = LIGHTING if channel == "tone" else GLOBAL_COLOR
        extras[aspect].append(f"The {channel} curve moves the 25, 50 and 75 % tones by "
                              f"{offsets[0]:+.0f}, {offsets[1]:+.0f} and {offsets[2]:+.0f} levels.")
    tints = [f"{zone.lower()}s to hue {plan.get(f'ColorGrade{zone}Hue'):.0f} at strength "
             f"{plan.get(f'ColorGrade{zone}Sat'):.0f}" for zone in ("Shadow", "Midtone", "Highlight", "Global")
             if plan.get(f"ColorGrade{zone}Sat") >= 5]
    if tints:
        extras[GLOBAL_COLOR].append("Colour grading tints the " + ", ".join(tints) + ".")
    if plan.monochrome:
        extras[GLOBAL_COLOR].insert(0, "Convert the image to black and white.")
    return extras


def _nothing_sentence(aspect: str, m: dict[str, float]) -> str:
    if aspect == SPECIFIC_COLOR:
        band = max(HSL_BANDS, key=lambda b: m[band_key(b, "share")])
        if m[band_key(band, "share")] < 0.005:
            return f"No colour family stands out: {100 * m['neutral_share']:.0f} % of the frame is near-grey."
        return _NOTHING[aspect].format(band=band.lower(), share=100 * m[band_key(band, "share")],
                                       band_chroma=m[band_key(band, "chroma")])
    return _NOTHING[aspect].format(median=100 * m["median_luminance"], black=m["black_point"],
                                   white=m["white_point"], b_min=m["cast_b_min"], b_max=m["cast_b_max"],
                                   chroma=m["chroma_p90"])


def _rest(moves: list[Move], room: int, rng: random.Random, also: bool) -> list[str]:
    """The moves no finding asked for: up to ``room`` as clauses, the rest as values."""
    if not moves:
        return []
    sentences = []
    shown, listed = moves[:max(room, 0)], moves[max(room, 0):]
    if shown:
        clauses = " and ".join(action_clause(mv, rng, 0, note=1.0) for mv in shown)
        sentences.append(("Also " + clauses if also else capitalise(clauses)) + ".")
    if listed:
        sentences.append("Smaller moves: " + ", ".join(_value(mv) for mv in listed[:MAX_LISTED]) + ".")
    return sentences


def _value(move: Move) -> str:
    if move.slider == "Exposure2012":
        return f"Exposure {move.value:+.2f} EV"
    if move.band is not None:
        return f"{move.band} {move.attribute} {move.value:+.0f}"
    slider = move.slider.replace("2012", "").replace("Incremental", "").replace("Parametric", "curve ")
    return f"{slider} {move.value:+.0f}"


def write_explanation(diagnosis: Diagnosis, plan: Plan, rng: random.Random) -> Reasoning:
    """Tagged reasoning for ``plan`` on the photo ``diagnosis`` describes (module docstring)."""
    m = diagnosis.measurements
    all_moves = notable_moves(plan)
    extras = _extras(plan)
    spans: dict[str, tuple[str, str]] = {}
    for aspect in ASPECTS:
        moves = list(all_moves[aspect])
        findings = sorted(diagnosis.of(aspect), key=lambda f: -f.confidence)[:MAX_FINDINGS[aspect]]
        problems, plans = [], []
        for finding in findings:
            status, helping = _status(finding, moves, plan, m)
            problems.append(_problem_sentence(finding, status, m, rng))
            if status == "fixed":
                plans.append(_fix_sentence(finding, helping, plan, rng))
                moves = [mv for mv in moves if mv not in helping[:2]]
        if not problems:
            problems.append(_nothing_sentence(aspect, m))
        plans += _rest(moves, MAX_CLAUSES - len(plans), rng, also=bool(plans))
        plans += extras[aspect]
        if not plans:
            plans.append(_LEAVE[aspect])
        spans[aspect] = (" ".join(problems), " ".join(plans))
    return Reasoning(format_reasoning(spans), spans, ())
