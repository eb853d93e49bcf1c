"""Contradiction checker for reasoning text: ours, or later the planner's own output.

`check(text, input_measurements, plan)` reads the six tagged spans (`veraretouch.data.reasoning.TAGS`)
clause by clause with a lexicon of attribute nouns and direction words per aspect, and reports:

(a) a stated image fault that the measurements rule out ("too dark" at median L*/100 0.7, a "warm
    cast" with neutral b* -6), see `reasoning.state_contradicted`;
(b) a described change that the plan's sliders contradict ("warm it" with Temperature -20; "brighten"
    while exposure and tone sliders together darken a grey at the input's median; a magnitude word or a
    stated number far from the slider; "leave the tones as they are" next to a strong tone move), and a
    stated fault whose fix the plan makes worse ("underexposed" while the plan darkens);
(c) missing, repeated, nested, unclosed, empty or misordered tags.

It is conservative: a clause with a negation, a hedge it cannot read ("keep", "rather than", "if") or
conflicting cues is skipped; a zone claim stands when either slider on that zone supports it; numbers
need a clear margin (`TOLERANCE`, `reasoning.state_contradicted`). Silence is therefore no proof of
truth, but each reported contradiction names the span, the phrase and the numbers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..parameters import GLOBAL_COLOR, LIGHTING, SLIDERS, SPECIFIC_COLOR
from ..plan import Plan
from .reasoning import (
    ASPECTS,
    BRIGHTNESS_STEP,
    EXPOSURE_MAGNITUDE_EDGES,
    MAGNITUDES,
    NOTABLE_EV,
    SLIDER_MAGNITUDE_EDGES,
    STOPS,
    ZONE_PARTNERS,
    Claim,
    brightness_change,
    hue_direction,
    magnitude_index,
    parse_tagged,
    slider_of,
    span_name,
    state_contradicted,
    verb_forms,
)

TOLERANCE = 3.0
"""A slider opposes a claimed direction only when it moves at least this far the other way."""
EV_TOLERANCE = 0.05
MAGNITUDE_SLACK = 2.5
"""A magnitude word is wrong only when the move is this many times outside the word's range."""
STRONG = MAGNITUDES.index("strong")


@dataclass(frozen=True)
class Contradiction:
    """One problem found: the span ("lighting_plan", ... or "tags"), the phrase, and why."""

    span: str
    phrase: str
    reason: str


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


# ------------------------------------------------------------------------------------------ lexicon
def _forms(*lemmas: str) -> set[str]:
    """Base, third person and gerund; past participles are left out, as they often describe a state."""
    return {form for lemma in lemmas for form in verb_forms(lemma)}


UP_WORDS = _forms("raise", "lift", "boost", "increase", "add", "open", "extend", "strengthen", "introduce",
                  "enhance") | {"up", "more", "higher", "extra"}
DOWN_WORDS = _forms("lower", "reduce", "decrease", "cut", "drop", "tame", "soften", "flatten", "crush", "subtract",
                    "remove", "lessen", "compress", "weaken") | {"down", "less", "back", "off", "out", "tonedown",
                                                                 "fewer"}
BRIGHTER_WORDS = _forms("brighten", "lighten") | {"brighter", "lighter"}
DARKEN_WORDS = _forms("darken") | {"darker"}
DARKER_WORDS = DARKEN_WORDS | _forms("deepen") | {"deeper"}
RECOVER_WORDS = _forms("recover")
SKIP_WORDS = {"not", "no", "never", "without", "don't", "dont", "doesn't", "won't", "nor", "neither", "avoid",
              "avoiding", "rather", "instead", "than", "unless", "if", "cannot", "can't", "keep", "keeps",
              "keeping", "preserve", "preserves", "preserving", "protect", "protects", "protecting", "retain",
              "retaining", "maintain", "maintaining", "hold", "holds", "holding", "despite", "although"}
COPULAS = {"is", "are", "looks", "look", "seems", "seem", "feels", "feel", "reads", "read", "leans", "lean",
           "runs", "run", "appears", "appear", "sits", "sit", "was", "were", "comes", "come", "too", "overly"}
