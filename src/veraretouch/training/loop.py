"""The resumable training loop every trainer shares: learning-rate schedule, checkpoints, a CSV
log with held-out metrics, a plot, and stopping early (a step or a wall-time budget) without
losing the schedule, so a long run can be done in several sessions.

Supervised trainers implement `training_loss`; others (reinforcement learning) override
`train_step`. In a multi-process run only the process with ``writes`` set writes files, and
`keep_going` lets the processes agree on when to stop.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import time
from pathlib import Path

import torch
from torch import nn

from ..evaluation import psnr
from ..pretrained import current_weight_names


@dataclasses.dataclass
class ScheduleConfig:
    """Fields every training config has (subclasses add their own)."""

    steps: int = 10000
    learning_rate: float = 2e-3
    final_learning_rate: float = 2e-5
    warmup_steps: int = 300
    eval_every: int = 500
    checkpoint_every: int = 500
    seed: int = 0


def learning_rate_at(config: ScheduleConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to ``final_learning_rate`` at ``config.steps``."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.final_learning_rate + 0.5 * (config.learning_rate - config.final_learning_rate) * (
        1 + math.cos(math.pi * progress)
    )


def colors_as_images(colors: torch.Tensor) -> torch.Tensor:
    """``(B, N, 3)`` colour sets as ``(B, 3, N, 1)`` images, for the image metrics (the renderer is
    pointwise, so trainers score it on colour sets)."""
    return colors.transpose(1, 2)[..., None]


def mean_psnr(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over the batch of each item's PSNR (dB, `evaluation.psnr`), capped at 100 dB so an
    exact item cannot make the mean infinite."""
    return float(psnr(predicted, target).clamp(max=100.0).mean())


class ResumableTrainer:
    """Subclasses set ``out``, ``config``, ``generator``, ``optimizer``, ``models`` (name -> module)
    and ``metric_names``, and implement `training_loss` (or `train_step`), `evaluate` and
    `export_models`."""

    out: Path
    config: ScheduleConfig
    generator: torch.Generator
    optimizer: torch.optim.Optimizer
    models: dict[str, nn.Module]
    metric_names: tuple[str, ...]
    description = "train"
    step = 0
    writes = True
    """False in the processes of a distributed run that must not write files (all but rank 0)."""
    evaluate_at_start = False
    """Log an evaluation at step 0 (fine-tuning runs: the model they start from is the baseline)."""

    def training_loss(self) -> torch.Tensor:
        raise NotImplementedError

    def evaluate(self) -> dict[str, float]:
        raise NotImplementedError

    def export_models(self) -> None:
        raise NotImplementedError

    def train_step(self) -> float:
        """One supervised step on the schedule (`learning_rate_at`); returns the loss to log."""
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate_at(self.config, self.step)
        loss = self.training_loss()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def keep_going(self, wanted: bool) -> bool:
        """Whether to take another step, given this process's wish (overridden to agree across processes)."""
        return wanted

    def extra_state(self) -> dict:
        """More state to checkpoint (e.g. a sampler's), besides models, optimiser, generator and step."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        """Restore what `extra_state` saved."""

    def on_evaluation(self, metrics: dict[str, float]) -> None:
        """Called after each logged evaluation, in every process (e.g. to keep the best model so far)."""

    # ------------------------------------------------------------------ state
    def save_checkpoint(self) -> None:
        if not self.writes:
            return
        state = {"step": self.step, "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
                 "config": dataclasses.asdict(self.config), "extra": self.extra_state(),
                 **{name: model.state_dict() for name, model in self.models.items()}}
        tmp = self.out / "checkpoint.pt.tmp"
        torch.save(state, tmp)
        tmp.replace(self.out / "checkpoint.pt")

    def resume(self) -> bool:
        """Load ``checkpoint.pt`` when present (models, optimiser, RNG, step)."""
        path = self.out / "checkpoint.pt"
        if not path.exists():
            return False
        state = torch.load(path, weights_only=False)
        for name, model in self.models.items():
            model.load_state_dict(current_weight_names(model, state[name]))
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.step = state["step"]
        self.load_extra_state(state.get("extra", {}))
        return True

    # ------------------------------------------------------------------ loop
    def train(self, progress: bool = True, until: int | None = None, max_seconds: float | None = None) -> None:
        """Train to ``config.steps``, or stop at step ``until`` or after ``max_seconds`` (the
        schedule stays that of ``config.steps``, so resuming continues it), then export."""
        from tqdm import tqdm

        config = self.config
        stop = min(config.steps, until or config.steps)
        log_path = self.out / "log.csv" if self.writes else Path(os.devnull)
        new_log = not log_path.exists()
        started = time.perf_counter()
        with open(log_path, "a", newline="") as handle:
            log = csv.writer(handle)
            if new_log:
                log.writerow(["step", "loss", "learning_rate", "seconds", *self.metric_names])
            bar = tqdm(
                total=config.steps, initial=self.step, desc=self.description, disable=not (progress and self.writes)
            )
            running, logged = None, self.step

            def log_metrics() -> None:
                metrics = self.evaluate()
                log.writerow([self.step, f"{float('nan') if running is None else running:.6f}",
                              f"{self.optimizer.param_groups[0]['lr']:.2e}", f"{time.perf_counter() - started:.1f}",
                              *(f"{metrics.get(name, float('nan')):.2f}" for name in self.metric_names)])
                handle.flush()
                self.on_evaluation(metrics)

            if self.evaluate_at_start and self.step == 0:
                log_metrics()

            while self.keep_going(
                self.step < stop and (max_seconds is None or time.perf_counter() - started < max_seconds)
            ):
                loss = self.train_step()
                self.step += 1
                running = loss if running is None else 0.98 * running + 0.02 * loss
                bar.update(1)
                bar.set_postfix(loss=f"{running:.5f}")
                if self.step % config.eval_every == 0:
                    log_metrics()
                    logged = self.step
                if self.step % config.checkpoint_every == 0:
                    self.save_checkpoint()
            if logged != self.step:  # stopped between evaluations (end, until, or out of time)
                log_metrics()
            bar.close()
        self.save_checkpoint()
        self.export()

    def export(self) -> None:
        """The models as safetensors folders, the config and a plot of the log."""
        if not self.writes:
            return
        self.export_models()
        (self.out / "training_config.json").write_text(json.dumps(dataclasses.asdict(self.config), indent=2) + "\n")
        self.plot()

    def plot(self) -> None:
        plot_log(self.out / "log.csv", self.out / "loss.png", self.metric_names)


def plot_log(log_path: Path, out: Path, keys: tuple[str, ...]) -> None:
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
    for key in keys:
        right.plot(steps, [float(r[key]) for r in rows], label=key.replace("psnr_", "held-out "))
    right.set(xlabel="step", ylabel="PSNR (dB)", title="held-out PSNR vs operators")
    right.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)
