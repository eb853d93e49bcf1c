"""Contradiction checker for reasoning text: ours, or later the planner's own output.

`check(text, input_measurements, plan)` reads the six tagged spans (`veraretouch.reasoning.text.tags.TAGS`)
clause by clause with a lexicon of attribute nouns and direction words per aspect, and reports:

(a) a stated image fault that the measurements rule out ("too dark" at median L*/100 0.7, a "warm
    cast" with neutral b* -6), see `facts.state_contradicted`;
(b) a described change that the plan's sliders contradict ("warm it" with Temperature -20; "brighten"
    while exposure and tone sliders together darken a grey at the input's median; a magnitude word or a
    stated number far from the slider; "leave the tones as they are" next to a strong tone move), and a
    stated fault whose fix the plan makes worse ("underexposed" while the plan darkens);
(c) missing, repeated, nested, unclosed, empty or misordered tags;
(d) with ``measured=True`` (explanations built from a diagnosis): a stated number that the
    measurements do not bear out, a fault stated without a measured number, and a problem / plan pair
    whose direction or size words disagree (`evidence`).

It is conservative: a clause with a negation, a hedge it cannot read ("keep", "rather than", "if") or
conflicting cues is skipped; a zone claim stands when either slider on that zone supports it; numbers
need a clear margin (`TOLERANCE`, `facts.state_contradicted`). Silence is therefore no proof of
truth, but each reported contradiction names the span, the phrase and the numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...plan import Plan
from ...plan.parameters import GLOBAL_COLOR, LIGHTING, SLIDERS, SPECIFIC_COLOR
from .clauses import ParsedClaim, _global, _lighting, _specific
from .evidence import evidence_problems, pair_problems
from .facts import (
    BRIGHTNESS_STEP,
    EXPOSURE_MAGNITUDE_EDGES,
    MAGNITUDES,
    NOTABLE_EV,
    SLIDER_MAGNITUDE_EDGES,
    ZONE_PARTNERS,
    Claim,
    brightness_change,
    magnitude_index,
    slider_of,
    state_contradicted,
)
from .lexicon import (
    _BAND_OF,
    _NONE_PATTERN,
    _NOTE_PATTERN,
    GLOBAL_NOUNS,
    LIGHTING_NOUNS,
    SKIP_WORDS,
    _clauses,
    _normalise,
    _sentences,
    _spoken_ev,
    _stated,
    _words,
)
from .tags import ASPECTS, parse_tagged, span_name

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


# ------------------------------------------------------------------------------------------ reading
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


def fix_problem(claim: Claim, plan: Plan, m: dict[str, float]) -> str | None:
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
        sliders = [spec.name for spec in SLIDERS if spec.aspect == claim.aspect
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


def check(text: str, input_measurements: dict[str, float], plan: Plan, measured: bool = False) -> list[Contradiction]:
    """Contradictions between a reasoning text, the input's measurements and the plan (module docstring);
    ``measured``: also every stated number against the measurements, a fault stated without one, and
    problem / plan pairs whose direction or size words disagree (`evidence`)."""
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
                reasons.append(fix_problem(claim, plan, m))
        else:
            reasons.append(_action_problem(claim, plan, m))
            reasons.append(_magnitude_problem(parsed, plan))
        found.extend(Contradiction(where, parsed.phrase, reason) for reason in reasons if reason)
    if measured:
        found.extend(Contradiction(*problem) for problem in evidence_problems(spans, m) + pair_problems(spans))
    return found
