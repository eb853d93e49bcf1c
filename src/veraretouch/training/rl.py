"""`veraretouch train rl`: DAPO-AE post-training of the compact planner (docs/rl.md), resumable, on
one process or several (torchrun, Ray Train).

The policy is `GaussianPlanPolicy` started from a supervised (SFT) compact planner; prompts are the
planner cache's training samples; the reward is similarity to the target plus, in auto mode, the
aesthetic critic's capped reward (`policies.plan_reward_fn`). Every `eval_every` steps the policy's
mean plan is scored on the validation samples: PSNR per mode against the targets (and doing
nothing), similarity, and the critic's reward in auto mode.

Several processes split the sampling, the costly part (G renders per prompt): each draws its share
of the prompts with its own random streams, the filtered batches are gathered, and every process
runs the same update on the same batch with the same minibatch order, so the weights stay equal
without exchanging gradients. Only rank 0 writes files.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..encoders.slider import params_from_features
from ..planner.base import MODES
from .dapo import DAPOTrainer, SampledBatch, concat, concat_rollouts
from .loop import ResumableTrainer, ScheduleConfig
from .planner import psnr_of_colors
from .policies import GaussianPlanPolicy, cache_prompt_sampler, compact_dapo_config, plan_reward_fn
from .rewards import RewardWeights, aesthetic_reward, similarity_reward

STEP_FIELDS = ("step", "reward_mean", "kept_reward_mean", "kept_fraction", "draws", "loss", "approx_kl",
               "clip_fraction_high", "clip_fraction_low", "grad_norm", "std_mean", "learning_rate")


@dataclass
class RLTrainingConfig(ScheduleConfig):
    """DAPO settings for the compact planner on CPUs (`policies.compact_dapo_config`) and the run's
    length. ``prompts_per_batch`` is the whole batch, split over the processes. The learning rate is
    constant after warm-up, as in DAPO (``final_learning_rate`` is unused)."""

    steps: int = 200
    learning_rate: float = 1e-4
    warmup_steps: int = 5
    eval_every: int = 20
    checkpoint_every: int = 20
    group_size: int = 8
    prompts_per_batch: int = 64
    minibatches: int = 4
    clip_low: float = 0.2
    clip_high: float = 0.28
    pixels: int = 256
    modes: tuple[str, ...] = MODES
    aesthetic_weight: float = 0.2
    initial_std: float = 0.05
    curve_std: float = 0.01
    eval_samples: int = 256
    """Validation samples per mode scored at each evaluation (the first ones: the same every time)."""
    cap_aesthetic_at_target: bool = True


@dataclass
class Distributed:
    """This process's place in a run: rank and world size (1 when not distributed)."""

    rank: int = 0
    world: int = 1
    collectives: bool = field(default=False, repr=False)

    @classmethod
    def current(cls) -> Distributed:
        """From an initialised `torch.distributed` group, else from torchrun's environment (the gloo
        group is then started here), else a single process."""
        import torch.distributed as dist

        if not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            dist.init_process_group("gloo")
        if dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size(), True)
        return cls()

    def gather(self, batch: SampledBatch) -> SampledBatch:
        """Every process's filtered batch, joined in rank order (the same on every process)."""
        import torch.distributed as dist

        parts: list = [None] * self.world
        dist.all_gather_object(parts, batch)
        kept = [part for part in parts if part.prompts is not None]
        draws = sum(part.draws for part in parts)
        drawn = sum(part.groups_drawn for part in parts)
        mean = sum(part.drawn_reward_mean * part.groups_drawn for part in parts) / max(drawn, 1)
        if not kept:
            return SampledBatch(None, None, torch.cat([part.rewards for part in parts]), draws, drawn, mean)
        return SampledBatch(concat([part.prompts for part in kept]),
                            concat_rollouts([part.rollouts for part in kept]),
                            torch.cat([part.rewards for part in kept]), draws, drawn, mean)

    def all_agree(self, wanted: bool) -> bool:
        """True only when every process wants to go on (so all stop at the same step)."""
        if not self.collectives:
            return wanted
        import torch.distributed as dist

        flag = torch.tensor([int(wanted)])
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())


