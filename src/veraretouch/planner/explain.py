"""Explanations that are true: problems and plan per aspect, from a diagnosis measured on the photo and
the plan that was actually rendered, verified by the claim checker.

The photo is diagnosed on its own (`reasoning.diagnosis.diagnose`, at the size the training labels
were measured): each fault with its size and the numbers behind it. `reasoning.explanation.
write_explanation` states those findings and what the plan does about each, in the same size words;
`reasoning.text.check(..., measured=True)` then reads every claim and every stated number back against the
measurements and the plan, and checks that each fault and its fix agree in direction and size. A
wording the checker rejects is replaced by another (a new draw of the writer) up to ``ATTEMPTS``
times; if none passes, the failing spans fall back to the measured numbers and the plan's values,
and the contradictions that remain are reported with the explanation rather than hidden.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from ..plan import Plan
from ..reasoning.detector import FaultDetector
from ..reasoning.diagnosis import Diagnosis, diagnose
from ..reasoning.explanation import write_explanation
from ..reasoning.measure import LABEL_SIDE
from ..reasoning.text import ASPECTS, SPAN_KINDS, check, format_reasoning, span_name
from .features import planner_copy

ATTEMPTS = 16
ASPECT_TITLES = {"lighting": "Lighting", "global_color": "Global colour", "specific_color": "Specific colour"}


@dataclass
class Explanation:
    """Tagged reasoning ``text``, its spans ``aspect -> (problem, plan)``, the measurements it was
    checked against, any contradictions the checker still found (empty when all claims hold) and the
    diagnosis' findings (`reasoning.diagnosis.Diagnosis.to_record`)."""

    text: str
    spans: dict[str, tuple[str, str]]
    measurements: dict[str, float]
    contradictions: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)

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
                "checked": not self.contradictions, "contradictions": self.contradictions,
                "findings": self.findings}


def explain(image: torch.Tensor, plan: Plan, seed: int = 0, detector: FaultDetector | None = None) -> Explanation:
    """Explain ``plan`` for a ``(1, 3, H, W)`` photo; the first wording the checker accepts. ``detector``
    judges the photo's faults (default the shipped `reasoning.detector.FaultDetector`)."""
    diagnosis = diagnose(planner_copy(image.float(), LABEL_SIDE), detector)
    measurements = diagnosis.measurements
    findings = diagnosis.to_record()
    best = None
    for attempt in range(ATTEMPTS):
        reasoning = write_explanation(diagnosis, plan, random.Random(seed * 7919 + attempt))
        problems = check(reasoning.text, measurements, plan, measured=True)
        if not problems:
            return Explanation(reasoning.text, dict(reasoning.spans), measurements, findings=findings)
        if best is None or len(problems) < len(best[1]):
            best = (reasoning, problems)
    reasoning, problems = best
    spans = dict(reasoning.spans)
    failing = {c.span for c in problems}
    for aspect in ASPECTS:
        if any(span_name(aspect, kind) in failing for kind in SPAN_KINDS):
            spans[aspect] = _plain_facts(aspect, plan, diagnosis)
    text = format_reasoning(spans)
    remaining = check(text, measurements, plan, measured=True)
    return Explanation(text, spans, measurements, [f"{c.span}: {c.phrase}: {c.reason}" for c in remaining],
                       findings)


def _plain_facts(aspect: str, plan: Plan, diagnosis: Diagnosis) -> tuple[str, str]:
    """A verdict-free span pair: what was measured in this aspect and the plan's moves, as values."""
    from ..plan.xmp import format_value

    found = [f"{f.attribute} {f.state}: {f.evidence}" for f in diagnosis.of(aspect)]
    measured = ("Measured " + "; ".join(found) + ".") if found else "No fault measured in this aspect."
    moves = [f"{name} {format_value(name, value)}" for name, value in plan.by_aspect().get(aspect, {}).items()]
    if not moves:
        return measured, "Leave this aspect as it is."
    return measured, "Set " + ", ".join(moves) + "."