VERB_LEADS = {"to", "i'll", "i", "will", "i'd", "we", "we'll", "let's", "please", "also", "should", "then", "and",
              "just", "you"}

LIGHTING_NOUNS = {
    "exposure": "exposure", "ev": "exposure", "stop": "exposure", "stops": "exposure", "brightness": "brightness",
    "contrast": "contrast", "punch": "contrast", "highlights": "highlights", "highlight": "highlights",
    "shadows": "shadows", "shadow": "shadows", "whites": "whites", "whitepoint": "whites", "blacks": "blacks",
    "blackpoint": "blacks", "darks": "curve_darks", "lights": "curve_lights",
}
CURVE_WORDS = {"curve", "curves", "parametric"}
IMAGE_WORDS = {"image", "photo", "photograph", "picture", "frame", "shot", "scene", "everything", "overall", "it",
               "this", "result"}
"""A brighten / darken without a zone counts as an overall claim only when it names the whole image."""
GLOBAL_NOUNS = {"temperature": "temperature", "whitebalance": "temperature", "tint": "tint",
                "vibrance": "vibrance", "saturation": "saturation"}

_SUBSTITUTIONS = (
    # (pattern, replacement, substrings one of which every match contains)
    (r"[’‘]", "'", ("’", "‘")), (r"[−–—]", "-", ("−", "–", "—")), (r"colou?r", "colour", ("color",)),
    (r"\b(warm|cool)(s|ed|ing)?\b((?:\s+(?:it|this|that|things|everything|them|the\s+[a-z]+(?:\s+balance)?))?)"
     r"\s+(?:up|down|off)\b", r"\1\2\3", ("warm", "cool")),
    (r"\b(calm|settle)(s|ed|ing)?\b((?:\s+(?:it|them|the\s+[a-z]+))?)\s+down\b", r"calm\3", ("calm", "settl")),
    (r"\b(tone|tones|toned|toning)\b((?:\s+(?:it|them|the\s+[a-z]+))?)\s+down\b", r"tonedown\2", ("ton",)),
    (r"\b(open|opens|opened|opening)\s+up\b", r"\1", ("open",)),
    (r"\b(?:bring|brings|bringing|get|gets|getting)\s+back\b", "recover", ("back",)),
    (r"\b(ends?|ended|ending)\s+up\b", r"\1", ("end",)), (r"\b(comes?|came|coming)\s+out\b", r"\1", ("com", "came")),
    (r"\b(stands?|stood)\s+out\b", r"\1", ("stand", "stood")),
    (r"\bwashed[\s-]+out\b", "washedout", ("washed",)),
    (r"\b(blown|burnt|burned)\s+out\b", r"\1", ("blown", "burn")), (r"\bblocked\s+up\b", "blocked", ("blocked",)),
    (r"\bblack[\s-]+and[\s-]+white\b|\bb&w\b|\bb/w\b", "blackandwhite", ("black", "b&w", "b/w")),
    (r"\bblack\s+(point|level)s?\b", "blackpoint", ("black",)),
    (r"\bwhite\s+(point|level)s?\b", "whitepoint", ("white",)),
    (r"\bwhite[\s-]+balance\b", "whitebalance", ("white",)), (r"\btone\s+curves?\b", "curve", ("tone",)),
    (r"\b(?:a stop|one stop) and a half\b", "1.5 stops", ("half",)),
    (r"\bone and a half stops?\b", "1.5 stops", ("half",)),
    (r"\btwo and a half stops?\b", "2.5 stops", ("half",)),
    (r"\b(low|high)-key\b", r"\1key", ("-key",)), (r"\bover-(exposed|saturated)\b", r"over\1", ("over-",)),
    (r"\bunder-(exposed|saturated)\b", r"under\1", ("under-",)),
    (r"\btoo\s+much\b", "toomuch", ("too",)), (r"\b(too\s+little|not\s+enough)\b", "toolittle", ("too", "enough")),
    (r"\b(lacks|lacking|lacked)\b", "lack", ("lack",)),
    (r"\b(bright|light)(est)?\s+(areas?|tones?|parts?|regions?|spots?|values?)\b", "highlights", ("bright", "light")),
    (r"\bdark(est)?\s+(areas?|tones?|parts?|regions?|values?)\b", "shadows", ("dark",)),
    (r"\bbrightest\b", "highlights", ("brightest",)), (r"\bdarkest\b", "shadows", ("darkest",)),
)
_STOP_PATTERN = re.compile(
    r"(?:(?:about|roughly|around|nearly|close to|approximately|almost|some|just over|just under)\s+)?"
    r"(two thirds of a stop|a third of a stop|half a stop|a full stop|one stop|a stop|\d+(?:\.\d+)?\s+stops?|"
    r"two stops|three stops|four stops|five stops)"
)
"""Spoken exposure amounts; "a stop and a half" and the like are rewritten to "1.5 stops" first."""
_SPOKEN_EV = {text: amount for amount, text in STOPS} | {"a full stop": 1.0}
_FRACTION_OF_STOP = re.compile(r"\bfraction of a stop\b")
_NOTE_PATTERN = re.compile(r"\(([^()]*?)\)")
_NUMBER = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*(ev)?\b")

