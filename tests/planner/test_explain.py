"""Checked explanations of a plan for a photo (planner.explain)."""
from __future__ import annotations

import json

import pytest
import torch
from support import as_tensor

from veraretouch.operators import render
from veraretouch.plan import Plan
from veraretouch.plan.parameters import ASPECTS
from veraretouch.planner import explain


# ------------------------------------------------------------------------------- explanations
@pytest.fixture(scope="module")
def dark_photo(sample_rgb) -> torch.Tensor:
    return render(as_tensor(sample_rgb), Plan({"Exposure2012": -1.0}).to_tensor()[None]).clamp(0, 1)


def claims_of(text: str):
    from veraretouch.reasoning.text import parse_claims

    return [parsed.claim for parsed in parse_claims(text)]


def test_explaining_a_brightening_plan_for_a_dark_photo(dark_photo):
    from veraretouch.reasoning.text import check

    plan = Plan({"Exposure2012": 1.0, "Shadows2012": 20})
    explanation = explain(dark_photo, plan)
    assert explanation.contradictions == [] and check(explanation.text, explanation.measurements, plan) == []
    problem, plan_text = explanation.spans["lighting"]
    assert problem.strip() and plan_text.strip()
    lighting_plan = [c for c in claims_of(explanation.text) if c.aspect == "lighting" and c.span == "plan"]
    assert any(c.attribute == "exposure" and c.direction == "up" for c in lighting_plan), lighting_plan
    record = json.loads(json.dumps(explanation.to_record()))
    assert record["checked"] is True and set(record["aspects"]) == set(ASPECTS)
    assert record["aspects"]["lighting"]["plan"] == plan_text
    pretty = explanation.pretty()
    assert all(title in pretty for title in ("Lighting:", "Global colour:", "Specific colour:"))


def test_explaining_the_identity_plan_says_nothing_needs_doing(dark_photo):
    explanation = explain(dark_photo, Plan())
    assert explanation.contradictions == []
    plan_claims = [c for c in claims_of(explanation.text) if c.span == "plan"]
    assert {c.aspect for c in plan_claims} == set(ASPECTS) and all(c.direction == "none" for c in plan_claims)
    assert json.loads(json.dumps(explanation.to_record()))["checked"] is True


def test_a_wording_the_checker_rejects_falls_back_to_plain_facts(dark_photo, monkeypatch):
    """When every draw of the writer lies ("brighten" for a darkening plan), the lighting spans
    become the plan's values and nothing false is left in the text."""
    import importlib

    from veraretouch.reasoning.text import Reasoning, format_reasoning

    spans = {"lighting": ("The photo is too dark.", "I'll brighten it a lot."),
             "global_color": ("There is no colour cast to fix.", "Nothing to change in the global colour."),
             "specific_color": ("There is no per-colour problem to fix.", "Nothing to change colour by colour.")}
    module = importlib.import_module("veraretouch.planner.explain")  # the package's `explain` is the function
    calls = []

    def lying(diagnosis, plan, rng):
        calls.append(1)
        return Reasoning(format_reasoning(spans), spans, ())

    monkeypatch.setattr(module, "write_explanation", lying)
    plan = Plan({"Exposure2012": -0.5})
    explanation = explain(dark_photo, plan)
    assert len(calls) == module.ATTEMPTS
    assert (
        explanation.spans["lighting"][1].startswith("Set Exposure2012") and "-0.5" in explanation.spans["lighting"][1]
    )
    assert explanation.spans["global_color"] == spans["global_color"], "spans that passed are kept"
    assert explanation.contradictions == [] and explanation.to_record()["checked"] is True
