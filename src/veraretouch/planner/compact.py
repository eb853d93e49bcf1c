"""The compact planner: colour statistics (+ an instruction) -> a plan -> the renderer's control latents.

The paper's planner is a 0.5B VLM; this one does the same job on a CPU in milliseconds. It reads
`image_features` of the photo, the sentence embedding of the instruction (`InstructionEmbedder`;
zero in auto mode) and a learned mode embedding, and predicts the plan in the SliderEncoder's
feature space (`encoders.slider.flat_features`: sliders scaled to [-1, 1], grading tints as 2-D
vectors, curve offsets), a smooth space without hue wrap-around. `params_from_features` projects
that onto a valid plan, and the frozen SliderEncoder turns the plan into latents. So the plan the
explanation describes and the XMP exports is exactly the plan the renderer executes.

The output layer starts at zero: an untrained planner proposes the identity plan.

With ``aspect_confidence`` a second head predicts, per aspect (lighting, global colour, specific
colour), the log-variance of the plan's error (trained with a Gaussian likelihood on the training
samples). A calibrated per-aspect factor ``k`` (`CompactPlannerConfig.aspect_shrinkage`, chosen on
validation photos) then shrinks each aspect's plan towards no edit as a Wiener filter does,

    plan_g <- plan_g * |plan_g|^2 / (|plan_g|^2 + k_g sigma_g^2),

so an aspect the planner is unsure of (large predicted error against the size of its edit) is
left nearly alone, and a confident one is applied in full.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..encoders.slider import FEATURE_SIZES, SliderEncoder, params_from_features
from ..plan.parameters import ASPECTS
from ..pretrained import PretrainedMixin
from .base import MODES, PlannerOutput, check_mode
from .features import FEATURE_GROUPS, FEATURE_SIZE, feature_slices, image_features
from .text import TEXT_DIM, InstructionEmbedder, default_embedder

PLAN_FEATURES = sum(FEATURE_SIZES.values())
STANDARD_LIMIT = 5.0
"""Standardised image features are clipped to +-this: some statistics (clipped shares, rare hue
bands) are nearly constant in training, and an unusual photo put them at 100 deviations, far
outside anything the network saw (measured on data v1's validation photos)."""


@dataclass
class CompactPlannerConfig:
    hidden: int = 512
    blocks: int = 3
    image_features: int = FEATURE_SIZE
    text_dim: int = TEXT_DIM
    dropout: float = 0.1
    text_hidden: int = 0
    """Width of a hidden layer between the instruction embedding and the network (0: a linear map).
    Sentence embeddings put "make it cooler" as close to "make it warmer" as to "make it colder"
    (cosine 0.77 vs 0.82), a distinction a linear map into 32 widths does not keep."""
    feature_groups: tuple[str, ...] = tuple(FEATURE_GROUPS)
    """Which parts of `image_features` the planner reads (the others are masked to zero)."""
    aspect_confidence: bool = False
    """Predict each aspect's plan error too (a head of 3 log-variances), for `aspect_shrinkage`."""
    aspect_shrinkage: tuple[float, ...] = (0.0,) * len(ASPECTS)
    """Per aspect (`ASPECTS` order), the factor ``k`` of the Wiener shrinkage (0 = none); set on
    validation photos after training (`training.planner.calibrate_aspect_shrinkage`)."""
    mode_scales: tuple[float, ...] = (1.0,) * len(MODES)
    """Per mode (`MODES` order), the factor the predicted plan is scaled by towards the identity (0 =
    no edit): set after training on validation photos (`training.planner.calibrate_mode_scales`),
    because on photos it has not seen a planner's full-strength plan can do worse than part of it."""

    def __post_init__(self) -> None:
        self.feature_groups = tuple(self.feature_groups)  # JSON gives a list back
        self.mode_scales = tuple(float(scale) for scale in self.mode_scales)
        self.aspect_shrinkage = tuple(float(k) for k in self.aspect_shrinkage)
        if len(self.aspect_shrinkage) != len(ASPECTS) or min(self.aspect_shrinkage) < 0:
            raise ValueError(f"aspect_shrinkage needs {len(ASPECTS)} non-negative factors ({', '.join(ASPECTS)})")
        if any(self.aspect_shrinkage) and not self.aspect_confidence:
            raise ValueError("aspect_shrinkage needs aspect_confidence (the head that predicts the plan's error)")
        if len(self.mode_scales) != len(MODES) or min(self.mode_scales) < 0:
            raise ValueError(f"mode_scales needs {len(MODES)} non-negative factors ({', '.join(MODES)})")
        unknown = [name for name in self.feature_groups if name not in FEATURE_GROUPS]
        if unknown:
            raise ValueError(f"unknown feature group {unknown[0]!r}; choose from {', '.join(FEATURE_GROUPS)}")


ASPECT_SIZES = tuple(FEATURE_SIZES[group] for group in ASPECTS)
"""Plan features per aspect: they are contiguous, in `ASPECTS` order (`encoders.slider.flat_features`)."""


def aspect_energy(plan_features: torch.Tensor) -> torch.Tensor:
    """``(B, PLAN_FEATURES)`` -> ``(B, 3)`` mean square of each aspect's plan features (0 = no edit)."""
    return torch.stack([part.pow(2).mean(dim=1) for part in plan_features.split(ASPECT_SIZES, dim=1)], dim=1)


def expand_to_plan(per_aspect: torch.Tensor) -> torch.Tensor:
    """``(B, 3)`` per-aspect values -> ``(B, PLAN_FEATURES)``, each repeated over its aspect's features."""
    return per_aspect.repeat_interleave(per_aspect.new_tensor(ASPECT_SIZES, dtype=torch.long), dim=1)


def aspect_confidence_factors(plan_features: torch.Tensor, log_variance: torch.Tensor,
                              shrinkage: tuple[float, ...]) -> torch.Tensor:
    """``(B, 3)`` Wiener factors ``e / (e + k sigma^2)`` in [0, 1] with ``e`` the aspect's `aspect_energy`
    and ``sigma^2 = exp(log_variance)`` its predicted error (1 where ``k = 0``)."""
    energy = aspect_energy(plan_features)
    k = plan_features.new_tensor(shrinkage)
    return energy / (energy + k * log_variance.exp() + 1e-12) * (k > 0) + (k == 0).to(energy.dtype)


class _Block(nn.Module):
    """Pre-norm residual MLP block: ``h + W2 GELU(W1 LN(h))``."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 2 * width), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(2 * width, width))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.net(hidden)


class CompactPlanner(nn.Module, PretrainedMixin):
    config_class = CompactPlannerConfig

    def __init__(self, config: CompactPlannerConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or CompactPlannerConfig()
        self.register_buffer("feature_mean", torch.zeros(config.image_features))
        self.register_buffer("feature_std", torch.ones(config.image_features))
        mask = torch.zeros(config.image_features)
        for name in config.feature_groups:
            mask[feature_slices()[name]] = 1.0
        self.register_buffer("feature_mask", mask)
        self.image_in = nn.Linear(config.image_features, config.hidden)
        self.text_in = (nn.Sequential(nn.Linear(config.text_dim, config.text_hidden), nn.GELU(),
                                      nn.Linear(config.text_hidden, config.hidden, bias=False))
                        if config.text_hidden else nn.Linear(config.text_dim, config.hidden, bias=False))
        self.mode_embedding = nn.Embedding(len(MODES), config.hidden)
        self.blocks = nn.Sequential(*(_Block(config.hidden, config.dropout) for _ in range(config.blocks)))
        self.norm = nn.LayerNorm(config.hidden)
        self.head = nn.Linear(config.hidden, PLAN_FEATURES)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.uncertainty = nn.Linear(config.hidden, len(ASPECTS)) if config.aspect_confidence else None

    def set_feature_statistics(self, features: torch.Tensor) -> None:
        """Standardise image features with the mean and deviation of a training set ``(N, F)``
        (then clip, `STANDARD_LIMIT`)."""
        self.feature_mean.copy_(features.mean(dim=0))
        self.feature_std.copy_(features.std(dim=0).clamp(min=1e-4))

    def predict(self, features: torch.Tensor, text_embeddings: torch.Tensor,
                mode_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The raw plan features ``(B, PLAN_FEATURES)`` and, with ``aspect_confidence``, the predicted
        log-variance of each aspect's plan error ``(B, 3)`` (else None); no shrinkage, no mode scale."""
        features = features[:, :self.config.image_features]  # groups are appended: older planners read their columns
        standardised = ((features - self.feature_mean) / self.feature_std).clamp(-STANDARD_LIMIT, STANDARD_LIMIT)
        standardised = standardised * self.feature_mask
        hidden = self.norm(self.blocks(self.image_in(standardised) + self.text_in(text_embeddings)
                                       + self.mode_embedding(mode_ids)))
        return self.head(hidden), None if self.uncertainty is None else self.uncertainty(hidden)

    def forward(self, features: torch.Tensor, text_embeddings: torch.Tensor, mode_ids: torch.Tensor) -> torch.Tensor:
        """``(B, F)`` image features, ``(B, 384)`` instruction embeddings (zeros for auto), ``(B,)`` mode
        indices into `MODES` -> ``(B, PLAN_FEATURES)`` plan features (unprojected, shrunk per aspect in
        auto mode by `aspect_confidence_factors`, scaled by the mode's `CompactPlannerConfig.mode_scales`)."""
        raw, log_variance = self.predict(features, text_embeddings, mode_ids)
        scales = torch.tensor(self.config.mode_scales, dtype=raw.dtype, device=raw.device)[mode_ids]
        if log_variance is not None and any(self.config.aspect_shrinkage):
            factors = aspect_confidence_factors(raw, log_variance, self.config.aspect_shrinkage)
            auto = (mode_ids == MODES.index("auto"))[:, None]
            raw = torch.where(auto, raw * expand_to_plan(factors), raw)
        return raw * scales[:, None]

    @torch.no_grad()
    def plan(self, images: torch.Tensor, mode: str, instructions: list[str] | None = None, *,
             slider_encoder: SliderEncoder, embedder: InstructionEmbedder | None = None) -> PlannerOutput:
        """Plan for ``(B, 3, h, w)`` photos (any size; features use a small copy): latents and the plan.
        Runs in eval mode (no dropout) whatever mode the module is in, and restores it."""
        check_mode(mode, instructions, images.shape[0])
        batch, device = images.shape[0], images.device
        if mode == "auto":
            text = torch.zeros(batch, self.config.text_dim, device=device)
        else:
            text = (embedder or default_embedder())(instructions).to(device)
        modes = torch.full((batch,), MODES.index(mode), dtype=torch.long, device=device)
        training = self.training
        self.eval()
        try:
            params = params_from_features(self(image_features(images), text, modes))
        finally:
            self.train(training)
        return PlannerOutput(latents=slider_encoder(params), params=params)