_MAGNITUDE_PHRASES = {
    0: ("very slightly", "slightly", "a little", "a touch", "a bit", "gently", "subtly", "a hint", "a small amount",
        "a hair", "a tad", "marginally", "mildly", "lightly"),
    1: ("moderately", "noticeably", "a fair bit", "a fair amount", "a moderate amount", "a good bit",
        "a noticeable amount", "somewhat"),
    2: ("strongly", "a lot", "considerably", "substantially", "significantly", "plenty", "a large amount",
        "a strong dose", "much"),
    3: ("very strongly", "heavily", "dramatically", "drastically", "massively", "a great deal", "a huge amount",
        "a massive dose", "an extreme amount", "hugely", "far", "extremely", "aggressively"),
}
_MAGNITUDE_PATTERN = re.compile(r"\b(" + "|".join(sorted(
    (re.escape(p) for phrases in _MAGNITUDE_PHRASES.values() for p in phrases), key=len, reverse=True)) + r")\b")
_MAGNITUDE_OF = {phrase: level for level, phrases in _MAGNITUDE_PHRASES.items() for phrase in phrases}

_NONE_PATTERN = re.compile(
    r"\b(?:leave|leaves|leaving)\b.*\b(?:as (?:it|they) (?:is|are)|alone|untouched|unchanged)\b"
    r"|\b(?:stay|stays|remain|remains)\b.*\b(?:untouched|unchanged|as (?:it|they) (?:is|are))\b"
    r"|\balready\b.*\b(?:right|fine|good|balanced|natural|correct|where (?:it|they) should)\b(?!-)"
    r"|\b(?:is|are|looks?)\s+(?:already\s+)?(?:fine|right|correct|spot on)\b(?!-)"
    r"|\bnothing to (?:change|fix|correct|do)\b"
    r"|\b(?:no|none)\b.*\b(?:changes?|adjustments?|corrections?|fix|fixes|edits?|problems?|cast|issues?)\b"
)

_BAND_OF = {}
for _band, _words in {"Red": ("red",), "Orange": ("orange",), "Yellow": ("yellow",), "Green": ("green",),
                      "Aqua": ("aqua", "cyan"), "Blue": ("blue",), "Purple": ("purple", "violet"),
                      "Magenta": ("magenta", "pink")}.items():
    for _word in _words:
        _BAND_OF[_word] = _band
        _BAND_OF[_word + "s"] = _band


# ------------------------------------------------------------------------------------------ text handling
_COMPILED_SUBSTITUTIONS = tuple((triggers, re.compile(pattern), replacement)
                                for pattern, replacement, triggers in _SUBSTITUTIONS)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CLAUSE_BREAK = re.compile(r"[,;:]|\b(?:and|but|while|then|whereas|plus|as well as)\b")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")


def _normalise(text: str) -> str:
    """Lower case, one spelling ("colour"), and multi-word idioms joined into single tokens."""
    text = text.lower()
    for triggers, pattern, replacement in _COMPILED_SUBSTITUTIONS:
        if any(trigger in text for trigger in triggers):
            text = pattern.sub(replacement, text)
    return text


