"""Reasoning text for the planner and the checker that reads it back (`describe`, `check`).

- `tags`: the six tagged spans; `format_reasoning` writes them, `parse_tagged` reads them back.
- `facts`: `Claim` and `Reasoning`; magnitude words and edges, slider lookups, the brightness response of a
  plan, the measured image states a text may (`state_supported`) or may not (`state_contradicted`) state.
- `phrasing`: clauses and sentences for slider moves; `problems`: problem spans; `writer`: plan spans and
  `describe` / `describe_many`.
- `instructions`: `param_instruction`, `param_instruction_json`, `style_instructions`, `look_adjectives`.
- `lexicon` and `clauses`: the words and clause readers of the checker; `checker`: `parse_claims` and `check`.
"""
from .checker import EV_TOLERANCE, MAGNITUDE_SLACK, STRONG, TOLERANCE, Contradiction, check, parse_claims, parse_span
from .clauses import CONVERT_WORDS, MAKE_WORDS, MONOCHROME_WORDS, ParsedClaim
from .facts import (
    BRIGHTNESS_STEP,
    EXPOSURE_MAGNITUDE_EDGES,
    GLOBAL_SLIDER_OF,
    LIGHTING_SLIDER_OF,
    MAGNITUDES,
    NOTABLE_EV,
    NOTABLE_SLIDER,
    SLIDER_MAGNITUDE_EDGES,
    STOPS,
    ZONE_PARTNERS,
    Claim,
    Reasoning,
    brightness_change,
    hue_direction,
    magnitude_index,
    neighbour,
    slider_of,
    state_contradicted,
    state_supported,
    verb_forms,
)
from .instructions import (
    FILM_BRANDS,
    FILM_CATEGORIES,
    LOOK_WORDS,
    look_adjectives,
    param_instruction,
    param_instruction_json,
    style_instructions,
)
from .lexicon import (
    BRIGHTER_WORDS,
    COPULAS,
    CURVE_WORDS,
    DARKEN_WORDS,
    DARKER_WORDS,
    DOWN_WORDS,
    GLOBAL_NOUNS,
    IMAGE_WORDS,
    LIGHTING_NOUNS,
    RECOVER_WORDS,
    SKIP_WORDS,
    UP_WORDS,
    VERB_LEADS,
)
from .phrasing import ADVERBS, APPROXIMATELY, BAND_WORDS, COMPARATIVES, QUANTITIES
from .tags import (
    ASPECTS,
    GLOBAL_COLOR_PLAN,
    GLOBAL_COLOR_PROBLEM,
    LIGHTING_PLAN,
    LIGHTING_PROBLEM,
    SPAN_KINDS,
    SPAN_NAMES,
    SPECIFIC_COLOR_PLAN,
    SPECIFIC_COLOR_PROBLEM,
    TAGS,
    format_reasoning,
    parse_tagged,
    span_name,
)
from .writer import MAX_MOVES_IN_TEXT, describe, describe_many

__all__ = [
    "ADVERBS", "APPROXIMATELY", "ASPECTS", "BAND_WORDS", "BRIGHTER_WORDS", "BRIGHTNESS_STEP", "COMPARATIVES",
    "CONVERT_WORDS", "COPULAS", "CURVE_WORDS", "DARKEN_WORDS", "DARKER_WORDS", "DOWN_WORDS", "EV_TOLERANCE",
    "EXPOSURE_MAGNITUDE_EDGES", "FILM_BRANDS", "FILM_CATEGORIES", "GLOBAL_COLOR_PLAN", "GLOBAL_COLOR_PROBLEM",
    "GLOBAL_NOUNS", "GLOBAL_SLIDER_OF", "IMAGE_WORDS", "LIGHTING_NOUNS", "LIGHTING_PLAN", "LIGHTING_PROBLEM",
    "LIGHTING_SLIDER_OF", "LOOK_WORDS", "MAGNITUDE_SLACK", "MAGNITUDES", "MAKE_WORDS", "MAX_MOVES_IN_TEXT",
    "MONOCHROME_WORDS", "NOTABLE_EV", "NOTABLE_SLIDER", "QUANTITIES", "RECOVER_WORDS", "SKIP_WORDS",
    "SLIDER_MAGNITUDE_EDGES", "SPAN_KINDS", "SPAN_NAMES", "SPECIFIC_COLOR_PLAN", "SPECIFIC_COLOR_PROBLEM", "STOPS",
    "STRONG", "TAGS", "TOLERANCE", "UP_WORDS", "VERB_LEADS", "ZONE_PARTNERS", "Claim", "Contradiction",
    "ParsedClaim", "Reasoning", "brightness_change", "check", "describe", "describe_many", "format_reasoning",
    "hue_direction", "look_adjectives", "magnitude_index", "neighbour", "param_instruction",
    "param_instruction_json", "parse_claims", "parse_span", "parse_tagged", "slider_of", "span_name",
    "state_contradicted", "state_supported", "style_instructions", "verb_forms",
]
