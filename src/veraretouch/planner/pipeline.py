"""From a photo (and an instruction) to a rendered, explained edit: planner -> latents -> renderer.

`PlanningPipeline` holds the models once for a batch: the planner (the shipped compact planner, a
trained run, or a VLM checkpoint), the renderer its latents drive and the SliderEncoder. `plan`
returns a `PlannedEdit`: the `LatentEdit` to render at full resolution, the plan (sliders) it
encodes and the checked explanation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..encoders.slider import GRADE_ZONES
from ..plan import Plan
from ..plan.parameters import (
    ASPECTS,
    CURVE_CHANNELS,
    CURVE_SAMPLES,
    CURVES_SLICE,
    SCALARS,
    default_params,
    param_index,
    restrict_to_aspects,
)
from ..renderer.edit import LatentEdit
from .base import PLANNER_SIDE, check_mode
from .explain import Explanation, explain

PLANNERS = ("compact", "vlm")
IMPERCEPTIBLE_SLIDER = 0.5
"""Predicted slider moves below half a slider unit (0.005 EV for exposure, 0.005 for Monochrome, a
fraction; 0.5 for grading strength and lightness) and curve offsets below half an 8-bit level
change no pixel visibly: `prune_imperceptible` drops them, so the plan, its explanation and the
exported preset hold only what changes the photo."""
VLM_PLAN_FIT_STEPS = 200


def prune_imperceptible(params: torch.Tensor) -> torch.Tensor:
    """``(B, P)`` plans with imperceptible moves reset to the default (see `IMPERCEPTIBLE_SLIDER`)."""
    defaults = default_params(dtype=params.dtype).to(params.device)
    scalar_count = CURVES_SLICE.start
    scale = params.new_tensor([0.01 if spec.unit in ("EV", "fraction") else 1.0 for spec in SCALARS])
    scalars = params[:, :scalar_count]
    small = (scalars - defaults[:scalar_count]).abs() < IMPERCEPTIBLE_SLIDER * scale
    for zone in GRADE_ZONES:  # a tint with no strength: its hue means nothing
        small[:, param_index(f"ColorGrade{zone}Hue")] |= small[:, param_index(f"ColorGrade{zone}Sat")]
    curves = params[:, CURVES_SLICE].reshape(params.shape[0], len(CURVE_CHANNELS), CURVE_SAMPLES)
    identity = defaults[CURVES_SLICE].reshape(1, len(CURVE_CHANNELS), CURVE_SAMPLES)
    flat = ((curves - identity).abs().amax(dim=2, keepdim=True) < 0.5 / 255).expand_as(curves)
    return torch.cat([torch.where(small, defaults[:scalar_count], scalars),
                      torch.where(flat, identity, curves).reshape(params.shape[0], -1)], dim=1)


@dataclass
class PlannedEdit:
    edit: LatentEdit
    plan: Plan
    explanation: Explanation
    generated_text: str | None = None
    plan_fit_psnr_db: float | None = None
    understanding: object | None = None
    """Style mode with the compact planner: what the request was read as (`reasoning.style.Understanding`)."""

    def apply_tensor(self, image: torch.Tensor, lut_size: int = 65) -> torch.Tensor:
        """The edit on a ``(1, 3, H, W)`` image through its baked LUT, as users get it at full size."""
        from ..lut import apply_lut  # numba: imported only where a LUT is applied

        pixels = image[0].permute(1, 2, 0).contiguous().float().numpy()
        return torch.from_numpy(apply_lut(pixels, self.edit.lut(lut_size))).permute(2, 0, 1)[None]

    def to_record(self) -> dict:
        record = {"plan": self.plan.to_record(),
                  "explanation": self.explanation.to_record(), "latent_edit": self.edit.to_record()}
        if self.generated_text is not None:
            record["generated_text"] = self.generated_text
        if self.plan_fit_psnr_db is not None:
            record["plan_fit_psnr_db"] = self.plan_fit_psnr_db
        if self.understanding is not None:
            record["understood"] = self.understanding.to_record()
        return record


RUN_MODELS = ("compact_planner", "renderer", "fault_detector")
"""The models a ``models`` run folder may hold; each one it holds replaces the shipped one (the
SliderEncoder comes with the renderer it was trained with)."""


class PlanningPipeline:
    """``PlanningPipeline()`` loads the shipped compact planner, renderer and SliderEncoder;
    ``models`` is a run folder holding any of `RUN_MODELS` (``compact_planner/``, ``renderer/`` with its
    ``slider_encoder/``, ``fault_detector/`` from `veraretouch train detector`), each used instead of the
    shipped one; ``planner="vlm"`` with ``checkpoint`` a local VLM planner folder."""

    def __init__(self, planner: str = "compact", models: str | Path | None = None,
                 checkpoint: str | Path | None = None) -> None:
        from ..encoders import SliderEncoder
        from ..errors import VeraRetouchError
        from ..pretrained import model_folder
        from ..reasoning.detector import FaultDetector
        from ..renderer import RetouchRenderer
        from .compact import CompactPlanner

        if planner not in PLANNERS:
            raise VeraRetouchError(f"unknown planner {planner!r}; choose from {', '.join(PLANNERS)}")
        self.kind = planner
        self.looks = None
        self._understood: dict = {}
        if models is not None and not any((Path(models) / name).is_dir() for name in RUN_MODELS):
            names = ", ".join(name + "/" for name in RUN_MODELS)
            raise VeraRetouchError(f"{models}: holds none of {names} (a training run folder)")

        def folder(name: str) -> Path:
            """The run's own model where it has one, else the shipped one."""
            return model_folder(models if models is not None and (Path(models) / name).is_dir() else None, name)

        self.renderer = RetouchRenderer.from_pretrained(folder("renderer"))
        self.slider_encoder = SliderEncoder.from_pretrained(folder("renderer").parent / "slider_encoder")
        self.detector = FaultDetector.from_pretrained(folder("fault_detector"))
        self.embedder = None
        if planner == "compact":
            self.planner = CompactPlanner.from_pretrained(folder("compact_planner"))
            from .text import default_embedder

            self.embedder = default_embedder()
        else:
            if checkpoint is None:
                raise VeraRetouchError("the vlm planner needs --checkpoint DIR (a local VLM planner folder)")
            from .vlm import VLMPlanner

            self.planner = VLMPlanner.from_pretrained(
                checkpoint, renderer=self.renderer
            )  # refuses a base VLM with no trained head

    def understand(self, request: str):
        """What a style request asks for (`reasoning.style.understand_request`, cached per request);
        raises `OutOfScopeRequest` / `RequestNotUnderstood` for requests with no edit to make."""
        from ..reasoning.encoder import default_instruction_encoder
        from ..reasoning.looks import LookLibrary
        from ..reasoning.style import understand_request

        if self.looks is None:
            self.looks = LookLibrary.shipped(default_instruction_encoder())
        if request not in self._understood:
            self._understood[request] = understand_request(request, self.looks)
        return self._understood[request]

    def plan(self, preview: torch.Tensor, mode: str, instruction: str | None = None,
             aspects: list[str] | None = None, seed: int = 0) -> PlannedEdit:
        """Plan the edit for one photo's ``(1, 3, h, w)`` preview (any size; `PLANNER_SIDE` is plenty)."""
        instructions = None if instruction is None else [instruction]
        check_mode(mode, instructions, 1)
        mask = None if aspects is None else torch.tensor([float(g in aspects) for g in ASPECTS])
        source = {"mode": mode, "planner": self.kind, **({"instruction": instruction} if instruction else {})}
        if self.kind == "compact":
            understanding = self.understand(instruction) if mode == "style" else None
            if understanding is not None:  # style: the request read explicitly (reasoning.style), not the network
                raw = understanding.params[None]
            else:
                raw = self.planner.plan(preview, mode, instructions, slider_encoder=self.slider_encoder,
                                        embedder=self.embedder).params
            params = prune_imperceptible(raw if mask is None else restrict_to_aspects(raw, mask))
            plan = Plan.from_tensor(params[0])
            edit = LatentEdit(self.slider_encoder(plan.to_tensor()[None]).detach(), self.renderer, mask, source)
            return PlannedEdit(edit, plan, explain(preview, plan, seed, self.detector), understanding=understanding)
        output = self.planner.plan(preview, mode, instructions)
        edit = LatentEdit(output.latents, self.renderer, mask, source)
        fit = edit.fit_sliders(preview, steps=VLM_PLAN_FIT_STEPS)
        return PlannedEdit(edit, fit.plan, explain(preview, fit.plan, seed, self.detector),
                           generated_text=(output.texts or [None])[0], plan_fit_psnr_db=round(fit.psnr[0], 2))


def retouch_function(mode: str, prompt: str | None = None, planner: str = "compact",
                     checkpoint: str | Path | None = None, models: str | Path | None = None):
    """A callable ``(1, 3, H, W) -> (1, 3, H, W)`` that plans on a `PLANNER_SIDE` copy and renders
    the whole image through the edit's LUT (for evaluation and scripts)."""
    from .features import planner_copy

    pipeline = PlanningPipeline(planner, models=models, checkpoint=checkpoint)

    def retouch(image: torch.Tensor) -> torch.Tensor:
        return pipeline.plan(planner_copy(image, PLANNER_SIDE), mode, prompt).apply_tensor(image)

    return retouch