def _sentences(content: str) -> list[str]:
    return [s for s in _SENTENCE_BREAK.split(content) if s.strip()]


def _clauses(sentence: str) -> list[str]:
    parts = _CLAUSE_BREAK.split(sentence)
    return [part.strip(" .!?") for part in parts if part and part.strip(" .!?")]


def _words(clause: str) -> list[str]:
    return [word[:-2] if word.endswith("'s") else word for word in _WORD.findall(clause)]


def _magnitude(clause: str) -> int | None:
    levels = {_MAGNITUDE_OF[match] for match in _MAGNITUDE_PATTERN.findall(clause)}
    return levels.pop() if len(levels) == 1 else None


_RUNNING_NUMBER = re.compile(
    r"(?:\b(?:by|to|at)\s+(?:about\s+|roughly\s+|around\s+)?|(?<![\w.])(?=[+-]))"
    r"([+-]?\d+(?:\.\d+)?)(?![\d.])(?!\s*(?:%|stop))")


def _stated(notes: list[str], clause: str) -> tuple[float, bool] | None:
    """The one number given for a move, from a parenthesis ("(+32)", "(Shadows +32)", "(+0.45 EV)") or the
    running text ("by 20", "+0.5 EV"), and whether it carried a sign (unsigned numbers are magnitudes)."""
    texts = [match.group(1) for note in notes for match in [_NUMBER.search(note)] if match]
    if any(character.isdigit() for character in clause):
        texts += [match.group(1) for match in _RUNNING_NUMBER.finditer(clause)]
    if len(texts) != 1:
        return None
    return float(texts[0]), texts[0][0] in "+-"


def _spoken_ev(clause: str) -> float | None:
    if "stop" not in clause or _FRACTION_OF_STOP.search(clause):
        return None
    amounts = []
    for match in _STOP_PATTERN.finditer(clause):
        phrase = re.sub(r"\s+", " ", match.group(1))
        number = re.match(r"(\d+(?:\.\d+)?) stops?", phrase)
        amounts.append(float(number.group(1)) if number else _SPOKEN_EV.get(phrase))
    return amounts[0] if len(amounts) == 1 and amounts[0] is not None else None


def _sign(words: list[str], attribute: str | None = None) -> set[int]:
    """Direction cues of a clause: +1 / -1 for each up / down word (recover depends on the zone)."""
    signs = set()
    for word in words:
        if word in UP_WORDS or word in BRIGHTER_WORDS:
            signs.add(1)
        elif word in DOWN_WORDS or word in DARKER_WORDS:
            signs.add(-1)
        elif word in RECOVER_WORDS and attribute in ("highlights", "whites", "curve_highlights"):
            signs.add(-1)
        elif word in RECOVER_WORDS and attribute in ("shadows", "blacks", "curve_shadows"):
            signs.add(1)
    return signs


def _direction(signs: set[int]) -> str | None:
    return None if len(signs) != 1 else ("up" if signs.pop() > 0 else "down")


# ------------------------------------------------------------------------------------------ per aspect
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


def _level(clause: str) -> str | None:
    level = _magnitude(clause)
    return None if level is None else MAGNITUDES[level]


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
            if {"lack", "toolittle", "toomuch"}.intersection(before):
                measured = "saturation" if noun == "colourfulness" else noun
                states.setdefault(measured, set()).add("high" if "toomuch" in before else "low")
                corrective.add(measured)
                continue
            op = _nearest_op(words, index)
            if op is not None:
                actions.setdefault(noun, set()).add(op)
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
            if "lack" in before or "toolittle" in before or "toomuch" in before:
                states.setdefault(attribute, set()).add("high" if "toomuch" in before else "low")
                corrective.add(attribute)
                continue
            op = _nearest_op(words, index)
            if op is not None:
                actions.setdefault(attribute, set()).add(op)
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


