"""Train the Retouch Renderer and the SliderEncoder on sampled colours, with the parametric
operators as the teacher.

Every step draws plans (paper Gaussians, wide uniform, real training presets), masks a random
subset of aspects for part of the batch (the target then has only those aspects' controls,
which teaches decoupling), draws colours (photo pixels + uniform cube) shared by the batch, and
regresses the renderer's output on the operators' render. Pointwise models need no images:
colours are the whole story, and a step costs milliseconds.

Resumable (`veraretouch.training.loop`): ``checkpoint.pt`` (models, optimiser, step, RNG),
``log.csv`` with losses and held-out PSNR, ``loss.png``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.colors import photo_color_pool, photo_paths, sample_colors
from ..data.plans import PlanMixture, is_held_out, preset_plans, sample_paper_plans
from ..encoders import SliderEncoder, SliderEncoderConfig
from ..operators import render
from ..plan.parameters import ASPECTS, restrict_to_aspects
from ..renderer import RendererConfig, RetouchRenderer
from .loop import ResumableTrainer, ScheduleConfig, colors_as_images, mean_psnr


@dataclass
class RendererTrainingConfig(ScheduleConfig):
    steps: int = 10000
    plans_per_step: int = 32
    colors_per_step: int = 1024
    masked_share: float = 0.35
    paper_share: float = 0.45
    uniform_share: float = 0.30
    hidden_widths: tuple[int, ...] = (128, 128, 128)
    aspect_dim: int = 64
    modulation: str = "film"
    hue_harmonics: int = 6
    encoder_hidden: int = 256
    eval_plans: int = 64
    eval_colors: int = 4096


def sample_aspect_masks(count: int, masked_share: float, generator: torch.Generator) -> torch.Tensor:
    """``(count, 3)`` masks: all ones, except ``masked_share`` of rows keep a random non-empty strict subset."""
    masks = torch.ones(count, len(ASPECTS))
    masked = torch.rand(count, generator=generator) < masked_share
    codes = torch.randint(1, 2 ** len(ASPECTS) - 1, (count,), generator=generator)
    bits = torch.stack([(codes >> g) & 1 for g in range(len(ASPECTS))], dim=1).float()
    return torch.where(masked[:, None], bits, masks)


class RendererTrainer(ResumableTrainer):
    """Owns the models, data sources, optimiser and the training state of one run folder."""

    description = "train renderer"
    metric_names = ("psnr_paper", "psnr_presets")

    def __init__(self, out: Path, photos: Path | None, presets: Path | None, config: RendererTrainingConfig) -> None:
        self.out, self.config = Path(out), config
        self.out.mkdir(parents=True, exist_ok=True)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.renderer = RetouchRenderer(RendererConfig(list(config.hidden_widths), config.aspect_dim,
                                                        config.modulation, config.hue_harmonics))
        self.encoder = SliderEncoder(SliderEncoderConfig(config.aspect_dim, config.encoder_hidden))
        self.optimizer = torch.optim.Adam(
            [*self.renderer.parameters(), *self.encoder.parameters()], lr=config.learning_rate
        )
        self.step = 0
        paths = photo_paths(photos) if photos else []
        self.train_pool = photo_color_pool([p for p in paths if not is_held_out(p)], seed=config.seed)
        self.eval_pool = photo_color_pool([p for p in paths if is_held_out(p)], pixels_per_photo=8192, seed=1)
        self.train_presets = preset_plans(presets, "train")[0] if presets else torch.empty(0)
        self.eval_presets = preset_plans(presets, "held_out")[0] if presets else torch.empty(0)
        self.plans = PlanMixture(self.train_presets, config.paper_share, config.uniform_share)
        self.models = {"renderer": self.renderer, "encoder": self.encoder}

    def training_loss(self) -> torch.Tensor:
        params = self.plans.sample(self.config.plans_per_step, self.generator)
        masks = sample_aspect_masks(len(params), self.config.masked_share, self.generator)
        colors = sample_colors(self.train_pool, self.config.colors_per_step, self.generator)
        return self.loss(params, masks, colors)

    def loss(self, params: torch.Tensor, masks: torch.Tensor, colors: torch.Tensor) -> torch.Tensor:
        """Mean L1 between the renderer and the operators on ``(K, 3)`` colours shared by the batch."""
        batch = params.shape[0]
        colors_image = colors.T.reshape(1, 3, -1, 1)
        with torch.no_grad():
            target = render(colors_image.expand(batch, -1, -1, -1), restrict_to_aspects(params, masks),
                            compute_dtype=torch.float32)
        target = target.reshape(batch, 3, -1).transpose(1, 2)
        latents = self.encoder(params)
        base = self.renderer.raw(colors[None], None)
        predicted = self.renderer.render_colors(colors[None].expand(batch, -1, -1), latents, masks, base=base)
        return (predicted - target).abs().mean()

    def evaluate(self) -> dict[str, float]:
        """Held-out PSNR (dB) on held-out photo colours: paper plans, and held-out presets."""
        generator = torch.Generator().manual_seed(1234)
        pool = self.eval_pool if len(self.eval_pool) else torch.rand(8192, 3, generator=generator)
        colors = pool[torch.randint(0, len(pool), (self.config.eval_colors,), generator=generator)]
        results = {}
        sets = {"paper": sample_paper_plans(self.config.eval_plans, generator)}
        if len(self.eval_presets):
            sets["presets"] = self.eval_presets[:self.config.eval_plans]
        with torch.no_grad():
            for name, params in sets.items():
                batch = params.shape[0]
                target = render(colors.T.reshape(1, 3, -1, 1).expand(batch, -1, -1, -1), params,
                                compute_dtype=torch.float32).reshape(batch, 3, -1).transpose(1, 2)
                predicted = self.renderer.render_colors(colors[None].expand(batch, -1, -1), self.encoder(params))
                results[f"psnr_{name}"] = mean_psnr(colors_as_images(predicted), colors_as_images(target))
        return results

    def export_models(self) -> None:
        """Weights as safetensors folders: ``renderer/`` and ``slider_encoder/``."""
        self.renderer.save_pretrained(self.out / "renderer")
        self.encoder.save_pretrained(self.out / "slider_encoder")


def train_renderer(out: Path, photos: Path | None, presets: Path | None, config: RendererTrainingConfig,
                   resume: bool = True, progress: bool = True, until: int | None = None,
                   max_seconds: float | None = None) -> RendererTrainer:
    """Build a trainer for ``out`` (resuming its checkpoint when asked and present) and train it."""
    trainer = RendererTrainer(out, photos, presets, config)
    if resume and trainer.resume():
        print(f"resumed {out} at step {trainer.step}")
    trainer.train(progress=progress, until=until, max_seconds=max_seconds)
    return trainer
