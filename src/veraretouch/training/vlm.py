"""Supervised fine-tuning of the VLM planner (paper's reasoning SFT, with its image loss), resumable.

Per step, a batch of dataset samples (`data.loader.RetouchDataset` dicts: ``input``, ``target``,
``subset``, ``instruction``, ``reasoning``, ``latents``, ``target_plan``) gives

    L = w_text * CE(answer tokens) + w_latent * MSE(z, z*) + w_image * L1(R(x, z), y)

with the answer = tagged reasoning + the three retouch tokens (teacher forcing), ``z`` the head's
latents at the retouch tokens, ``R`` the frozen renderer and ``(x, y)`` the input and target photo.
``z`` is a function of the language model's hidden states, so the image loss trains the language
model (or its LoRA adapters) as well as the head. Modes are mixed in a batch as the data holds them.

Trained: the head; the language model (all of it, or LoRA adapters on its linear layers with
``lora_rank > 0``); the embedding rows of the planner tokens (input and output, only those rows).
The vision side (encoder and projector) stays frozen unless ``train_vision``.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..evaluation import psnr
from ..plan import Plan
from ..planner.base import MODES
from ..planner.vlm import VLMPlanner
from ..planner.vlm_tokens import PLANNER_TOKENS, build_answer, build_prompt
from ..renderer import RetouchRenderer
from .loop import ResumableTrainer, ScheduleConfig


@dataclass
class VLMTrainingConfig(ScheduleConfig):
    steps: int = 3000
    learning_rate: float = 1e-4
    final_learning_rate: float = 1e-6
    warmup_steps: int = 100
    eval_every: int = 250
    checkpoint_every: int = 250
    batch_size: int = 8
    text_weight: float = 1.0
    latent_weight: float = 1.0
    image_weight: float = 1.0
    lora_rank: int = 16
    """0 fine-tunes the whole language model."""
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    weight_decay: float = 0.0
    train_vision: bool = False
    gradient_checkpointing: bool = False
    validation_samples: int = 64


def sample_prompt(sample: dict) -> str:
    """The user prompt of a dataset sample: its mode's, with its instruction (param mode: the target
    plan's slider values / 100, the paper's param instruction)."""
    mode = sample["subset"]
    if mode == "param":
        return build_prompt(mode, Plan.from_tensor(sample["target_plan"]).to_json())
    return build_prompt(mode, sample.get("instruction") if mode == "style" else None)


def vlm_losses(planner: VLMPlanner, renderer: RetouchRenderer, batch: list[dict]) -> dict[str, torch.Tensor]:
    """The three SFT terms for a batch of samples (photos may differ in size): ``text``, ``latent``, ``image``."""
    latents, text_loss = planner([sample["input"] for sample in batch], [sample_prompt(sample) for sample in batch],
                                 [build_answer(sample["reasoning"]) for sample in batch])
    latents = latents.float()
    labels = torch.stack([sample["latents"] for sample in batch]).to(latents)
    image_loss = torch.stack([
        F.l1_loss(renderer(sample["input"][None].to(latents), latents[row:row + 1]), sample["target"][None].to(latents))
        for row, sample in enumerate(batch)]).mean()
    return {"text": text_loss, "latent": F.mse_loss(latents, labels), "image": image_loss}


def train_new_token_rows(planner: VLMPlanner) -> list[nn.Parameter]:
    """Make the input and output embeddings trainable in the planner tokens' rows only (every other
    row's gradient is zeroed, so with no weight decay those rows never move). Returns the weights."""
    token_ids = planner.processor.tokenizer.convert_tokens_to_ids(list(PLANNER_TOKENS))
    weights: list[nn.Parameter] = []
    for module in (planner.model.get_input_embeddings(), planner.model.get_output_embeddings()):
        if module is None or any(module.weight is weight for weight in weights):
            continue
        mask = torch.zeros(module.weight.shape[0], 1, dtype=module.weight.dtype, device=module.weight.device)
        mask[token_ids] = 1
        module.weight.requires_grad_(True)
        module.weight.register_hook(lambda grad, mask=mask: grad * mask)
        weights.append(module.weight)
    return weights


