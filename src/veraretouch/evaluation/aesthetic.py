"""An aesthetic critic: how *finished* a photo looks, from its colour statistics (DAPO-AE's reward).

The critic reads `critic_features`: the content-independent part of
`planner.features.image_features` (`CRITIC_FEATURE_INDEX`: tone histogram and quantiles, channel
moments, casts, chroma, clipping; no hue-specific or spatial statistics), so it scores an image and
a colour set (the planner cache's 1,024 sampled colours) alike and has less to memorise of its few
training photos. Standardised features go through a small MLP to a scalar score.
`AestheticCritic.reward` is ``sigmoid(s - s_finished)`` with ``s_finished`` the mean score of the
training photos' finished crops: ~0.5 for a typical finished photo, bounded so no output can earn
an unbounded reward. How it is trained (ranked pairs of finished, degraded and over-processed
crops): `training.critic`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..plan.parameters import HSL_BANDS
from ..planner.features import (
    AB_BINS,
    LIGHTNESS_BINS,
    LIGHTNESS_QUANTILES,
    RGB_BINS,
    feature_slices,
    image_features,
)
from ..pretrained import PretrainedMixin

_LIGHTNESS_START = 3 * RGB_BINS
"""`image_features` layout: the sRGB channel histograms come first ..."""
_MOMENTS_END = _LIGHTNESS_START + LIGHTNESS_BINS + len(LIGHTNESS_QUANTILES) + 12
"""... then the lightness histogram and quantiles and 12 channel moments ..."""
_CASTS_START = _MOMENTS_END + AB_BINS ** 2 + 3 * len(HSL_BANDS)
"""... then the a/b histogram and the hue bands, the casts, chroma and clipping (then the grid and more)."""
_CLIPPING_END = feature_slices()["clipping"].stop
CRITIC_FEATURE_INDEX = torch.cat([torch.arange(_LIGHTNESS_START, _MOMENTS_END),
                                  torch.arange(_CASTS_START, _CLIPPING_END)])
"""The parts of `image_features` the critic reads: the OKLab lightness histogram and quantiles,
sRGB channel moments, casts of near-neutral pixels per zone, chroma statistics and clipping. Left
out: the sRGB channel histograms, the a/b histogram and the hue bands (they describe content, a
green forest or a blue sea, and let the critic memorise its few training photos) and the spatial
grid (so colour sets score like images)."""
CRITIC_FEATURES = len(CRITIC_FEATURE_INDEX)
def colors_as_image(colors: torch.Tensor) -> torch.Tensor:
    """``(B, N, 3)`` colour sets -> ``(B, 3, h, w)`` with ``h * w = N`` and h the largest divisor of N
    at most sqrt(N), so `image_features` sees every colour once and does not resize."""
    count = colors.shape[1]
    height = max(d for d in range(1, math.isqrt(count) + 1) if count % d == 0)
    return colors.transpose(1, 2).reshape(colors.shape[0], 3, height, count // height)


def critic_features(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` images or ``(B, N, 3)`` colour sets -> ``(B, CRITIC_FEATURES)``."""
    if images.dim() == 3:
        images = colors_as_image(images)
    return image_features(images)[:, CRITIC_FEATURE_INDEX]


@dataclass
class AestheticCriticConfig:
    features: int = CRITIC_FEATURES
    hidden: int = 32
    layers: int = 1
    dropout: float = 0.3


class AestheticCritic(nn.Module, PretrainedMixin):
    """Standardised `critic_features` -> MLP -> a scalar score (higher = more finished)."""

    config_class = AestheticCriticConfig

    def __init__(self, config: AestheticCriticConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or AestheticCriticConfig()
        self.register_buffer("feature_mean", torch.zeros(config.features))
        self.register_buffer("feature_std", torch.ones(config.features))
        self.register_buffer("finished_score", torch.zeros(()))
        layers: list[nn.Module] = []
        width = config.features
        for _ in range(config.layers):
            layers += [nn.Linear(width, config.hidden), nn.GELU(), nn.Dropout(config.dropout)]
            width = config.hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def set_feature_statistics(self, features: torch.Tensor) -> None:
        """Standardise with the mean and deviation of training features ``(N, F)``."""
        self.feature_mean.copy_(features.mean(dim=0))
        self.feature_std.copy_(features.std(dim=0).clamp(min=1e-4))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, F)`` critic features -> ``(B,)`` scores."""
        return self.net((features.float() - self.feature_mean) / self.feature_std).squeeze(-1)

    def score(self, images: torch.Tensor) -> torch.Tensor:
        """Scores of ``(B, 3, H, W)`` images or ``(B, N, 3)`` colour sets."""
        return self(critic_features(images))

    def reward(self, images: torch.Tensor) -> torch.Tensor:
        """``sigmoid(score - finished_score)`` in (0, 1): ~0.5 for a typical finished photo."""
        return torch.sigmoid(self.score(images) - self.finished_score)
