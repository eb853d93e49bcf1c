"""Train the ReferenceEncoder against a frozen renderer, with the parametric operators as teacher.

Every step draws plans (the same mixture as the renderer), a crop of one training photo (the
example's *before*; its operator render is the *after*) and a crop of another (the photo to
edit). Both modes are trained at once:

- pair: latents from (before, after) must render the other photo as the operators would, and
  reproduce the example itself (transfer + reconstruction);
- target: latents from (photo to edit, after) must render the photo to edit as the operators would.

Loss: L1 between the renderer's colours under those latents and the operators' colours, plus, for
pair mode (when the renderer's SliderEncoder is given), L1 between the latents and the
SliderEncoder's latents for the same plan: the plan is known during training. (Target mode
gets no such term: a look alone does not determine the plan.) The renderer only sees
``ReLU(z)``, so without this term a latent that starts negative gets no gradient and stays
dead (with a loss on ReLU(z) instead, 21 % of the latents the teacher had positive were stuck
at or below zero after 400 steps).
Resumable like the renderer trainer (``checkpoint.pt``, ``log.csv``, ``loss.png``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data.colors import photo_paths, photo_thumbnails
from ..data.plans import PlanMixture, is_held_out, preset_plans
from ..encoders import ReferenceEncoder, ReferenceEncoderConfig, SliderEncoder
from ..operators import render
from ..renderer import RetouchRenderer
from .loop import ResumableTrainer, ScheduleConfig, mean_psnr


@dataclass
class ReferenceTrainingConfig(ScheduleConfig):
    steps: int = 4000
    learning_rate: float = 1e-3
    final_learning_rate: float = 1e-5
    warmup_steps: int = 200
    eval_every: int = 250
    checkpoint_every: int = 250
    plans_per_step: int = 32
    loss_colors: int = 512
    paper_share: float = 0.45
    uniform_share: float = 0.30
    latent_weight: float = 1.0
    backbone: str = "soft_lut"
    sample_side: int = 32


def random_crops(thumbnails: torch.Tensor, count: int, side: int, generator: torch.Generator,
                 exclude: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random crops (50-100 % of the side, anywhere) of random thumbnails, resized to
    ``side``; returns ``(crops (count, 3, side, side), photo indices)``. With ``exclude``, row i
    never uses photo ``exclude[i]``."""
    total, _, height, width = thumbnails.shape
    if exclude is None:
        indices = torch.randint(0, total, (count,), generator=generator)
    else:
        indices = (exclude + torch.randint(1, total, (count,), generator=generator)) % total
    fractions = 0.5 + 0.5 * torch.rand(count, generator=generator)
    crops = []
    for index, fraction in zip(indices.tolist(), fractions.tolist()):
        crop_h, crop_w = max(1, int(height * fraction)), max(1, int(width * fraction))
        top = int(torch.randint(0, height - crop_h + 1, (1,), generator=generator))
        left = int(torch.randint(0, width - crop_w + 1, (1,), generator=generator))
        crops.append(F.interpolate(thumbnails[index:index + 1, :, top:top + crop_h, left:left + crop_w],
                                   size=(side, side), mode="area"))
    return torch.cat(crops), indices


