"""DAPO-AE rewards: format, similarity, aesthetic, and their combination."""
from __future__ import annotations

import pytest
import torch

from veraretouch.evaluation.aesthetic import AestheticCritic, AestheticCriticConfig
from veraretouch.operators import render
from veraretouch.plan.parameters import default_params, param_index
from veraretouch.planner.vlm_tokens import RETOUCH_TOKENS, build_answer
from veraretouch.reasoning.text.tags import format_reasoning
from veraretouch.training.rewards import (
    RewardWeights,
    aesthetic_reward,
    combine_rewards,
    format_checks,
    format_reward,
    format_rewards,
    similarity_reward,
)

SPANS = format_reasoning({
    "lighting": ("The photo is too dark.", "Raise the exposure by half a stop."),
    "global_color": ("There is a slight warm cast.", "Cool the temperature a little."),
    "specific_color": ("The greens look muted.", "Saturate the greens slightly."),
})
LIGHT, COLOR, MIXER = RETOUCH_TOKENS
WELL_FORMED = build_answer(SPANS)


def test_format_reward_accepts_a_well_formed_answer():
    assert format_reward(WELL_FORMED) == 1.0
    assert all(format_checks(WELL_FORMED).values())


@pytest.mark.parametrize("text", [
    f"{SPANS}\n{LIGHT}{MIXER}",                                           # a token missing
    f"{SPANS}\n{COLOR}{LIGHT}{MIXER}",                                    # tokens out of order
    f"{SPANS}\n{LIGHT}{LIGHT}{COLOR}{MIXER}",                             # a token twice
    f"{LIGHT}{COLOR}{MIXER}\n{SPANS}",                                    # tokens before the spans
    f"{SPANS.split(chr(10), 1)[1]}\n{LIGHT}{COLOR}{MIXER}",              # a span missing
    WELL_FORMED.replace("<lighting_plan>", "<global_color_plan>", 1),     # a span misnamed / repeated
    WELL_FORMED.replace("The greens look muted.", ""),                   # an empty span
    "",
])
def test_format_reward_rejects_broken_answers(text):
    assert format_reward(text) == 0.0


def test_partial_format_credit_counts_passed_checks():
    assert format_reward(WELL_FORMED, partial=True) == 1.0
    one_missing = f"{SPANS}\n{LIGHT}{COLOR}"
    assert format_reward(one_missing, partial=True) == pytest.approx(3 / 5)   # spans + two tokens
    assert format_reward("", partial=True) == 0.0
    assert format_rewards([WELL_FORMED, one_missing]).tolist() == [1.0, 0.0]


def _photo() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    field = torch.rand(2, 3, 4, 4, generator=generator)
    smooth = torch.nn.functional.interpolate(field, size=(24, 24), mode="bilinear")
    return 0.2 + 0.6 * smooth


def test_similarity_reward_is_two_for_identical_images_and_lower_for_an_edit():
    photo = _photo()
    params = default_params(2)
    params[:, param_index("Exposure2012")] = 0.7
    edited = render(photo, params).float()
    same = similarity_reward(photo, photo)
    assert same.shape == (2,) and torch.allclose(same, torch.full((2,), 2.0), atol=1e-5)
    assert (similarity_reward(edited, photo) < same - 0.05).all()


def test_similarity_reward_on_colour_sets_matches_images():
    photo = _photo()
    edited = (photo * 1.2).clamp(0, 1)
    colors = photo.flatten(2).transpose(1, 2)
    edited_colors = edited.flatten(2).transpose(1, 2)
    assert torch.allclose(similarity_reward(edited_colors, colors), similarity_reward(edited, photo), atol=1e-5)


def test_aesthetic_reward_and_combination():
    critic = AestheticCritic(AestheticCriticConfig(hidden=8, layers=1)).eval()
    photo = _photo()
    reward = aesthetic_reward(critic, photo)
    assert reward.shape == (2,) and ((reward > 0) & (reward < 1)).all()
    assert aesthetic_reward(critic, photo.flatten(2).transpose(1, 2)).shape == (2,)
    terms = {"similarity": torch.tensor([2.0, 1.0]), "aesthetic": torch.tensor([0.5, 0.5])}
    combined = combine_rewards(terms, RewardWeights(similarity=1.0, aesthetic=2.0),
                               active={"aesthetic": torch.tensor([True, False])})
    assert combined.tolist() == pytest.approx([3.0, 1.0])
    with pytest.raises(ValueError):
        combine_rewards({}, RewardWeights())
