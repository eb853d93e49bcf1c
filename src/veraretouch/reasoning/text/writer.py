"""Reasoning text for the planner: per aspect a problem span and a plan span, true to the image and the edit.

Training pairs come from inverse degradation: a good photo is degraded, the planner sees the degraded
input and must say what is wrong (problem) and how the fix (the inverse edit, ``plan``) addresses it.
`describe` writes that text from the input's measurements (`veraretouch.reasoning.measure`) and the plan:

- A problem states an image fault only when the measurements show it *and* the plan corrects it
  ("underexposed" needs a dark input and a brightening plan). Otherwise it speaks of the change the
  plan wants without a verdict on the image, so it contradicts neither.
- A plan describes each notable slider move (``|value| >= 5``, exposure ``>= 0.1 EV``) with a magnitude
  word tied to the value (`MAGNITUDES`), in one of several voices, phrasings and orders.

- Beyond the 38 sliders (presets): Monochrome is stated ("convert it to black and white"); point curves
  and colour grading are mentioned without a direction, as they have none.

Every phrasing is one the checker (`veraretouch.reasoning.text.checker`) parses, so our own text checks clean
and a flipped word is caught.
"""
from __future__ import annotations

import random

from ...plan import Plan
from ...plan.parameters import GLOBAL_COLOR, LIGHTING, SPECIFIC_COLOR
from ...plan.unchanged import is_identity_curve
from .facts import (
    BRIGHTNESS_STEP,
    Claim,
    Reasoning,
    _grey_responses,
    _lighting_key,
    brightness_change,
    magnitude_index,
)
from .phrasing import (
    BAND_WORDS,
    Move,
    _and_list,
    _chunks,
    _sentences,
    action_clause,
    capitalise,
    notable_moves,
)
from .problems import (
    _NEUTRAL_LEADS,
    _NOTHING_PROBLEM,
    _global_problems,
    _lighting_problems,
    _problem_span,
    _specific_problems,
)
from .tags import ASPECTS, format_reasoning

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


def _tweaks_sentence(hidden: list[Move], rng: random.Random) -> str:
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
    return rng.choice(_NAMED_TWEAKS).format(names=listed, Names=capitalise(listed)) + "."


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
_OVERALL = {
    "up": ("Overall the image ends up brighter.", "The net effect is a brighter picture.",
           "Taken together, this brightens the frame.", "All in all, the picture comes out brighter."),
    "down": ("Overall the image ends up darker.", "The net effect is a darker picture.",
             "Taken together, this darkens the frame.", "All in all, the picture comes out darker."),
}


def _plan_span(aspect: str, moves: list[Move], m: dict[str, float], plan: Plan,
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
                (lambda form, move=move, first=i == 0: action_clause(move, rng, form, pronoun=not first))
                for i, move in enumerate(band_moves)
            ])
        hidden = [move for move in moves if move.band not in shown_bands]
    else:
        shown = moves[:MAX_MOVES_IN_TEXT[aspect]]
        if rng.random() < 0.5:
            rng.shuffle(shown)
        claims.extend(move.claim("plan") for move in shown)
        clauses = [(lambda form, move=move: action_clause(move, rng, form)) for move in shown]
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
    moves = notable_moves(plan)
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
