"""Clauses and sentences for the plan's slider moves, shared by the reasoning spans and the instructions.

A notable move (`notable_moves`) becomes a clause from a template with its verb in one of three
forms, a magnitude word tied to the value, and sometimes the number itself (`action_clause`);
clauses are joined into sentences in one voice per span (`_sentences`).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Callable

from ...plan import Plan
from ...plan.parameters import LIGHTING, SLIDERS, SPECIFIC_COLOR
from .facts import (
    EXPOSURE_MAGNITUDE_EDGES,
    GLOBAL_SLIDER_OF,
    LIGHTING_SLIDER_OF,
    MAGNITUDES,
    STOPS,
    Claim,
    magnitude_index,
    neighbour,
    verb_forms,
)
from .tags import ASPECTS

# ------------------------------------------------------------------------------------------ clauses
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
class Move:
    """One control a plan moves far enough to name in text (`notable_moves`), with its aspect and band."""

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


def notable_moves(plan: Plan) -> dict[str, list[Move]]:
    """Moves of at least `NOTABLE_SLIDER` (`NOTABLE_EV`), per aspect, largest first (1 EV counts as 60)."""
    moves: dict[str, list[Move]] = {aspect: [] for aspect in ASPECTS}
    attribute_of = {slider: name for name, slider in {**LIGHTING_SLIDER_OF, **GLOBAL_SLIDER_OF}.items()}
    for spec in SLIDERS:
        value = plan.get(spec.name)
        if magnitude_index(spec.name, value) < 0:
            continue
        if spec.aspect == SPECIFIC_COLOR:
            kind, band = spec.name.split("Adjustment")
            moves[SPECIFIC_COLOR].append(Move(SPECIFIC_COLOR, kind.lower(), spec.name, value, band))
        else:
            moves[spec.aspect].append(Move(spec.aspect, attribute_of[spec.name], spec.name, value))
    for items in moves.values():
        items.sort(key=lambda move: -abs(move.value) * (60.0 if move.slider == "Exposure2012" else 1.0))
    return moves


def _plural(band: str, rng: random.Random) -> str:
    return rng.choice(BAND_WORDS[band]) + "s"


def _value_note(move: Move, rng: random.Random) -> str:
    if move.slider == "Exposure2012":
        return rng.choice((f" ({move.value:+.2f} EV)", f" (Exposure {move.value:+.2f})"))
    if move.band is not None:
        short = f"{move.band} {move.attribute}"
    else:
        short = move.slider.replace("2012", "").replace("Incremental", "").replace("Parametric", "curve ")
    return rng.choice((f" ({move.value:+.0f})", f" ({short} {move.value:+.0f})"))


def stop_phrase(ev: float, rng: random.Random) -> str:
    """The nearest spoken amount of `STOPS`, hedged by which side of it the value lies."""
    best = min(abs(amount - abs(ev)) for amount, _ in STOPS)
    amount, phrase = rng.choice([(amount, text) for amount, text in STOPS if abs(amount - abs(ev)) == best])
    if abs(abs(ev) - amount) < 0.05:
        hedges = APPROXIMATELY
    else:
        hedges = APPROXIMATELY + (("nearly", "close to", "just under") if abs(ev) < amount else ("just over",))
    return f"{rng.choice(hedges)} {phrase}"


def _fill(template: str, move: Move, rng: random.Random, form: int, pronoun: bool) -> str:
    """One clause: ``verb|rest`` with the verb in ``form`` (0 base, 1 third person, 2 gerund)."""
    verb, rest = template.split("|")
    level = move.magnitude
    fields = {"m": rng.choice(ADVERBS[level]), "q": rng.choice(QUANTITIES[level]), "c": rng.choice(COMPARATIVES[level])}
    if move.slider == "Exposure2012":
        spoken = abs(move.value) >= EXPOSURE_MAGNITUDE_EDGES[1] and rng.random() < 0.7
        fields["ev"] = f"by {stop_phrase(move.value, rng)}" if spoken else fields["m"]
        quantity = re.sub(r"\s+of$", "", rng.choice(QUANTITIES[level]))
        fields["evq"] = stop_phrase(move.value, rng) if spoken else quantity
    if move.attribute in _CURVE_ZONES:
        fields["zone"] = rng.choice(_CURVE_ZONES[move.attribute])
    if move.band is not None:
        fields["b"] = "them" if pronoun else f"the {_plural(move.band, rng)}"
        fields["b1"] = "their" if pronoun else f"the {BAND_WORDS[move.band][0]}"
        if move.attribute == "hue":
            fields["t"] = rng.choice(BAND_WORDS[neighbour(move.band, move.direction)])
    clause = f"{verb_forms(verb)[form]} {rest.format(**fields)}"
    return re.sub(r"\s+", " ", clause).strip()


def action_clause(move: Move, rng: random.Random, form: int, pronoun: bool = False, note: float = 0.25) -> str:
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


def capitalise(sentence: str) -> str:
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
        sentences.append(capitalise(opener + _join([clause(clause_form) for clause in group], rng)) + ".")
    return sentences


def _chunks(items: list, rng: random.Random, largest: int = 3) -> list[list]:
    """Consecutive groups of 1..largest items."""
    groups, start = [], 0
    while start < len(items):
        size = rng.randint(1, largest)
        groups.append(items[start:start + size])
        start += size
    return groups
