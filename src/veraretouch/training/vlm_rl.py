"""DAPO-AE on the VLM planner (`veraretouch train rl --planner vlm`, docs/rl.md): `rl.DAPORunTrainer`
driving `vlm_policy.VLMPlanPolicy`, resumable, on one process or several.

Prompts are dataset samples drawn at random (with the run's checkpointed stream, so a resumed run
draws what an uninterrupted one would) from a split of a built dataset
(`data.loader.IndexedRetouchDataset`: the split's records are read once, a sample is rendered when
drawn). Each input/target pair is centre-cropped to a square and resized to ``side`` x ``side``,
so a draw stacks into one batch. The reward is `vlm_policy.vlm_reward_fn` (format + similarity +
capped aesthetic in auto mode) and DAPO's overlong shaping is on: ``max_length`` is the answer
budget, the penalty ramps over its last quarter.

What trains is what SFT trains (`training.vlm.prepare_for_training`) but the retouch head: LoRA
adapters on the language model's linear layers (``lora_rank > 0``, the default) or the whole
language model, and the planner tokens' embedding rows. The head stays as SFT left it: the policy's
probabilities are those of its tokens, so DAPO's loss never reaches it (the latents it reads change
only through the hidden states the language model gives it).

``checkpoint.pt`` holds only the trainable weights (`TrainableWeights`) with DAPO's optimiser state
and the CPU random streams; the frozen rest is reloaded from the starting planner, so a run resumes
only from the same ``--checkpoint``. The input and output embedding matrices are trainable as
wholes (only the planner tokens' rows get a gradient), so they are in the checkpoint in full, as
are their optimiser moments. On a GPU `generate` samples from the CUDA stream, which is not
checkpointed: a resumed run goes on correctly but does not redraw what an uninterrupted one would.

Every ``eval_every`` steps the greedy answers for a fixed handful of validation samples (spread
over the split) are scored: PSNR per mode of their renders against the targets (and of the inputs),
similarity, the share of answers with the full format reward, the mean reward, and the critic's
reward in auto mode.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import VeraRetouchError
from ..planner.base import PLANNER_SIDE
from ..planner.vlm import VLMPlanner
from ..renderer import RetouchRenderer
from .dapo import DAPOConfig
from .distributed import Distributed
from .planner import mode_metrics
from .rewards import RewardWeights, format_rewards
from .rl import STEP_FIELDS, DAPORunConfig, DAPORunTrainer, spread
from .vlm import VLMTrainingConfig, prepare_for_training
from .vlm_policy import VLMPlanPolicy, vlm_prompts, vlm_reward_fn

EVAL_BATCH = 8
"""Validation prompts answered per `generate` call."""


@dataclass
class VLMRLTrainingConfig(DAPORunConfig):
    """DAPO settings for the VLM planner. Starting points, not measured: 16 prompts x 8 answers per
    batch in 4 updates; learning rate 1e-5 for LoRA adapters (DAPO's 1e-6 is for fully fine-tuning a
    32 B model); AdamW weight decay 0.1 as DAPO, except on the embedding rows (as in SFT)."""

    learning_rate: float = 1e-5
    eval_every: int = 10
    checkpoint_every: int = 10
    prompts_per_batch: int = 16
    side: int = PLANNER_SIDE
    """Prompts' photos are ``side`` x ``side`` squares; the renderer and the reward work at this size."""
    max_new_tokens: int | None = None
    """The answer budget and DAPO's ``max_length`` (None: the planner's own ``max_new_tokens``)."""
    lora_rank: int = 16
    """0 fine-tunes the whole language model (then load it in float32: see `load_start`)."""
    lora_alpha: int = 32
    weight_decay: float = 0.1
    eval_samples: int = 16
    """Validation samples answered greedily at each evaluation (the same every time)."""