def _none_claims(aspect: str, kind: str, sentence: str, words: list[str]) -> list[ParsedClaim]:
    if aspect == LIGHTING:
        nouns = {LIGHTING_NOUNS[w] for w in words if w in LIGHTING_NOUNS}
    elif aspect == GLOBAL_COLOR:
        nouns = {GLOBAL_NOUNS[w] for w in words if w in GLOBAL_NOUNS}
    else:
        nouns = {_BAND_OF[w] for w in words if w in _BAND_OF}
    if not nouns:
        return [ParsedClaim(Claim(aspect, kind, "all", "none"), sentence)]
    if aspect == SPECIFIC_COLOR:
        return [ParsedClaim(Claim(aspect, kind, "all", "none", None, band), sentence) for band in sorted(nouns)]
    return [ParsedClaim(Claim(aspect, kind, noun, "none"), sentence) for noun in sorted(nouns)]


def parse_span(aspect: str, kind: str, content: str) -> list[ParsedClaim]:
    """The claims of one span's text, read with the lexicon of ``aspect``."""
    claims: list[ParsedClaim] = []
    for sentence in _sentences(_normalise(content)):
        if _NONE_PATTERN.search(sentence):
            claims.extend(_none_claims(aspect, kind, sentence.strip(), _words(sentence)))
            continue
        subject = None
        for raw_clause in _clauses(sentence):
            notes = _NOTE_PATTERN.findall(raw_clause)
            clause = _NOTE_PATTERN.sub(" ", raw_clause)
            words = _words(clause)
            if SKIP_WORDS.intersection(words):
                subject = None
                continue
            if aspect == LIGHTING:
                found, subject = _lighting(words, clause, kind, subject)
            elif aspect == GLOBAL_COLOR:
                found = _global(words, clause, kind)
            else:
                found, subject = _specific(words, clause, kind, subject)
            value, ev = _stated(notes, clause), _spoken_ev(clause)
            actions = [p for p in found if p.claim.direction in ("up", "down")]
            for parsed in found:
                is_only_action = len(actions) == 1 and parsed is actions[0]
                claims.append(ParsedClaim(
                    parsed.claim, raw_clause.strip(), parsed.corrective,
                    value if is_only_action else None,
                    ev if is_only_action and parsed.claim.attribute in ("exposure", "brightness") else None))
    return claims


def parse_claims(text: str, spans: dict[str, str] | None = None) -> list[ParsedClaim]:
    """Every claim of a tagged reasoning text (spans with broken tags are read where recoverable);
    ``spans`` from `parse_tagged` may be passed to skip reading the tags again."""
    if spans is None:
        spans, _ = parse_tagged(text)
    claims = []
    for aspect in ASPECTS:
        for kind in ("problem", "plan"):
            content = spans.get(span_name(aspect, kind))
            if content:
                claims.extend(parse_span(aspect, kind, content))
    return claims


# ------------------------------------------------------------------------------------------ judging
def _opposes(value: float, direction: str, tolerance: float) -> bool:
    """Whether a change of ``value`` goes against ``direction`` ("up" / "down") by at least ``tolerance``."""
    return value <= -tolerance if direction == "up" else value >= tolerance


def _supports(value: float, direction: str, tolerance: float) -> bool:
    return _opposes(-value, direction, tolerance)


def _described(slider: str, value: float) -> str:
    return f"{slider} is {value:+.2f} EV" if slider == "Exposure2012" else f"{slider} is {value:+.0f}"


