"""Reading one clause of a span: the claims it makes, per aspect, with the words of that aspect."""
from __future__ import annotations

from dataclasses import dataclass

from ...plan.parameters import GLOBAL_COLOR, LIGHTING, SPECIFIC_COLOR
from .facts import Claim, hue_direction
from .lexicon import (
    _BAND_OF,
    BRIGHTER_WORDS,
    COPULAS,
    CURVE_WORDS,
    DARKEN_WORDS,
    DOWN_WORDS,
    GLOBAL_NOUNS,
    IMAGE_WORDS,
    LIGHTING_NOUNS,
    UP_WORDS,
    VERB_LEADS,
    _direction,
    _forms,
    _level,
    _sign,
)


@dataclass(frozen=True)
class ParsedClaim:
    """A claim read from text, with the phrase it came from and what it commits to."""

    claim: Claim
    phrase: str
    corrective: bool = False
    """A stated fault that asks for a fix ("too dark", "a cast"), so the plan must not make it worse."""
    stated_value: tuple[float, bool] | None = None
    """A number given for the slider ("(+32)", "by 20", "+0.45 EV") and whether it was signed."""
    stated_ev: float | None = None
    """A spoken exposure amount, e.g. "about half a stop" -> 0.5."""


# ------------------------------------------------------------------------------------------ lighting
_ELLIPTIC_STATES = {"dull", "grey", "gray", "greyish", "grayish", "milky", "washedout", "crushed", "blocked", "blown",
                    "clipped", "burnt", "burned"}
"""State words that may open a clause whose zone was named just before ("the highlights are grey and dull")."""


def _lighting(words: list[str], clause: str, kind: str, subject: str | None) -> tuple[list[ParsedClaim], str | None]:
    """Claims of one lighting clause, and its zone noun; a state word without a noun ("... and dull")
    takes the noun of the previous clause in the sentence."""
    curve = bool(CURVE_WORDS.intersection(words))
    positions: dict[str, int] = {}
    for index, word in enumerate(words):
        attribute = LIGHTING_NOUNS.get(word)
        if attribute is not None:
            if curve and attribute in ("shadows", "highlights"):
                attribute = "curve_" + attribute
            positions.setdefault(attribute, index)
    nouns = set(positions) - ({"brightness"} if "exposure" in positions else set())
    noun = next(iter(nouns)) if len(nouns) == 1 else None
    elliptic = not nouns and subject is not None and bool(words) and words[0] in _ELLIPTIC_STATES
    state_noun = subject if elliptic else noun
    if elliptic:
        positions.setdefault(subject, -1)
    overall = noun in (None, "exposure", "brightness") and len(nouns) <= 1 and not elliptic
    out: list[ParsedClaim] = []

    def state(attribute: str, value: str, corrective: bool) -> None:
        attribute = "exposure" if attribute == "brightness" else attribute
        out.append(ParsedClaim(Claim(LIGHTING, kind, attribute, value), clause, corrective))

    for index, word in enumerate(words):
        before = words[max(0, index - 3):index]
        too = "too" in words[max(0, index - 2):index]
        predicative = bool(COPULAS.intersection(before))
        if word in ("underexposed", "overexposed"):
            state("exposure", "low" if word == "underexposed" else "high", True)
        elif word in ("dim", "murky", "gloomy") and overall:
            state("exposure", "low", too)
        elif word in ("dark", "bright") and overall and predicative:
            state("exposure", "low" if word == "dark" else "high", too)
        elif word in ("dark", "bright") and state_noun in ("shadows", "blacks", "highlights", "whites") \
                and index > positions[state_noun] and predicative:
            state(state_noun, "low" if word == "dark" else "high", too)
        elif word in ("lowkey", "highkey") and noun is None:
            state("exposure", "low" if word == "lowkey" else "high", False)
        elif word in ("flat", "harsh", "contrasty") and state_noun in (None, "contrast"):
            state("contrast", "low" if word == "flat" else "high", True)
        elif word == "weak" and noun == "contrast":
            state("contrast", "low", True)
        elif word in ("low", "high") and state_noun in ("contrast", "exposure", "brightness") and too:
            state(state_noun, word, True)
        elif word in ("low", "high") and noun == "contrast":
            state("contrast", word, False)
        elif word in ("blown", "clipped", "clipping", "burnt", "burned") and state_noun in ("highlights", "whites"):
            state(state_noun, "high", True)
        elif word in ("clipped", "clipping", "crushed", "blocked") and state_noun in ("shadows", "blacks"):
            state(state_noun, "low", True)
        elif word in ("milky", "washedout", "greyish", "grayish") and state_noun in ("shadows", "blacks"):
            state(state_noun, "high", True)
        elif word in ("dull", "grey", "gray") and state_noun in ("highlights", "whites"):
            state(state_noun, "low", True)
        elif word in ("lack", "toolittle") and state_noun is not None:
            state(state_noun, "low", True)
        elif word == "toomuch" and state_noun is not None:
            state(state_noun, "high", True)
    if noun is not None:
        direction = _direction(_sign(words, noun))
        if direction:
            out.append(ParsedClaim(Claim(LIGHTING, kind, noun, direction, _level(clause)), clause))
    elif not nouns and not elliptic and IMAGE_WORDS.intersection(words):
        inherent = {1 for word in words if word in BRIGHTER_WORDS} | {-1 for word in words if word in DARKEN_WORDS}
        direction = _direction(inherent)
        if direction and _direction(_sign(words)) == direction:
            out.append(ParsedClaim(Claim(LIGHTING, kind, "brightness", direction), clause))
    return out, noun if nouns else (subject if elliptic else None)


