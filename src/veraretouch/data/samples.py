"""One training sample for the planner, as a *recipe* plus labels.

A recipe (photo, crop, plans) is a few hundred bytes and renders the input and target images at
any size on demand (`render_pair`); labels that cost compute (fitted inverse sliders, latents,
round-trip PSNR, reasoning text) are stored with it. Subsets:

- ``auto`` (inverse degradation): input = the crop degraded by a sampled plan
  (`degrade.sample_degradations`), by faults a camera makes (`camera.sample_camera_faults`) or left
  as it is (the planner must learn to leave a good photo alone), mixed by ``auto_mix``; target =
  the crop itself. The fix is not the negated
  degradation (the operators do not commute or invert exactly), so it is *fitted*: sliders that
  take the input back to the target (`fit_plan`, started from the negated degradation, and only
  the sliders the degradation moved are free: fitting all 38 left small spurious moves in
  untouched bands, which the reasoning text then described; for camera faults the lighting and
  global colour sliders are free, and the hue sliders when a hue fault was drawn).
- ``style``: input = the crop, target = the crop with a real preset; the instruction is a
  request for the preset's look.
- ``param``: input = the crop, target = the crop with a sampled plan: a paper-distribution plan
  (every slider moves a little) or, with probability ``SPARSE_PARAM_SHARE``, a sparse plan (one to
  four larger moves, as people ask: "warm it up and lift the shadows"); the instruction spells out
  the sliders (in words and as a VeraRetouch param file).

Every sample's randomness comes from a generator seeded by (seed, photo, index): a sample does
not depend on which others are built, in what order, or on which machine.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..evaluation import psnr
from ..operators import render
from ..plan import Plan
from ..plan.parameters import GLOBAL_COLOR, LIGHTING, N_SLIDERS, SLIDERS, param_index
from ..reasoning.measure import LABEL_SIDE
from .camera import apply_camera_faults, fault_kinds, sample_camera_faults
from .degrade import sample_degradations
from .plans import is_held_out, sample_paper_plans, sample_sparse_plans

SUBSETS = ("auto", "style", "param")
SPLITS = ("train", "validation", "test")
SPARSE_PARAM_SHARE = 0.5
"""Share of param samples whose plan is sparse: paper plans move all 38 sliders, and their
instructions (a clause per notable move) are far longer than what people type."""
AUTO_SOURCES = ("sliders", "camera", "none")
"""What makes an auto sample's input: a slider degradation, camera faults, or nothing."""
CROP_RANGE = (0.6, 1.0)
"""A crop keeps this fraction of each side of the photo (uniform), placed anywhere."""
ROUND_TRIP_SIDE = 96
"""Long side at which the renderer's round trip is scored (the MLP costs ~10 us a pixel on a CPU)."""
MIN_FIT_PSNR = 30.0
"""Auto samples whose fitted fix brings the input back to the target below this PSNR are dropped:
below 30 dB the fix leaves visible differences (the degradation clipped detail away, or moved
colours that no global slider edit brings back), so the text would promise a fix the edit does
not deliver."""
MIN_ROUND_TRIP_PSNR = 30.0
"""Samples where the renderer, driven by the SliderEncoder's latents of the target plan, lands
below this PSNR from the target are dropped: their latent label would teach an edit the renderer
does not make (the same 30 dB as the fix gate)."""
MAX_CLIPPED = 0.15
"""Auto samples whose input has more than this share of clipped pixels (any channel at 0 or 1
after the degradation, where the photo was not) are dropped: that much detail cannot come back.
At 0.05 the gate dropped 44 % of the auto samples of the first shard (over-exposure and harsh
contrast above all), skewing the degradations the planner sees; inputs the fix cannot restore
are dropped by `MIN_FIT_PSNR` anyway, so this gate is only for extreme losses."""


def split_of(name: str, held_out_share: float = 0.2) -> str:
    """train / validation / test by a hash of the file name; the held-out fifth is the renderer's
    held-out split too (`plans.is_held_out`), halved into validation and test."""
    if not is_held_out(Path(name), held_out_share):
        return "train"
    return "validation" if hashlib.sha256(name.encode()).digest()[1] < 128 else "test"