def prepare_for_training(planner: VLMPlanner, config: VLMTrainingConfig) -> list[dict]:
    """Freeze / adapt the planner as ``config`` says; the optimiser's parameter groups."""
    if config.lora_rank > 0 and config.train_vision:
        raise ValueError("train_vision needs full fine-tuning (lora_rank=0)")
    if config.lora_rank > 0:
        planner.enable_lora(config.lora_rank, config.lora_alpha, config.lora_dropout)
    elif not config.train_vision:
        planner.model.requires_grad_(False)
        planner.language_model().requires_grad_(True)
    if config.gradient_checkpointing:
        planner.model.gradient_checkpointing_enable()
        planner.model.enable_input_require_grads()
    embeddings = train_new_token_rows(planner)
    planner.head.requires_grad_(True)
    others = [parameter for parameter in planner.parameters()
              if parameter.requires_grad and not any(parameter is weight for weight in embeddings)]
    return [{"params": embeddings, "weight_decay": 0.0}, {"params": others, "weight_decay": config.weight_decay}]


class VLMTrainer(ResumableTrainer):
    """Resumable SFT. ``train`` is a sequence of samples (drawn at random, reproducibly on resume)
    or any iterable, e.g. a `RetouchDataset` (read in order and restarted when exhausted; a resumed
    run starts it again from the beginning). ``validation``: a few samples for held-out PSNR."""

    description = "train vlm planner"
    metric_names = ("psnr_auto", "psnr_style", "psnr_param", "psnr_none")

    def __init__(self, out: Path, planner: VLMPlanner, renderer: RetouchRenderer, train: Iterable[dict],
                 validation: Sequence[dict] | None, config: VLMTrainingConfig) -> None:
        self.out, self.config = Path(out), config
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.planner, self.renderer = planner, renderer.eval().requires_grad_(False).to(planner.device)
        self.train_set = train
        self.validation_set = list(itertools.islice(validation, config.validation_samples)) if validation else []
        self._stream = None
        self.optimizer = torch.optim.AdamW(prepare_for_training(planner, config), lr=config.learning_rate)
        self.models = {"planner": planner}
        self.resume()

    def next_batch(self) -> list[dict]:
        if isinstance(self.train_set, Sequence):
            picks = torch.randint(0, len(self.train_set), (self.config.batch_size,), generator=self.generator)
            return [self.train_set[index] for index in picks.tolist()]
        batch, restarted = [], False
        while len(batch) < self.config.batch_size:
            sample = None if self._stream is None else next(self._stream, None)
            if sample is not None:
                batch.append(sample)
                restarted = False
                continue
            if restarted:
                raise ValueError("the training set is empty")
            self._stream, restarted = iter(self.train_set), True
        return batch

    def training_loss(self) -> torch.Tensor:
        config = self.config
        self.planner.train()
        losses = vlm_losses(self.planner, self.renderer, self.next_batch())
        return (config.text_weight * losses["text"] + config.latent_weight * losses["latent"]
                + config.image_weight * losses["image"])

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Held-out PSNR of the renderer driven by teacher-forced latents, per mode, and of the input."""
        if not self.validation_set:
            return {}
        self.planner.eval()
        scores: dict[str, list[float]] = {mode: [] for mode in (*MODES, "none")}
        for start in range(0, len(self.validation_set), self.config.batch_size):
            batch = self.validation_set[start:start + self.config.batch_size]
            latents, _ = self.planner([sample["input"] for sample in batch], [sample_prompt(s) for s in batch],
                                      [build_answer(sample["reasoning"]) for sample in batch])
            for row, sample in enumerate(batch):
                source, target = sample["input"][None].to(latents.device), sample["target"][None].to(latents.device)
                rendered = self.renderer(source, latents[row:row + 1].float())
                scores[sample["subset"]].append(float(psnr(rendered, target).clamp(max=100.0)))
                scores["none"].append(float(psnr(source, target).clamp(max=100.0)))
        return {f"psnr_{mode}": sum(values) / len(values) for mode, values in scores.items() if values}

    def export_models(self) -> None:
        self.planner.save_pretrained(self.out / "vlm_planner")


def train_vlm_planner(out: Path, checkpoint: Path, renderer: RetouchRenderer, train: Iterable[dict],
                      validation: Sequence[dict] | None, config: VLMTrainingConfig, *,
                      dtype: torch.dtype | str | None = None, device: str | None = None,
                      max_seconds: float | None = None, progress: bool = True) -> VLMTrainer:
    """Fine-tune the VLM in ``checkpoint`` (a base VLM or a saved planner) into ``out/vlm_planner``."""
    planner = VLMPlanner.from_checkpoint(checkpoint, renderer=renderer, dtype=dtype, device=device)
    trainer = VLMTrainer(out, planner, renderer, train, validation, config)
    trainer.train(progress=progress, max_seconds=max_seconds)
    return trainer
