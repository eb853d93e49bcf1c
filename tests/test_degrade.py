"""Degradation sampling for inverse-degradation data."""
from __future__ import annotations

import torch

from veraretouch.data.degrade import KINDS, sample_degradations
from veraretouch.plan import Plan
from veraretouch.plan.parameters import ASPECTS, PARAM_GROUP_IDS, SLIDERS


def sample(count: int = 300, seed: int = 0):
    return sample_degradations(count, torch.Generator().manual_seed(seed))


def test_same_seed_same_degradations_and_values_are_valid_plans():
    first, second = sample(seed=3), sample(seed=3)
    assert torch.equal(first.params, second.params) and first.kinds == second.kinds
    for row in first.params[:50]:
        Plan.from_tensor(row)  # validates every range


def test_each_sample_touches_one_to_three_aspects_and_only_those():
    kind_aspect = {kind.name: kind.aspect for kind in KINDS}
    degradations = sample()
    counts = []
    for params, kinds in zip(degradations.params, degradations.kinds):
        aspects = {kind_aspect.get(kind, "specific_color") for kind in kinds}
        counts.append(len(aspects))
        moved = {ASPECTS[int(PARAM_GROUP_IDS[i])] for i in range(len(SLIDERS)) if params[i] != 0}
        assert moved <= aspects, (kinds, moved)
    assert set(counts) == {1, 2, 3}


def test_kinds_match_the_direction_of_their_sliders():
    index = {spec.name: i for i, spec in enumerate(SLIDERS)}
    for params, kinds in zip(sample().params, sample().kinds):
        if "underexposed" in kinds:
            assert params[index["Exposure2012"]] < -0.3
        if "cool cast" in kinds:
            assert params[index["IncrementalTemperature"]] < -10
        for kind in kinds:
            if kind.endswith("muted"):
                band = kind.split("s ")[0].capitalize()
                assert params[index[f"SaturationAdjustment{band}"]] < -20


def test_scale_makes_degradations_subtler():
    strong = sample(seed=1).params[:, :len(SLIDERS)].abs().mean()
    subtle = sample_degradations(300, torch.Generator().manual_seed(1), scale=0.5).params[:, :len(SLIDERS)].abs().mean()
    assert subtle < 0.7 * strong
