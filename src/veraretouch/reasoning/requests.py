"""Read a style request into edit intents: attribute, direction, strength, scope (and colour bands).

"warmer and brighter, with less saturated greens" -> three `Intent`s; "too dark" is brighter,
"not so contrasty" less contrast, "cool it down a touch" cooler with a small strength. The reading is
a table-driven pass over clauses (split at commas, "and", "but", "with"): each clause names an
attribute (by an adjective that carries its direction, "warmer", or a noun that needs a verb,
"more contrast"), optionally a tonal zone ("the shadows") or colour bands ("the sky" -> blues and
aquas), a strength word, and flips ("too", "less", "reduce", "not so"). `intent_moves` turns an
intent into slider moves whose size scales with the strength.

Requests the toolkit cannot do (remove objects, replace the sky, sharpen, blur, crop, ...) are
recognised by `OUT_OF_SCOPE` and reported, never turned into a random edit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import VeraRetouchError
from ..plan.parameters import HSL_BANDS
from .request_words import (
    ADJECTIVES,
    ATTRIBUTE_LABELS,
    BAND_WORDS,
    CLAUSE_SPLIT,
    COLOR_WORDS,
    COMPLAINT,
    DECREASE_WORDS,
    DEEP_WORDS,
    EXCESS_WORDS,
    INCREASE_WORDS,
    NEGATIONS,
    NOUNS,
    OUT_OF_SCOPE,
    RECOVER_WORDS,
    REPLACEMENT,
    REWRITES,
    STRENGTH_WORDS,
    STRENGTHS,
    SUPPORTED,
    ZONES,
)


class OutOfScopeRequest(VeraRetouchError):
    """A style request with nothing the toolkit can do (the CLI prints it on one line, exit status 2)."""


@dataclass(frozen=True)
class Intent:
    """One edit a request asks for: ``attribute`` (see `ATTRIBUTE_LABELS`) moved in ``direction`` (+1 /
    -1) with ``strength`` (a `STRENGTHS` key), in a tonal ``zone`` and / or colour ``bands``; ``hue``
    is the colour-grading hue (degrees) for toning; ``words`` the clause it was read from."""

    attribute: str
    direction: int
    strength: str = "medium"
    zone: str | None = None
    bands: tuple[str, ...] = ()
    hue: float | None = None
    words: str = ""

    def describe(self) -> str:
        """Plain words: "white balance cooler, small"; "greens less saturated, medium"."""
        plus, minus = ATTRIBUTE_LABELS[self.attribute]
        label = plus if self.direction > 0 else minus
        if self.bands:
            what = {"saturation": "more saturated" if self.direction > 0 else "less saturated",
                    "brightness": "brighter" if self.direction > 0 else "darker",
                    "hue": f"hue towards {_hue_target(self)}"}.get(self.attribute, label)
            label = f"{_band_names(self.bands)} {what}"
        elif self.attribute == "toning":
            label = f"{_hue_name(self.hue)} toning" + (f" in the {self.zone}" if self.zone else "")
        elif self.zone and self.attribute == "brightness":
            label = f"{self.zone} {'brighter' if self.direction > 0 else 'darker'}"
        elif self.zone and self.attribute == "warmth":
            label = f"{'warmer' if self.direction > 0 else 'cooler'} {self.zone}"
        return f"{label}, {self.strength}"


@dataclass
class ParsedRequest:
    """What a request asks for: ``intents``, ``skipped`` (out-of-scope phrases with what they ask),
    ``kept`` (``not warmer``-style constraints honoured) and the clauses nothing was read from."""

    request: str
    intents: list[Intent] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    strength: str = "medium"
    """The request's overall strength word, for a named look ("a touch of Portra")."""


def _hue_name(hue: float | None) -> str:
    names = ((15, "red"), (50, "orange"), (75, "yellow"), (165, "green"), (200, "teal"), (255, "blue"),
             (290, "purple"), (345, "magenta"), (360, "red"))
    return next(name for limit, name in names if (hue or 0) % 360 < limit)


def _band_names(bands: tuple[str, ...]) -> str:
    names = [band.lower() + "s" for band in bands]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _hue_direction(band: str, towards: str) -> int:
    """+1 when ``towards`` lies ahead of ``band`` round Lightroom's wheel (Red -> Orange -> ...), else -1."""
    steps = (HSL_BANDS.index(towards) - HSL_BANDS.index(band)) % len(HSL_BANDS)
    return +1 if steps <= len(HSL_BANDS) // 2 else -1


