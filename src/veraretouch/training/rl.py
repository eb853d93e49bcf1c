"""`veraretouch train rl`: DAPO-AE post-training of a planner (docs/rl.md), resumable, on one
process or several (torchrun, Ray Train).

`DAPORunTrainer` is the loop every policy shares: DAPO steps, the processes' gathered batches,
``steps.csv``, checkpoints (with DAPO's optimiser and the sampling streams) and the reward plot.
`RLTrainer` runs it on the compact planner, `training.vlm_rl.VLMRLTrainer` on the VLM planner.

Compact planner: the policy is `GaussianPlanPolicy` started from a supervised (SFT) compact
planner; prompts are the planner cache's training samples; the reward is similarity to the target
plus, in auto mode, the aesthetic critic's capped reward (`policies.plan_reward_fn`). Every
`eval_every` steps the policy's mean plan is scored on the validation samples: PSNR per mode
against the targets (and doing nothing), similarity, and the critic's reward in auto mode.

Several processes split the sampling, the costly part (G renders per prompt): each draws its share
of the prompts with its own random streams, the filtered batches are gathered, and every process
runs the same update on the same batch with the same minibatch order, so the weights stay equal
without exchanging gradients. Only rank 0 writes files.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ..encoders.slider import params_from_features
from ..errors import VeraRetouchError
from ..planner.base import MODES
from .dapo import DAPOTrainer
from .distributed import Distributed
from .loop import ResumableTrainer, ScheduleConfig
from .planner import mode_metrics
from .policies import GaussianPlanPolicy, cache_prompt_sampler, compact_dapo_config, plan_reward_fn
from .rewards import RewardWeights

STEP_FIELDS = ("step", "reward_mean", "kept_reward_mean", "kept_fraction", "draws", "loss", "approx_kl",
               "clip_high_fraction", "clip_low_fraction", "grad_norm", "std_mean", "learning_rate")


@dataclass
class DAPORunConfig(ScheduleConfig):
    """What every RL run sets: its length and DAPO's batch and clip settings (``prompts_per_batch``
    is the whole batch, split over the processes), the modes prompted and the reward. The learning
    rate is constant after warm-up, as in DAPO (``final_learning_rate`` is unused)."""

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
    modes: tuple[str, ...] = MODES
    aesthetic_weight: float = 0.2
    cap_aesthetic_at_target: bool = True
    keep_best: str | None = "psnr_auto"
    """Validation metric (higher is better) whose best value keeps a copy of the policy in
    ``OUT/best/`` (with ``best.json``), the run's start included: RL on few photos can overfit them
    while the validation photos get worse, so the best step, not the last, is the one to use."""


@dataclass
class RLTrainingConfig(DAPORunConfig):
    """DAPO settings for the compact planner on CPUs (`policies.compact_dapo_config`), the colours
    rendered per prompt and the policy's starting spread."""

    pixels: int = 256
    initial_std: float = 0.05
    curve_std: float = 0.01
    eval_samples: int | None = None
    """Validation samples per mode scored at each evaluation, evenly spaced over the split (the same
    every time); None scores them all. The first 256 of data v1's auto samples came from one or two
    of its three validation photos: choosing the best step on them picked a planner that was +2.3 dB
    there, +0.7 dB on the whole split and no better on the test photos."""