def _action_problem(claim: Claim, plan: Plan, m: dict[str, float]) -> str | None:
    """Why the plan contradicts a described change (None when it does not)."""
    verb = {"up": "raise", "down": "lower"}[claim.direction]
    if claim.attribute == "brightness":
        change = brightness_change(plan, m["median_lightness"])
        if _opposes(change, claim.direction, BRIGHTNESS_STEP):
            return (f"says the image gets {'brighter' if claim.direction == 'up' else 'darker'}, but exposure and tone "
                    f"sliders move a grey at the input median ({m['median_lightness']:.2f}) by {change:+.3f} L*/100")
        return None
    if claim.attribute == "monochrome":
        return None if plan.monochrome else "says the image becomes black and white, but Monochrome is not set"
    if claim.attribute == "colourfulness":
        vibrance, saturation = plan.get("Vibrance"), plan.get("Saturation")
        supported = any(_supports(v, claim.direction, TOLERANCE) for v in (vibrance, saturation))
        if not supported and _opposes(vibrance + saturation, claim.direction, TOLERANCE):
            return (f"says colour intensity goes {claim.direction}, but Vibrance is {vibrance:+.0f} "
                    f"and Saturation {saturation:+.0f}")
        return None
    slider = slider_of(claim.attribute, claim.band)
    if slider is None:
        return None
    value = plan.get(slider)
    if not _opposes(value, claim.direction, EV_TOLERANCE if slider == "Exposure2012" else TOLERANCE):
        return None
    if claim.attribute in ZONE_PARTNERS:
        partner, weight = ZONE_PARTNERS[claim.attribute]
        if not _opposes(value + weight * plan.get(partner), claim.direction, 1e-9):
            return None
        return (f"says {verb} the {claim.attribute}, but {_described(slider, value)} "
                f"and {_described(partner, plan.get(partner))}")
    if claim.attribute == "hue":
        way = "forwards" if claim.direction == "up" else "backwards"
        return f"says the {claim.band.lower()}s shift {way} round the wheel, but {_described(slider, value)}"
    what = claim.attribute.replace("_", " ") if claim.band is None else f"{claim.band.lower()} {claim.attribute}"
    return f"says {verb} {what}, but {_described(slider, value)}"


def _magnitude_problem(parsed: ParsedClaim, plan: Plan) -> str | None:
    """Why a stated number, spoken stop count or magnitude word misdescribes the slider (None if it fits)."""
    claim = parsed.claim
    slider = slider_of(claim.attribute, claim.band)
    if slider is None:
        return None
    value = plan.get(slider)
    exposure = slider == "Exposure2012"
    if parsed.stated_value is not None:
        stated, signed = parsed.stated_value
        allowed = max(0.06 if exposure else 2.0, 0.15 * abs(value))
        if abs(stated - (value if signed else abs(value))) > allowed:
            return f"states {stated:+g}, but {_described(slider, value)}" if signed else \
                f"states {stated:g}, but {_described(slider, value)}"
    if parsed.stated_ev is not None and exposure and abs(parsed.stated_ev - abs(value)) > 0.3 + 0.35 * abs(value):
        return f"speaks of {parsed.stated_ev:.2g} stop(s), but {_described(slider, value)}"
    if claim.magnitude is not None:
        edges = EXPOSURE_MAGNITUDE_EDGES if exposure else SLIDER_MAGNITUDE_EDGES
        level = MAGNITUDES.index(claim.magnitude)
        low = edges[level] / MAGNITUDE_SLACK
        high = edges[level + 1] * MAGNITUDE_SLACK if level + 1 < len(edges) else float("inf")
        if not low <= abs(value) <= high:
            return f"calls the move {claim.magnitude!r}, but {_described(slider, value)}"
    return None


_ZONE_SLIDERS = {
    "highlights": ("Highlights2012", "Whites2012", "ParametricHighlights"),
    "shadows": ("Shadows2012", "Blacks2012", "ParametricShadows"),
}
_ZONE_SLIDERS["whites"], _ZONE_SLIDERS["blacks"] = _ZONE_SLIDERS["highlights"], _ZONE_SLIDERS["shadows"]
_STATE_WORDS = {
    ("contrast", "low"): "flat", ("contrast", "high"): "harsh", ("temperature", "high"): "a warm cast",
    ("temperature", "low"): "a cool cast", ("tint", "high"): "a magenta cast", ("tint", "low"): "a green cast",
    ("highlights", "high"): "clipped", ("highlights", "low"): "dull", ("whites", "high"): "clipped",
    ("whites", "low"): "dull", ("shadows", "low"): "crushed", ("shadows", "high"): "milky",
    ("blacks", "low"): "crushed", ("blacks", "high"): "milky",
}


