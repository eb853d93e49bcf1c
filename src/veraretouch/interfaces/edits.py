"""What every mode hands the photo driver (CLI, `Retoucher`, web app): an edit that can render a
photo (``in_place`` reuses the photo's own pixel buffer, as the CLI does), bake a LUT, become a
preset and describe itself. Plans (param mode) and latent edits (reference mode, later
auto and style) differ only here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..apply import apply_plan, bake_plan_lut
from ..io.images import Photo
from ..plan import Plan

if TYPE_CHECKING:  # torch and the renderer are imported where latent edits are made: param mode needs neither
    import torch

    from ..renderer.edit import LatentEdit

PRESET_SAMPLE_SIDE = 96
"""Fitting a preset to a latent edit uses the photo's colours at about this size (plus a colour lattice)."""


def spatial_note(plan: Plan) -> str | None:
    """What a ``.cube`` of ``plan`` leaves out: a LUT maps colours to colours, so it holds the
    plan's pointwise part only, never the finishing effects (vignette, grain, clarity, ...)."""
    from ..operators.finishing import EFFECTS, finishing_values

    dropped = finishing_values(plan.values)
    if not any(plan.values.get(name) for (name,) in EFFECTS.values()):
        return None
    return ("pointwise part of the plan only: a LUT cannot hold the spatial effects "
            + ", ".join(f"{name}={value:g}" for name, value in dropped.items()))


@dataclass
class PlanEdit:
    plan: Plan

    @property
    def name(self) -> str | None:
        return self.plan.name

    def apply(self, photo: Photo, lut_size: int, in_place: bool = False) -> Photo:
        return apply_plan(photo, self.plan, lut_size=lut_size, in_place=in_place)

    def lut(self, size: int) -> np.ndarray:
        return bake_plan_lut(self.plan, size)

    def cube_comments(self) -> list[str]:
        note = spatial_note(self.plan)
        return [] if note is None else [note]

    def preset(self, photo: Photo) -> tuple[Plan, dict]:
        return self.plan, {}

    def record(self) -> dict:
        return {"plan": json.loads(self.plan.to_json())}


@dataclass
class ReferenceEdit:
    edit: LatentEdit
    name: str | None = None
    fit_steps: int = 200

    def apply(self, photo: Photo, lut_size: int, in_place: bool = False) -> Photo:
        return self.edit.apply(photo, lut_size=lut_size, in_place=in_place)

    def lut(self, size: int) -> np.ndarray:
        return self.edit.lut(size)

    def cube_comments(self) -> list[str]:
        return []

    def preset(self, photo: Photo) -> tuple[Plan, dict]:
        """Slider values fitted to the latent edit on the photo's colours: a Lightroom preset."""
        result = self.edit.fit_sliders(photo.preview_tensor(PRESET_SAMPLE_SIDE), extensions=True, steps=self.fit_steps)
        plan = result.plan
        plan.name = self.name
        return plan, {"preset_fit_psnr_db": round(result.psnr[0], 2)}

    def record(self) -> dict:
        return {"latent_edit": self.edit.to_record()}


def encode_reference(encoder, renderer, before: torch.Tensor, after: torch.Tensor, mode: str, group_mask,
                     source: dict, refine: bool = True) -> LatentEdit:
    """Latents of a reference example as a `LatentEdit`. A pair's latents are then refined on the
    example's own pixels (`refine_latents`; the after image resized to the before's size)."""
    import torch

    from ..renderer.edit import LatentEdit, refine_latents

    with torch.no_grad():
        latents = encoder(before, after, mode=mode)
    if mode == "pair" and refine:
        if after.shape[-2:] != before.shape[-2:]:
            after = torch.nn.functional.interpolate(after, size=before.shape[-2:], mode="bilinear", antialias=True,
                                                    align_corners=False)
        latents = refine_latents(renderer, before, after, latents)
    return LatentEdit(latents, renderer, group_mask, source={**source, "refined": mode == "pair" and refine})


@dataclass
class PlannedEditAdapter:
    """Auto and style mode: the planner's latent edit and its plan (the XMP export is that plan
    itself, no fitting); the record carries the checked explanation."""

    planned: object
    name: str | None = None

    def apply(self, photo: Photo, lut_size: int, in_place: bool = False) -> Photo:
        return self.planned.edit.apply(photo, lut_size=lut_size, in_place=in_place)

    def lut(self, size: int) -> np.ndarray:
        return self.planned.edit.lut(size)

    def cube_comments(self) -> list[str]:
        return []

    def preset(self, photo: Photo) -> tuple[Plan, dict]:
        plan = self.planned.plan
        plan.name = self.name
        return plan, {}

    def record(self) -> dict:
        return self.planned.to_record()
