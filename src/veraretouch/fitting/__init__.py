"""Slider fitting: the plan whose render best matches a before/after pair, found by gradient descent.

The operators are differentiable, so any edit that is (close to) a pointwise colour function can
be expressed as slider values and exported as a Lightroom preset. Choices, each measured in
``benchmarks/fitting.py``:

- Pixels, not images: the edit is pointwise, so the loss only needs (before, after) colour pairs.
  We draw ``sample_pixels`` pairs uniformly at random from the full-resolution images, plus
  `STRATA` x `PER_STRATUM` pairs stratified by the before image's luminance so shadows and
  highlights are represented even when rare. Gathering pixels costs the same as downsizing and
  keeps every pair exact, where averaging pixels (downsizing) would blend across edges into
  pairs that no pointwise edit produces.
- Bounded normalised units: each control is ``centre + half_range * tanh(raw)``, starting at
  its default (raw = 0), so it never leaves its range and all controls move on a common scale.
  A colour-grading tint (hue, strength) is fitted as a 2-D vector whose angle is the hue: hue
  has no gradient at zero strength, the vector has. Point curves are a start value plus
  cumulative softplus increments: monotone by construction, identity at raw = 0.
- Loss: Charbonnier ``sqrt(r^2 + eps^2) - eps`` in sRGB (quadratic for small residuals, as PSNR,
  linear for large ones, so pixels a global edit cannot explain do not dominate) plus a small
  L1-like pull of every control towards its default (`_prior_penalty`): controls the edit does
  not need stay at zero, and of equivalent slider combinations the sparsest wins.
- L-BFGS with a strong-Wolfe line search, ``steps`` render evaluations at most. The problem is
  small (38 to ~200 unknowns), smooth and ill-conditioned (Exposure, Contrast, Highlights and the
  parametric zones overlap): on a hard 5-slider edit L-BFGS reached 44 dB in 43 evaluations
  where Adam (lr 0.05, cosine) had 30 dB after 40 steps and 45 dB after 200, and Adam's
  normalised steps kicked every slider off zero on an identity pair. One start suffices: over
  random slider plans the worst fit is still far above 35 dB (no local minima seen).
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import VeraRetouchError
from ..lut import apply_lut
from ..lut.photo import bake_plan_lut
from ..operators import render
from ..operators.colorspace import LUMINANCE_WEIGHTS, srgb_to_linear_rgb
from ..operators.finishing import finish
from ..plan import Plan
from ..plan.parameters import (
    CURVE_CHANNELS,
    CURVE_SAMPLES,
    CURVES_SLICE,
    N_SCALARS,
    N_SLIDERS,
    SLIDERS,
    default_params,
    param_index,
)

DEFAULT_STEPS = 200
"""Render evaluations (forward + backward) allowed; L-BFGS stops earlier once converged."""
DEFAULT_SAMPLE_PIXELS = 16384
"""Uniformly drawn pixel pairs per image: 4096 fit slider edits as well, more guard real pairs against noise."""
STRATA = 16
"""Luminance bins (equal width in linear luminance^(1/2.2), i.e. roughly perceptual) for the extra pairs."""
PER_STRATUM = 16
"""Extra pairs drawn from each luminance bin (fewer when a bin holds fewer pixels)."""
STRATA_POOL = 1 << 22
"""Pixels searched for the strata: all of an image up to 4 MP, a random 4 M of bigger ones."""
CHARBONNIER_EPSILON = 1e-2
"""Residuals below about 2.5 8-bit levels are penalised quadratically (as PSNR does), larger ones
linearly, so pixels the global edit cannot explain (local edits, noise) do not dominate."""
PRIOR_WEIGHT = 1e-4
"""Weight of the pull towards the defaults (`_prior_penalty`); the data term is 4e-3 when every
pixel is 2.5 levels off. On six random slider plans (100 evaluations) 0, 3e-5 and 1e-4 all gave
57-58 dB mean, 1e-3 gave 51 dB; only 1e-4 kept a 3-slider edit at 3 sliders."""
PRIOR_SCALE = 0.01
"""Distance (normalised units: one slider unit, 0.05 EV) where the pull turns from quadratic to linear."""
LBFGS_HISTORY = 20
"""Curvature pairs L-BFGS keeps: plenty for 38 to ~200 unknowns."""
GRADE_ZONES = ("Shadow", "Midtone", "Highlight", "Global")
TINT_START = 1e-3
"""Starting length of each grading tint vector: non-zero so its direction (the hue) has a gradient."""
DIRECT_PSNR_PIXELS = 65 ** 3 // 4
"""Below this many pixels `rendered_psnr` renders directly: a quarter of the lattice a bake renders."""
CURVE_TOLERANCE = 0.5 / 255
"""Fitted curves closer than half an 8-bit level to the identity are left out of the preset."""


class FitError(VeraRetouchError):
    """A before/after pair that cannot be fitted: not float image batches, or of different sizes."""


@dataclass
class FitResult:
    """Fitted plans, one per before/after pair, and how well they reproduce the after images.

    ``params`` holds the exported plans as ``(B, P)`` (rounded as in the preset), ``psnr`` the dB of
    each plan's render of the before image against the after image (full images), ``history``
    the loss (mean over pairs) at each render evaluation.
    """

    plans: list[Plan]
    params: torch.Tensor
    psnr: list[float]
    history: list[float]
    seconds: float

    @property
    def plan(self) -> Plan:
        """The plan of a single pair."""
        if len(self.plans) != 1:
            raise ValueError(f"fitted {len(self.plans)} pairs; use .plans")
        return self.plans[0]


def _check_pair(before: torch.Tensor, after: torch.Tensor) -> None:
    for name, image in (("before", before), ("after", after)):
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[1] != 3:
            shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
            raise FitError(f"{name} must be a (B, 3, H, W) image batch, got {shape}")
        if not image.is_floating_point():
            raise FitError(f"{name} must hold floats in [0, 1], got {image.dtype}")
    if before.shape != after.shape:
        b, a = before.shape, after.shape
        raise FitError(
            f"before is {b[3]}x{b[2]} and after is {a[3]}x{a[2]} (batch {b[0]} vs {a[0]}): the pair must be "
            "the same photo before and after an edit, at the same size"
        )


def _luminance_bins(colours: torch.Tensor) -> torch.Tensor:
    """``(3, N)`` sRGB -> bin index in ``[0, STRATA)`` of relative luminance encoded with gamma 2.2."""
    weights = colours.new_tensor(LUMINANCE_WEIGHTS).reshape(3, 1)
    luminance = (srgb_to_linear_rgb(colours) * weights).sum(0).clamp(0.0, 1.0) ** (1 / 2.2)
    return (luminance * STRATA).long().clamp_max(STRATA - 1)


def _pixel_indices(image: torch.Tensor, sample_pixels: int, generator: torch.Generator) -> torch.Tensor:
    """Flat pixel indices of one ``(3, H, W)`` image: uniform draws plus luminance-stratified ones.

    Stratified: up to `PER_STRATUM` random pixels of each luminance bin, found among all pixels
    (among `STRATA_POOL` random ones on bigger images). Small images use every pixel.
    """
    count = image.shape[1] * image.shape[2]
    if count <= sample_pixels + STRATA * PER_STRATUM:
        return torch.arange(count)
    flat = image.reshape(3, count)
    picks = [torch.randint(count, (sample_pixels,), generator=generator)]
    pool = torch.arange(count) if count <= STRATA_POOL else torch.randint(count, (STRATA_POOL,), generator=generator)
    bins = _luminance_bins(flat[:, pool])
    for stratum in range(STRATA):
        members = pool[bins == stratum]
        if len(members) > PER_STRATUM:
            members = members[torch.randint(len(members), (PER_STRATUM,), generator=generator)]
        picks.append(members)
    return torch.cat(picks)


def sample_pairs(before: torch.Tensor, after: torch.Tensor, sample_pixels: int,
                 seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The colour pairs the fit sees: two ``(B, 3, 1, N)`` tensors, the same pixels of both images.

    Images whose darkest or brightest bins hold few pixels get fewer stratified pairs; they are
    topped up with repeats of their own pairs so every image of the batch has ``N`` pairs.
    """
    generator = torch.Generator().manual_seed(seed)
    indices = [_pixel_indices(image, sample_pixels, generator) for image in before]
    size = max(len(index) for index in indices)
    indices = [torch.cat([index, index[torch.randint(len(index), (size - len(index),), generator=generator)]])
               for index in indices]
    flat_before, flat_after = (images.reshape(images.shape[0], 3, -1) for images in (before, after))
    source = torch.stack([image[:, index] for image, index in zip(flat_before, indices)])
    target = torch.stack([image[:, index] for image, index in zip(flat_after, indices)])
    return source.unsqueeze(2), target.unsqueeze(2)


