"""DAPO's functional core, its trainer on toy policies, and the compact planner as a Gaussian policy."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.distributions import Categorical, Normal

from veraretouch.encoders.slider import SliderEncoder, SliderEncoderConfig
from veraretouch.plan.parameters import default_params, param_index
from veraretouch.planner.compact import PLAN_FEATURES, CompactPlanner, CompactPlannerConfig
from veraretouch.planner.features import FEATURE_SIZE
from veraretouch.renderer import RendererConfig, RetouchRenderer
from veraretouch.training.dapo import (
    DAPOConfig,
    DAPOTrainer,
    Rollouts,
    clipped_policy_loss,
    concat_rollouts,
    group_advantages,
    keep_informative_groups,
    overlong_penalty,
)
from veraretouch.training.policies import (
    GaussianPlanPolicy,
    cache_prompt_sampler,
    compact_dapo_config,
    curve_feature_mask,
    plan_reward_fn,
)
from veraretouch.training.rewards import similarity_reward


def test_group_advantages_are_standardised_and_zero_for_constant_groups():
    rewards = torch.tensor([[0.1, 0.5, 0.9, 0.3], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 2.0]])
    advantages = group_advantages(rewards)
    informative = advantages[[0, 2]]
    assert torch.allclose(informative.mean(dim=1), torch.zeros(2), atol=1e-6)
    assert torch.allclose(informative.std(dim=1, correction=0), torch.ones(2), atol=1e-4)
    assert torch.equal(advantages[1], torch.zeros(4))
    assert advantages[2, 3] > 0 > advantages[2, 0]


def test_keep_informative_groups_drops_constant_groups():
    rewards = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [2.0, 2.0, 2.0], [0.2, 0.3, 0.2]])
    assert keep_informative_groups(rewards).tolist() == [False, True, False, True]
    assert keep_informative_groups(rewards, tolerance=0.15).tolist() == [False, True, False, False]


def _ratio_gradient(ratio: float, advantage: float) -> tuple[float, dict]:
    new = torch.tensor([[math.log(ratio)]], requires_grad=True)
    loss, stats = clipped_policy_loss(new, torch.zeros(1, 1), torch.tensor([advantage]), torch.ones(1, 1),
                                      clip_low=0.2, clip_high=0.28)
    loss.backward()
    return float(new.grad), stats


@pytest.mark.parametrize("ratio, advantage, clipped", [
    (1.35, 1.0, True),     # positive advantage beyond 1 + clip_high: clipped
    (1.25, 1.0, False),    # inside the upper range (clip-higher lets it grow past 1.2)
    (0.7, 1.0, False),     # positive advantage, ratio fell: the objective still pulls it up
    (0.75, -1.0, True),    # negative advantage beyond 1 - clip_low: clipped
    (0.85, -1.0, False),   # inside the lower range
    (1.4, -1.0, False),    # negative advantage, ratio grew: still pushed down
])
def test_clip_higher_trust_region(ratio, advantage, clipped):
    gradient, stats = _ratio_gradient(ratio, advantage)
    if clipped:
        assert gradient == 0.0
        assert stats["clip_high_fraction" if advantage > 0 else "clip_low_fraction"] == 1.0
    else:
        assert gradient == pytest.approx(-advantage * ratio, rel=1e-5)
        assert stats["clip_high_fraction"] == stats["clip_low_fraction"] == 0.0


def test_token_level_and_sample_level_averaging():
    mask = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    logprobs = torch.zeros(2, 3)
    advantages = torch.tensor([1.0, -1.0])
    token, stats = clipped_policy_loss(logprobs, logprobs, advantages, mask, token_level=True)
    sample, _ = clipped_policy_loss(logprobs, logprobs, advantages, mask, token_level=False)
    assert float(token) == pytest.approx((-1.0 + 3 * 1.0) / 4)      # every token weighs the same
    assert float(sample) == pytest.approx(0.0)                       # every sample weighs the same
    assert stats["approx_kl"] == pytest.approx(0.0)


def test_kl_term_needs_a_reference():
    logprobs = torch.zeros(1, 1)
    with pytest.raises(ValueError):
        clipped_policy_loss(logprobs, logprobs, torch.ones(1), torch.ones(1, 1), kl_coef=0.1)
    loss, _ = clipped_policy_loss(logprobs, logprobs, torch.zeros(1), torch.ones(1, 1),
                                  reference_logprobs=torch.full((1, 1), -1.0), kl_coef=0.5)
    assert float(loss) == pytest.approx(0.5 * (math.exp(-1.0) + 1.0 - 1.0))


def test_overlong_penalty_shape():
    lengths = torch.tensor([5, 6, 8, 10, 12])
    penalty = overlong_penalty(lengths, max_length=10, buffer=4, penalty=1.0)
    assert penalty.tolist() == pytest.approx([0.0, 0.0, -0.5, -1.0, -1.0])


class GaussianToy(nn.Module):
    """A prompt-free 2-D Gaussian policy: one "token" per sample."""

    def __init__(self) -> None:
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(2))
        self.log_std = nn.Parameter(torch.full((2,), math.log(0.5)))
        self.generator = torch.Generator().manual_seed(1)

    def _distribution(self, rows: int) -> Normal:
        return Normal(self.loc.expand(rows, 2), self.log_std.exp())

    def sample(self, prompts, group_size):
        with torch.no_grad():
            rows = len(prompts) * group_size
            actions = self.loc + self.log_std.exp() * torch.randn(rows, 2, generator=self.generator)
            logprobs = self._distribution(rows).log_prob(actions).sum(1, keepdim=True)
        return Rollouts(actions, logprobs, torch.ones(rows, 1), torch.ones(rows, dtype=torch.long))

    def log_probs(self, prompts, rollouts):
        return self._distribution(len(rollouts.actions)).log_prob(rollouts.actions).sum(1, keepdim=True)


def test_dapo_improves_a_gaussian_policy():
    torch.manual_seed(0)
    target = torch.tensor([1.0, -0.5])
    policy = GaussianToy()

    def reward(prompts, rollouts):
        return -(rollouts.actions - target).square().sum(dim=1)

    config = DAPOConfig(group_size=16, prompts_per_batch=8, minibatches=2, epochs=2, learning_rate=0.05,
                        warmup_steps=1, weight_decay=0.0)
    trainer = DAPOTrainer(policy, reward, config)
    before = float(reward(None, Rollouts(policy.loc.detach()[None], None, None, None)))
    history = [trainer.step(lambda count: list(range(count))) for _ in range(30)]
    after = float(reward(None, Rollouts(policy.loc.detach()[None], None, None, None)))
    assert after > before + 0.8
    assert history[-1]["reward_mean"] > history[0]["reward_mean"]
    assert all(stats["skipped"] == 0.0 for stats in history)


class TokenBandit(nn.Module):
    """Text-like toy: sequences of 1-3 tokens from one categorical; per-token log-probs, padded."""

    def __init__(self, vocabulary: int = 5) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(vocabulary))
        self.generator = torch.Generator().manual_seed(2)

    def sample(self, prompts, group_size):
        rows = len(prompts) * group_size
        lengths = torch.randint(1, 4, (rows,), generator=self.generator)
        probabilities = self.logits.detach().softmax(0)
        tokens = torch.multinomial(probabilities, rows * 3, replacement=True, generator=self.generator).reshape(rows, 3)
        mask = (torch.arange(3) < lengths[:, None]).float()
        rollouts = Rollouts(tokens, torch.zeros(rows, 3), mask, lengths)
        rollouts.logprobs = self.log_probs(prompts, rollouts).detach()
        return rollouts

    def log_probs(self, prompts, rollouts):
        return Categorical(logits=self.logits).log_prob(rollouts.actions) * rollouts.mask


def test_dapo_dynamic_sampling_on_a_token_bandit():
    torch.manual_seed(0)
    policy = TokenBandit()
    drawn_prompts = []

    def draw(count):
        drawn_prompts.append(count)
        return list(range(count))

    def reward(prompts, rollouts):
        hits = ((rollouts.actions == 2).float() * rollouts.mask).sum(1)
        return (hits == rollouts.lengths).float()           # binary: all tokens are token 2

    config = DAPOConfig(group_size=4, prompts_per_batch=8, minibatches=2, learning_rate=0.1, warmup_steps=1,
                        weight_decay=0.0, max_draws=20)
    trainer = DAPOTrainer(policy, reward, config)
    batch = trainer.sample_batch(draw)
    assert batch.draws > 1 and batch.rewards.shape == (8, 4)              # constant groups dropped, refilled
    assert keep_informative_groups(batch.rewards).all()
    assert batch.rollouts.logprobs.shape[0] == 32
    before = float(policy.logits.detach().softmax(0)[2])
    for _ in range(25):
        trainer.step(draw)
    assert float(policy.logits.detach().softmax(0)[2]) > before + 0.3


def test_dapo_without_dynamic_sampling_draws_once():
    policy = TokenBandit()
    config = DAPOConfig(group_size=4, prompts_per_batch=3, dynamic_sampling=False, minibatches=1, warmup_steps=1)
    trainer = DAPOTrainer(policy, lambda prompts, rollouts: torch.zeros(len(rollouts.lengths)), config)
    stats = trainer.step(lambda count: list(range(count)))
    assert stats["draws"] == 1.0 and stats["groups"] == 3.0 and stats["loss"] == 0.0
    resumed = DAPOTrainer(TokenBandit(), trainer.reward_fn, config)
    resumed.load_state_dict(trainer.state_dict())
    assert resumed.step_count == 1 and torch.equal(resumed.generator.get_state(), trainer.generator.get_state())


def test_rollouts_of_answers_of_different_lengths_join():
    """Draws (or processes) of token answers differ in width: ids, log-probs and mask are right-padded."""
    def answers(width: int) -> Rollouts:
        return Rollouts(torch.full((2, width), 7), -torch.ones(2, width), torch.ones(2, width),
                        torch.full((2,), width), {"answer_ids": [[7] * width] * 2})

    joined = concat_rollouts([answers(3), answers(5)])
    assert joined.actions.shape == joined.mask.shape == (4, 5) and joined.actions[0].tolist() == [7, 7, 7, 0, 0]
    assert joined.mask.sum(dim=1).tolist() == [3, 3, 5, 5] and len(joined.extras["answer_ids"]) == 4


def tiny_models() -> tuple[CompactPlanner, SliderEncoder, RetouchRenderer]:
    """Tiny random planner, renderer and SliderEncoder; the encoder's output layers and the renderer's
    latent layers are scaled up so that plans visibly change colours (random weights barely do)."""
    torch.manual_seed(0)
    planner = CompactPlanner(CompactPlannerConfig(hidden=32, blocks=1))
    renderer = RetouchRenderer(RendererConfig(hidden_widths=[16, 16], aspect_dim=8))
    sliders = SliderEncoder(SliderEncoderConfig(aspect_dim=8, hidden=16))
    with torch.no_grad():
        for mlp in sliders.aspects.values():
            mlp[-1].weight.mul_(5.0)
        for layer in renderer.latent_biases:
            layer.weight.mul_(3.0)
    return planner, sliders, renderer


def synthetic_cache(slider_encoder: SliderEncoder, renderer: RetouchRenderer, samples: int = 12) -> dict:
    """Colour pairs whose target is the input rendered with one fixed plan (brighter, warmer, richer)."""
    generator = torch.Generator().manual_seed(3)
    target_plan = default_params(1)
    for name, value in (("Exposure2012", 1.5), ("IncrementalTemperature", 60.0), ("Saturation", 50.0)):
        target_plan[0, param_index(name)] = value
    inputs = torch.rand(samples, 64, 3, generator=generator)
    with torch.no_grad():
        targets = renderer.render_colors(inputs, slider_encoder(target_plan).expand(samples, -1))
    return {"features": torch.randn(samples, FEATURE_SIZE, generator=generator), "text": torch.zeros(samples, 384),
            "mode": torch.zeros(samples, dtype=torch.long), "input_colors": inputs, "target_colors": targets}


@pytest.mark.parametrize("token_per_feature", [True, False])
def test_gaussian_plan_policy_shapes_and_gradients(token_per_feature):
    planner, sliders, renderer = tiny_models()
    policy = GaussianPlanPolicy(planner, sliders, renderer, token_per_feature=token_per_feature)
    prompts = cache_prompt_sampler(synthetic_cache(sliders, renderer), torch.Generator().manual_seed(0))(3)
    rollouts = policy.sample(prompts, 4)
    tokens = PLAN_FEATURES if token_per_feature else 1
    assert rollouts.actions.shape == (12, PLAN_FEATURES)
    assert rollouts.logprobs.shape == rollouts.mask.shape == (12, tokens)
    assert rollouts.lengths.tolist() == [tokens] * 12
    new = policy.log_probs(prompts, rollouts)
    assert torch.allclose(new, rollouts.logprobs, atol=1e-4)          # no dropout: same policy, same log-probs
    assert policy.render(prompts, rollouts.actions).shape == (12, 64, 3)
    (new.sum(dim=1) * torch.randn(12)).sum().backward()
    assert policy.log_std.grad.abs().sum() > 0
    assert policy.planner.head.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in (*sliders.parameters(), *renderer.parameters()))
    assert not planner.training
    assert torch.allclose(policy.std()[curve_feature_mask()], torch.tensor(0.01))


def test_gaussian_plan_policy_learns_to_match_targets():
    planner, sliders, renderer = tiny_models()
    policy = GaussianPlanPolicy(planner, sliders, renderer)
    cache = synthetic_cache(sliders, renderer)
    draw = cache_prompt_sampler(cache, torch.Generator().manual_seed(0))
    config = compact_dapo_config(group_size=8, prompts_per_batch=6, minibatches=2, learning_rate=1e-3)
    trainer = DAPOTrainer(policy, plan_reward_fn(policy), config)

    def mean_plan_similarity() -> float:
        with torch.no_grad():
            rendered = policy.render(cache, policy.mean(cache))
            return float(similarity_reward(rendered, cache["target_colors"]).mean())

    before = mean_plan_similarity()
    history = [trainer.step(draw) for _ in range(12)]
    assert mean_plan_similarity() > before + 0.003
    assert history[-1]["reward_mean"] > history[0]["reward_mean"]
    assert all(math.isfinite(stats["loss"]) and stats["approx_kl"] < 1.0 for stats in history)