def sample_seed(seed: int, photo: str, index: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{photo}/{index}".encode()).digest()[:8], "little")


@dataclass
class Preset:
    name: str
    category: str
    description: str | None
    plan: Plan
    file: str


@dataclass
class Recipe:
    """How to render a sample: photo file name, crop box (fractions of width/height: left, top,
    right, bottom), the plan that makes the input from the crop and the plan that makes the target
    from the input (for ``auto`` the target is the crop itself and ``target_plan`` the fitted fix)."""

    key: str
    subset: str
    split: str
    photo: str
    crop: tuple[float, float, float, float]
    input_plan: Plan = field(default_factory=Plan)
    target_plan: Plan = field(default_factory=Plan)
    camera_faults: dict = field(default_factory=dict)
    """`camera.apply_camera_faults` record applied to the crop before ``input_plan`` (auto only)."""

    def to_json(self) -> dict:
        record = {"key": self.key, "subset": self.subset, "split": self.split, "photo": self.photo,
                  "crop": [round(v, 6) for v in self.crop],
                  "input_plan": self.input_plan.to_record(), "target_plan": self.target_plan.to_record()}
        return {**record, "camera_faults": self.camera_faults} if self.camera_faults else record

    @classmethod
    def from_json(cls, record: dict) -> "Recipe":
        return cls(record["key"], record["subset"], record["split"], record["photo"], tuple(record["crop"]),
                   Plan.from_record(record["input_plan"]), Plan.from_record(record["target_plan"]),
                   dict(record.get("camera_faults", {})))


def crop_image(photo: torch.Tensor, crop: tuple[float, float, float, float], side: int) -> torch.Tensor:
    """``(1, 3, H, W)`` photo -> its crop, area-resized so the long side is ``side`` pixels."""
    _, _, height, width = photo.shape
    left, top, right, bottom = crop
    box = photo[:, :, round(top * height):max(round(bottom * height), round(top * height) + 1),
                round(left * width):max(round(right * width), round(left * width) + 1)]
    scale = side / max(box.shape[-2:])
    size = (max(1, round(box.shape[-2] * scale)), max(1, round(box.shape[-1] * scale)))
    return F.interpolate(box, size=size, mode="area") if scale < 1 else F.interpolate(
        box, size=size, mode="bilinear", align_corners=False)


def render_pair(recipe: Recipe, photo: torch.Tensor, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The sample's (input, target) images ``(1, 3, h, w)`` at long side ``side``."""
    crop = crop_image(photo, recipe.crop, side)
    if recipe.subset == "auto":
        faulty = apply_camera_faults(crop, [recipe.camera_faults]) if recipe.camera_faults else crop
        return render(faulty, recipe.input_plan.to_tensor()[None]).float(), crop
    return crop, render(crop, recipe.target_plan.to_tensor()[None]).float()


def _crop_box(generator: torch.Generator) -> tuple[float, float, float, float]:
    low, high = CROP_RANGE
    width, height = (low + (high - low) * float(torch.rand((), generator=generator)) for _ in range(2))
    left = (1 - width) * float(torch.rand((), generator=generator))
    top = (1 - height) * float(torch.rand((), generator=generator))
    return left, top, left + width, top + height


def clipped_share(image: torch.Tensor, reference: torch.Tensor) -> float:
    """Share of pixels with a channel at 0 or 1 (within half a level) in ``image`` but not in ``reference``."""
    def clipped(x: torch.Tensor) -> torch.Tensor:
        return ((x <= 0.5 / 255) | (x >= 1 - 0.5 / 255)).any(dim=1)

    return float((clipped(image) & ~clipped(reference)).float().mean())


@dataclass
class Sample:
    """A recipe with its labels; ``dropped`` names the quality gate it failed, if any."""

    recipe: Recipe
    labels: dict
    dropped: str | None = None


def make_recipe(photo_name: str, index: int, seed: int, subset_weights: dict[str, float],
                presets: dict[str, list[Preset]], auto_mix: tuple[float, ...] = (1.0, 0.0, 0.0)) -> tuple[Recipe, dict]:
    """The sample's recipe (before labelling) and its sampling facts (degradation kinds, preset).
    ``auto_mix`` weighs `AUTO_SOURCES` for auto samples (the default, sliders only, draws no extra
    random number, so data v1 rebuilds as it was)."""
    generator = torch.Generator().manual_seed(sample_seed(seed, photo_name, index))
    split = split_of(photo_name)
    names = [s for s in SUBSETS if subset_weights.get(s, 0) > 0 and (s != "style" or presets.get(split))]
    weights = torch.tensor([subset_weights[s] for s in names])
    subset = names[int(torch.multinomial(weights, 1, generator=generator))]
    crop = _crop_box(generator)
    key = f"{split}/{Path(photo_name).stem}/{index:06d}"
    facts: dict = {}
    if subset == "auto":
        source = "sliders" if tuple(auto_mix) == (1.0, 0.0, 0.0) else AUTO_SOURCES[
            int(torch.multinomial(torch.tensor(auto_mix, dtype=torch.float), 1, generator=generator))]
        if source != "sliders":
            faults = sample_camera_faults(generator) if source == "camera" else {}
            facts["degradation_kinds"] = fault_kinds(faults)
            facts["auto_source"] = source
            return Recipe(key, subset, split, photo_name, crop, camera_faults=faults), facts
        degradation = sample_degradations(1, generator)
        facts["degradation_kinds"] = degradation.kinds[0]
        return Recipe(key, subset, split, photo_name, crop, input_plan=Plan.from_tensor(degradation.params[0])), facts
    if subset == "style":
        pool = presets[split]
        preset = pool[int(torch.randint(len(pool), (), generator=generator))]
        facts["preset"] = {"name": preset.name, "category": preset.category, "file": preset.file}
        facts["_preset"] = preset
        return Recipe(key, subset, split, photo_name, crop, target_plan=preset.plan), facts
    sparse = float(torch.rand((), generator=generator)) < SPARSE_PARAM_SHARE
    plan = Plan.from_tensor((sample_sparse_plans if sparse else sample_paper_plans)(1, generator)[0])
    facts["param_plan"] = "sparse" if sparse else "paper"
    return Recipe(key, subset, split, photo_name, crop, target_plan=plan), facts


def _fit_start(recipe: Recipe) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial sliders and the free-slider mask of an auto sample's fit: a slider degradation starts
    at its negation with only its sliders free; camera faults start at the inverse exposure with the
    lighting and global colour sliders free (and the hue sliders for a hue fault)."""
    if not recipe.camera_faults:
        degradation = recipe.input_plan.to_tensor()[None, :N_SLIDERS]
        return -degradation, (degradation != 0).float()
    initial = torch.zeros(1, N_SLIDERS)
    initial[0, param_index("Exposure2012")] = -recipe.camera_faults.get("exposure_ev", 0.0)
    groups = {LIGHTING, GLOBAL_COLOR}
    free = torch.tensor([[float(spec.aspect in groups or ("hue_degrees" in recipe.camera_faults
                                                         and spec.name.startswith("HueAdjustment")))
                          for spec in SLIDERS]])
    return initial, free


def label_sample(recipe: Recipe, facts: dict, photo: torch.Tensor, renderer, slider_encoder,
                 fit_steps: int = 30, fit_pixels: int = 1024) -> Sample:
    """Labels for a recipe: (auto) the fitted fix and the quality gate; every subset: latents of
    the fix, the renderer's round-trip PSNR, input measurements, instruction and checked reasoning."""
    from ..fitting import fit_plan
    from ..reasoning.measure import measure
    from ..reasoning.text import check, describe, param_instruction, param_instruction_json, style_instructions

    rng = random.Random(sample_seed(0, recipe.key, 1))
    input_image, target_image = render_pair(recipe, photo, LABEL_SIDE)
    labels: dict = {key: value for key, value in facts.items() if not key.startswith("_")}
    if recipe.subset == "auto" and (recipe.camera_faults or recipe.input_plan.values):
        initial, free = _fit_start(recipe)
        fit = fit_plan(input_image, target_image, steps=fit_steps, sample_pixels=fit_pixels,
                       initial_sliders=initial, free_sliders=free)
        recipe.target_plan = fit.plan
        labels["fit_psnr"] = round(fit.psnr[0], 2)
        labels["clipped_share"] = round(clipped_share(input_image, target_image), 5)
    elif recipe.subset == "auto":  # left as it is: the fix is no edit
        labels["fit_psnr"], labels["clipped_share"] = 100.0, 0.0
    params = recipe.target_plan.to_tensor()[None]
    small_input, small_target = (F.interpolate(x, scale_factor=ROUND_TRIP_SIDE / max(x.shape[-2:]), mode="area")
                                 for x in (input_image, target_image))
    with torch.no_grad():
        latents = slider_encoder(params)
        labels["round_trip_psnr"] = round(float(psnr(renderer(small_input, latents), small_target)), 2)
    labels["latents"] = [float(f"{v:.5g}") for v in latents[0].tolist()]
    measurements = measure(input_image)[0]
    labels["measurements"] = {k: round(v, 5) for k, v in measurements.items()}
    reasoning = describe(measurements, recipe.target_plan, rng)
    labels["reasoning"] = reasoning.text
    if recipe.subset == "style":
        preset = facts["_preset"]
        labels["instruction"] = style_instructions(preset.name, preset.category, preset.description, rng, 1)[0]
    elif recipe.subset == "param":
        labels["instruction"] = param_instruction(recipe.target_plan, rng)
        labels["instruction_json"] = param_instruction_json(recipe.target_plan)
    dropped = None
    if recipe.subset == "auto" and labels["fit_psnr"] < MIN_FIT_PSNR:
        dropped = "fix not reachable"
    elif recipe.subset == "auto" and labels["clipped_share"] > MAX_CLIPPED:
        dropped = "clipped input"
    elif labels["round_trip_psnr"] < MIN_ROUND_TRIP_PSNR:
        dropped = "renderer round trip too low"
    else:
        contradictions = check(reasoning.text, measurements, recipe.target_plan)
        if contradictions:
            dropped = "text contradicts the edit"
            labels["contradictions"] = [f"{c.span}: {c.phrase}: {c.reason}" for c in contradictions]
    return Sample(recipe, labels, dropped)
