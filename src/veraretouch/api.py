"""The public Python API: `Retoucher`, the one entry point for every mode (auto, style, param,
reference), the `Retouched` result, and the `Edit` protocol every mode's edit follows.

>>> from veraretouch import Retoucher, sample_photo
>>> retoucher = Retoucher()
>>> photo = sample_photo()     # a Photo; or any path, or an (H, W, 3) uint8/uint16 sRGB array
>>> result = retoucher.param(photo, {"Exposure2012": 0.5, "Vibrance": 20})
>>> result.image.size == photo.size             # full resolution, metadata kept
True
>>> result.plan.values["Vibrance"]
20.0
>>> auto = retoucher.auto(photo)
>>> sorted(auto.explanation.to_record()["aspects"])
['global_color', 'lighting', 'specific_color']

Models load on first use and are kept for the next photo. Every result is a `Retouched`: render it
(`.image`, full resolution through a baked 3D LUT), look at it (`.explanation`, `.plan`), or save
it (`.save`, `.save_cube`, `.save_xmp`, `.record`). The CLI and the web app are built on this class.

Every mode hands the photo driver (CLI, `Retoucher`, web app) an `Edit`: something that can render
a photo (``in_place`` reuses the photo's own pixel buffer, as the CLI does), bake a LUT, become a
preset and describe itself. Plans (param mode), reference edits and planned edits (auto, style)
differ only there.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Protocol

import numpy as np

from .errors import VeraRetouchError
from .io.images import DEFAULT_MAX_PIXELS, Photo, proxy_photo, read_image, write_image
from .lut.photo import DEFAULT_LUT_SIZE, apply_plan, bake_plan_lut
from .plan import Plan

if TYPE_CHECKING:  # torch and the renderer load where latent edits are made: param mode needs neither
    import torch

    from .renderer.edit import LatentEdit

PRESET_SAMPLE_SIDE = 96
"""Fitting a preset to a latent edit uses the photo's colours at about this size (plus a colour lattice)."""

class Edit(Protocol):
    """What `Retouched`, the CLI and the web app need of an edit, whatever mode made it."""

    name: str | None

    def apply(self, photo: Photo, lut_size: int, in_place: bool = False) -> Photo:
        """The edit on ``photo`` at full resolution (through a baked LUT)."""

    def lut(self, size: int) -> np.ndarray:
        """The edit as a ``(size, size, size, 3)`` LUT indexed ``[r, g, b]``."""

    def cube_comments(self) -> list[str]:
        """Lines a ``.cube`` of the edit starts with (what the LUT leaves out)."""

    def preset(self, photo: Photo) -> tuple[Plan, dict]:
        """The edit as slider values for ``photo``, and facts about the fit (JSON-able)."""

    def record(self) -> dict:
        """The edit, JSON-able, for ``<stem>.plan.json``."""


def spatial_note(plan: Plan) -> str | None:
    """What a ``.cube`` of ``plan`` leaves out: a LUT maps colours to colours, so it holds the
    plan's pointwise part only, never the finishing effects (vignette, grain, clarity, ...)."""
    from .operators.finishing import EFFECTS, finishing_values

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


def encode_reference(encoder, renderer, before: torch.Tensor, after: torch.Tensor, mode: str, aspect_mask,
                     source: dict, refine: bool = True) -> LatentEdit:
    """Latents of a reference example as a `LatentEdit`. A pair's latents are then refined on the
    example's own pixels (`refine_latents`; the after image resized to the before's size)."""
    import torch

    from .renderer.edit import LatentEdit, refine_latents

    with torch.no_grad():
        latents = encoder(before, after, mode=mode)
    if mode == "pair" and refine:
        if after.shape[-2:] != before.shape[-2:]:
            after = torch.nn.functional.interpolate(after, size=before.shape[-2:], mode="bilinear", antialias=True,
                                                    align_corners=False)
        latents = refine_latents(renderer, before, after, latents)
    return LatentEdit(latents, renderer, aspect_mask, source={**source, "refined": mode == "pair" and refine})


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


def as_photo(photo, max_pixels: int = DEFAULT_MAX_PIXELS) -> Photo:
    """A `Photo` from a file path, a `Photo`, or an ``(H, W, 3)`` / ``(H, W)`` uint8 or uint16 sRGB array."""
    if isinstance(photo, Photo):
        return photo
    if isinstance(photo, (str, Path)):
        return read_image(photo, max_pixels=max_pixels)
    if isinstance(photo, np.ndarray):
        if photo.dtype not in (np.uint8, np.uint16) or photo.ndim not in (2, 3) or (
                photo.ndim == 3 and photo.shape[2] not in (1, 3)):
            raise VeraRetouchError(f"an array photo must be (H, W, 3) or (H, W) uint8/uint16 sRGB levels, "
                                   f"got {photo.shape} {photo.dtype}")
        pixels = photo[..., None] if photo.ndim == 2 else photo
        return Photo(np.ascontiguousarray(pixels), None, "PNG", None, None)
    raise VeraRetouchError(f"a photo is a path, a Photo or a numpy array, not {type(photo).__name__}")