class DAPORunTrainer(ResumableTrainer):
    """The loop of an RL run on any `dapo.Policy`. A subclass calls ``super().__init__`` (output
    folder, this process's random stream ``generator`` for drawing prompts), builds its policy and
    reward, then `start`; it implements `evaluate` and `export_models`, and may add statistics to
    ``steps.csv`` (`step_statistics`, named in ``step_fields``)."""

    description = "train rl"
    step_fields = STEP_FIELDS
    evaluate_at_start = True
    best_value: float | None = None

    def __init__(self, out: Path, config: DAPORunConfig, distributed: Distributed | None = None) -> None:
        self.out, self.config = Path(out), config
        self.distributed = distributed or Distributed()
        if config.prompts_per_batch % self.distributed.world:
            raise ValueError(f"prompts_per_batch ({config.prompts_per_batch}) must divide among "
                             f"{self.distributed.world} processes")
        self.writes = self.distributed.rank == 0
        if self.writes:
            self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(config.seed)
        self.generator = torch.Generator().manual_seed(self.rank_seed())

    def rank_seed(self) -> int:
        return self.config.seed + 7919 * self.distributed.rank

    def dapo_settings(self) -> dict:
        """The `dapo.DAPOConfig` fields the run's config sets, with this process's share of the prompts."""
        config = self.config
        return dict(group_size=config.group_size, prompts_per_batch=config.prompts_per_batch // self.distributed.world,
                    minibatches=config.minibatches, clip_low=config.clip_low, clip_high=config.clip_high,
                    learning_rate=config.learning_rate, warmup_steps=config.warmup_steps, seed=config.seed)

    def start(self, policy, reward, dapo_config, draw, sampling: torch.Generator, models: dict,
              optimizer: torch.optim.Optimizer | None = None) -> None:
        """Build the DAPO trainer and resume. ``draw(n)``: n prompts; ``sampling``: the policy's random
        stream (checkpointed); ``models``: what the checkpoint holds (name -> ``state_dict`` owner)."""
        self.policy, self.draw, self.sampling, self.models = policy, draw, sampling, models
        self.dapo = DAPOTrainer(policy, reward, dapo_config, optimizer)
        self.optimizer = self.dapo.optimizer
        self.resume()

    def extra_state(self) -> dict:
        return {"dapo": self.dapo.state_dict(), "policy_generator": self.sampling.get_state(),
                "best_value": self.best_value}

    def load_extra_state(self, state: dict) -> None:
        if state:
            self.dapo.load_state_dict(state["dapo"])
            self.sampling.set_state(state["policy_generator"])
            self.best_value = state.get("best_value")

    def save_policy(self, folder: Path) -> None:
        """Write the policy's planner (safetensors) into ``folder``."""
        raise NotImplementedError

    def export_models(self) -> None:
        self.save_policy(self.out)

    def on_evaluation(self, metrics: dict[str, float]) -> None:
        """Keep the policy of the best ``keep_best`` value so far in ``OUT/best/``."""
        name = self.config.keep_best
        value = metrics.get(name) if name else None
        if value is None or (self.best_value is not None and value <= self.best_value):
            return
        self.best_value = value
        if self.writes:
            self.save_policy(self.out / "best")
            (self.out / "best" / "best.json").write_text(json.dumps(
                {"step": self.step, "metric": name, "value": value, "metrics": metrics}, indent=2) + "\n")

    def resume(self) -> bool:
        """Every process loads rank 0's checkpoint; the sampling streams are then re-seeded per rank
        from the step, so a resumed run does not repeat its draws."""
        resumed = super().resume()
        if resumed and self.distributed.world > 1:
            rank_seed = self.rank_seed() + 104729 * self.step
            self.generator.manual_seed(rank_seed)
            self.sampling.manual_seed(rank_seed + 1)
        return resumed

    def keep_going(self, wanted: bool) -> bool:
        return self.distributed.all_agree(wanted)

    def step_statistics(self) -> dict[str, float]:
        """More per-step statistics for ``steps.csv``."""
        return {}

    def train_step(self) -> float:
        gather = self.distributed.gather if self.distributed.world > 1 else None
        stats = self.dapo.step(self.draw, gather)
        stats.update(self.step_statistics())
        if self.writes:
            path = self.out / "steps.csv"
            new = not path.exists()
            with open(path, "a", newline="") as handle:
                writer = csv.DictWriter(handle, self.step_fields, extrasaction="ignore")
                if new:
                    writer.writeheader()
                writer.writerow({"step": self.step + 1, **{key: f"{value:.6g}" for key, value in stats.items()}})
        return stats.get("loss", 0.0)

    def plot(self) -> None:
        plot_rl_log(self.out, self.metric_names)


def spread(count: int, wanted: int | None) -> torch.Tensor:
    """``wanted`` positions spread evenly over ``range(count)`` (all of them when fewer, or when
    ``wanted`` is None): samples of a split come photo by photo, so the first ones would be a few
    photos, not the split."""
    if wanted is None or count <= wanted:
        return torch.arange(count)
    return torch.linspace(0, count - 1, wanted).round().long()


