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

STRENGTHS = {"small": 0.45, "medium": 1.0, "large": 1.7, "very large": 2.3}
"""Strength factors the moves of `MOVES` are multiplied by: "slightly warmer" moves 0.45 x what
"warmer" does, "much warmer" 1.7 x (strength monotonicity: benchmarks/style_requests.py)."""

STRENGTH_WORDS = {
    "small": ("a touch", "a tad", "a hair", "a smidge", "a smidgen", "a little bit", "a little", "a wee bit", "a bit",
              "slightly", "subtly", "subtle", "gently", "gentle", "somewhat", "mildly", "mild", "lightly",
              "marginally", "faintly", "barely", "just a", "kind of", "a shade", "a notch", "hint of", "touch of"),
    "large": ("a lot", "lots", "much", "very", "really", "way", "heavily", "strongly", "significantly",
              "considerably", "far", "seriously", "big", "bold", "boldly", "hugely", "properly", "noticeably",
              "loads", "tons", "greatly", "deeply", "strong", "heavy", "plenty"),
    "very large": ("extremely", "massively", "dramatically", "drastically", "super", "insanely", "totally",
                   "enormously", "wildly", "radically", "as much as possible", "all the way", "maximum", "max"),
}

ATTRIBUTE_LABELS = {
    "brightness": ("brighter", "darker"), "contrast": ("more contrast", "less contrast"),
    "saturation": ("more saturated", "less saturated"), "vibrance": ("more vibrance", "less vibrance"),
    "warmth": ("white balance warmer", "white balance cooler"), "tint": ("tint towards magenta", "tint towards green"),
    "monochrome": ("black and white", "keep the colour"), "sepia": ("sepia toning", "no sepia"),
    "fade": ("faded, matte blacks", "less faded, denser blacks"), "split_tone": ("split toning", "no split toning"),
    "hue": ("hue shift", "hue shift"), "toning": ("colour toning", "less colour toning"),
}

# --------------------------------------------------------------------------------------------- vocabulary
_REWRITES = (  # (pattern, replacement), applied in order to the lower-cased request
    (r"[’‘`]", "'"),
    (r"\bcolours?\b", lambda m: "color" + ("s" if m.group(0).endswith("s") else "")),
    (r"\bgrey", "gray"),
    (r"\bblack[\s-]*(and|&|n'?)[\s-]*white\b|\bb\s*&\s*w\b|\bb/w\b", " monochrome "),
    (
        r"\b(teal|blue|cyan)[\s-]*(and|&|/)[\s-]*orange\b|\borange[\s-]*(and|&|/)[\s-]*(teal|blue|cyan)\b",
        " tealorange ",
    ),
    (r"\bsplit[\s-]*ton(e|ed|ing)\b", " splittone "),
    (
        r"\b(remove|drain|strip|suck|take out|lose|drop|kill|get rid of) "
        r"(out )?(all |the |every )?(of )?(the )?colors?\b"
        r"(?! cast)",
        " monochrome ",
    ),
    (r"\b(no|without|zero) colors?\b", " monochrome "),
    (r"\bcolorless\b", " monochrome "),
    (r"\bhigh[\s-]*key\b", " brighter "),
    (r"\blow[\s-]*key\b", " darker "),
    (r"\bhigh[\s-]*contrast\b", " more contrast "),
    (r"\blow[\s-]*contrast\b", " less contrast "),
    (r"\bwhite[\s-]*balance\b", " whitebalance "),
    (r"\bblack[\s-]*point\b", " blacks "),
    (r"\bwhite[\s-]*point\b", " whites "),
    (r"\bmid[\s-]*tones?\b|\bmids\b", " midtones "),
    (r"\bskin[\s-]*tones?\b", " skin "),
    (r"\bwashed[\s-]*out\b", " washed "),
    (r"\bover[\s-]*exposed\b", " overexposed "),
    (r"\bunder[\s-]*exposed\b", " underexposed "),
    (r"\bcool(ing)? (it |this |things |the \w+ )?down\b", " cooler "),
    (r"\bwarm(ing)? (it |this |things |the \w+ )?up\b", " warmer "),
    (r"\bheat (it |this )?up\b", " warmer "),
    (r"\b(brighten|lighten) (it |this |things |the \w+ )?up\b", " brighten "),
    (r"\b(open|opening) (it |them )?up\b", " lift "),
    (r"\bbring (out|up)\b", " lift "),
    (
        r"\b(tone|dial|pull|bring|turn|knock|take|ease|back|scale|rein) "
        r"(it |this |them |that |things )?(down|back|off|in)\b",
        " reduce ",
    ),
    (r"\b(crank|pump|turn|dial|bump|ramp|jack|kick|punch) (it |this |them |that |things )?up\b", " increase "),
    (r"\bnot (so|as|that|too|quite so)\b", " less "),
    (r"\b(over|overly|excessively|way too|far too|much too)\b", " too "),
    (r"\bcan'?t\b|\bcannot\b", " not "),
    (r"\b(don'?t|do not|doesn'?t|isn'?t|is not|never|avoid|without)\b", " not "),
    (r"\bless and less\b", " less "),
    (r"\bmore and more\b", " more "),
    (r"\bpop\b", " poppy "),
    (r"\b(sun|golden)[\s-]*(kissed|hour|glow)\b", " golden "),
)

