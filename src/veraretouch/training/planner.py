"""Train the compact planner on a built dataset (`veraretouch data build`), end to end through the
frozen SliderEncoder and Retouch Renderer.

The dataset holds recipes; training reads a per-shard *cache* made once (`planner_cache`):
the input's `image_features`, ``PIXELS`` colour pairs (the same random pixels of the rendered
input and target at `FEATURE_SIDE`), the target plan's features, the latent label, the mode and
the instruction. Per step, a batch of cached samples gives the loss

    L = w_plan * MSE(f, f*) + w_latent * MSE(z, z*) + w_image * L1(R(x, z), y)

with ``f`` the planner's plan features, ``z = E(params(f))`` the latents of the projected plan
(E the frozen SliderEncoder), ``R`` the frozen renderer and ``(x, y)`` the cached input / target
colours: the image term is the paper's point, pixels supervise the plan through the renderer. On
data v1 (32 training photos) it made held-out results worse, since it rewards reproducing each
training photo's exact colours, so its default weight is 0 (docs/model-card-planner.md).
Held-out metrics are the renderer's PSNR on the validation split's colour pairs, per subset, and
doing nothing for comparison.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..encoders.slider import SliderEncoder, flat_features, params_from_features
from ..evaluation import psnr
from ..plan.parameters import ASPECTS
from ..planner.base import MODES
from ..planner.compact import (
    CompactPlanner,
    CompactPlannerConfig,
    aspect_confidence_factors,
    aspect_energy,
    expand_to_plan,
)
from ..planner.text import InstructionEmbedder
from ..renderer import RetouchRenderer
from .loop import ResumableTrainer, ScheduleConfig, colors_as_images, mean_psnr
from .planner_cache import CACHE_FIELDS, PIXELS, cached_embeddings, load_planner_cache
from .rewards import aesthetic_reward, similarity_reward

ROBUST_FEATURES = ("lightness_quantiles", "rgb_moments", "zone_casts", "chroma", "clipping")
"""The image statistics the shipped planner reads: global ones that say little about which photo it
is. With all 288 features (histograms, hue bands, the 4x4 grid) a 3.6 M-parameter planner learned the
32 training photos (auto +4.6 dB on their samples) and did 7 dB worse than no edit on the validation
photos; this subset and a 32-wide network did least harm there (docs/model-card-planner.md)."""


@dataclass
class PlannerTrainingConfig(ScheduleConfig):
    """Defaults are the best of the configurations measured on data v1's validation photos."""

    steps: int = 1000
    learning_rate: float = 1e-3
    final_learning_rate: float = 1e-5
    warmup_steps: int = 100
    eval_every: int = 250
    checkpoint_every: int = 250
    batch_size: int = 128
    pixels_per_sample: int = 64
    plan_weight: float = 1.0
    latent_weight: float = 0.1
    image_weight: float = 0.0
    weight_decay: float = 0.1
    hidden: int = 32
    blocks: int = 1
    dropout: float = 0.3
    text_hidden: int = 0
    feature_groups: tuple[str, ...] = ROBUST_FEATURES
    direction_samples: int = 4000
    """Style samples of plain-direction requests added to the training set (`data.directions`). On
    data v1 they took the instruction suite from 19 to 27 of 32 phrasings moved the right way, with
    held-out preset looks about as close as before (ΔE00 -12 % vs -13 %; docs/model-card-planner.md)."""
    look_words_agree: bool = False
    """Drop preset style samples whose request uses a look word ("cooler", "brighter") that the
    preset's render does not move the way it says (`with_agreeing_look_words`)."""
    aspect_confidence: bool = False
    """Learn each aspect's expected plan error (`CompactPlannerConfig.aspect_confidence`) with a Gaussian
    likelihood, and calibrate the shrinkage it drives on the validation photos at export."""
    confidence_weight: float = 0.1
    """Weight of that likelihood in the loss (its gradient never reaches the plan head: errors are detached)."""
    max_train_photos: int = 0
    """Train on the samples of this many training photos only (0: all; the first by a hash of the
    name, so a smaller set is part of a larger one): how the gain grows with the photos."""
    param_requests_as_style: bool = False
    """Also train style mode on every param-mode sample (`with_param_requests_as_style`): a style
    request may spell out moves ("cool it down and lift the shadows"), and style mode should then do
    what param mode does."""