# ------------------------------------------------------------------------------------------ global colour
_TEMPERATURE_WORDS = {
    **dict.fromkeys(("warm", "warmer", "warmth", "warming", "warms", "warmed", "yellow", "yellowish", "yellower",
                     "amber", "golden", "orange", "orangey", "orangish"), 1),
    **dict.fromkeys(("cool", "cooler", "coolness", "cooling", "cools", "cooled", "cold", "colder", "blue", "bluish",
                     "blueish", "bluer"), -1),
}
_TINT_WORDS = {**dict.fromkeys(("magenta", "pink", "pinkish", "magentaish"), 1),
               **dict.fromkeys(("green", "greenish", "greener"), -1)}
_INHERENT_FORMS = {"warmer", "warming", "warms", "cooler", "cooling", "cools", "colder", "bluer", "yellower", "greener"}
"""Verb forms and comparatives that carry their own direction; nouns ("warmth") and colours take an operator's."""
_VERB_BASES = {"warm", "cool"}
_CAST_NOUNS = {"cast", "tint", "tinge", "bias"}
_FIX_WORDS = _forms("neutralise", "neutralize", "counter", "counteract", "correct", "cancel", "offset", "eliminate",
                    "kill")
MONOCHROME_WORDS = {"blackandwhite", "monochrome", "greyscale", "grayscale"}
CONVERT_WORDS = _forms("convert", "turn", "make", "render", "switch", "go") | {"converted", "rendered", "turned"}
_COLOURFULNESS_NOUNS = {"colour", "colours", "chroma", "colourfulness", "intensity", "palette"}
_SATURATION_DIRECTED = {**dict.fromkeys(_forms("saturate"), 1), **dict.fromkeys(_forms("desaturate"), -1)}
_COLOURFULNESS_DIRECTED = {**dict.fromkeys(("richer", "vivid"), 1),
                           **dict.fromkeys(_forms("mute", "calm") | {"calmer", "tonedown"}, -1)}
"""Words about colour intensity in general: judged against Vibrance and Saturation together."""
_SATURATION_STATES = {**dict.fromkeys(("muted", "dull", "drab", "lifeless", "undersaturated", "washedout",
                                       "desaturated"), "low"),
                      **dict.fromkeys(("oversaturated", "garish", "overcooked", "loud"), "high")}


def _nearest_op(words: list[str], index: int, fixes: bool = False) -> int | None:
    """Sign of the operator word nearest to ``index`` in the clause (the earlier one on a tie); with
    ``fixes``, words like "neutralise" / "counter" count as -1 (for colours and casts only)."""
    def op(word: str) -> int | None:
        if word in UP_WORDS:
            return 1
        if word in DOWN_WORDS or (fixes and word in _FIX_WORDS):
            return -1
        return None
    for distance in range(1, len(words)):
        for position in (index - distance, index + distance):
            if 0 <= position < len(words) and op(words[position]) is not None:
                return op(words[position])
    return None


def _fault_or_action(words: list[str], index: int, state_key: str, action_key: str, states: dict[str, set],
                     actions: dict[str, set], corrective: set[str]) -> None:
    """The noun at ``index``: "a lack of / too little / too much X" (in the three words before it)
    states a fault of X (``state_key``); otherwise X moves the way of the nearest verb (``action_key``)."""
    before = words[max(0, index - 3):index]
    if {"lack", "toolittle", "toomuch"}.intersection(before):
        states.setdefault(state_key, set()).add("high" if "toomuch" in before else "low")
        corrective.add(state_key)
        return
    op = _nearest_op(words, index)
    if op is not None:
        actions.setdefault(action_key, set()).add(op)


