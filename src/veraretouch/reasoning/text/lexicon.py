"""The checker's lexicon and text handling: attribute nouns and direction words, idioms joined into
single tokens, sentences and clauses, and the readers of magnitude words, stated numbers and spoken stops."""
from __future__ import annotations

import re

from .facts import MAGNITUDES, STOPS, verb_forms


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


def _level(clause: str) -> str | None:
    level = _magnitude(clause)
    return None if level is None else MAGNITUDES[level]


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
