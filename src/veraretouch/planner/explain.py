"""Explanations that are true: problems and plan per aspect, from measurements of the photo and the
plan that was actually rendered, verified by the claim checker.

The text is written by the data set's reasoning writer (`data.text.describe`) from
`data.measure.measure` of the photo (at the size the training labels were measured) and the plan;
`data.text.check` then reads every claim back against those numbers. A wording the checker
rejects is replaced by another (a new draw of the writer) up to ``ATTEMPTS`` times; if none
passes, the failing spans fall back to plain facts of the plan, and the contradictions that
remain are reported with the explanation rather than hidden.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from ..data.measure import measure
from ..data.samples import LABEL_SIDE
from ..data.text import ASPECTS, SPAN_KINDS, check, describe, format_reasoning, span_name
from ..plan import Plan
from .features import planner_copy

ATTEMPTS = 16
ASPECT_TITLES = {"lighting": "Lighting", "global_color": "Global colour", "specific_color": "Specific colour"}


@dataclass
class Explanation:
    """Tagged reasoning ``text``, its spans ``aspect -> (problem, plan)``, the measurements it was
    checked against, and any contradictions the checker still found (empty when all claims hold)."""

    text: str
    spans: dict[str, tuple[str, str]]
    measurements: dict[str, float]
    contradictions: list[str] = field(default_factory=list)

    def pretty(self) -> str:
        """Human-readable: one block per aspect with its problem and plan."""
        lines = []
        for aspect in ASPECTS:
            problem, plan = self.spans[aspect]
            lines += [f"{ASPECT_TITLES[aspect]}:", f"  problem: {problem}", f"  plan:    {plan}"]
        return "\n".join(lines)

    def to_record(self) -> dict:
        return {"text": self.text,
                "aspects": {aspect: {"problem": p, "plan": q} for aspect, (p, q) in self.spans.items()},
                "checked": not self.contradictions, "contradictions": self.contradictions}


def explain(image: torch.Tensor, plan: Plan, seed: int = 0) -> Explanation:
    """Explain ``plan`` for a ``(1, 3, H, W)`` photo; the first wording the checker accepts."""
    measurements = {k: float(v) for k, v in measure(planner_copy(image.float(), LABEL_SIDE))[0].items()}
    best = None
    for attempt in range(ATTEMPTS):
        reasoning = describe(measurements, plan, random.Random(seed * 7919 + attempt))
        problems = check(reasoning.text, measurements, plan)
        if not problems:
            return Explanation(reasoning.text, dict(reasoning.spans), measurements)
        if best is None or len(problems) < len(best[1]):
            best = (reasoning, problems)
    reasoning, problems = best
    spans = dict(reasoning.spans)
    failing = {c.span for c in problems}
    for aspect in ASPECTS:
        if any(span_name(aspect, kind) in failing for kind in SPAN_KINDS):
            spans[aspect] = _plain_facts(aspect, plan)
    text = format_reasoning(spans)
    remaining = check(text, measurements, plan)
    return Explanation(text, spans, measurements, [f"{c.span}: {c.phrase}: {c.reason}" for c in remaining])


def _plain_facts(aspect: str, plan: Plan) -> tuple[str, str]:
    """A verdict-free span pair: the plan's moves in this aspect, stated as values."""
    from ..formats.xmp import format_value

    moves = [f"{name} {format_value(name, value)}" for name, value in plan.by_group().get(aspect, {}).items()]
    if not moves:
        return "Nothing to report here.", "Leave this aspect as it is."
    return "The edit changes this aspect.", "Set " + ", ".join(moves) + "."