def _hue_target(intent: Intent) -> str:
    index = HSL_BANDS.index(intent.bands[0]) + intent.direction
    return HSL_BANDS[index % len(HSL_BANDS)].lower()


def normalise(request: str) -> str:
    """Lower-case with the multi-word phrases of `REWRITES` folded into single words."""
    text = " " + request.lower() + " "
    for pattern, replacement in REWRITES:
        text = re.sub(pattern, replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def strength_of(clause: str) -> str | None:
    """The strongest `STRENGTH_WORDS` level a clause uses, or None."""
    found = None
    for level in ("small", "large", "very large"):
        if any(re.search(rf"\b{re.escape(word)}\b", clause) for word in STRENGTH_WORDS[level]):
            found = level if found is None or STRENGTHS[level] > STRENGTHS[found] else found
    if found == "small" and re.search(r"\b(very|just|ever so|tiny|little)\b.*\b(slightly|bit|touch|little)\b", clause):
        return "small"
    return found


def out_of_scope(text: str) -> str | None:
    """What an out-of-scope clause asks for (`OUT_OF_SCOPE`), or None when it is tone and colour."""
    for pattern, label in OUT_OF_SCOPE:
        if re.search(pattern, text):
            return label
    return None


def _clauses(text: str) -> list[str]:
    return [clause.strip() for clause in CLAUSE_SPLIT.split(text) if clause and clause.strip()]


def parse_request(request: str) -> ParsedRequest:
    """Read a request into intents (see the module docstring); never raises on odd text."""
    parsed = ParsedRequest(request)
    text = re.sub(REPLACEMENT, lambda m: re.sub(r"\b(with|for)\b", "using", m.group(0)), normalise(request))
    parsed.strength = strength_of(text) or "medium"
    inherited: tuple[int, str | None] = (0, None)
    for raw in _clauses(text):
        skipped = out_of_scope(raw)
        if skipped:
            parsed.skipped.append((raw, skipped))
            continue
        intents, constraint, sign = _read_clause(raw, inherited)
        if constraint:
            parsed.kept.append(constraint)
        if intents:
            parsed.intents.extend(intents)
            inherited = (sign, intents[-1].strength if strength_of(raw) else None)
        elif not constraint and _has_words(raw):
            parsed.unread.append(raw)
    parsed.intents = _merge(parsed.intents, parsed.kept)
    return parsed


def check_in_scope(request: str) -> ParsedRequest:
    """The parsed request; raises `OutOfScopeRequest` when everything it asks for is outside tone
    and colour (cheap: no model is loaded, so the CLI refuses before reading any photo)."""
    parsed = parse_request(request)
    if parsed.skipped and not parsed.intents and not parsed.unread:
        raise OutOfScopeRequest("not supported: " + ", ".join(dict.fromkeys(what for _, what in parsed.skipped))
                                + f"; {SUPPORTED}")
    return parsed


def _has_words(clause: str) -> bool:
    filler = {"it", "the", "a", "an", "this", "photo", "image", "picture", "please", "make", "give", "look", "me",
              "can", "you", "could", "would", "i", "want", "like", "some", "bit", "just", "do", "to", "of", "so", "my"}
    return any(word not in filler for word in re.findall(r"[a-z]+", clause))


def _clause_attribute(clause: str, words: list[str], zone: str | None, bands: tuple[str, ...], colors: list[str],
                      verb: int, deep: bool, recover: bool) -> tuple[str | None, int, int, str | None]:
    """What a clause speaks of: its attribute (None: nothing) and sign (+1 / -1, 0 where a verb must
    decide), the verb sign left ("remove the green cast" spends it) and the attribute noun named."""
    attribute, sign = None, 0
    for word in words:
        if word in ADJECTIVES and not (word in ("golden",) and colors and zone):
            attribute, sign = ADJECTIVES[word]
            break
    noun = next((NOUNS[w] for w in words if w in NOUNS), None)
    if attribute is None and noun is not None:
        attribute, sign = noun, 0
    if attribute == "saturation" and noun == "saturation" and sign == 0 and deep:
        sign = +1
    if attribute is None and (zone or bands) and (deep or recover):
        attribute = "brightness" if zone and not bands else "saturation"
        sign = (-1 if zone in ("shadows", "blacks") or not zone else +1) if deep else (
            -1 if zone in ("highlights", "whites") else +1)
        if bands and deep:
            sign = +1
    # colour words: a hue for a band ("bluer sky"), a zone ("teal shadows") or the whole photo ("more magenta")
    if attribute is None and colors:
        band, hue = COLOR_WORDS[colors[0]]
        if bands and band not in bands:  # "make the greens more yellow": a hue shift towards a neighbour
            attribute, sign = "hue", _hue_direction(bands[0], band)
        elif bands:
            attribute, sign = "saturation", +1
        elif zone in ("shadows", "highlights", "midtones"):
            attribute, sign = "toning", +1
        elif band in ("Blue", "Aqua") and hue >= 200:
            attribute, sign = "warmth", -1
        elif band in ("Yellow", "Orange"):
            attribute, sign = "warmth", +1
        elif band == "Magenta":
            attribute, sign = "tint", +1
        elif band == "Green":
            attribute, sign = "tint", -1
        else:
            attribute, sign = "toning", +1
        if re.search(r"\bcast\b|\btint\b", clause) and verb < 0:  # "remove the green cast"
            sign, verb = -sign, 0
    if attribute is None and bands and verb:  # "boost the greens", "tone down the foliage"
        attribute, sign = "saturation", 0
    if attribute is None and zone and verb:
        attribute, sign = "brightness", 0
    return attribute, sign, verb, noun


def _read_clause(clause: str, inherited: tuple[int, str | None]) -> tuple[list[Intent], str | None, int]:
    """Intents of one clause, a "not X" constraint it states, and the verb sign it carried."""
    words = re.findall(r"[a-z]+", clause)
    strength = strength_of(clause) or inherited[1] or "medium"
    bands: tuple[str, ...] = tuple(dict.fromkeys(b for w in words if w in BAND_WORDS for b in BAND_WORDS[w]))
    zone = next((ZONES[w] for w in words if w in ZONES), None)
    colors = [w for w in words if w in COLOR_WORDS]
    verb = 0
    for word in words:
        if word in INCREASE_WORDS:
            verb = verb or +1
        elif word in DECREASE_WORDS:
            verb = verb or -1
    too = (any(w in EXCESS_WORDS for w in words) or bool(re.search(r"\b(so|such)\b", clause) and not verb)
           or bool(COMPLAINT.search(clause)))
    enough = "enough" in words
    negated = any(w in NEGATIONS for w in words)
    deep = any(w in DEEP_WORDS for w in words)
    recover = any(w in RECOVER_WORDS for w in words)

    attribute, sign, verb, noun = _clause_attribute(clause, words, zone, bands, colors, verb, deep, recover)
    if attribute is None:
        return [], None, 0

    direction = sign or 1
    if sign == 0:
        if not verb:
            if not inherited[0] or noun is None:
                return [], None, 0
            verb = inherited[0]
        direction = verb
    elif verb < 0:
        direction = -sign
    if zone and verb and attribute == "brightness" and sign and noun is None:  # "open up the dark shadows"
        direction = verb
    if recover and zone:
        direction = -1 if zone in ("highlights", "whites") else +1
    if too and not enough:
        direction = -direction
    if negated and not enough:
        plus, minus = ATTRIBUTE_LABELS[attribute]
        return [], f"not {plus if direction > 0 else minus}", 0
    if enough and negated:
        direction = abs(direction) if sign == 0 else sign

    hue = COLOR_WORDS[colors[0]][1] if colors and attribute == "toning" else None
    if attribute == "warmth" and zone in ("shadows", "highlights", "midtones"):
        attribute, hue, direction = "toning", (45.0 if direction > 0 else 215.0), +1
    if (
        attribute == "saturation"
        and not bands
        and colors
        and len(words) <= 3
        and COLOR_WORDS[colors[0]][0] in HSL_BANDS
    ):
        bands = (COLOR_WORDS[colors[0]][0],)
    if bands and attribute not in ("saturation", "brightness", "hue", "warmth", "contrast", "vibrance"):
        bands = ()
    if attribute in ("warmth", "contrast", "vibrance"):
        bands = ()
    if attribute == "monochrome" and direction < 0:
        return [], "keep the colour", verb
    if zone and attribute not in ("brightness", "toning"):
        zone = None
    intent = Intent(attribute, direction, strength, zone, bands, hue, clause)
    return [intent], None, verb or direction


def _merge(intents: list[Intent], kept: list[str]) -> list[Intent]:
    """One intent per (attribute, zone, bands, hue): the last one a request states wins; constraints
    ("not warmer") drop the intents they forbid."""
    merged: dict[tuple, Intent] = {}
    for intent in intents:
        plus, minus = ATTRIBUTE_LABELS[intent.attribute]
        if f"not {plus if intent.direction > 0 else minus}" in kept:
            continue
        merged[(intent.attribute, intent.zone, intent.bands, intent.hue)] = intent
    return list(merged.values())


# --------------------------------------------------------------------------------------------- moves
MOVES: dict[str, dict[str, float]] = {
    "brightness": {"Exposure2012": 0.45},
    "contrast": {"Contrast2012": 30.0},
    "saturation": {"Saturation": 25.0, "Vibrance": 10.0},
    "vibrance": {"Vibrance": 30.0},
    "warmth": {"IncrementalTemperature": 22.0},
    "tint": {"IncrementalTint": 15.0},
    "fade": {"Blacks2012": 40.0, "Contrast2012": -12.0, "Shadows2012": 10.0},
}
"""Slider moves of a medium-strength intent, + direction (exposure in EV, the rest in slider units),
sized so a medium move is clearly visible on an ordinary photo: +0.45 EV lifts mean L* by 5-9,
22 temperature units move mean b* by 2-4 (benchmarks/style_requests.py)."""
ZONE_MOVES = {"shadows": {"Shadows2012": 40.0}, "highlights": {"Highlights2012": 40.0},
              "whites": {"Whites2012": 35.0}, "blacks": {"Blacks2012": 35.0},
              "midtones": {"ParametricDarks": 25.0, "ParametricLights": 25.0}}
BAND_MOVES = {"saturation": 35.0, "brightness": 30.0, "hue": 30.0}
TONING_SATURATION = 30.0
GRADE_ZONE = {"shadows": "Shadow", "highlights": "Highlight", "midtones": "Midtone", None: "Global"}


def intent_moves(intent: Intent) -> tuple[dict[str, float], bool]:
    """Slider moves ``{name: delta}`` for one intent (strength-scaled), and whether they set values
    outright (monochrome, toning hues) rather than add to what is there."""
    scale = STRENGTHS[intent.strength]
    sign = intent.direction
    if intent.attribute == "monochrome":
        return {"Monochrome": 1.0}, True
    if intent.attribute == "sepia":
        return {"Monochrome": 1.0, "ColorGradeGlobalHue": 40.0, "ColorGradeGlobalSat": min(100.0, 25.0 * scale)}, True
    if intent.attribute == "split_tone":
        sat = min(100.0, 28.0 * scale)
        return {"ColorGradeShadowHue": 200.0, "ColorGradeShadowSat": sat, "ColorGradeHighlightHue": 40.0,
                "ColorGradeHighlightSat": sat, "ColorGradeBalance": 0.0}, True
    if intent.attribute == "toning":
        zone = GRADE_ZONE[intent.zone]
        return {
            f"ColorGrade{zone}Hue": float(intent.hue or 0.0),
            f"ColorGrade{zone}Sat": min(100.0, TONING_SATURATION * scale * (0.6 if zone == "Global" else 1.0)),
        }, True
    if intent.bands and intent.attribute in BAND_MOVES:
        kind = {"saturation": "Saturation", "brightness": "Luminance", "hue": "Hue"}[intent.attribute]
        return {f"{kind}Adjustment{band}": sign * BAND_MOVES[intent.attribute] * scale for band in intent.bands}, False
    if intent.attribute == "brightness" and intent.zone:
        return {name: sign * value * scale for name, value in ZONE_MOVES[intent.zone].items()}, False
    moves = MOVES.get(intent.attribute, {})
    if intent.attribute == "saturation" and sign < 0:
        moves = {"Saturation": 30.0}
    return {name: sign * value * scale for name, value in moves.items()}, False