_ADJECTIVES: dict[str, tuple[str, int]] = {}
for _attribute, _words in (
    (("brightness", +1), "bright brighter brightest brighten brightened brightening lighter lighten lightened luminous "
                         "airy airier underexposed"),
    (("brightness", -1), "dark darker darkest darken darkened dim dimmer dimmed murky overexposed moodier gloomier "
                         "gloomy"),
    (("contrast", +1), "contrasty punchy punchier punch harsh harsher"),
    (("contrast", -1), "flat flatter soft softer gentler"),
    (("saturation", +1), "saturated saturate vivid vivider vibrant colorful poppy popping intense saturating"),
    (("saturation", -1), "desaturated desaturate muted mute duller dull subdued washed pale paler bland drab "
                         "desaturating"),
    (("warmth", +1), "warm warmer warmest warmth golden toasty"),
    (("warmth", -1), "cool cooler coolest cold colder icy icier chilly chillier frosty wintry wintery frigid"),
    (("monochrome", +1), "monochrome grayscale mono monochromatic noir achromatic"),
    (("sepia", +1), "sepia sepiatone"),
    (("fade", +1), "faded fade matte"),
    (("split_tone", +1), "splittone tealorange"),
):
    for _word in _words.split():
        _ADJECTIVES[_word] = _attribute

_NOUNS = {"brightness": "brightness", "exposure": "brightness", "light": "brightness", "lightness": "brightness",
          "luminosity": "brightness", "luminance": "brightness", "contrast": "contrast", "saturation": "saturation",
          "color": "saturation", "colors": "saturation", "vibrance": "vibrance", "vibrancy": "vibrance",
          "warmth": "warmth", "temperature": "warmth", "whitebalance": "warmth", "tint": "tint", "fading": "fade",
          "hue": "hue", "hues": "hue"}
_ZONES = {"shadows": "shadows", "shadow": "shadows", "darks": "shadows", "highlights": "highlights",
          "highlight": "highlights", "midtones": "midtones", "whites": "whites", "blacks": "blacks"}
_BAND_WORDS = {
    "reds": ("Red",), "oranges": ("Orange",), "yellows": ("Yellow",), "greens": ("Green",), "aquas": ("Aqua",),
    "cyans": ("Aqua",), "teals": ("Aqua",), "blues": ("Blue",), "purples": ("Purple",), "violets": ("Purple",),
    "magentas": ("Magenta",), "pinks": ("Magenta",),
    "sky": ("Blue", "Aqua"), "skies": ("Blue", "Aqua"), "sea": ("Blue", "Aqua"), "ocean": ("Blue", "Aqua"),
    "water": ("Blue", "Aqua"), "lake": ("Blue", "Aqua"),
    "foliage": ("Green", "Yellow"), "leaves": ("Green", "Yellow"), "trees": ("Green", "Yellow"),
    "grass": ("Green", "Yellow"), "plants": ("Green", "Yellow"), "greenery": ("Green", "Yellow"),
    "vegetation": ("Green", "Yellow"), "forest": ("Green", "Yellow"), "lawn": ("Green", "Yellow"),
    "skin": ("Orange",), "face": ("Orange",), "faces": ("Orange",), "complexion": ("Orange",),
    "sunset": ("Orange", "Red"), "flowers": ("Red", "Magenta"), "lips": ("Red",),
}
_COLOR_WORDS = {  # colour adjective -> (band, Lightroom colour-grading hue)
    "red": ("Red", 0), "redder": ("Red", 0), "orange": ("Orange", 30), "oranger": ("Orange", 30),
    "yellow": ("Yellow", 55), "yellower": ("Yellow", 55), "green": ("Green", 120), "greener": ("Green", 120),
    "teal": ("Aqua", 190), "cyan": ("Aqua", 185), "aqua": ("Aqua", 185), "blue": ("Blue", 220), "bluer": ("Blue", 220),
    "purple": ("Purple", 275), "purpler": ("Purple", 275), "violet": ("Purple", 270), "magenta": ("Magenta", 310),
    "pink": ("Magenta", 330), "pinker": ("Magenta", 330), "rosy": ("Magenta", 340), "rosier": ("Magenta", 340),
    "golden": ("Yellow", 45), "amber": ("Orange", 40), "brown": ("Orange", 35), "gold": ("Yellow", 45),
}
_PLUS = set("more increase increased increasing boost boosted boosting add added adding raise raised raising up extra "
            "enhance enhanced amplify amplified pump pumped push pushed intensify intensified heighten stronger higher "
            "strengthen bump crank lift lifted lifting open opened emphasise emphasize accentuate maximise maximize "
            "bigger plus greater".split())
