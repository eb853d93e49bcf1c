"""DAPO (Yu et al. 2025, "DAPO: An Open-Source LLM Reinforcement Learning System at Scale"), written
once for any policy: the VLM planner's text, the compact planner's Gaussian plans, a toy bandit.

For each prompt ``q`` the policy samples a group of ``G`` outputs ``o_1..o_G`` (token sequences; a
continuous policy's output is one "token"), each gets a reward ``R_i`` and the group-normalised
advantage ``A_i = (R_i - mean(R)) / (std(R) + eps)``, shared by all of its tokens. The objective,
maximised, is

    J = 1 / sum_i |o_i| * sum_i sum_t min(r_it A_i, clip(r_it, 1 - eps_low, 1 + eps_high) A_i)
    r_it = pi(o_it | q, o_i<t) / pi_old(o_it | q, o_i<t)

with DAPO's four changes to GRPO: *clip-higher* (``eps_high > eps_low``: a low-probability token
may grow further before clipping, which keeps entropy from collapsing), *dynamic sampling* (groups
whose rewards are all equal have zero advantage and no gradient: drop them and draw more prompts
until the batch is full), *token-level averaging* (the ``1 / sum |o_i|`` above: every token weighs
the same, so long outputs are not diluted; the sample-level mean of GRPO is an option) and
*overlong reward shaping* (a soft length penalty before the hard limit). There is no KL term by
default (``kl_coef = 0``), as in DAPO.

The functional core (`group_advantages`, `keep_informative_groups`, `clipped_policy_loss`,
`overlong_penalty`) works on plain tensors; `DAPOTrainer` drives any `Policy`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

import torch

Batch = Any
"""Prompts or actions: a tensor (rows are items), a list, or a dict of those (see `take`, `concat`)."""


@dataclass
class DAPOConfig:
    """Every knob of DAPO. Defaults are the DAPO paper's (§3 and §4.1, Qwen2.5-32B on AIME) unless
    noted; a small policy on a CPU wants a larger learning rate and smaller batches (see
    ``policies.compact_dapo_config``)."""

    group_size: int = 16
    """G, outputs sampled per prompt (DAPO: 16)."""
    prompts_per_batch: int = 512
    """Prompts (groups) per training batch after filtering (DAPO: 512)."""
    prompts_per_draw: int | None = None
    """Prompts drawn per sampling round; None = ``prompts_per_batch`` (verl's DAPO recipe draws 3x)."""
    clip_low: float = 0.2
    """eps_low: the ratio of a negative-advantage token is clipped at ``1 - clip_low`` (DAPO: 0.2)."""
    clip_high: float = 0.28
    """eps_high: the ratio of a positive-advantage token is clipped at ``1 + clip_high`` (DAPO: 0.28)."""
    dynamic_sampling: bool = True
    """Drop groups whose rewards are all equal and draw more prompts to refill the batch (DAPO: on)."""
    max_draws: int = 10
    """Most sampling rounds per batch; the batch trains short if still not full (verl's DAPO recipe:
    ``max_num_gen_batches = 10``)."""
    token_level: bool = True
    """Average the loss over all tokens of the batch (DAPO); False: per sample, then over samples (GRPO)."""
    max_length: int | None = None
    """L_max for overlong shaping; None switches it off (continuous policies; DAPO: 20,480 tokens)."""
    overlong_buffer: int = 4096
    """L_cache: the penalty ramps linearly over the last ``overlong_buffer`` tokens before
    ``max_length`` (DAPO: 4,096)."""
    overlong_penalty: float = 1.0
    """Penalty at and beyond ``max_length`` (DAPO: 1, the size of its correctness reward)."""
    kl_coef: float = 0.0
    """Weight of a KL(pi || pi_ref) term (k3 estimator); DAPO removes it: 0."""
    advantage_eps: float = 1e-6
    """eps in ``(R - mean) / (std + eps)``; a constant group gets advantage 0."""
    learning_rate: float = 1e-6
    """AdamW learning rate (DAPO: 1e-6, constant after warm-up)."""
    warmup_steps: int = 20
    """Linear learning-rate warm-up over this many DAPO steps (DAPO: 20 rollout steps)."""
    weight_decay: float = 0.1
    """AdamW weight decay (DAPO: 0.1)."""
    epochs: int = 1
    """Passes over each sampled batch (DAPO: 1)."""
    minibatches: int = 16
    """Gradient updates per pass, each on a slice of the groups (DAPO: 512 prompts x 16 outputs in
    mini-batches of 512 outputs = 16 updates)."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip per update (verl's default)."""
    seed: int = 0


def group_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``(num_groups, G)`` rewards -> ``(R - mean) / (std + eps)`` per group (population std), so each
    group of unequal rewards has mean 0 and deviation ~1, and a constant group is all 0."""
    mean = rewards.mean(dim=1, keepdim=True)
    std = rewards.std(dim=1, keepdim=True, correction=0)
    return (rewards - mean) / (std + eps)


def keep_informative_groups(rewards: torch.Tensor, tolerance: float = 0.0) -> torch.Tensor:
    """``(num_groups, G)`` rewards -> ``(num_groups,)`` bool: True where rewards differ (by more than
    ``tolerance``). Groups with equal rewards have zero advantage and teach nothing."""
    return (rewards.max(dim=1).values - rewards.min(dim=1).values) > tolerance


def overlong_penalty(lengths: torch.Tensor, max_length: int, buffer: int, penalty: float = 1.0) -> torch.Tensor:
    """DAPO's soft overlong punishment: 0 up to ``max_length - buffer`` tokens, then linear down to
    ``-penalty`` at ``max_length``, and ``-penalty`` beyond."""
    start = max_length - buffer
    excess = (lengths.float() - start) / max(buffer, 1)
    return -penalty * excess.clamp(0.0, 1.0)


def _masked_mean(values: torch.Tensor, mask: torch.Tensor, token_level: bool) -> torch.Tensor:
    """Token level: ``sum(values * mask) / sum(mask)``; sample level: the same per row, then the mean of rows."""
    if token_level:
        return (values * mask).sum() / mask.sum().clamp(min=1.0)
    per_sample = (values * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return per_sample.mean()


def clipped_policy_loss(new_logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
                        mask: torch.Tensor, clip_low: float = 0.2, clip_high: float = 0.28, token_level: bool = True,
                        reference_logprobs: torch.Tensor | None = None,
                        kl_coef: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """DAPO's loss ``-J`` and statistics, for ``(N, T)`` per-token log-probs and mask and ``(N,)``
    (or ``(N, T)``) advantages.

    Per token ``l = -min(r A, clip(r, 1 - clip_low, 1 + clip_high) A)``: the gradient vanishes when
    ``A > 0`` and ``r > 1 + clip_high`` or ``A < 0`` and ``r < 1 - clip_low`` (outside the trust region
    in the direction the advantage pushes). With ``kl_coef > 0``, ``kl_coef * k3`` is added per token,
    ``k3 = exp(ref - new) - (ref - new) - 1``. Statistics: the shares of tokens clipped above and
    below, and the approximate KL(old || new) as the mean of k3 with ``old`` in place of ``ref``.
    """
    mask = mask.to(new_logprobs.dtype)
    if advantages.dim() == 1:
        advantages = advantages[:, None]
    advantages = advantages.expand_as(new_logprobs)
    log_ratio = new_logprobs - old_logprobs
    ratio = log_ratio.exp()
    clipped = ratio.clamp(1.0 - clip_low, 1.0 + clip_high)
    per_token = -torch.minimum(ratio * advantages, clipped * advantages)
    if kl_coef > 0.0:
        if reference_logprobs is None:
            raise ValueError("kl_coef > 0 needs reference_logprobs")
        delta = reference_logprobs - new_logprobs
        per_token = per_token + kl_coef * (delta.exp() - delta - 1.0)
    loss = _masked_mean(per_token, mask, token_level)
    with torch.no_grad():
        tokens = mask.sum().clamp(min=1.0)
        high = ((ratio > 1.0 + clip_high) & (advantages > 0)).to(mask.dtype)
        low = ((ratio < 1.0 - clip_low) & (advantages < 0)).to(mask.dtype)
        approx_kl = ((-log_ratio).exp() + log_ratio - 1.0)
        stats = {"clip_high_fraction": float((high * mask).sum() / tokens),
                 "clip_low_fraction": float((low * mask).sum() / tokens),
                 "approx_kl": float((approx_kl * mask).sum() / tokens),
                 "ratio_mean": float((ratio * mask).sum() / tokens)}
    return loss, stats


@dataclass
class Rollouts:
    """G outputs per prompt, prompt-major (row ``p * G + g`` is output g of prompt p).

    ``actions``: what the policy produced (a tensor, a list of texts, ...); ``logprobs`` ``(N, T)``:
    per-token log-probs under the sampling policy; ``mask`` ``(N, T)``: 1 on real tokens;
    ``lengths`` ``(N,)``: tokens per output. A continuous policy has one token per sample (``T = 1``,
    a mask of ones, length 1) or, when its density factorises, one per dimension. ``extras``: anything
    else per row the reward or the policy needs (tensors or lists).
    """

    actions: Batch
    logprobs: torch.Tensor
    mask: torch.Tensor
    lengths: torch.Tensor
    extras: dict[str, Batch] = field(default_factory=dict)

    def select(self, rows: torch.Tensor) -> Rollouts:
        return Rollouts(take(self.actions, rows), self.logprobs[rows], self.mask[rows], self.lengths[rows],
                        {key: take(value, rows) for key, value in self.extras.items()})


class Policy(Protocol):
    """What `DAPOTrainer` needs of a policy."""

    def sample(self, prompts: Batch, group_size: int) -> Rollouts:
        """``group_size`` outputs per prompt with their per-token log-probs (no gradient needed)."""

    def log_probs(self, prompts: Batch, rollouts: Rollouts) -> torch.Tensor:
        """``(N, T)`` per-token log-probs of ``rollouts`` under the current policy, with gradient."""

    def parameters(self) -> Iterable[torch.nn.Parameter]:
        """The trainable parameters (those with ``requires_grad`` are optimised)."""


RewardFn = Callable[[Batch, Rollouts], torch.Tensor]
"""``(prompts, rollouts) -> (N,)`` rewards, one per output."""


def take(batch: Batch, rows: torch.Tensor) -> Batch:
    """Rows ``rows`` of a tensor, a list / tuple, or a dict of those."""
    if isinstance(batch, torch.Tensor):
        return batch[rows]
    if isinstance(batch, dict):
        return {key: take(value, rows) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [batch[i] for i in rows.tolist()]
    raise TypeError(f"cannot take rows of {type(batch).__name__}")


def concat(parts: list[Batch]) -> Batch:
    """Concatenate batches of one kind along rows (the inverse of `take` over a partition)."""
    first = parts[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(parts)
    if isinstance(first, dict):
        return {key: concat([part[key] for part in parts]) for key in first}
    if isinstance(first, (list, tuple)):
        return [item for part in parts for item in part]
    raise TypeError(f"cannot concatenate {type(first).__name__}")


def concat_rollouts(parts: list[Rollouts]) -> Rollouts:
    """Rollouts of several draws as one; token dimensions are right-padded with mask 0 (and with 0 in
    actions that are ``(N, T)`` tensors, e.g. token ids: draws of answers differ in length)."""
    width = max(part.logprobs.shape[1] for part in parts)

    def pad(tensor: torch.Tensor, to: int = width) -> torch.Tensor:
        return torch.nn.functional.pad(tensor, (0, to - tensor.shape[1]))

    actions = [part.actions for part in parts]
    if all(isinstance(action, torch.Tensor) and action.dim() == 2 for action in actions):
        action_width = max(action.shape[1] for action in actions)
        actions = [pad(action, action_width) for action in actions]
    return Rollouts(concat(actions), torch.cat([pad(part.logprobs) for part in parts]),
                    torch.cat([pad(part.mask) for part in parts]), torch.cat([part.lengths for part in parts]),
                    {key: concat([part.extras[key] for part in parts]) for key in parts[0].extras})


def group_rows(groups: torch.Tensor, group_size: int) -> torch.Tensor:
    """Rows of the outputs of ``groups`` (prompt-major layout)."""
    return (groups[:, None] * group_size + torch.arange(group_size)).flatten()


@dataclass
class SampledBatch:
    """A filtered training batch: prompts ``(P,)``, rollouts ``(P * G,)``, rewards ``(P, G)``, and how
    it was drawn (rounds, groups drawn, mean reward of everything drawn)."""

    prompts: Batch
    rollouts: Rollouts
    rewards: torch.Tensor
    draws: int
    groups_drawn: int
    drawn_reward_mean: float


class DAPOTrainer:
    """Drives a `Policy` with DAPO: `step(draw_prompts)` samples a filtered batch and updates.

    ``draw_prompts(n)`` returns n prompts (a `Batch`); ``reward_fn(prompts, rollouts)`` scores each
    output; the overlong penalty is added when ``config.max_length`` is set; ``reference`` (a frozen
    policy) is needed only when ``config.kl_coef > 0``.
    """

    def __init__(self, policy: Policy, reward_fn: RewardFn, config: DAPOConfig,
                 optimizer: torch.optim.Optimizer | None = None, reference: Policy | None = None) -> None:
        if config.kl_coef > 0 and reference is None:
            raise ValueError("kl_coef > 0 needs a reference policy")
        self.policy, self.reward_fn, self.config, self.reference = policy, reward_fn, config, reference
        self.optimizer = optimizer or torch.optim.AdamW(
            [p for p in policy.parameters() if p.requires_grad], lr=config.learning_rate,
            weight_decay=config.weight_decay)
        self.base_learning_rates = [group["lr"] for group in self.optimizer.param_groups]
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step_count = 0

    def rewards(self, prompts: Batch, rollouts: Rollouts) -> torch.Tensor:
        """Task rewards plus, when ``max_length`` is set, the overlong penalty."""
        rewards = self.reward_fn(prompts, rollouts).detach().float()
        config = self.config
        if config.max_length is not None:
            rewards = rewards + overlong_penalty(rollouts.lengths, config.max_length, config.overlong_buffer,
                                                 config.overlong_penalty)
        return rewards

    @torch.no_grad()
    def sample_batch(self, draw_prompts: Callable[[int], Batch]) -> SampledBatch:
        """Draw prompts and groups until ``prompts_per_batch`` informative groups (or ``max_draws``
        rounds); without dynamic sampling, one round of exactly ``prompts_per_batch`` prompts."""
        config = self.config
        size = config.group_size
        per_draw = config.prompts_per_draw or config.prompts_per_batch
        kept_prompts, kept_rollouts, kept_rewards = [], [], []
        kept, draws, drawn, reward_sum = 0, 0, 0, 0.0
        while kept < config.prompts_per_batch and draws < (config.max_draws if config.dynamic_sampling else 1):
            prompts = draw_prompts(per_draw if config.dynamic_sampling else config.prompts_per_batch)
            rollouts = self.policy.sample(prompts, size)
            rewards = self.rewards(prompts, rollouts).reshape(-1, size)
            draws, drawn, reward_sum = draws + 1, drawn + rewards.shape[0], reward_sum + float(rewards.sum())
            informative = (keep_informative_groups(rewards) if config.dynamic_sampling
                           else torch.ones(rewards.shape[0], dtype=torch.bool))
            groups = informative.nonzero().flatten()[:config.prompts_per_batch - kept]
            if len(groups):
                kept_prompts.append(take(prompts, groups))
                kept_rollouts.append(rollouts.select(group_rows(groups, size)))
                kept_rewards.append(rewards[groups])
                kept += len(groups)
        drawn_mean = reward_sum / max(drawn * size, 1)
        if not kept:
            return SampledBatch(None, None, torch.zeros(0, size), draws, drawn, drawn_mean)
        return SampledBatch(concat(kept_prompts), concat_rollouts(kept_rollouts), torch.cat(kept_rewards), draws,
                            drawn, drawn_mean)

    def _set_learning_rate(self) -> None:
        warmup = min(1.0, (self.step_count + 1) / max(self.config.warmup_steps, 1))
        for group, base in zip(self.optimizer.param_groups, self.base_learning_rates):
            group["lr"] = base * warmup

    def update(self, batch: SampledBatch) -> dict[str, float]:
        """``epochs`` passes of ``minibatches`` clipped-objective updates over one sampled batch."""
        config = self.config
        size = config.group_size
        advantages = group_advantages(batch.rewards, config.advantage_eps).flatten()
        groups = batch.rewards.shape[0]
        reference_logprobs = None
        if config.kl_coef > 0:
            with torch.no_grad():
                reference_logprobs = self.reference.log_probs(batch.prompts, batch.rollouts)
        self._set_learning_rate()
        totals: dict[str, float] = {}
        updates = 0
        for _ in range(config.epochs):
            order = torch.randperm(groups, generator=self.generator)
            for chunk in order.chunk(min(config.minibatches, groups)):
                rows = group_rows(chunk, size)
                rollouts = batch.rollouts.select(rows)
                new_logprobs = self.policy.log_probs(take(batch.prompts, chunk), rollouts)
                loss, stats = clipped_policy_loss(
                    new_logprobs, rollouts.logprobs, advantages[rows], rollouts.mask, config.clip_low,
                    config.clip_high, config.token_level,
                    None if reference_logprobs is None else reference_logprobs[rows], config.kl_coef)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                parameters = [p for group in self.optimizer.param_groups for p in group["params"]]
                stats["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(parameters, config.max_grad_norm))
                self.optimizer.step()
                stats["loss"] = float(loss.detach())
                for key, value in stats.items():
                    totals[key] = totals.get(key, 0.0) + value
                updates += 1
        return {key: value / updates for key, value in totals.items()}

    def step(self, draw_prompts: Callable[[int], Batch],
             gather: Callable[[SampledBatch], SampledBatch] | None = None) -> dict[str, float]:
        """One DAPO step: sample a filtered batch, update on it; returns statistics (``skipped`` = 1
        when no group was informative, in which case nothing is updated). ``gather`` joins the
        batches every process sampled (a distributed run), so all update on the same batch."""
        batch = self.sample_batch(draw_prompts)
        if gather is not None:
            batch = gather(batch)
        stats = {"reward_mean": batch.drawn_reward_mean, "draws": float(batch.draws),
                 "kept_fraction": batch.rewards.shape[0] / max(batch.groups_drawn, 1),
                 "groups": float(batch.rewards.shape[0]), "skipped": float(batch.rewards.shape[0] == 0)}
        if batch.rewards.shape[0]:
            stats["kept_reward_mean"] = float(batch.rewards.mean())
            stats["mean_length"] = float(batch.rollouts.lengths.float().mean())
            stats.update(self.update(batch))
        self.step_count += 1
        stats["learning_rate"] = self.optimizer.param_groups[0]["lr"]
        return stats

    def state_dict(self) -> dict:
        """Optimizer, step and sampling generator, for resumable runs (the policy saves itself)."""
        return {"optimizer": self.optimizer.state_dict(), "step": self.step_count,
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.step_count = state["step"]
        self.generator.set_state(state["generator"])

