"""DAPO-AE's rewards (system notes §1): format, similarity to the target, aesthetics.

- **format** (VLM planner): the six problem/plan spans parse cleanly and the three retouch tokens
  follow them, once each, in `ASPECTS` order;
- **similarity**: ``(1 - L1) + cos(hist(pred), hist(target))`` in [0, 2] (2 = identical), for
  images ``(B, 3, H, W)`` or colour sets ``(B, N, 3)`` (the planner cache's colour pairs);
- **aesthetic** (auto mode only): the trained `evaluation.aesthetic.AestheticCritic`'s reward in
  (0, 1), about 0.5 for a typical finished photo.

`combine_rewards` weighs them, with a per-sample switch for terms that apply to some samples only.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..evaluation.metrics import histogram_similarity, l1_similarity
from ..planner.vlm_tokens import RETOUCH_TOKENS, reasoning_of
from ..reasoning.text.tags import parse_tagged
from .loop import colors_as_images


def format_checks(text: str) -> dict[str, bool]:
    """The format reward's checks: ``spans`` (the six spans of the answer without its retouch tokens,
    `planner.vlm_tokens.reasoning_of`, parse with no error), one per retouch token (it appears
    exactly once), and ``order`` (the tokens appear in order after the last span)."""
    _, errors = parse_tagged(reasoning_of(text))
    checks = {"spans": not errors}
    positions = []
    for token in RETOUCH_TOKENS:
        checks[token] = text.count(token) == 1
        positions.append(text.find(token))
    last_span_end = text.rfind("</")
    checks["order"] = (all(checks[token] for token in RETOUCH_TOKENS) and positions == sorted(positions)
                       and positions[0] > last_span_end >= 0)
    return checks


def format_reward(text: str, partial: bool = False) -> float:
    """1 when every `format_checks` check passes, else 0; with ``partial``, the share of the five
    checks that pass (a denser signal early in training, when whole answers are rarely right)."""
    checks = format_checks(text)
    if partial:
        return sum(checks.values()) / len(checks)
    return float(all(checks.values()))


def format_rewards(texts: list[str], partial: bool = False) -> torch.Tensor:
    """`format_reward` of each text: ``(B,)``."""
    return torch.tensor([format_reward(text, partial) for text in texts])


def _as_image(batch: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` images unchanged; ``(B, N, 3)`` colour sets as ``(B, 3, N, 1)`` images."""
    return colors_as_images(batch) if batch.dim() == 3 else batch


def similarity_reward(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(1 - mean|pred - target|) + cosine(colour histograms)`` per sample, in [0, 2], 2 when
    identical (`evaluation.metrics.l1_similarity` and `histogram_similarity`). Takes images
    ``(B, 3, H, W)`` or colour sets ``(B, N, 3)``."""
    prediction, target = _as_image(prediction.float()), _as_image(target.float())
    return (l1_similarity(prediction, target) + histogram_similarity(prediction, target)).float()


def aesthetic_reward(critic, images: torch.Tensor, ceiling: torch.Tensor | None = None) -> torch.Tensor:
    """The critic's reward ``sigmoid(score - typical finished score)`` per image ``(B, 3, H, W)`` or
    colour set ``(B, N, 3)``: in (0, 1), ~0.5 for a typical finished photo. With ``ceiling`` (images
    or colour sets like ``images``, e.g. the targets), the reward is capped at the ceiling's: no
    credit for looking "more finished" than the expert's result, which is where a policy that
    exploits the critic goes (measured in `docs/rl.md`)."""
    with torch.no_grad():
        reward = critic.reward(images)
        return reward if ceiling is None else torch.minimum(reward, critic.reward(ceiling))


@dataclass
class RewardWeights:
    """Weights of the reward terms. The paper sums them; with our critic an aesthetic weight of 1
    is exploited (the policy raises the critic's reward past the targets' while drifting from the
    targets, `docs/rl.md`), so it defaults to 0.2."""

    format: float = 1.0
    similarity: float = 1.0
    aesthetic: float = 0.2


def scored_renders(rendered: torch.Tensor, targets: torch.Tensor, modes: torch.Tensor, weights: RewardWeights,
                   critic=None, cap_aesthetic_at_target: bool = True,
                   extra: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """The weighted reward of rendered outputs (images or colour sets, one row per output): similarity
    to ``targets``, the critic's aesthetic reward on rows whose ``modes`` is auto (when a critic is
    given; capped at the target's own unless ``cap_aesthetic_at_target`` is False), plus ``extra``
    terms (e.g. format)."""
    from ..planner.base import MODES

    terms = {**(extra or {}), "similarity": similarity_reward(rendered, targets)}
    active = {}
    if critic is not None:
        terms["aesthetic"] = aesthetic_reward(critic, rendered, targets if cap_aesthetic_at_target else None)
        active["aesthetic"] = modes == MODES.index("auto")
    return combine_rewards(terms, weights, active)


def combine_rewards(terms: dict[str, torch.Tensor], weights: RewardWeights,
                    active: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """``sum_k w_k * active_k * term_k`` over the given terms (names of `RewardWeights` fields);
    ``active[k]`` is a ``(B,)`` 0/1 switch (e.g. the aesthetic term in auto mode only), default 1."""
    active = active or {}
    total = None
    for name, values in terms.items():
        weighted = getattr(weights, name) * values.float()
        if name in active:
            weighted = weighted * active[name].float()
        total = weighted if total is None else total + weighted
    if total is None:
        raise ValueError("no reward terms given")
    return total
