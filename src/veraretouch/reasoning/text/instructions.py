"""Instructions for a training pair: `param_instruction` / `param_instruction_json` (a request for a
plan's slider moves, in words or as a VeraRetouch param file) and `style_instructions` (requests for a
named preset look, with `look_adjectives` from its description)."""
from __future__ import annotations

import json
import random
import re

from ...plan import Plan
from ...plan.jsonplan import plan_to_param_file
from ...plan.parameters import HSL_BANDS, SPECIFIC_COLOR
from .phrasing import _and_list, _join, action_clause, capitalise, notable_moves
from .tags import ASPECTS

# ------------------------------------------------------------------------------------------ slider requests
_REQUEST_OPENERS = ("", "Please ", "Could you ", "Can you ", "I'd like you to ", "Edit this photo: ",
                    "Retouch it: ", "Go ahead and ")


def param_instruction(plan: Plan, rng: random.Random) -> str:
    """A plain-language request for every notable slider move of ``plan`` (lighting, then colour).

    E.g. "Please raise the exposure by about half a stop, lift the shadows a lot and cool it slightly."
    Uses the same phrasings as the plan spans, so `veraretouch.reasoning.text.checker` can read it back.
    """
    moves = notable_moves(plan)
    clauses = []
    for aspect in ASPECTS:
        items = list(moves[aspect])
        if aspect == SPECIFIC_COLOR:
            items.sort(key=lambda move: HSL_BANDS.index(move.band))
        elif rng.random() < 0.5:
            rng.shuffle(items)
        previous_band = None
        for move in items:
            clauses.append(action_clause(move, rng, 0, pronoun=move.band is not None and move.band == previous_band,
                                          note=0.15))
            previous_band = move.band
    if not clauses:
        return rng.choice(("Leave this photo as it is.", "No changes, please.", "Keep the image unchanged."))
    opener = rng.choice(_REQUEST_OPENERS)
    text = capitalise(opener + _join(clauses, rng))
    return text + ("?" if opener in ("Could you ", "Can you ") else ".")


def param_instruction_json(plan: Plan, include_defaults: bool = False) -> str:
    """The plan's 38 sliders as a VeraRetouch param file: ``{"Exposure2012": {"value": 50}, ...}``.

    Exposure is in hundredths of an EV, every other slider in slider units, all rounded to integers
    (`veraretouch.plan.jsonplan`); colour grading, monochrome and curves are not carried. Sliders at 0
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
            candidates.append(rng.choice(_ADJECTIVE_TEMPLATES).format(w=wanted, W=capitalise(wanted)))
            if rng.random() < 0.5:
                candidates.append(rng.choice(_COMBINED_TEMPLATES).format(name=display, w=wanted, a=article))
    unique = list(dict.fromkeys(capitalise(text.strip()) for text in candidates))
    rng.shuffle(unique)
    return unique[:count]