class ReferenceTrainer(ResumableTrainer):
    description = "train reference encoder"
    metric_names = ("psnr_pair", "psnr_target")

    def __init__(self, out: Path, renderer: RetouchRenderer, photos: Path | None, presets: Path | None,
                 config: ReferenceTrainingConfig, slider_encoder: SliderEncoder | None = None) -> None:
        self.out, self.config = Path(out), config
        self.out.mkdir(parents=True, exist_ok=True)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.renderer = renderer.eval().requires_grad_(False)
        self.slider_encoder = None if slider_encoder is None else slider_encoder.eval().requires_grad_(False)
        self.encoder = ReferenceEncoder(ReferenceEncoderConfig(renderer.config.aspect_dim, backbone=config.backbone,
                                                               sample_side=config.sample_side))
        trainable = [p for p in self.encoder.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(trainable, lr=config.learning_rate)
        self.step = 0
        paths = photo_paths(photos) if photos else []
        self.train_photos = photo_thumbnails([p for p in paths if not is_held_out(p)], side=128)
        self.eval_photos = photo_thumbnails([p for p in paths if is_held_out(p)], side=128)
        if len(self.train_photos) < 2:
            raise ValueError("training the reference encoder needs at least two training photos")
        train_presets = preset_plans(presets, "train")[0] if presets else None
        self.eval_presets = preset_plans(presets, "held_out")[0] if presets else None
        self.plans = PlanMixture(train_presets, config.paper_share, config.uniform_share)
        self.models = {"encoder": self.encoder}

    def training_loss(self) -> torch.Tensor:
        params = self.plans.sample(self.config.plans_per_step, self.generator)
        return sum(self.losses(params, self.train_photos, self.generator).values())

    def losses(self, params: torch.Tensor, photos: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """L1 losses (pair transfer + reconstruction, target) for plans ``params`` on crops of ``photos``."""
        batch, side = params.shape[0], self.config.sample_side
        example, example_index = random_crops(photos, batch, side, generator)
        other, _ = random_crops(photos, batch, side, generator, exclude=example_index)
        stacked = torch.cat([example, other], dim=3)
        with torch.no_grad():
            edited = render(stacked, params, compute_dtype=torch.float32)
        example_after, other_after = edited[..., :side], edited[..., side:]
        picks = torch.randint(0, side * side, (self.config.loss_colors,), generator=generator)
        example_colors, other_colors, example_wanted, other_wanted = (
            image.flatten(2).transpose(1, 2)[:, picks] for image in (example, other, example_after, other_after))
        with torch.no_grad():  # D(x, 0) of the frozen renderer, shared by both modes
            example_base, other_base = self.renderer.raw(example_colors, None), self.renderer.raw(other_colors, None)

        def error(
            latents: torch.Tensor, colors: torch.Tensor, base: torch.Tensor, wanted: torch.Tensor
        ) -> torch.Tensor:
            return (self.renderer.render_colors(colors, latents, base=base) - wanted).abs().mean()

        pair = self.encoder(example, example_after, mode="pair")
        target = self.encoder(other, example_after, mode="target")
        losses = {
            "pair": error(pair, other_colors, other_base, other_wanted)
            + error(pair, example_colors, example_base, example_wanted),
            "target": error(target, other_colors, other_base, other_wanted),
        }
        if self.slider_encoder is not None and self.config.latent_weight > 0:
            with torch.no_grad():
                teacher = self.slider_encoder(params)
            losses["latents"] = self.config.latent_weight * (pair - teacher).abs().mean()
        return losses

    def evaluate(self) -> dict[str, float]:
        """Held-out photos x held-out presets (paper plans without presets): mean PSNR of the
        renderer's transfer against the operators, per mode."""
        generator = torch.Generator().manual_seed(1234)
        photos = self.eval_photos if len(self.eval_photos) >= 2 else self.train_photos
        params = (
            self.eval_presets[:64]
            if self.eval_presets is not None and len(self.eval_presets)
            else self.plans.sample(64, generator)
        )
        side = self.config.sample_side
        with torch.no_grad():
            example, index = random_crops(photos, len(params), side, generator)
            other, _ = random_crops(photos, len(params), side, generator, exclude=index)
            edited = render(torch.cat([example, other], dim=3), params, compute_dtype=torch.float32)
            example_after, other_after = edited[..., :side], edited[..., side:]
            results = {}
            for mode, before in (("pair", example), ("target", other)):
                latents = self.encoder(before, example_after, mode=mode)
                results[f"psnr_{mode}"] = mean_psnr(self.renderer(other, latents), other_after)
        return results

    def export_models(self) -> None:
        """``reference_encoder/`` plus copies of the frozen models it was trained for, so the run
        folder is a complete set for ``--models``."""
        self.encoder.save_pretrained(self.out / "reference_encoder")
        self.renderer.save_pretrained(self.out / "renderer")
        if self.slider_encoder is not None:
            self.slider_encoder.save_pretrained(self.out / "slider_encoder")


def train_reference_encoder(out: Path, renderer: RetouchRenderer, photos: Path | None, presets: Path | None,
                            config: ReferenceTrainingConfig, slider_encoder: SliderEncoder | None = None,
                            resume: bool = True, progress: bool = True, until: int | None = None,
                            max_seconds: float | None = None) -> ReferenceTrainer:
    """Train a ReferenceEncoder for the frozen ``renderer`` (and its ``slider_encoder`` as latent teacher)."""
    trainer = ReferenceTrainer(out, renderer, photos, presets, config, slider_encoder)
    if resume and trainer.resume():
        print(f"resumed {out} at step {trainer.step}")
    trainer.train(progress=progress, until=until, max_seconds=max_seconds)
    return trainer
