"""The compact planner: colour statistics (+ an instruction) -> a plan -> the renderer's control latents.

The paper's planner is a 0.5B VLM; this one does the same job on a CPU in milliseconds. It reads
`image_features` of the photo, the sentence embedding of the instruction (`InstructionEmbedder`;
zero in auto mode) and a learned mode embedding, and predicts the plan in the SliderEncoder's
feature space (`encoders.slider.flat_features`: sliders scaled to [-1, 1], grading tints as 2-D
vectors, curve offsets), a smooth space without hue wrap-around. `params_from_features` projects
that onto a valid plan, and the frozen SliderEncoder turns the plan into latents. So the plan the
explanation describes and the XMP exports is exactly the plan the renderer executes.

The output layer starts at zero: an untrained planner proposes the identity plan.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..encoders.slider import FEATURE_SIZES, SliderEncoder, params_from_features
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
    mode_scales: tuple[float, ...] = (1.0,) * len(MODES)
    """Per mode (`MODES` order), the factor the predicted plan is scaled by towards the identity (0 =
    no edit): set after training on validation photos (`training.planner.calibrate_mode_scales`),
    because on photos it has not seen a planner's full-strength plan can do worse than part of it."""

    def __post_init__(self) -> None:
        self.feature_groups = tuple(self.feature_groups)  # JSON gives a list back
        self.mode_scales = tuple(float(scale) for scale in self.mode_scales)
        if len(self.mode_scales) != len(MODES) or min(self.mode_scales) < 0:
            raise ValueError(f"mode_scales needs {len(MODES)} non-negative factors ({', '.join(MODES)})")
        unknown = [name for name in self.feature_groups if name not in FEATURE_GROUPS]
        if unknown:
            raise ValueError(f"unknown feature group {unknown[0]!r}; choose from {', '.join(FEATURE_GROUPS)}")


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

    def set_feature_statistics(self, features: torch.Tensor) -> None:
        """Standardise image features with the mean and deviation of a training set ``(N, F)`` (then clip, `STANDARD_LIMIT`)."""
        self.feature_mean.copy_(features.mean(dim=0))
        self.feature_std.copy_(features.std(dim=0).clamp(min=1e-4))

    def forward(self, features: torch.Tensor, text_embeddings: torch.Tensor, mode_ids: torch.Tensor) -> torch.Tensor:
        """``(B, F)`` image features, ``(B, 384)`` instruction embeddings (zeros for auto), ``(B,)`` mode
        indices into `MODES` -> ``(B, PLAN_FEATURES)`` plan features (unprojected, scaled by the mode's
        `CompactPlannerConfig.mode_scales`)."""
        standardised = ((features - self.feature_mean) / self.feature_std).clamp(-STANDARD_LIMIT, STANDARD_LIMIT)
        standardised = standardised * self.feature_mask
        hidden = (self.image_in(standardised) + self.text_in(text_embeddings)
                  + self.mode_embedding(mode_ids))
        scales = torch.tensor(self.config.mode_scales, dtype=hidden.dtype, device=hidden.device)[mode_ids]
        return self.head(self.norm(self.blocks(hidden))) * scales[:, None]

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