def _global(words: list[str], clause: str, kind: str) -> list[ParsedClaim]:
    towards = next((i for i, w in enumerate(words) if w in ("towards", "toward")), None)
    polar_attributes = ({"temperature"} if _TEMPERATURE_WORDS.keys() & set(words) else set()) | \
        ({"tint"} if _TINT_WORDS.keys() & set(words) else set())
    actions: dict[str, set[int]] = {}
    states: dict[str, set[str]] = {}
    corrective: set[str] = set()
    for index, word in enumerate(words):
        polar = _TEMPERATURE_WORDS.get(word) or _TINT_WORDS.get(word)
        attribute = "temperature" if word in _TEMPERATURE_WORDS else "tint" if word in _TINT_WORDS else None
        before = words[max(0, index - 3):index]
        if polar is not None:
            if index > 0 and words[index - 1] in ("from", "than"):
                continue
            cast = index + 1 < len(words) and words[index + 1] in _CAST_NOUNS
            op = _nearest_op(words, index, fixes=True)
            verb_position = index == 0 or words[index - 1] in VERB_LEADS
            if towards is not None and index > towards:
                actions.setdefault(attribute, set()).add(polar)
            elif cast:
                if op is None or op < 0:
                    states.setdefault(attribute, set()).add("high" if polar > 0 else "low")
                    corrective.add(attribute)
                if op is not None:
                    actions.setdefault(attribute, set()).add(op * polar)
            elif word in _INHERENT_FORMS or (word in _VERB_BASES and verb_position):
                actions.setdefault(attribute, set()).add(polar)
            elif op is not None:
                actions.setdefault(attribute, set()).add(op * polar)
            elif COPULAS.intersection(before):
                states.setdefault(attribute, set()).add("high" if polar > 0 else "low")
                if "too" in before or "overly" in before:
                    corrective.add(attribute)
            continue
        noun = GLOBAL_NOUNS.get(word) or ("colourfulness" if word in _COLOURFULNESS_NOUNS else None)
        if word == "tint" and index > 0 and (words[index - 1] in _TEMPERATURE_WORDS or words[index - 1] in _TINT_WORDS):
            continue
        if noun is not None:
            before_target = towards is not None and index < towards and noun in ("temperature", "tint")
            if noun in polar_attributes or before_target:
                continue
            measured = "saturation" if noun == "colourfulness" else noun
            _fault_or_action(words, index, measured, noun, states, actions, corrective)
            continue
        if word in _SATURATION_DIRECTED or word in _COLOURFULNESS_DIRECTED:
            general = word in _COLOURFULNESS_DIRECTED
            sign = (_COLOURFULNESS_DIRECTED if general else _SATURATION_DIRECTED)[word]
            if "too" in before and sign > 0:
                states.setdefault("saturation", set()).add("high")
                corrective.add("saturation")
                continue
            op = _nearest_op(words, index) if word in ("vivid", "richer") else None
            actions.setdefault("colourfulness" if general else "saturation", set()).add(
                sign if op is None else op * sign)
        elif word == "saturated":
            op = _nearest_op(words, index)
            if "too" in before:
                states.setdefault("saturation", set()).add("high")
                corrective.add("saturation")
            elif op is not None:
                actions.setdefault("saturation", set()).add(op)
        elif word in _SATURATION_STATES:
            states.setdefault("saturation", set()).add(_SATURATION_STATES[word])
            corrective.add("saturation")
    if MONOCHROME_WORDS.intersection(words) and CONVERT_WORDS.intersection(words):
        actions["monochrome"] = {1}
    out = []
    for attribute, signs in actions.items():
        direction = _direction(set(signs))
        if direction:
            out.append(ParsedClaim(Claim(GLOBAL_COLOR, kind, attribute, direction, _level(clause)), clause))
    for attribute, values in states.items():
        if len(values) == 1:
            out.append(ParsedClaim(Claim(GLOBAL_COLOR, kind, attribute, values.pop()), clause,
                                   attribute in corrective))
    return out


