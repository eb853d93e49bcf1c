"""Planners as DAPO policies (`training.dapo.Policy`).

`GaussianPlanPolicy` makes the compact planner stochastic: the action is a plan in the
SliderEncoder's feature space, ``a ~ N(mu(x, t, m), diag(sigma^2))`` with ``mu`` the planner's plan
features for image features ``x``, instruction embedding ``t`` and mode ``m``, and ``sigma`` a
learned per-feature scale (``log_std``, an ``nn.Parameter``). The Gaussian is factorised, so
``log pi(a) = sum_d log pi(a_d)``, and each feature dimension is one "token" by default
(``token_per_feature``): DAPO's per-token ratio and clip then apply per dimension, as they apply
per token of a text rather than to the whole sequence. With ``token_per_feature=False`` the plan
is one token (log-probs summed; mask of ones, length 1); its ratio is a product of 185 per-feature
ratios and leaves the clip range after the smallest update (measured in `docs/rl.md`).

The environment projects the action onto a valid plan (`encoders.slider.params_from_features`), encodes it with the
frozen SliderEncoder and renders the cached input colours with the frozen renderer, as
`training.planner` does for supervised training; `plan_reward_fn` scores what comes out.

Prompts are cached samples in `training.planner_cache.load_planner_cache`'s format: a dict of
``features`` ``(B, F)``, ``text`` ``(B, 384)``, ``mode`` ``(B,)``, ``input_colors`` and
``target_colors`` ``(B, N, 3)``; `cache_prompt_sampler` draws them.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.distributions import Normal

from ..encoders.slider import FEATURE_SIZES, SliderEncoder, params_from_features
from ..plan.parameters import ASPECTS, CURVE_SAMPLES, GLOBAL_COLOR, LIGHTING
from ..planner.base import MODES
from ..planner.compact import PLAN_FEATURES, CompactPlanner
from ..renderer import RetouchRenderer
from .dapo import DAPOConfig, RewardFn, Rollouts
from .rewards import RewardWeights, scored_renders

PROMPT_FIELDS = ("features", "text", "mode", "input_colors", "target_colors")
LOG_STD_RANGE = (math.log(1e-3), math.log(0.5))
"""The learned scale is clamped to [0.001, 0.5] (plan features live in about [-1, 1]): no collapse
to a deterministic policy (log-probs would explode) and no noise that swamps the plan."""


def curve_feature_mask() -> torch.Tensor:
    """``(PLAN_FEATURES,)`` bool: the point-curve offsets among the plan features (see
    `encoders.slider.params_from_features`: the lighting group's last `CURVE_SAMPLES`, the global
    colour group's last three times that)."""
    mask = torch.zeros(PLAN_FEATURES, dtype=torch.bool)
    start = 0
    for group in ASPECTS:
        size = FEATURE_SIZES[group]
        curves = {LIGHTING: CURVE_SAMPLES, GLOBAL_COLOR: 3 * CURVE_SAMPLES}.get(group, 0)
        mask[start + size - curves:start + size] = True
        start += size
    return mask


class GaussianPlanPolicy(nn.Module):
    """The compact planner as a Gaussian policy over plan features (see the module doc).

    ``initial_std`` is the starting sigma of the slider, tint and grading features; curve offsets
    start at ``curve_std``: a curve is 33 samples made monotone by a running maximum, so independent
    noise of the sliders' size on each sample would make it jagged and bias it upwards.

    The planner runs without dropout (it stays in eval mode even when the policy trains), so the
    policy's only randomness is the Gaussian and the old and new log-probs of a batch agree before
    an update. The SliderEncoder and the renderer are frozen.
    """

    def __init__(self, planner: CompactPlanner, slider_encoder: SliderEncoder, renderer: RetouchRenderer,
                 initial_std: float = 0.05, curve_std: float = 0.01, token_per_feature: bool = True,
                 seed: int = 0) -> None:
        super().__init__()
        self.planner = planner
        self.log_std = nn.Parameter(torch.where(curve_feature_mask(), math.log(curve_std), math.log(initial_std)))
        self.slider_encoder, self.renderer = slider_encoder.eval(), renderer.eval()
        for module in (self.slider_encoder, self.renderer):
            module.requires_grad_(False)
        self.token_per_feature = token_per_feature
        self.generator = torch.Generator().manual_seed(seed)
        self.train()

    def train(self, mode: bool = True) -> GaussianPlanPolicy:
        super().train(mode)
        for module in (self.planner, self.slider_encoder, self.renderer):
            module.eval()
        return self

    def std(self) -> torch.Tensor:
        return self.log_std.clamp(*LOG_STD_RANGE).exp()

    def mean(self, prompts: dict) -> torch.Tensor:
        """``(B, PLAN_FEATURES)`` plan features the planner predicts (the policy's mean)."""
        return self.planner(prompts["features"], prompts["text"], prompts["mode"])

    def distribution(self, prompts: dict, group_size: int) -> Normal:
        """The policy's Gaussian for each of ``group_size`` outputs per prompt (prompt-major rows)."""
        return Normal(self.mean(prompts).repeat_interleave(group_size, dim=0), self.std())

    def _token_logprobs(self, distribution: Normal, actions: torch.Tensor) -> torch.Tensor:
        logprobs = distribution.log_prob(actions)
        return logprobs if self.token_per_feature else logprobs.sum(dim=1, keepdim=True)

    @torch.no_grad()
    def sample(self, prompts: dict, group_size: int) -> Rollouts:
        """``group_size`` plans per prompt, ``a = mu + sigma * noise``, and their log-probs ``(N, T)``
        (T = PLAN_FEATURES tokens, or 1)."""
        distribution = self.distribution(prompts, group_size)
        noise = torch.randn(distribution.loc.shape, generator=self.generator)
        actions = distribution.loc + distribution.scale * noise
        logprobs = self._token_logprobs(distribution, actions)
        rows, tokens = logprobs.shape
        return Rollouts(actions, logprobs, torch.ones(rows, tokens), torch.full((rows,), tokens, dtype=torch.long))

    def log_probs(self, prompts: dict, rollouts: Rollouts) -> torch.Tensor:
        """``(N, T)`` log-density of each sampled plan under the current policy (differentiable)."""
        group_size = len(rollouts.actions) // len(prompts["mode"])
        return self._token_logprobs(self.distribution(prompts, group_size), rollouts.actions)

    def render(self, prompts: dict, actions: torch.Tensor) -> torch.Tensor:
        """Input colours of each action's prompt, edited by the projected plan: ``(N, pixels, 3)``."""
        group_size = len(actions) // len(prompts["mode"])
        colors = prompts["input_colors"].float().repeat_interleave(group_size, dim=0)
        latents = self.slider_encoder(params_from_features(actions))
        return self.renderer.render_colors(colors, latents)


def plan_reward_fn(policy: GaussianPlanPolicy, critic: nn.Module | None = None,
                   weights: RewardWeights | None = None, cap_aesthetic_at_target: bool = True) -> RewardFn:
    """Rewards of rendered plans: similarity to the target colours for every sample, plus the
    critic's aesthetic reward for auto-mode samples when a critic is given (`rewards` module),
    capped at the target's own aesthetic reward unless ``cap_aesthetic_at_target`` is False."""
    weights = weights or RewardWeights()

    @torch.no_grad()
    def reward(prompts: dict, rollouts: Rollouts) -> torch.Tensor:
        group_size = len(rollouts.actions) // len(prompts["mode"])
        rendered = policy.render(prompts, rollouts.actions)
        targets = prompts["target_colors"].float().repeat_interleave(group_size, dim=0)
        return scored_renders(rendered, targets, prompts["mode"].repeat_interleave(group_size), weights, critic,
                              cap_aesthetic_at_target)

    return reward


def cache_prompt_sampler(cache: dict, generator: torch.Generator, pixels: int | None = None,
                         modes: tuple[str, ...] = MODES) -> Callable[[int], dict]:
    """``draw(n)``: n random cached samples of the given modes as prompts (`PROMPT_FIELDS`), with
    ``pixels`` of their colour pairs (all when None; the same random pixels for the whole draw)."""
    allowed = torch.isin(cache["mode"], torch.tensor([MODES.index(mode) for mode in modes])).nonzero().flatten()
    if len(allowed) == 0:
        raise ValueError(f"no cached samples of modes {modes}")

    def draw(count: int) -> dict:
        rows = allowed[torch.randint(0, len(allowed), (count,), generator=generator)]
        prompts = {key: cache[key][rows] for key in PROMPT_FIELDS}
        if pixels is not None:
            picks = torch.randint(0, prompts["input_colors"].shape[1], (pixels,), generator=generator)
            prompts["input_colors"] = prompts["input_colors"][:, picks]
            prompts["target_colors"] = prompts["target_colors"][:, picks]
        for key in ("input_colors", "target_colors"):
            prompts[key] = prompts[key].float()
        return prompts

    return draw


def compact_dapo_config(**overrides) -> DAPOConfig:
    """DAPO settings for the compact planner on a CPU: smaller batches (G = 8, 64 prompts, 4 updates
    per batch), learning rate 1e-4 (a 3.6 M-parameter MLP, not a 32 B LLM) and no weight decay (it
    would pull ``log_std`` towards 0, i.e. sigma towards 1). Everything else is DAPO's."""
    settings = dict(group_size=8, prompts_per_batch=64, minibatches=4, learning_rate=1e-4, warmup_steps=5,
                    weight_decay=0.0)
    settings.update(overrides)
    return DAPOConfig(**settings)