def as_plan(plan) -> Plan:
    """A `Plan` from a `Plan`, a ``{slider: value}`` mapping, or a .xmp / .json plan file."""
    if isinstance(plan, Plan):
        return plan
    if isinstance(plan, Mapping):
        return Plan(values=dict(plan))
    if isinstance(plan, (str, Path)):
        return Plan.from_file(plan)
    raise VeraRetouchError(f"a plan is a Plan, a dict of slider values or a plan file, not {type(plan).__name__}")


@dataclass
class Retouched:
    """One photo's edit, ready to render and export. ``edit`` is the mode's `Edit`; the
    full-resolution render is made on first use of `image`."""

    photo: Photo
    edit: Edit
    mode: str
    lut_size: int = DEFAULT_LUT_SIZE
    _image: Photo | None = field(default=None, repr=False)
    _plan: Plan | None = field(default=None, repr=False)
    _plan_info: dict = field(default_factory=dict, repr=False)

    @property
    def image(self) -> Photo:
        """The retouched photo at full resolution (alpha, EXIF and ICC profile kept)."""
        if self._image is None:
            self._image = self.edit.apply(self.photo, self.lut_size)
        return self._image

    @property
    def plan(self) -> Plan:
        """The edit as slider values: the plan itself (param), the planner's plan (auto, style), or
        sliders fitted to the latent edit on this photo's colours (reference)."""
        if self._plan is None:
            self._plan, self._plan_info = self.edit.preset(self.photo)
        return self._plan

    @property
    def explanation(self):
        """Problems found and the plan, per aspect (auto and style modes; None otherwise)."""
        return self.edit.planned.explanation if isinstance(self.edit, PlannedEditAdapter) else None

    @property
    def understood(self) -> str | None:
        """Style mode: what the request was read as ("I read 'cool it down a touch' as: white balance
        cooler, small."); None in other modes."""
        understanding = getattr(getattr(self.edit, "planned", None), "understanding", None)
        return None if understanding is None else understanding.summary()

    def lut(self, size: int | None = None) -> np.ndarray:
        """The edit as a read-only ``(N, N, N, 3)`` float32 LUT indexed ``[r, g, b]``."""
        return self.edit.lut(size or self.lut_size)

    def preview(self, max_side: int = 1024) -> Photo:
        """The edit on a copy of the photo at most ``max_side`` pixels on its long side."""
        return self.edit.apply(proxy_photo(self.photo, max_side), self.lut_size)

    def save(self, path: str | Path, format: str | None = None, quality: int = 95, overwrite: bool = False) -> Path:
        """Write the full-resolution result (atomically; refuses to replace a file unless ``overwrite``)."""
        return write_image(self.image, path, format=format, quality=quality, overwrite=overwrite)

    def save_cube(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the edit as an Adobe/Resolve ``.cube`` 3D LUT (a plan's pointwise part: the file's
        first line names any spatial effect it cannot hold)."""
        from .formats import write_cube

        return write_cube(self.lut(), path, title=self.edit.name or "veraretouch", overwrite=overwrite,
                          comments=self.edit.cube_comments())

    def save_xmp(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write `plan` as a Lightroom / Camera Raw preset (.xmp) or our JSON plan (.json)."""
        from .plan.files import write_plan

        return write_plan(self.plan, path, overwrite=overwrite)

    def record(self) -> dict:
        """What was done, JSON-able: mode, the edit (plan, latents, explanation) and image facts."""
        photo = self.photo
        return {"mode": self.mode,
                "image": {"width": photo.size[0], "height": photo.size[1], "bit_depth": photo.bit_depth,
                          "format": photo.format, "icc_profile": photo.icc_profile is not None},
                "lut_size": self.lut_size, **self.edit.record(), **self._plan_info}


class Retoucher:
    """Retouch photos in any mode with one set of models.

    ``models`` is a training run folder (holding ``renderer/``, ``compact_planner/``, ...) or None
    for the weights that ship in the package; ``planner="vlm"`` with ``checkpoint`` uses a local VLM
    planner folder for auto and style. ``lut_size`` is the full-resolution LUT's lattice (65 keeps
    smooth edits within 2 levels of the exact render).
    """

    def __init__(self, models: str | Path | None = None, planner: str = "compact",
                 checkpoint: str | Path | None = None, lut_size: int = DEFAULT_LUT_SIZE,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        if not 2 <= lut_size <= 256:
            raise VeraRetouchError(f"lut_size must be between 2 and 256, got {lut_size}")
        self.models, self.planner_kind, self.checkpoint = models, planner, checkpoint
        self.lut_size, self.max_pixels = lut_size, max_pixels
        self._pipeline = None
        self._reference_models = None

    @property
    def pipeline(self):
        """The planning pipeline (planner, renderer, SliderEncoder), loaded on first use."""
        if self._pipeline is None:
            from .planner.pipeline import PlanningPipeline

            self._pipeline = PlanningPipeline(self.planner_kind, models=self.models, checkpoint=self.checkpoint)
        return self._pipeline

    @property
    def reference_models(self) -> tuple:
        """The renderer and ReferenceEncoder for reference mode, loaded on first use."""
        if self._reference_models is None:
            from .weights import load_models

            self._reference_models = tuple(load_models(self.models, "renderer", "reference_encoder"))
        return self._reference_models

    def _result(self, photo: Photo, edit, mode: str) -> Retouched:
        return Retouched(photo, edit, mode, self.lut_size)

    def param(self, photo, plan) -> Retouched:
        """Render slider values: a `Plan`, ``{"Exposure2012": 0.5, ...}`` or a .xmp / .json file."""
        return self._result(as_photo(photo, self.max_pixels), PlanEdit(as_plan(plan)), "param")

    def auto(self, photo, aspects: list[str] | None = None, name: str = "veraretouch auto") -> Retouched:
        """Find what is wrong with the photo and fix it; ``aspects`` keeps only some of lighting,
        global_color, specific_color."""
        return self._planned(as_photo(photo, self.max_pixels), "auto", None, aspects, name)

    def style(self, photo, prompt: str, aspects: list[str] | None = None, name: str | None = None) -> Retouched:
        """Retouch towards a look described in words (``"warm and moody"``, ``"faded film"``)."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise VeraRetouchError("the style prompt is empty; describe the look you want")
        prompt = prompt.strip()
        return self._planned(as_photo(photo, self.max_pixels), "style", prompt, aspects,
                             name or f"veraretouch style: {prompt}")

    def _planned(self, photo: Photo, mode: str, prompt: str | None, aspects, name: str) -> Retouched:
        from .planner.base import PLANNER_SIDE

        _check_aspects(aspects)
        planned = self.pipeline.plan(photo.preview_tensor(PLANNER_SIDE), mode, prompt, aspects)
        return self._result(photo, PlannedEditAdapter(planned, name), mode)

    def reference_edit(self, after, before=None, photo_for_target: Photo | None = None,
                       aspects: list[str] | None = None, refine: bool = True) -> ReferenceEdit:
        """The edit an example shows: ``before`` -> ``after`` (a pair, one edit for any photo), or
        with no ``before`` the look of ``after`` estimated for ``photo_for_target``."""
        import torch

        from .encoders.reference import check_pair_framing
        from .plan.parameters import ASPECTS

        _check_aspects(aspects)
        after = as_photo(after, self.max_pixels)
        before = None if before is None else as_photo(before, self.max_pixels)
        if before is not None:
            check_pair_framing(before.size[::-1], after.size[::-1])
        renderer, encoder = self.reference_models
        mask = None if aspects is None else torch.tensor([float(g in aspects) for g in ASPECTS])
        name = f"like {after.path.stem}" if after.path is not None else "veraretouch reference"
        if before is not None:
            source = {"mode": "pair", "before": str(before.path or "array"), "after": str(after.path or "array")}
            return ReferenceEdit(encode_reference(encoder, renderer, before.preview_tensor(), after.preview_tensor(),
                                                  "pair", mask, source, refine=refine), name=name)
        if photo_for_target is None:
            raise VeraRetouchError("with no before image, the target look is estimated for a photo: "
                                   "pass photo_for_target")
        return ReferenceEdit(encode_reference(encoder, renderer, photo_for_target.preview_tensor(),
                                              after.preview_tensor(), "target", mask,
                                              {"mode": "target", "after": str(after.path or "array")}), name=name)

    def reference(self, photo, after, before=None, aspects: list[str] | None = None,
                  refine: bool = True) -> Retouched:
        """Retouch like an example: the edit from ``before`` to ``after``, or the look of ``after`` alone."""
        photo = as_photo(photo, self.max_pixels)
        return self._result(photo, self.reference_edit(after, before, photo, aspects, refine), "reference")


def _check_aspects(aspects) -> None:
    from .plan.parameters import ASPECTS

    unknown = [a for a in aspects or () if a not in ASPECTS]
    if unknown:
        raise VeraRetouchError(f"unknown aspect {unknown[0]!r}; choose from {', '.join(ASPECTS)}")