def _prior_penalty(deviation: torch.Tensor) -> torch.Tensor:
    """Pseudo-Huber cost ``sqrt(d^2 + s^2) - s`` of normalised distances ``d`` from the defaults.

    Linear beyond `PRIOR_SCALE` (one slider unit), like L1: among slider combinations that give
    the same look it prefers the one with fewest controls set, so a 3-slider edit came back as 3
    sliders (13 with no pull, 16 with a squared pull). Quadratic inside, so it stays smooth.
    """
    return torch.sqrt(deviation.square() + PRIOR_SCALE ** 2) - PRIOR_SCALE


class _PlanParameterisation(torch.nn.Module):
    """Unconstrained raw tensors -> a ``(B, P)`` parameter batch that always lies in range.

    ``forward`` returns the parameters and the prior: `_prior_penalty` summed over the fitted
    controls (a curve counts as the mean over its samples).
    """

    def __init__(self, batch: int, extensions: bool, initial_sliders: torch.Tensor | None = None,
                 free_sliders: torch.Tensor | None = None) -> None:
        super().__init__()
        free = torch.ones(N_SLIDERS) if free_sliders is None else free_sliders.reshape(-1, N_SLIDERS)
        self.register_buffer("free", free.to(torch.float64))
        self.extensions = extensions
        self.register_buffer("defaults", default_params(batch, torch.float64))
        low = torch.tensor([spec.minimum for spec in SLIDERS], dtype=torch.float64)
        high = torch.tensor([spec.maximum for spec in SLIDERS], dtype=torch.float64)
        self.register_buffer("slider_centre", (low + high) / 2)
        self.register_buffer("slider_half", (high - low) / 2)
        start = torch.zeros(batch, N_SLIDERS, dtype=torch.float64)
        if initial_sliders is not None:
            unit = (initial_sliders.to(torch.float64) - self.slider_centre) / self.slider_half
            start = torch.atanh(unit.clamp(-0.999, 0.999)).expand(batch, -1).clone()
        self.sliders = torch.nn.Parameter(start)
        if extensions:
            angle = torch.arange(len(GRADE_ZONES), dtype=torch.float64) * (math.pi / 2)
            start = torch.stack([angle.cos(), angle.sin()], -1) * TINT_START
            self.tints = torch.nn.Parameter(start.expand(batch, -1, -1).clone())
            self.grade_lums = torch.nn.Parameter(torch.zeros(batch, len(GRADE_ZONES), dtype=torch.float64))
            self.blend_balance = torch.nn.Parameter(torch.zeros(batch, 2, dtype=torch.float64))
            self.curve_starts = torch.nn.Parameter(torch.zeros(batch, len(CURVE_CHANNELS), 1, dtype=torch.float64))
            self.curve_steps = torch.nn.Parameter(
                torch.zeros(batch, len(CURVE_CHANNELS), CURVE_SAMPLES - 1, dtype=torch.float64))

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        unit = torch.tanh(self.sliders) * self.free
        prior = _prior_penalty(unit).sum(1)
        params = self.defaults.clone()
        params[:, :N_SLIDERS] = self.slider_centre + self.slider_half * unit
        if self.extensions:
            params, extension_prior = self._extensions(params)
            prior = prior + extension_prior
        return params, prior

    def _extensions(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        length = self.tints.norm(dim=-1)
        strength = torch.tanh(length)
        hue = torch.rad2deg(torch.atan2(self.tints[..., 1], self.tints[..., 0])) % 360.0
        lum = torch.tanh(self.grade_lums)
        blend_balance = torch.tanh(self.blend_balance)
        for z, zone in enumerate(GRADE_ZONES):
            params[:, param_index(f"ColorGrade{zone}Hue")] = hue[:, z]
            params[:, param_index(f"ColorGrade{zone}Sat")] = 100.0 * strength[:, z]
            params[:, param_index(f"ColorGrade{zone}Lum")] = 100.0 * lum[:, z]
        params[:, param_index("ColorGradeBlending")] = 50.0 + 50.0 * blend_balance[:, 0]
        params[:, param_index("ColorGradeBalance")] = 100.0 * blend_balance[:, 1]
        steps = F.softplus(self.curve_steps) / (math.log(2.0) * (CURVE_SAMPLES - 1))
        curves = (self.curve_starts + F.pad(steps.cumsum(-1), (1, 0))).clamp(0.0, 1.0)
        identity = torch.linspace(0.0, 1.0, CURVE_SAMPLES, dtype=curves.dtype)
        params[:, CURVES_SLICE] = curves.reshape(curves.shape[0], -1)
        prior = (_prior_penalty(torch.cat([strength, lum, blend_balance], 1)).sum(1)
                 + _prior_penalty(curves - identity).mean(-1).sum(1))
        return params, prior


@contextmanager
def intra_op_threads(count: int):
    """Run torch ops on ``count`` threads, restoring the previous setting afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def charbonnier(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-pair mean of ``sqrt(r^2 + eps^2) - eps`` over channels and pixels: shape ``(B,)``. The fitting
    loss, public because the renderer's latent refinement (`renderer.edit.refine_latents`) uses it too."""
    residual = prediction - target
    return (torch.sqrt(residual.square() + CHARBONNIER_EPSILON ** 2) - CHARBONNIER_EPSILON).mean(dim=(1, 2, 3))


def _export(params: torch.Tensor) -> Plan:
    """The preset a fitted ``(P,)`` vector becomes, rounded as Lightroom stores its sliders.

    Exposure to 0.01 EV and every other scalar to whole units (what Lightroom's panels show),
    grading hues dropped where their tint rounds to zero, and curves within `CURVE_TOLERANCE` of
    the identity dropped: leftovers of the optimisation that change no 8-bit pixel.
    """
    step = torch.ones(N_SCALARS, dtype=params.dtype)
    step[param_index("Exposure2012")] = 0.01
    rounded = params.clone()
    rounded[:N_SCALARS] = torch.round(params[:N_SCALARS] / step) * step
    identity = default_params(dtype=params.dtype)[CURVES_SLICE]
    curves = rounded[CURVES_SLICE].view(len(CURVE_CHANNELS), CURVE_SAMPLES)
    small = (curves - identity.view_as(curves)).abs().amax(1) < CURVE_TOLERANCE
    curves[small] = identity.view_as(curves)[small]
    plan = Plan.from_tensor(rounded)
    values = dict(plan.values)
    for zone in GRADE_ZONES:
        if f"ColorGrade{zone}Sat" not in values:
            values.pop(f"ColorGrade{zone}Hue", None)
    return Plan(values=values, curves=plan.curves)


def rendered_psnr(before: torch.Tensor, after: torch.Tensor, plans: list[Plan], rows: int = 256) -> list[float]:
    """PSNR (dB) of each plan's render of ``before`` against ``after``, per pair.

    Rendered as `apply_plan` renders photos, through the plan's 65^3 LUT (then its finishing
    effects, if any): fast at any size, and
    the number is what applying the exported preset gives. Images with fewer pixels than
    `DIRECT_PSNR_PIXELS` are rendered directly instead (cheaper than baking, and exact). The
    squared error is summed in bands of ``rows`` rows, as `psnr` on a whole 15 MP photo would hold
    four float64 copies (1.4 GB).
    """
    scores = []
    for image, target, plan in zip(before, after, plans):
        if image.shape[1] * image.shape[2] < DIRECT_PSNR_PIXELS:
            fitted = render(image[None].float(), plan.to_tensor()[None], compute_dtype=torch.float32)[0]
        else:
            pixels = image.permute(1, 2, 0).float().numpy().copy()  # C order, and ours to overwrite
            fitted = torch.from_numpy(apply_lut(pixels, bake_plan_lut(plan), out=pixels)).permute(2, 0, 1)
        fitted = finish(fitted[None], plan.to_tensor()[None])[0]
        squared_error = sum(float((fitted[:, top:top + rows].double() - target[:, top:top + rows].double())
                                  .square().sum()) for top in range(0, fitted.shape[1], rows))
        scores.append(10.0 * math.log10(fitted.numel() / squared_error) if squared_error else math.inf)
    return scores


def fit_plan(
    before: torch.Tensor,
    after: torch.Tensor,
    *,
    extensions: bool = False,
    steps: int = DEFAULT_STEPS,
    sample_pixels: int = DEFAULT_SAMPLE_PIXELS,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
    initial_sliders: torch.Tensor | None = None,
    free_sliders: torch.Tensor | None = None,
    spatial: bool = False,
) -> FitResult:
    """Fit one plan per (before, after) pair of ``(B, 3, H, W)`` sRGB batches, all in one optimisation.

    With ``extensions`` the colour grading and the four point curves are fitted too (Monochrome is
    not: Saturation -100 gives the same look). ``steps`` bounds the render evaluations;
    ``progress(evaluation, loss)`` is called after each. ``initial_sliders`` ``(B or 1, 38)`` starts
    the sliders there instead of at zero (a good guess, e.g. a known edit's inverse, saves
    evaluations). With ``spatial`` the post-crop vignette and clarity are fitted afterwards on the
    whole (downsized) images (`veraretouch.fitting.spatial`). ``free_sliders`` ``(B or 1, 38)``
    (1 = fitted, 0 = held at zero) limits the fit to
    some sliders, e.g. the aspects a known degradation touched. The loop runs on one thread: its tensors
    are small, and on a busy 2-core machine a second intra-op thread made it ten times slower.
    """
    _check_pair(before, after)
    if steps < 1 or sample_pixels < 1:
        raise FitError(f"steps and sample_pixels must be positive, got {steps} and {sample_pixels}")
    started = time.perf_counter()
    source, target = sample_pairs(before.float(), after.float(), sample_pixels, seed)
    model = _PlanParameterisation(before.shape[0], extensions, initial_sliders, free_sliders)
    optimiser = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=steps, max_eval=steps,
                                  history_size=LBFGS_HISTORY, line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-9, tolerance_change=1e-12)
    history: list[float] = []

    def closure() -> torch.Tensor:
        params, prior = model()
        fitted = render(source, params.float(), compute_dtype=torch.float32)
        loss = (charbonnier(fitted, target) + PRIOR_WEIGHT * prior).sum()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        history.append(loss.item() / before.shape[0])
        if progress is not None and len(history) <= steps:
            progress(len(history), history[-1])
        return loss

    with intra_op_threads(1):
        optimiser.step(closure)
        with torch.no_grad():
            fitted = model()[0]
        if spatial:
            from .spatial import fit_spatial

            fitted = fit_spatial(before, after, fitted)
        plans = [_export(vector) for vector in fitted]
    return FitResult(plans=plans, params=Plan.stack(plans), psnr=rendered_psnr(before, after, plans),
                     history=history, seconds=time.perf_counter() - started)
