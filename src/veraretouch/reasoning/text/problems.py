"""Problem spans: a fault only where the measurements show it and the plan corrects it, else the wanted
change without a verdict on the image, else "nothing to fix"."""
from __future__ import annotations

import random
import re

from ...plan import Plan
from ...plan.parameters import GLOBAL_COLOR, LIGHTING, SPECIFIC_COLOR
from ..measure import band_key
from .facts import (
    BRIGHTNESS_STEP,
    MAGNITUDES,
    NOTABLE_SLIDER,
    SLIDER_MAGNITUDE_EDGES,
    Claim,
    brightness_change,
    neighbour,
    state_supported,
)
from .phrasing import BAND_WORDS, Move, _plural


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


def _lighting_problems(moves: list[Move], m: dict[str, float], plan: Plan,
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


def _global_problems(moves: list[Move], m: dict[str, float], plan: Plan,
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


def _specific_problems(moves: list[Move], m: dict[str, float], rng: random.Random) -> list[tuple[str, Claim | None]]:
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