class RLTrainer(ResumableTrainer):
    description = "train rl"
    metric_names = ("psnr_auto", "psnr_auto_none", "psnr_style", "psnr_style_none", "psnr_param", "psnr_param_none",
                    "similarity", "aesthetic_auto", "aesthetic_auto_targets")

    def __init__(self, out: Path, train: dict, validation: dict, planner, renderer, slider_encoder, critic,
                 config: RLTrainingConfig, distributed: Distributed | None = None) -> None:
        self.out, self.config = Path(out), config
        self.distributed = distributed or Distributed()
        rank, world = self.distributed.rank, self.distributed.world
        if config.prompts_per_batch % world:
            raise ValueError(f"prompts_per_batch ({config.prompts_per_batch}) must divide among {world} processes")
        self.writes = rank == 0
        if self.writes:
            self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(config.seed)
        self.train_set, self.validation_set, self.critic = train, validation, critic
        self.policy = GaussianPlanPolicy(planner, slider_encoder, renderer, config.initial_std, config.curve_std,
                                         seed=config.seed + 7919 * rank)
        reward = plan_reward_fn(self.policy, critic, RewardWeights(aesthetic=config.aesthetic_weight),
                                config.cap_aesthetic_at_target)
        self.dapo = DAPOTrainer(self.policy, reward, compact_dapo_config(
            group_size=config.group_size, prompts_per_batch=config.prompts_per_batch // world,
            minibatches=config.minibatches, clip_low=config.clip_low, clip_high=config.clip_high,
            learning_rate=config.learning_rate, warmup_steps=config.warmup_steps, seed=config.seed))
        self.optimizer = self.dapo.optimizer
        self.generator = torch.Generator().manual_seed(config.seed + 7919 * rank)
        self.draw = cache_prompt_sampler(train, self.generator, config.pixels, tuple(config.modes))
        self.models = {"policy": self.policy}
        self.resume()

    def extra_state(self) -> dict:
        return {"dapo": self.dapo.state_dict(), "policy_generator": self.policy.generator.get_state()}

    def load_extra_state(self, state: dict) -> None:
        if state:
            self.dapo.load_state_dict(state["dapo"])
            self.policy.generator.set_state(state["policy_generator"])

    def resume(self) -> bool:
        """Every process loads rank 0's checkpoint; the sampling streams are then re-seeded per rank
        from the step, so a resumed run does not repeat its draws."""
        resumed = super().resume()
        if resumed and self.distributed.world > 1:
            rank_seed = self.config.seed + 7919 * self.distributed.rank + 104729 * self.step
            self.generator.manual_seed(rank_seed)
            self.policy.generator.manual_seed(rank_seed + 1)
        return resumed

    def keep_going(self, wanted: bool) -> bool:
        return self.distributed.all_agree(wanted)

    def train_step(self) -> float:
        gather = self.distributed.gather if self.distributed.world > 1 else None
        stats = self.dapo.step(self.draw, gather)
        stats["std_mean"] = float(self.policy.std().mean().detach())
        if self.writes:
            path = self.out / "steps.csv"
            new = not path.exists()
            with open(path, "a", newline="") as handle:
                writer = csv.DictWriter(handle, STEP_FIELDS, extrasaction="ignore")
                if new:
                    writer.writeheader()
                writer.writerow({"step": self.step + 1, **{key: f"{value:.6g}" for key, value in stats.items()}})
        return stats.get("loss", 0.0)

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """The policy's mean plan on the first `eval_samples` validation samples of each mode."""
        data, metrics = self.validation_set, {}
        similarities = []
        for mode_id, mode in enumerate(MODES):
            index = (data["mode"] == mode_id).nonzero().flatten()[:self.config.eval_samples]
            if len(index) == 0:
                continue
            prompts = {key: data[key][index] for key in ("features", "text", "mode")}
            inputs, targets = data["input_colors"][index].float(), data["target_colors"][index].float()
            latents = self.policy.slider_encoder(params_from_features(self.policy.mean(prompts)))
            rendered = self.policy.renderer.render_colors(inputs, latents)
            metrics[f"psnr_{mode}"] = float(psnr_of_colors(rendered, targets).mean())
            metrics[f"psnr_{mode}_none"] = float(psnr_of_colors(inputs, targets).mean())
            similarities.append(similarity_reward(rendered, targets))
            if mode == "auto" and self.critic is not None:
                metrics["aesthetic_auto"] = float(aesthetic_reward(self.critic, rendered).mean())
                metrics["aesthetic_auto_targets"] = float(aesthetic_reward(self.critic, targets).mean())
        metrics["similarity"] = float(torch.cat(similarities).mean())
        return metrics

    def export_models(self) -> None:
        self.policy.planner.save_pretrained(self.out / "compact_planner")

    def plot(self) -> None:
        plot_rl_log(self.out, self.metric_names)