class PlannerTrainer(ResumableTrainer):
    description = "train planner"
    metric_names = ("psnr_auto", "psnr_auto_none", "psnr_style", "psnr_style_none", "psnr_param", "psnr_param_none")

    def __init__(self, out: Path, train: dict, validation: dict, renderer: RetouchRenderer,
                 slider_encoder: SliderEncoder, config: PlannerTrainingConfig) -> None:
        self.out, self.config = Path(out), config
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.train_set, self.validation_set = train, validation
        self.renderer, self.slider_encoder = renderer.eval(), slider_encoder.eval()
        for module in (self.renderer, self.slider_encoder):
            module.requires_grad_(False)
        self.planner = CompactPlanner(CompactPlannerConfig(hidden=config.hidden, blocks=config.blocks,
                                                           dropout=config.dropout, text_hidden=config.text_hidden,
                                                           feature_groups=tuple(config.feature_groups),
                                                           aspect_confidence=config.aspect_confidence,
                                                           image_features=train["features"].shape[1]))
        self.planner.set_feature_statistics(train["features"])
        self.models = {"planner": self.planner}
        self.optimizer = torch.optim.AdamW(self.planner.parameters(), lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        self.resume()

    def predict(self, data: dict, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Plan features and the latents of their projected plan for cached samples ``index``."""
        raw = self.planner(data["features"][index], data["text"][index], data["mode"][index])
        return raw, self.slider_encoder(params_from_features(raw))

    def training_loss(self) -> torch.Tensor:
        config, data = self.config, self.train_set
        self.planner.train()
        index = torch.randint(0, len(data["mode"]), (config.batch_size,), generator=self.generator)
        pixels = torch.randint(0, PIXELS, (config.pixels_per_sample,), generator=self.generator)
        raw, log_variance = self.planner.predict(data["features"][index], data["text"][index], data["mode"][index])
        latents = self.slider_encoder(params_from_features(raw))
        rendered = self.renderer.render_colors(data["input_colors"][index][:, pixels].float(), latents)
        image_loss = F.l1_loss(rendered, data["target_colors"][index][:, pixels].float())
        loss = (config.plan_weight * F.mse_loss(raw, data["plan_features"][index])
                + config.latent_weight * F.mse_loss(latents, data["latents"][index])
                + config.image_weight * image_loss)
        if log_variance is not None:
            error = aspect_energy((raw - data["plan_features"][index]).detach())
            loss = loss + config.confidence_weight * F.gaussian_nll_loss(
                torch.zeros_like(error), error.sqrt(), log_variance.exp())
        return loss

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        self.planner.eval()
        data = self.validation_set
        _, latents = self.predict(data, torch.arange(len(data["mode"])))
        inputs, targets = data["input_colors"].float(), data["target_colors"].float()
        return mode_metrics(self.renderer.render_colors(inputs, latents), inputs, targets, data["mode"])

    def export_models(self) -> None:
        """The planner with its plan scales calibrated on the validation samples (a copy: training
        goes on unscaled), and the calibration curves in ``calibration.json``."""
        planner = copy.deepcopy(self.planner)
        shrinkage = (calibrate_aspect_shrinkage(planner, self.validation_set, self.renderer, self.slider_encoder)
                     if planner.config.aspect_confidence else {})
        curves = calibrate_mode_scales(planner, self.validation_set, self.renderer, self.slider_encoder)
        planner.save_pretrained(self.out / "compact_planner")
        (self.out / "calibration.json").write_text(json.dumps(
            {"mode_scales": dict(zip(MODES, planner.config.mode_scales)), "validation_psnr_by_scale": curves,
             "aspect_shrinkage": dict(zip(ASPECTS, planner.config.aspect_shrinkage)),
             "validation_psnr_by_shrinkage": shrinkage}, indent=2) + "\n")


SCALE_GRID = tuple(step / 10 for step in range(13))
"""Plan scales `calibrate_mode_scales` tries: 0 (no edit) to 1.2 in steps of 0.1."""


@torch.no_grad()
def calibrate_mode_scales(planner: CompactPlanner, data: dict, renderer: RetouchRenderer,
                          slider_encoder: SliderEncoder, grid: tuple[float, ...] = SCALE_GRID,
                          modes: tuple[str, ...] = ("auto",)) -> dict:
    """Set ``planner.config.mode_scales`` of ``modes`` to the scale in ``grid`` with the best mean PSNR
    on ``data`` (validation samples: photos not trained on), the other modes to 1; returns
    ``{mode: {scale: PSNR dB}}``.

    Shrinking a plan towards the identity is the classic answer to a regressor that is over-confident
    out of distribution: when the planner's plans for unseen photos are partly wrong, part of the plan
    can score better than all of it (or none of it). Only auto mode by default: there "leave it as it
    is" is a legitimate answer, while style and param requests ask for an edit."""
    planner.eval()
    planner.config.mode_scales = (1.0,) * len(MODES)
    curves = {}
    for mode_id, mode in enumerate(MODES):
        index = (data["mode"] == mode_id).nonzero().flatten()
        if mode not in modes or len(index) == 0:
            continue
        raw = planner(data["features"][index], data["text"][index], data["mode"][index])
        inputs, targets = data["input_colors"][index].float(), data["target_colors"][index].float()
        curves[mode] = {scale: float(plan_psnr(scale * raw, inputs, targets, renderer, slider_encoder).mean())
                        for scale in grid}
    planner.config.mode_scales = tuple(max(curves[mode], key=curves[mode].get) if mode in curves else 1.0
                                       for mode in MODES)
    return curves


SHRINKAGE_GRID = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0)
"""Wiener factors ``k`` `calibrate_aspect_shrinkage` tries per aspect (0: the plan as predicted)."""


@torch.no_grad()
def calibrate_aspect_shrinkage(planner: CompactPlanner, data: dict, renderer: RetouchRenderer,
                               slider_encoder: SliderEncoder, grid: tuple[float, ...] = SHRINKAGE_GRID,
                               rounds: int = 2) -> dict:
    """Set ``planner.config.aspect_shrinkage`` to the per-aspect ``k`` (from ``grid``) with the best
    mean auto-mode PSNR on ``data`` (validation samples), by coordinate ascent over the aspects
    (``rounds`` passes); returns ``{aspect: {k: PSNR dB}}`` of the last pass. The network runs once:
    only the shrinkage of its plans changes between trials."""
    planner.eval()
    index = (data["mode"] == MODES.index("auto")).nonzero().flatten()
    if len(index) == 0:
        return {}
    raw, log_variance = planner.predict(data["features"][index], data["text"][index], data["mode"][index])
    inputs, targets = data["input_colors"][index].float(), data["target_colors"][index].float()

    def score(shrinkage: list[float]) -> float:
        shrunk = raw * expand_to_plan(aspect_confidence_factors(raw, log_variance, tuple(shrinkage)))
        return float(plan_psnr(shrunk, inputs, targets, renderer, slider_encoder).mean())

    best, curves = [0.0] * len(ASPECTS), {}
    for _ in range(rounds):
        for aspect, group in enumerate(ASPECTS):
            curves[group] = {k: score(best[:aspect] + [k] + best[aspect + 1:]) for k in grid}
            best[aspect] = max(curves[group], key=curves[group].get)
    planner.config.aspect_shrinkage = tuple(best)
    return curves


def plan_psnr(plan_features: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor,
              renderer: RetouchRenderer, slider_encoder: SliderEncoder) -> torch.Tensor:
    """Per-sample PSNR of ``(B, N, 3)`` input colours rendered with the projected plans of
    ``plan_features``, against the target colours."""
    latents = slider_encoder(params_from_features(plan_features))
    return psnr_of_colors(renderer.render_colors(inputs, latents), targets)


def mode_metrics(rendered: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor, modes: torch.Tensor,
                 critic=None) -> dict[str, float]:
    """Scores of renders (images ``(B, 3, H, W)`` or colour sets ``(B, N, 3)``) against their targets:
    mean PSNR per mode (``psnr_<mode>``) and of the inputs (``psnr_<mode>_none``, no edit), mean
    similarity, and with a critic in auto mode its reward of the renders and of the targets."""
    def images(batch: torch.Tensor) -> torch.Tensor:
        return batch.float() if batch.dim() == 4 else colors_as_images(batch.float())

    rendered, inputs, targets = images(rendered), images(inputs), images(targets)
    metrics = {}
    for mode_id, mode in enumerate(MODES):
        rows = modes == mode_id
        if not rows.any():
            continue
        metrics[f"psnr_{mode}"] = mean_psnr(rendered[rows], targets[rows])
        metrics[f"psnr_{mode}_none"] = mean_psnr(inputs[rows], targets[rows])
        if mode == "auto" and critic is not None:
            metrics["aesthetic_auto"] = float(aesthetic_reward(critic, rendered[rows]).mean())
            metrics["aesthetic_auto_targets"] = float(aesthetic_reward(critic, targets[rows]).mean())
    metrics["similarity"] = float(similarity_reward(rendered, targets).mean())
    return metrics


def psnr_of_colors(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample PSNR (dB, capped at 100) of ``(B, N, 3)`` colour sets, via `evaluation.psnr`."""
    return psnr(colors_as_images(predicted), colors_as_images(target)).clamp(max=100.0)


def select_samples(data: dict, rows: list[int]) -> dict:
    """The cached samples ``rows`` of ``data`` (tensors, instruction texts and records)."""
    index = torch.tensor(rows, dtype=torch.long)
    selected = {key: data[key][index] for key in (*CACHE_FIELDS, "text")}
    return {**selected, "texts": [data["texts"][row] for row in rows],
            "records": [data["records"][row] for row in rows]}


def join_samples(first: dict, second: dict) -> dict:
    """Cached sample sets one after the other."""
    joined = {key: torch.cat([first[key], second[key]]) for key in (*CACHE_FIELDS, "text")}
    return {**joined, "texts": first["texts"] + second["texts"], "records": first["records"] + second["records"]}


def with_direction_samples(train: dict, count: int, slider_encoder: SliderEncoder, cache_dir: Path,
                           embedder: InstructionEmbedder, seed: int = 0) -> dict:
    """``train`` plus ``count`` style samples of plain-direction requests (`data.directions`): the
    image features and colours of random training inputs, the request's embedding, and as labels
    the move's plan features, latents and the input colours rendered by the operators."""
    from ..data.directions import direction_plans
    from ..operators import render

    generator = torch.Generator().manual_seed(seed)
    texts, params = direction_plans(count, generator)
    rows = torch.randint(0, len(train["mode"]), (count,), generator=generator)
    inputs = train["input_colors"][rows]
    with torch.no_grad():
        targets = render(colors_as_images(inputs.float()), params)[..., 0].transpose(1, 2).clamp(0, 1)
        latents = slider_encoder(params)
    extra = {"features": train["features"][rows], "input_colors": inputs, "target_colors": targets.to(inputs.dtype),
             "plan_features": flat_features(params.double()).float(), "latents": latents,
             "mode": torch.full((count,), MODES.index("style")), "text": cached_embeddings(cache_dir, texts, embedder)}
    extra["texts"] = texts
    extra["records"] = [{"key": f"direction-{i}", "subset": "style", "kinds": [], "preset": None} for i in range(count)]
    return join_samples(train, extra)


def with_agreeing_look_words(train: dict) -> dict:
    """``train`` without the preset style samples whose look words disagree with their label
    (`data.directions.look_words_agree`, measured on the cached input and target colours)."""
    from ..data.directions import look_words_agree
    from ..reasoning.measure import measure

    presets = [row for row, (mode, record) in enumerate(zip(train["mode"].tolist(), train["records"]))
               if mode == MODES.index("style") and record.get("preset")]
    before = measure(colors_as_images(train["input_colors"][presets].float()))
    after = measure(colors_as_images(train["target_colors"][presets].float()))
    drop = {row for row, b, a in zip(presets, before, after) if not look_words_agree(train["texts"][row], b, a)}
    return select_samples(train, [row for row in range(len(train["mode"])) if row not in drop])


def photo_of(record: dict) -> str:
    """The photo (file stem) of a cached sample, from its key ``split/stem/index``."""
    return record["key"].split("/")[1]


def with_photos(train: dict, count: int) -> dict:
    """The samples of ``count`` of ``train``'s photos, the first by a hash of their name (nested: the
    photos of a smaller count are among those of a larger one)."""
    photos = sorted({photo_of(r) for r in train["records"]}, key=lambda p: hashlib.sha256(p.encode()).hexdigest())
    kept = set(photos[:count])
    return select_samples(train, [row for row, record in enumerate(train["records"]) if photo_of(record) in kept])


def with_param_requests_as_style(train: dict) -> dict:
    """``train`` plus a copy of each param-mode sample as a style-mode sample (same request, same
    labels). Style training text otherwise names looks (presets, moods) and a few plain directions,
    so style mode never learns the explicit moves param mode follows."""
    extra = select_samples(train, (train["mode"] == MODES.index("param")).nonzero().flatten().tolist())
    extra["mode"] = torch.full_like(extra["mode"], MODES.index("style"))
    extra["records"] = [{**record, "subset": "style"} for record in extra["records"]]
    return join_samples(train, extra)


def train_planner(out: Path, cache_dir: Path, renderer: RetouchRenderer, slider_encoder: SliderEncoder,
                  config: PlannerTrainingConfig, max_seconds: float | None = None,
                  progress: bool = True) -> PlannerTrainer:
    embedder = InstructionEmbedder()
    train = load_planner_cache(cache_dir, "train", embedder)
    if config.max_train_photos:
        train = with_photos(train, config.max_train_photos)
    if config.direction_samples:
        train = with_direction_samples(train, config.direction_samples, slider_encoder, cache_dir, embedder,
                                       config.seed)
    if config.look_words_agree:
        train = with_agreeing_look_words(train)
    if config.param_requests_as_style:
        train = with_param_requests_as_style(train)
    validation = load_planner_cache(cache_dir, "validation", embedder)
    trainer = PlannerTrainer(out, train, validation, renderer, slider_encoder, config)
    trainer.train(progress=progress, max_seconds=max_seconds)
    return trainer