_MINUS = set(
    "less reduce reduced reducing lower lowered lowering decrease decreased decreasing remove removed removing "
    "kill cut tame tamed drop dropped weaker weaken soften softened fewer minus subtract diminish minimise "
    "minimize dampen dampened calm lessen lose fix correct neutralise neutralize down out".split()
)
_DEEP = set("deep deeper deepen deepened rich richer crush crushed inky denser dense".split())
"""Darker for tones ("deeper blacks"), more saturated for colours ("deeper blues")."""
_RECOVER = {"recover", "rescue", "restore", "save"}
"""Bring back detail: highlights down, shadows up."""
_TOO = {"too"}
_COMPLAINT = re.compile(r"\b(looks?|is|are|feels?|seems?|appears?|it'?s)\s+(a bit |a little |rather |quite |very |"
                        r"kind of |pretty |really )?(flat|dark|bright|dull|cold|warm|soft|harsh|muted|pale|washed|"
                        r"gloomy|murky|dim|saturated|contrasty|faded|cool|yellow|blue|green|orange|magenta|pink)\b")
"""A complaint about a state ("it looks flat", "the photo is dark") asks for the opposite, like "too"."""
_NOT = {"not", "no", "nor"}
_STATE_FLIP = {"overexposed", "underexposed"}
"""Problem words whose adjective already carries the fix (in `_ADJECTIVES`), so "too" adds nothing."""

_REPLACEMENT = (r"\b(replace|swap|change|switch|add|put|insert|place)\b[^,;.!?]*\b(with|for)\b[^,;.!?]*")
""""replace the sky with a sunset" is one request: its "with" must not start a clause of its own."""
_SPLIT = re.compile(r"[,;.!?]|\b(?:and|but|with|while|plus|then|also|though|yet)\b|&")

