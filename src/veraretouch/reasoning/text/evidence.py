"""Measured reasoning: the numbers a problem span states, read back and compared with the photo, and the
problem / plan pairs whose direction or size words must agree (`check(..., measured=True)`).

An explanation built from a diagnosis (`veraretouch.reasoning.diagnosis`) backs every fault with
numbers measured on the photo ("a warm cast: near-neutral surfaces average b* +9"). `EVIDENCE` lists
the phrases and the measurement each one states; `evidence_problems` reports

- a stated number more than `EVIDENCE_TOLERANCE` (absolute, or relative) from the measurement, or a
  number for a measurement the text was not given;
- a problem sentence that states a fault with no measured number in the same sentence;

and `pair_problems` reports a fault whose plan goes the other way in words ("too dark" with "darken"),
or whose size words are two or more steps of `MAGNITUDES` apart ("much too dark" with "raise the
exposure slightly"), unless the plan says it corrects only ``partly`` or ``beyond`` the fault.
"""
from __future__ import annotations

import re

from ...plan.parameters import HSL_BANDS
from .facts import MAGNITUDES
from .lexicon import _magnitude, _normalise, _sentences, _spoken_ev

EVIDENCE_TOLERANCE = (1.5, 0.15)
"""A stated number may differ from the measurement by 1.5 units or 15 %, whichever is larger (the text
rounds to whole units)."""
_N = r"([+-]?\d+(?:\.\d+)?)"
EVIDENCE: tuple[tuple[str, str, float], ...] = (
    (rf"median luminance {_N} %", "median_luminance", 100.0),
    (rf"white point {_N} %", "white_point", 1.0),
    (rf"black point {_N} %", "black_point", 1.0),
    (rf"{_N} % of pixels clip to white", "highlight_clipping", 100.0),
    (rf"{_N} % of pixels clipped to black", "shadow_clipping", 100.0),
    (rf"and {_N} % to white", "highlight_clipping", 100.0),
    (rf"near-neutral surfaces average a\* {_N}", "cast_a_neutral", 1.0),
    (rf"near-neutral surfaces average b\* {_N}", "cast_b_neutral", 1.0),
    (rf"a grey would read a\* {_N}", "cast_a_median", 1.0),
    (rf"a grey would read b\* {_N}", "cast_b_median", 1.0),
    (rf"grey estimates span a\* {_N}", "cast_a_min", 1.0),
    (rf"grey estimates span a\* [+-]?\d+ to {_N}", "cast_a_max", 1.0),
    (rf"grey estimates span b\* {_N}", "cast_b_min", 1.0),
    (rf"grey estimates span b\* [+-]?\d+ to {_N}", "cast_b_max", 1.0),
    (rf"the brightest tones peak at r {_N} %", "top_r", 1.0),
    (rf"the brightest tones peak at r \d+ %, g {_N} %", "top_g", 1.0),
    (rf"the brightest tones peak at r \d+ %, g \d+ %, b {_N} %", "top_b", 1.0),
    (rf"90th-percentile chroma {_N}", "chroma_p90", 1.0),
    (rf"mid-tones reach {_N} % saturation", "saturation_p99", 1.0),
    (rf"{_N} % of colourful pixels at the gamut edge", "gamut_edge_share", 100.0),
    (rf"l\* spread {_N}", "lightness_spread", 1.0),
)
"""(phrase with one number, measurement key, scale from the measurement to the stated unit)."""
_BAND_NAMES = "|".join(band.lower() for band in HSL_BANDS)
BAND_EVIDENCE: tuple[tuple[str, str, float], ...] = (
    (rf"(?P<band>{_BAND_NAMES})s cover {_N} % of the frame", "share", 100.0),
    (rf"(?P<band>{_BAND_NAMES})s cover \d+ % of the frame, {_N} degrees from their usual hue", "hue_offset", 1.0),
    (rf"(?P<band>{_BAND_NAMES})s cover \d+ % of the frame at chroma {_N}", "chroma", 1.0),
)
"""Band phrases: the band named in the phrase, its `reasoning.measure` quantity, scale (hue: unsigned)."""
PARTIAL_WORDS = ("partly", "partially", "beyond")
_COMPILED = tuple((re.compile(pattern), key, scale) for pattern, key, scale in EVIDENCE)
_COMPILED_BANDS = tuple((re.compile(pattern), key, scale) for pattern, key, scale in BAND_EVIDENCE)
_RELATED = {
    "exposure": ("exposure", "brightness"), "contrast": ("contrast",), "temperature": ("temperature",),
    "tint": ("tint",), "saturation": ("saturation", "vibrance", "colourfulness"),
    "highlights": ("highlights", "whites"), "whites": ("highlights", "whites"),
    "shadows": ("shadows", "blacks"), "blacks": ("shadows", "blacks"),
}