class RLTrainer(DAPORunTrainer):
    """DAPO on the compact planner (`GaussianPlanPolicy`), prompted from planner-cache splits."""

    metric_names = ("psnr_auto", "psnr_auto_none", "psnr_style", "psnr_style_none", "psnr_param", "psnr_param_none",
                    "similarity", "aesthetic_auto", "aesthetic_auto_targets")

    def __init__(self, out: Path, train: dict, validation: dict, planner, renderer, slider_encoder, critic,
                 config: RLTrainingConfig, distributed: Distributed | None = None) -> None:
        super().__init__(out, config, distributed)
        self.train_set, self.validation_set, self.critic = train, validation, critic
        policy = GaussianPlanPolicy(planner, slider_encoder, renderer, config.initial_std, config.curve_std,
                                    seed=self.rank_seed())
        reward = plan_reward_fn(policy, critic, RewardWeights(aesthetic=config.aesthetic_weight),
                                config.cap_aesthetic_at_target)
        draw = cache_prompt_sampler(train, self.generator, config.pixels, tuple(config.modes))
        self.start(policy, reward, compact_dapo_config(**self.dapo_settings()), draw, policy.generator,
                   {"policy": policy})

    def step_statistics(self) -> dict[str, float]:
        return {"std_mean": float(self.policy.std().mean().detach())}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """The policy's mean plan on `eval_samples` validation samples of each mode (`spread`)."""
        data = self.validation_set
        rows = [(data["mode"] == mode_id).nonzero().flatten() for mode_id in range(len(MODES))]
        index = torch.cat([row[spread(len(row), self.config.eval_samples)] for row in rows])
        prompts = {key: data[key][index] for key in ("features", "text", "mode")}
        inputs, targets = data["input_colors"][index].float(), data["target_colors"][index].float()
        latents = self.policy.slider_encoder(params_from_features(self.policy.mean(prompts)))
        rendered = self.policy.renderer.render_colors(inputs, latents)
        return mode_metrics(rendered, inputs, targets, data["mode"][index], self.critic)

    def save_policy(self, folder: Path) -> None:
        self.policy.planner.save_pretrained(folder / "compact_planner")


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
    from .planner_cache import load_planner_cache

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
    from ..evaluation.aesthetic import AestheticCritic
    from .critic import train_critic

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
    ``photos``, ``planner`` (``compact``, the default, or ``vlm``), ``models`` (a run folder, default
    the shipped models: its ``renderer/``, and for the compact planner its ``compact_planner/``, the
    SFT start), ``critic``, ``config`` (`RLTrainingConfig` or `vlm_rl.VLMRLTrainingConfig` fields),
    ``max_seconds``, ``threads``, ``progress``. Compact: ``data`` (a built dataset, cached into
    ``cache``, default ``out/cache``). VLM: ``checkpoint`` (a saved VLM planner, the start), ``data``
    (its splits are the prompts, rendered from ``photos``), ``device`` and ``dtype`` (`vlm_rl.load_start`)."""
    from ..weights import load_models

    torch.set_num_threads(options.get("threads", 1))
    out = Path(options["out"])
    photos = Path(options["photos"])
    progress = options.get("progress", True)
    distributed = Distributed.current()
    critic_dir = Path(options["critic"]) if options.get("critic") else None
    models = Path(options["models"]) if options.get("models") else None
    renderer_run = models if models and (models / "renderer").is_dir() else None
    if options.get("planner", "compact") == "vlm":
        from .vlm_rl import VLMRLTrainingConfig, load_start, train_vlm_rl

        if not (options.get("checkpoint") and options.get("data")):
            raise VeraRetouchError(
                "the VLM planner's RL run needs a checkpoint (a saved VLM planner) and data (a dataset)"
            )
        config = VLMRLTrainingConfig(**options.get("config", {}))
        renderer = load_models(renderer_run, "renderer")[0]
        planner = load_start(Path(options["checkpoint"]), renderer, config, options.get("device"), options.get("dtype"))
        critic = rank_zero_first(distributed, lambda: load_or_train_critic(critic_dir, photos, out))
        train_vlm_rl(out, Path(options["data"]), photos, planner, renderer, critic, config,
                     options.get("max_seconds"), progress)
        return
    from .planner_cache import build_planner_cache

    cache = Path(options["cache"]) if options.get("cache") else out / "cache"
    if options.get("data"):
        rank_zero_first(distributed, lambda: build_planner_cache(Path(options["data"]), photos, cache,
                                                                 progress=progress and distributed.rank == 0))
    critic = rank_zero_first(distributed, lambda: load_or_train_critic(critic_dir, photos, out))
    planner = load_models(models if models and (models / "compact_planner").is_dir() else None, "compact_planner")[0]
    renderer, slider_encoder = load_models(renderer_run, "renderer", "slider_encoder")
    config = RLTrainingConfig(**options.get("config", {}))
    train_rl(out, cache, planner, renderer, slider_encoder, critic, config, options.get("max_seconds"), progress)


def run_rl_on_ray(options: dict, workers: int, address: str | None = None) -> None:
    """`run_rl` on ``workers`` Ray Train workers (CPU, gloo), on a local Ray or the cluster at ``address``
    (the VLM planner too runs on the workers' CPUs: GPU workers are not wired up)."""
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