OUT_OF_SCOPE: tuple[tuple[str, str], ...] = (
    (r"\b(replace|swap|change|switch)\b.*\b(sky|skies|background|backdrop|clouds?)\b|\bsky replacement\b|"
     r"\bnew sky\b|\badd (some |a few |more )?clouds\b", "replacing the sky or background"),
    (r"\b(blur|blurr?ed|blurry|bokeh|depth of field|defocus|out of focus|soft[\s-]*focus|gaussian)\b", "blurring"),
    (r"\b(sharpen\w*|sharper|sharpness|unsharp|deblur\w*|in focus|focus)\b", "sharpening"),
    (r"\b(clarity|texture|dehaze|haze removal|remove (the )?haze|structure|micro[\s-]*contrast|local contrast)\b",
     "clarity, texture and dehaze (local contrast)"),
    (r"\b(crop\w*|straighten\w*|rotate\w*|rotation|flip|mirror|level the horizon|horizon|aspect ratio|square|"
     r"resize\w*|upscale\w*|enlarge\w*|zoom\w*|perspective|keystone|distortion|reframe|recompose\w*)\b",
     "cropping, rotating, resizing or other geometry"),
    (r"\b(noise|denoise\w*|grain|grainy|grainier)\b", "noise reduction and film grain"),
    (r"\bvignett\w*\b", "vignetting"),
    (r"\b(teeth|wrinkles?|blemish\w*|pimples?|acne|freckles?|smooth(er)? (the )?skin|skin smoothing|slim\w*|"
     r"thinner|bigger eyes|red[\s-]*eye|makeup|make-up|eye bags|airbrush\w*)\b", "retouching faces and bodies"),
    (r"\b(watermark|logo|text|caption|frame|border|sticker|signature|emoji)\b", "adding or removing text and graphics"),
    (r"\b(remove|erase|delete|get rid of|take out|edit out|clean up|photoshop out|cut out)\b.*\b(person|people|"
     r"man|woman|tourists?|photobomb\w*|objects?|things?|cars?|wires?|lines|poles?|trash|litter|dust|spots?|"
     r"birds?|dog|cat|animals?|buildings?|signs?|reflections?|glare|shadow of|him|her|them|it from)\b",
     "removing objects"),
    (r"\b(add|insert|put|place)\b.*\b(person|people|sun|moon|stars|rainbow|birds?|snow|rain|fog|mist|lens flare|"
     r"flare|light leaks?|objects?)\b", "adding objects or effects"),
    (r"\b(animate|video|gif|cartoon\w*|anime|painting|sketch|watercolou?r|oil paint\w*|pixel art|"
     r"3d|render)\b(?! (film|grade|look|stock|color))", "turning the photo into another medium"),
    (r"\b(expand|extend|outpaint\w*|uncrop\w*|fill in|inpaint\w*|restore (the )?(old|torn|damaged)|scratch\w*|"
     r"colori[sz]e\w*)\b", "generating or restoring image content"),
)
"""(pattern, what it asks for): requests outside tone and colour. A clause matching one is skipped."""

SUPPORTED = ("veraretouch changes tone and colour only: brightness, contrast, highlights, shadows, white balance, "
             "saturation, colour bands, black and white, toning, and named looks")


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
    """Lower-case with the multi-word phrases of `_REWRITES` folded into single words."""
    text = " " + request.lower() + " "
    for pattern, replacement in _REWRITES:
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
    return [clause.strip() for clause in _SPLIT.split(text) if clause and clause.strip()]


def parse_request(request: str) -> ParsedRequest:
    """Read a request into intents (see the module docstring); never raises on odd text."""
    parsed = ParsedRequest(request)
    text = re.sub(_REPLACEMENT, lambda m: re.sub(r"\b(with|for)\b", "using", m.group(0)), normalise(request))
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


def _read_clause(clause: str, inherited: tuple[int, str | None]) -> tuple[list[Intent], str | None, int]:
    """Intents of one clause, a "not X" constraint it states, and the verb sign it carried."""
    words = re.findall(r"[a-z]+", clause)
    strength = strength_of(clause) or inherited[1] or "medium"
    bands: tuple[str, ...] = tuple(dict.fromkeys(b for w in words if w in _BAND_WORDS for b in _BAND_WORDS[w]))
    zone = next((_ZONES[w] for w in words if w in _ZONES), None)
    colors = [w for w in words if w in _COLOR_WORDS]
    verb = 0
    for word in words:
        if word in _PLUS:
            verb = verb or +1
        elif word in _MINUS:
            verb = verb or -1
    too = (any(w in _TOO for w in words) or bool(re.search(r"\b(so|such)\b", clause) and not verb)
           or bool(_COMPLAINT.search(clause)))
    enough = "enough" in words
    negated = any(w in _NOT for w in words)
    deep = any(w in _DEEP for w in words)
    recover = any(w in _RECOVER for w in words)

    attribute, sign = None, 0
    for word in words:
        if word in _ADJECTIVES and not (word in ("golden",) and colors and zone):
            attribute, sign = _ADJECTIVES[word]
            break
    noun = next((_NOUNS[w] for w in words if w in _NOUNS), None)
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
        band, hue = _COLOR_WORDS[colors[0]]
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

    hue = _COLOR_WORDS[colors[0]][1] if colors and attribute == "toning" else None
    if attribute == "warmth" and zone in ("shadows", "highlights", "midtones"):
        attribute, hue, direction = "toning", (45.0 if direction > 0 else 215.0), +1
    if (
        attribute == "saturation"
        and not bands
        and colors
        and len(words) <= 3
        and _COLOR_WORDS[colors[0]][0] in HSL_BANDS
    ):
        bands = (_COLOR_WORDS[colors[0]][0],)
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