def _fix_problem(claim: Claim, plan: Plan, m: dict[str, float]) -> str | None:
    """Why the plan makes a stated fault worse (None when it does not): e.g. "underexposed" while the
    plan darkens the median, "a warm cast" while Temperature goes up, "crushed shadows" while every
    shadow slider goes down and nothing (exposure, another slider) lifts them."""
    get = plan.get
    attribute, state = claim.attribute, claim.direction
    fixing = "up" if state == "low" else "down"
    if claim.band is not None:
        slider = slider_of(attribute, claim.band)
        if attribute == "saturation" and not _opposes(get("Vibrance") + get("Saturation"), fixing, 1e-9):
            return None
        if _opposes(get(slider), fixing, TOLERANCE):
            return (f"calls the {claim.band.lower()}s too {'low' if state == 'low' else 'high'} in {attribute}, "
                    f"but {_described(slider, get(slider))}")
        return None
    if attribute == "exposure":
        change = brightness_change(plan, m["median_lightness"])
        if _opposes(change, fixing, BRIGHTNESS_STEP):
            return (f"calls the image too {'dark' if state == 'low' else 'bright'}, "
                    f"but the plan moves its median by {change:+.3f} L*/100")
        return None
    if attribute in ("contrast", "temperature", "tint"):
        slider = slider_of(attribute)
        if _opposes(get(slider), fixing, TOLERANCE):
            return f"states {_STATE_WORDS[(attribute, state)]}, but {_described(slider, get(slider))}"
        return None
    if attribute == "saturation":
        vibrance, saturation = get("Vibrance"), get("Saturation")
        supported = any(_supports(v, fixing, TOLERANCE) for v in (vibrance, saturation))
        if not supported and _opposes(vibrance + saturation, fixing, TOLERANCE):
            return (f"calls the colours {'muted' if state == 'low' else 'oversaturated'}, "
                    f"but Vibrance is {vibrance:+.0f} and Saturation {saturation:+.0f}")
        return None
    if attribute not in _ZONE_SLIDERS:
        return None
    values = {name: get(name) for name in _ZONE_SLIDERS[attribute]}
    helps = any(_supports(v, fixing, TOLERANCE) for v in values.values())
    helps = helps or _supports(get("Exposure2012"), fixing, NOTABLE_EV)
    if (attribute in ("blacks", "shadows")) == (state == "high"):
        helps = helps or get("Contrast2012") >= TOLERANCE
    if any(_opposes(v, fixing, TOLERANCE) for v in values.values()) and not helps:
        listed = ", ".join(f"{name} {value:+.0f}" for name, value in values.items())
        return (f"states the {attribute} are {_STATE_WORDS[(attribute, state)]}, "
                f"but the plan pushes them further ({listed})")
    return None


def _none_problem(claim: Claim, plan: Plan) -> str | None:
    if claim.attribute == "all":
        sliders = [spec.name for spec in SLIDERS if spec.group == claim.aspect
                   and (claim.band is None or spec.name.endswith("Adjustment" + claim.band))]
    elif claim.attribute == "brightness":
        sliders = ["Exposure2012"]
    else:
        sliders = [slider_of(claim.attribute)] if slider_of(claim.attribute) else []
    strong = [name for name in sliders if magnitude_index(name, plan.get(name)) >= STRONG]
    if claim.aspect == GLOBAL_COLOR and claim.attribute == "all" and plan.monochrome:
        strong.append("Monochrome")
    if strong:
        return "says nothing needs changing, but " + ", ".join(_described(name, plan.get(name)) for name in strong)
    return None


def check(text: str, input_measurements: dict[str, float], plan: Plan) -> list[Contradiction]:
    """Contradictions between a reasoning text, the input's measurements and the plan (module docstring)."""
    spans, tag_errors = parse_tagged(text)
    found = [Contradiction("tags", error.split(" ")[0], error) for error in tag_errors]
    m = input_measurements
    for parsed in parse_claims(text, spans):
        claim = parsed.claim
        where = span_name(claim.aspect, claim.span)
        reasons: list[str | None] = []
        if claim.direction == "none":
            reasons.append(_none_problem(claim, plan))
        elif claim.direction in ("low", "high"):
            reasons.append(state_contradicted(claim.attribute, claim.direction, m, claim.band))
            if parsed.corrective:
                reasons.append(_fix_problem(claim, plan, m))
        else:
            reasons.append(_action_problem(claim, plan, m))
            reasons.append(_magnitude_problem(parsed, plan))
        found.extend(Contradiction(where, parsed.phrase, reason) for reason in reasons if reason)
    return found