class TrainableWeights:
    """A module's trainable parameters as a state dict: what a VLM run checkpoints (adapters or the
    language model, embeddings), leaving out the frozen weights the starting planner already holds."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def _trainable(self) -> dict[str, nn.Parameter]:
        return {name: parameter for name, parameter in self.module.named_parameters() if parameter.requires_grad}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {name: parameter.detach().cpu() for name, parameter in self._trainable().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        trainable = self._trainable()
        if state.keys() != trainable.keys() or any(state[name].shape != p.shape for name, p in trainable.items()):
            raise VeraRetouchError("checkpoint.pt holds other trainable weights than this planner (another "
                                   "starting checkpoint or LoRA rank?); resume with the same settings or use a new -o")
        with torch.no_grad():
            for name, parameter in trainable.items():
                parameter.copy_(state[name])


def square(image: torch.Tensor, side: int) -> torch.Tensor:
    """``(3, h, w)`` -> its centred ``min(h, w)`` square resized to ``(3, side, side)`` (area when
    shrinking, bilinear when enlarging)."""
    height, width = image.shape[-2:]
    size = min(height, width)
    top, left = (height - size) // 2, (width - size) // 2
    crop = image[None, :, top:top + size, left:left + size].float()
    if size > side:
        return F.interpolate(crop, size=(side, side), mode="area")[0]
    return F.interpolate(crop, size=(side, side), mode="bilinear", align_corners=False)[0]


def square_sample(sample: dict, side: int) -> dict:
    """The sample with its input and target cut the same way by `square`."""
    return {**sample, "input": square(sample["input"], side), "target": square(sample["target"], side)}


class VLMRLTrainer(DAPORunTrainer):
    """DAPO on a `VLMPlanner` (see the module doc). ``train`` and ``validation`` are indexable sample
    sources (`data.loader.IndexedRetouchDataset`, or lists of `RetouchDataset`-style dicts) of the
    wanted modes; ``renderer`` is the frozen renderer the planner's latents drive (on the CPU)."""

    metric_names = ("psnr_auto", "psnr_auto_none", "psnr_style", "psnr_style_none", "psnr_param", "psnr_param_none",
                    "similarity", "format", "reward", "aesthetic_auto", "aesthetic_auto_targets")
    step_fields = (*STEP_FIELDS[:-2], "mean_length", "learning_rate")

    def __init__(
        self,
        out: Path,
        planner: VLMPlanner,
        renderer: RetouchRenderer,
        critic,
        train: Sequence[dict],
        validation: Sequence[dict],
        config: VLMRLTrainingConfig,
        distributed: Distributed | None = None,
    ) -> None:
        super().__init__(out, config, distributed)
        if len(train) == 0:
            raise VeraRetouchError(f"no training samples of modes {', '.join(config.modes)}")
        self.train_set, self.critic = train, critic
        self.validation_set = [square_sample(validation[index], config.side)
                               for index in spread(len(validation), config.eval_samples).tolist()]
        groups = prepare_for_training(
            planner,
            VLMTrainingConfig(
                lora_rank=config.lora_rank,
                lora_alpha=config.lora_alpha,
                lora_dropout=0.0,
                weight_decay=config.weight_decay,
            ),
        )
        planner.head.requires_grad_(False)  # not a policy parameter: DAPO's loss is on the tokens' log-probs
        optimizer = torch.optim.AdamW([{**group, "params": [p for p in group["params"] if p.requires_grad]}
                                       for group in groups], lr=config.learning_rate)
        policy = VLMPlanPolicy(planner, renderer, config.max_new_tokens or planner.config.max_new_tokens)
        self.reward_fn = vlm_reward_fn(policy, critic, RewardWeights(aesthetic=config.aesthetic_weight),
                                       config.cap_aesthetic_at_target)
        dapo = DAPOConfig(**self.dapo_settings(), max_length=policy.max_new_tokens,
                          overlong_buffer=max(1, policy.max_new_tokens // 4))
        torch.manual_seed(self.rank_seed())  # after LoRA's (same) init: `generate` samples from the global stream
        self.start(policy, self.reward_fn, dapo, self.draw_prompts, torch.default_generator,
                   {"policy": TrainableWeights(policy)}, optimizer)

    def draw_prompts(self, count: int) -> dict:
        picks = torch.randint(0, len(self.train_set), (count,), generator=self.generator)
        return vlm_prompts([square_sample(self.train_set[index], self.config.side) for index in picks.tolist()])

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Greedy answers for the validation handful (rank 0 only: the others do not log)."""
        if not self.writes or not self.validation_set:
            return {}
        parts: dict[str, list] = {"rendered": [], "images": [], "targets": [], "mode": [], "reward": [], "answers": []}
        for start in range(0, len(self.validation_set), EVAL_BATCH):
            prompts = vlm_prompts(self.validation_set[start:start + EVAL_BATCH])
            rollouts = self.policy.sample(prompts, 1, greedy=True)
            images = prompts["images"].float()
            parts["rendered"].append(self.policy.renderer(images, rollouts.extras["latents"].float()))
            parts["images"].append(images)
            parts["targets"].append(prompts["targets"].float())
            parts["mode"].append(prompts["mode"])
            parts["reward"].append(self.reward_fn(prompts, rollouts))
            parts["answers"].extend(rollouts.extras["answers"])
        joined = {key: torch.cat(values) for key, values in parts.items() if key != "answers"}
        metrics = mode_metrics(joined["rendered"], joined["images"], joined["targets"], joined["mode"], self.critic)
        metrics["format"] = float(format_rewards(parts["answers"]).mean())
        metrics["reward"] = float(joined["reward"].mean())
        return metrics

    def save_policy(self, folder: Path) -> None:
        self.policy.planner.save_pretrained(folder / "vlm_planner")


def load_start(checkpoint: Path, renderer: RetouchRenderer, config: VLMRLTrainingConfig, device: str | None = None,
               dtype: str | None = None) -> VLMPlanner:
    """The saved VLM planner to post-train, on ``device`` (default: this process's GPU, ``LOCAL_RANK``,
    when there is one, else the CPU) with weights in ``dtype`` (default: bfloat16 on a GPU with LoRA,
    whose adapters and head stay float32; else float32)."""
    if device is None and torch.cuda.is_available():
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    if dtype is None and device is not None and device.startswith("cuda") and config.lora_rank > 0:
        dtype = "bfloat16"
    return VLMPlanner.from_pretrained(checkpoint, renderer=renderer, dtype=getattr(torch, dtype) if dtype else None,
                                      device=device)


def train_vlm_rl(out: Path, data_dir: Path, photos_dir: Path, planner: VLMPlanner, renderer: RetouchRenderer, critic,
                 config: VLMRLTrainingConfig, max_seconds: float | None = None, progress: bool = True) -> VLMRLTrainer:
    """Run (or resume) DAPO from ``planner`` on the train split of the dataset in ``data_dir`` (rendered
    from ``photos_dir`` at twice ``side``, so the square crops are shrunk, not enlarged)."""
    from ..data.loader import IndexedRetouchDataset, RetouchDataset

    def split(name: str) -> IndexedRetouchDataset:
        return IndexedRetouchDataset(RetouchDataset(data_dir, name, photos_dir, side=2 * config.side,
                                                    subsets=tuple(config.modes)))

    trainer = VLMRLTrainer(out, planner, renderer, critic, split("train"), split("validation"), config,
                           Distributed.current())
    trainer.train(progress=progress, max_seconds=max_seconds)
    return trainer