def plot_rl_log(out: Path, metric_names: tuple[str, ...]) -> None:
    """``rewards.png``: training reward per step, validation PSNR per mode, validation critic reward
    (skipped quietly when matplotlib is absent)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    steps = list(csv.DictReader(open(out / "steps.csv"))) if (out / "steps.csv").exists() else []
    evals = list(csv.DictReader(open(out / "log.csv"))) if (out / "log.csv").exists() else []
    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    if steps:
        axes[0].plot([int(r["step"]) for r in steps], [float(r["reward_mean"]) for r in steps], label="drawn")
        kept = [(int(r["step"]), float(r["kept_reward_mean"])) for r in steps if r.get("kept_reward_mean")]
        if kept:
            axes[0].plot(*zip(*kept), label="kept groups")
        axes[0].legend()
    axes[0].set(xlabel="step", ylabel="reward", title="training reward (DAPO batches)")
    x = [int(r["step"]) for r in evals]
    for name in metric_names:
        values = [float(r[name]) for r in evals if r.get(name) not in (None, "", "nan")]
        if len(values) != len(x) or not values:
            continue
        axis = axes[1] if name.startswith("psnr") else axes[2]
        axis.plot(x, values, label=name, linestyle="--" if name.endswith(("_none", "_targets")) else "-")
    axes[1].set(xlabel="step", ylabel="PSNR (dB)", title="validation PSNR vs targets (mean plan)")
    axes[2].set(xlabel="step", ylabel="reward", title="validation similarity / critic reward")
    for axis in axes[1:]:
        if axis.lines:
            axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out / "rewards.png", dpi=100)
    plt.close(figure)


def train_rl(out: Path, cache_dir: Path, planner, renderer, slider_encoder, critic, config: RLTrainingConfig,
             max_seconds: float | None = None, progress: bool = True) -> RLTrainer:
    """Load the cache's train and validation splits and run (or resume) DAPO from ``planner``."""
    from ..planner.text import InstructionEmbedder
    from .planner import load_planner_cache

    embedder = InstructionEmbedder()
    train = load_planner_cache(cache_dir, "train", embedder)
    validation = load_planner_cache(cache_dir, "validation", embedder)
    trainer = RLTrainer(out, train, validation, planner, renderer, slider_encoder, critic, config,
                        Distributed.current())
    trainer.train(progress=progress, max_seconds=max_seconds)
    return trainer


def load_or_train_critic(critic_dir: Path | None, photos_dir: Path, out: Path):
    """The aesthetic critic in ``critic_dir`` (a folder holding ``aesthetic_critic/``, or that folder
    itself); without one, the critic trained once from ``photos_dir`` into ``out/critic`` (~15 s)."""
    from ..evaluation.aesthetic import AestheticCritic, train_critic

    if critic_dir is not None:
        folder = critic_dir / "aesthetic_critic" if (critic_dir / "aesthetic_critic").is_dir() else critic_dir
        return AestheticCritic.from_pretrained(folder)
    if (out / "critic" / "aesthetic_critic").is_dir():
        return AestheticCritic.from_pretrained(out / "critic" / "aesthetic_critic")
    return train_critic(photos_dir, out / "critic", progress=False)[0]


def rank_zero_first(distributed: Distributed, make):
    """``make()`` on rank 0, then (once it is done) on the other ranks: for work that is done once and
    then found on disk (the cache, the critic)."""
    result = make() if distributed.rank == 0 else None
    if distributed.world > 1:
        import torch.distributed as dist

        dist.barrier()
    return make() if distributed.rank != 0 else result


def run_rl(options: dict) -> None:
    """One process of a run from plain options (what a Ray Train worker receives): ``out``,
    ``photos``, ``data`` (a built dataset, cached into ``cache``, default ``out/cache``), ``models``
    (a run folder, default the shipped models; its ``compact_planner/`` is the SFT start),
    ``critic``, ``config`` (`RLTrainingConfig` fields), ``max_seconds``, ``threads``, ``progress``."""
    from ..weights import load_models
    from .planner import build_planner_cache

    torch.set_num_threads(options.get("threads", 1))
    out = Path(options["out"])
    photos = Path(options["photos"])
    cache = Path(options["cache"]) if options.get("cache") else out / "cache"
    progress = options.get("progress", True)
    distributed = Distributed.current()
    if options.get("data"):
        rank_zero_first(distributed, lambda: build_planner_cache(Path(options["data"]), photos, cache,
                                                                 progress=progress and distributed.rank == 0))
    critic_dir = Path(options["critic"]) if options.get("critic") else None
    critic = rank_zero_first(distributed, lambda: load_or_train_critic(critic_dir, photos, out))
    models = Path(options["models"]) if options.get("models") else None
    planner = load_models(models if models and (models / "compact_planner").is_dir() else None, "compact_planner")[0]
    renderer, slider_encoder = load_models(models if models and (models / "renderer").is_dir() else None,
                                           "renderer", "slider_encoder")
    config = RLTrainingConfig(**options.get("config", {}))
    train_rl(out, cache, planner, renderer, slider_encoder, critic, config, options.get("max_seconds"), progress)


def run_rl_on_ray(options: dict, workers: int, address: str | None = None) -> None:
    """`run_rl` on ``workers`` Ray Train workers (CPU, gloo), on a local Ray or the cluster at ``address``."""
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    ray.init(address=address, ignore_reinit_error=True, log_to_driver=True)
    out = Path(options["out"]).resolve()
    trainer = TorchTrainer(run_rl, train_loop_config={**options, "out": str(out), "progress": False},
                           scaling_config=ScalingConfig(num_workers=workers, use_gpu=False),
                           torch_config=TorchConfig(backend="gloo"),
                           run_config=RunConfig(name="veraretouch-rl", storage_path=str(out / "ray")))
    trainer.fit()
