"""Train the Retouch Renderer and the SliderEncoder on sampled colours, with the parametric
operators as the teacher.

Every step draws plans (paper Gaussians, wide uniform, real training presets), masks a random
subset of aspect groups for part of the batch (the target then has only those groups' controls,
which teaches decoupling), draws colours (photo pixels + uniform cube) shared by the batch, and
regresses the renderer's output on the operators' render. Pointwise models need no images:
colours are the whole story, and a step costs milliseconds.

Resumable: ``checkpoint.pt`` (models, optimiser, step, RNG) every ``checkpoint_every`` steps;
``log.csv`` with losses and held-out PSNR; ``loss.png`` at the end.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.colors import photo_color_pool, photo_paths, sample_colors
from ..data.plans import is_held_out, preset_plans, sample_paper_plans, sample_uniform_plans
from ..encoders import SliderEncoder, SliderEncoderConfig
from ..operators import render
from ..parameters import GROUPS, restrict_to_groups
from ..renderer import RendererConfig, RetouchRenderer


@dataclass
class RendererTrainingConfig:
    steps: int = 12000
    plans_per_step: int = 32
    colors_per_step: int = 1024
    learning_rate: float = 2e-3
    final_learning_rate: float = 2e-5
    warmup_steps: int = 300
    masked_share: float = 0.35
    paper_share: float = 0.45
    uniform_share: float = 0.30
    eval_every: int = 500
    checkpoint_every: int = 500
    seed: int = 0
    hidden_widths: tuple[int, ...] = (128, 128, 128)
    group_dim: int = 64
    encoder_hidden: int = 256


def _learning_rate(config: RendererTrainingConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to ``final_learning_rate``."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.final_learning_rate + 0.5 * (config.learning_rate - config.final_learning_rate) * (1 + math.cos(math.pi * progress))


def sample_group_masks(count: int, masked_share: float, generator: torch.Generator) -> torch.Tensor:
    """``(count, 3)`` masks: all ones, except ``masked_share`` of rows keep a random non-empty strict subset."""
    masks = torch.ones(count, len(GROUPS))
    masked = torch.rand(count, generator=generator) < masked_share
    codes = torch.randint(1, 2 ** len(GROUPS) - 1, (count,), generator=generator)
    bits = torch.stack([(codes >> g) & 1 for g in range(len(GROUPS))], dim=1).float()
    return torch.where(masked[:, None], bits, masks)


class RendererTrainer:
    """Owns the models, data sources, optimiser and the training state of one run folder."""

    def __init__(self, out: Path, photos: Path | None, presets: Path | None, config: RendererTrainingConfig) -> None:
        self.out, self.config = Path(out), config
        self.out.mkdir(parents=True, exist_ok=True)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.renderer = RetouchRenderer(RendererConfig(list(config.hidden_widths), config.group_dim))
        self.encoder = SliderEncoder(SliderEncoderConfig(config.group_dim, config.encoder_hidden))
        self.optimizer = torch.optim.Adam([*self.renderer.parameters(), *self.encoder.parameters()], lr=config.learning_rate)
        self.step = 0
        paths = photo_paths(photos) if photos else []
        self.train_pool = photo_color_pool([p for p in paths if not is_held_out(p)], seed=config.seed)
        self.eval_pool = photo_color_pool([p for p in paths if is_held_out(p)], pixels_per_photo=8192, seed=1)
        self.train_presets = preset_plans(presets, "train")[0] if presets else torch.empty(0)
        self.eval_presets = preset_plans(presets, "held_out")[0] if presets else torch.empty(0)

    # ------------------------------------------------------------------ data
    def sample_plans(self, count: int) -> torch.Tensor:
        config, generator = self.config, self.generator
        paper = int(count * config.paper_share)
        uniform = int(count * config.uniform_share)
        presets = count - paper - uniform if len(self.train_presets) else 0
        parts = [sample_paper_plans(paper + (count - paper - uniform - presets), generator),
                 sample_uniform_plans(uniform, generator)]
        if presets:
            parts.append(self.train_presets[torch.randint(0, len(self.train_presets), (presets,), generator=generator)])
        return torch.cat(parts)

    def loss(self, params: torch.Tensor, masks: torch.Tensor, colors: torch.Tensor) -> torch.Tensor:
        """Mean L1 between the renderer and the operators on ``(K, 3)`` colours shared by the batch."""
        batch = params.shape[0]
        colors_image = colors.T.reshape(1, 3, -1, 1)
        with torch.no_grad():
            target = render(colors_image.expand(batch, -1, -1, -1), restrict_to_groups(params, masks),
                            compute_dtype=torch.float32)
        target = target.reshape(batch, 3, -1).transpose(1, 2)
        latents = self.encoder(params)
        base = self.renderer.raw(colors[None], None)
        predicted = self.renderer.render_colors(colors[None].expand(batch, -1, -1), latents, masks, base=base)
        return (predicted - target).abs().mean()

    # ------------------------------------------------------------------ loop
    def evaluate(self) -> dict[str, float]:
        """Held-out PSNR (dB) on held-out photo colours: paper plans, and held-out presets."""
        generator = torch.Generator().manual_seed(1234)
        pool = self.eval_pool if len(self.eval_pool) else torch.rand(8192, 3, generator=generator)
        colors = pool[torch.randint(0, len(pool), (4096,), generator=generator)]
        results = {}
        sets = {"paper": sample_paper_plans(64, generator)}
        if len(self.eval_presets):
            sets["presets"] = self.eval_presets[:64]
        with torch.no_grad():
            for name, params in sets.items():
                batch = params.shape[0]
                target = render(colors.T.reshape(1, 3, -1, 1).expand(batch, -1, -1, -1), params,
                                compute_dtype=torch.float32).reshape(batch, 3, -1).transpose(1, 2)
                predicted = self.renderer.render_colors(colors[None].expand(batch, -1, -1), self.encoder(params))
                mse = ((predicted - target) ** 2).mean(dim=(1, 2)).clamp_min(1e-10)
                results[f"psnr_{name}"] = float((10 * torch.log10(1 / mse)).mean())
        return results

    def save_checkpoint(self) -> None:
        state = {"step": self.step, "renderer": self.renderer.state_dict(), "encoder": self.encoder.state_dict(),
                 "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
                 "config": dataclasses.asdict(self.config)}
        tmp = self.out / "checkpoint.pt.tmp"
        torch.save(state, tmp)
        tmp.replace(self.out / "checkpoint.pt")

    def resume(self) -> bool:
        path = self.out / "checkpoint.pt"
        if not path.exists():
            return False
        state = torch.load(path, weights_only=False)
        self.renderer.load_state_dict(state["renderer"])
        self.encoder.load_state_dict(state["encoder"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.step = state["step"]
        return True

    def train(self, progress: bool = True) -> None:
        from tqdm import tqdm

        config = self.config
        log_path = self.out / "log.csv"
        new_log = not log_path.exists()
        started = time.perf_counter()
        with open(log_path, "a", newline="") as handle:
            log = csv.writer(handle)
            if new_log:
                log.writerow(["step", "loss", "learning_rate", "seconds", "psnr_paper", "psnr_presets"])
            bar = tqdm(total=config.steps, initial=self.step, desc="train renderer", disable=not progress)
            running = 0.0
            while self.step < config.steps:
                for group in self.optimizer.param_groups:
                    group["lr"] = _learning_rate(config, self.step)
                params = self.sample_plans(config.plans_per_step)
                masks = sample_group_masks(len(params), config.masked_share, self.generator)
                colors = sample_colors(self.train_pool, config.colors_per_step, self.generator)
                loss = self.loss(params, masks, colors)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                self.step += 1
                running = 0.98 * running + 0.02 * loss.item() if self.step > 1 else loss.item()
                bar.update(1)
                bar.set_postfix(loss=f"{running:.5f}")
                if self.step % config.eval_every == 0 or self.step == config.steps:
                    metrics = self.evaluate()
                    log.writerow([self.step, f"{running:.6f}", f"{_learning_rate(config, self.step):.2e}",
                                  f"{time.perf_counter() - started:.1f}", f"{metrics.get('psnr_paper', float('nan')):.2f}",
                                  f"{metrics.get('psnr_presets', float('nan')):.2f}"])
                    handle.flush()
                if self.step % config.checkpoint_every == 0 or self.step == config.steps:
                    self.save_checkpoint()
            bar.close()
        self.export()

    def export(self) -> None:
        """Weights as safetensors folders (``renderer/``, ``slider_encoder/``) and a loss plot."""
        self.renderer.save_pretrained(self.out / "renderer")
        self.encoder.save_pretrained(self.out / "slider_encoder")
        (self.out / "training_config.json").write_text(json.dumps(dataclasses.asdict(self.config), indent=2) + "\n")
        plot_log(self.out / "log.csv", self.out / "loss.png")


def plot_log(log_path: Path, out: Path) -> None:
    """Loss and held-out PSNR against steps (skipped quietly when matplotlib is absent)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = list(csv.DictReader(open(log_path)))
    if not rows:
        return
    steps = [int(r["step"]) for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.semilogy(steps, [float(r["loss"]) for r in rows])
    left.set(xlabel="step", ylabel="L1 loss (smoothed)", title="training loss")
    for key in ("psnr_paper", "psnr_presets"):
        right.plot(steps, [float(r[key]) for r in rows], label=key.replace("psnr_", "held-out "))
    right.set(xlabel="step", ylabel="PSNR (dB)", title="renderer vs operators")
    right.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def train_renderer(out: Path, photos: Path | None, presets: Path | None, config: RendererTrainingConfig,
                   resume: bool = True, progress: bool = True) -> RendererTrainer:
    """Build a trainer for ``out`` (resuming its checkpoint when asked and present) and train it."""
    trainer = RendererTrainer(out, photos, presets, config)
    if resume and trainer.resume():
        print(f"resumed {out} at step {trainer.step}")
    trainer.train(progress=progress)
    return trainer