def stated_evidence(sentence: str) -> list[tuple[str, float, float | None]]:
    """Every measured number a sentence states: ``(measurement key, stated value, scale)``; a band's
    hue offset is stated unsigned (scale None: compare magnitudes)."""
    text = sentence.lower()
    found = [(key, float(match.group(1)), scale) for pattern, key, scale in _COMPILED
             for match in pattern.finditer(text)]
    for pattern, quantity, scale in _COMPILED_BANDS:
        for match in pattern.finditer(text):
            key = f"{match.group('band')}_{quantity}"
            found.append((key, float(match.group(2)), None if quantity == "hue_offset" else scale))
    return found


def _number_problem(key: str, stated: float, scale: float | None, m: dict[str, float]) -> str | None:
    if key not in m:
        return f"states {stated:g} for {key.replace('_', ' ')}, which was not measured"
    actual = abs(m[key]) if scale is None else m[key] * scale
    allowed = max(EVIDENCE_TOLERANCE[0], EVIDENCE_TOLERANCE[1] * abs(actual))
    if abs(stated - actual) > allowed:
        return f"states {stated:g} for {key.replace('_', ' ')}, but it measures {actual:.1f}"
    return None


def evidence_problems(spans: dict[str, str], m: dict[str, float]) -> list[tuple[str, str, str]]:
    """``(span, phrase, reason)`` for each wrong or unmeasured number, and each problem sentence that
    states a fault without a measured number."""
    from .checker import parse_span

    found = []
    for name, content in spans.items():
        aspect, kind = name.rsplit("_", 1)
        for sentence in _sentences(content):
            stated = stated_evidence(sentence)
            for key, value, scale in stated:
                reason = _number_problem(key, value, scale, m)
                if reason:
                    found.append((name, sentence.strip(), reason))
            if kind != "problem" or stated:
                continue
            faults = [p for p in parse_span(aspect, kind, sentence) if p.claim.direction in ("low", "high")]
            if faults:
                found.append((name, sentence.strip(), "states a fault with no measured number behind it"))
    return found


def _size_level(phrase: str, attribute: str) -> int | None:
    """The size a clause speaks of, as an index into `MAGNITUDES`: its magnitude words, or a spoken
    exposure amount (a third of a stop slight .. two stops or more very strong)."""
    level = _magnitude(_normalise(phrase))
    if level is None and attribute in ("exposure", "brightness"):
        ev = _spoken_ev(_normalise(phrase))
        if ev is not None:
            level = sum(ev >= edge for edge in (0.5, 1.0, 2.0))
    return level


def pair_problems(spans: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(span, phrase, reason)`` for a stated fault whose plan, in words, moves the wrong way or by a
    size two or more `MAGNITUDES` steps from the fault's."""
    from .checker import parse_span
    from .tags import ASPECTS, span_name

    found = []
    for aspect in ASPECTS:
        problem = spans.get(span_name(aspect, "problem")) or ""
        plan = spans.get(span_name(aspect, "plan")) or ""
        plan_sentences = _sentences(plan)
        actions = [(parsed, sentence) for sentence in plan_sentences
                   for parsed in parse_span(aspect, "plan", sentence) if parsed.claim.direction in ("up", "down")]
        for fault in parse_span(aspect, "problem", problem):
            claim = fault.claim
            if claim.direction not in ("low", "high") or not fault.corrective:
                continue
            related = [(p, s) for p, s in actions if p.claim.attribute in _RELATED.get(claim.attribute, ())
                       and p.claim.band == claim.band]
            if not related:
                continue
            fixing = "up" if claim.direction == "low" else "down"
            if claim.attribute == "hue":
                fixing = "down" if claim.direction == "high" else "up"
            if all(p.claim.direction != fixing for p, _ in related):
                found.append((span_name(aspect, "plan"), related[0][0].phrase,
                              f"the problem calls the {claim.attribute} {claim.direction}, but the plan moves it "
                              f"{related[0][0].claim.direction}"))
                continue
            problem_level = _size_level(fault.phrase, claim.attribute)
            for parsed, sentence in related:
                plan_level = _size_level(parsed.phrase, parsed.claim.attribute)
                if parsed.claim.direction != fixing or problem_level is None or plan_level is None:
                    continue
                if abs(problem_level - plan_level) >= 2 and not any(w in sentence.lower() for w in PARTIAL_WORDS):
                    found.append((span_name(aspect, "plan"), parsed.phrase,
                                  f"the problem is {MAGNITUDES[problem_level]} ({fault.phrase!r}), but the plan "
                                  f"calls its move {MAGNITUDES[plan_level]}"))
    return found