# ------------------------------------------------------------------------------------------ specific colour
_LUMINANCE_NOUNS = {"luminance", "lightness", "brightness"}
_SATURATION_NOUNS = {"saturation", "chroma", "intensity"}
_LUMINANCE_DIRECTED = {**dict.fromkeys(BRIGHTER_WORDS, 1), **dict.fromkeys(DARKEN_WORDS, -1)}
_BAND_SATURATION_DIRECTED = {**dict.fromkeys(_forms("saturate", "intensify", "enrich") | {"richer"}, 1),
                             **dict.fromkeys(_forms("desaturate", "mute", "calm") | {"calmer", "tonedown"}, -1)}
_BAND_STATES = {
    **dict.fromkeys(("muted", "dull", "drab", "washedout", "weak", "lifeless", "undersaturated", "desaturated"),
                    ("saturation", "low")),
    **dict.fromkeys(("garish", "oversaturated", "loud", "overpowering", "neon"), ("saturation", "high")),
    "heavy": ("luminance", "low"), "bleached": ("luminance", "high"),
}
MAKE_WORDS = _forms("make", "render", "turn", "get")
_LEAN_WORDS = _forms("lean", "drift", "veer", "tend", "skew") | {"leant", "drifted", "veered"}


def _specific(words: list[str], clause: str, kind: str, subject: str | None) -> tuple[list[ParsedClaim], str | None]:
    """Claims of one specific-colour clause and the band it is about (inherited when it names none)."""
    subjects, targets = [], []
    for index, word in enumerate(words):
        band = _BAND_OF.get(word)
        if band is None:
            continue
        previous = [w for w in words[max(0, index - 2):index] if w not in ("the", "a", "more")]
        if previous and previous[-1] in ("towards", "toward", "into"):
            targets.append(band)
        elif not (previous and previous[-1] in ("from", "than", "instead")):
            subjects.append(band)
    if len(set(subjects)) > 1:
        return [], None
    band = subjects[0] if subjects else subject
    if band is None:
        return [], None
    actions: dict[str, set[int]] = {}
    states: dict[str, set[str]] = {}
    corrective: set[str] = set()
    lean = bool(_LEAN_WORDS.intersection(words))
    if len(set(targets)) == 1:
        direction = hue_direction(band, targets[0])
        if direction and lean:
            states.setdefault("hue", set()).add("high" if direction == "up" else "low")
            corrective.add("hue")
        elif direction:
            actions.setdefault("hue", set()).add(1 if direction == "up" else -1)
    has_noun = bool((_LUMINANCE_NOUNS | _SATURATION_NOUNS).intersection(words))
    for index, word in enumerate(words):
        before = words[max(0, index - 3):index]
        too = "too" in words[max(0, index - 2):index]
        if word in _LUMINANCE_NOUNS or word in _SATURATION_NOUNS or (word == "saturated" and not too):
            attribute = "luminance" if word in _LUMINANCE_NOUNS else "saturation"
            _fault_or_action(words, index, attribute, attribute, states, actions, corrective)
        elif word in _LUMINANCE_DIRECTED:
            comparative = word in ("brighter", "lighter", "darker")
            if comparative and (too or (COPULAS.intersection(before) and not MAKE_WORDS.intersection(words))):
                continue
            actions.setdefault("luminance", set()).add(_LUMINANCE_DIRECTED[word])
        elif word in _BAND_SATURATION_DIRECTED:
            actions.setdefault("saturation", set()).add(_BAND_SATURATION_DIRECTED[word])
        elif word in ("boost", "boosts", "boosting") and not has_noun:
            actions.setdefault("saturation", set()).add(1)
        elif word in _BAND_STATES:
            attribute, value = _BAND_STATES[word]
            states.setdefault(attribute, set()).add(value)
            corrective.add(attribute)
        elif word in ("dark", "light", "bright") and (too or COPULAS.intersection(before)):
            states.setdefault("luminance", set()).add("low" if word == "dark" else "high")
            if too:
                corrective.add("luminance")
        elif word in ("saturated", "vivid", "strong", "intense") and too:
            states.setdefault("saturation", set()).add("high")
            corrective.add("saturation")
    out = []
    for attribute, signs in actions.items():
        direction = _direction(set(signs))
        if direction:
            out.append(ParsedClaim(Claim(SPECIFIC_COLOR, kind, attribute, direction, _level(clause), band), clause))
    for attribute, values in states.items():
        if len(values) == 1:
            out.append(ParsedClaim(Claim(SPECIFIC_COLOR, kind, attribute, values.pop(), None, band), clause,
                                   attribute in corrective))
    return out, band
