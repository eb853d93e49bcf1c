"""`LatentEdit`: an edit held as control latents (from a reference example, later the planner),
with what users do with any edit: render it at full resolution through a baked LUT, export it as
a .cube, or turn it into slider values (an XMP preset) by fitting the operators to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..io.images import Photo
from ..lut.bake import lattice_rgb
from ..lut.photo import apply_lut_to_photo
from ..plan.parameters import ASPECTS
from .model import RetouchRenderer

FIT_LATTICE = 17
"""Colours of a 17^3 lattice join the photo's colours when fitting sliders to a latent edit, so
the preset behaves like the edit on colours the example photo lacks."""


@dataclass
class LatentEdit:
    """Latents ``(1, 3 * aspect_dim)`` for ``renderer``, an optional ``(3,)`` aspect mask (1 keeps
    lighting / global colour / specific colour), and ``source``: how the edit was made."""

    latents: torch.Tensor
    renderer: RetouchRenderer
    aspect_mask: torch.Tensor | None = None
    source: dict = field(default_factory=dict)
    _luts: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.latents = self.latents.detach().reshape(1, -1).float()
        if self.latents.shape[1] != self.renderer.config.latent_dim:
            raise ValueError(
                f"latents have {self.latents.shape[1]} values; this renderer takes {self.renderer.config.latent_dim}"
            )
        if self.aspect_mask is not None:
            self.aspect_mask = torch.as_tensor(self.aspect_mask, dtype=torch.float32).reshape(len(ASPECTS))

    def _batched_mask(self) -> torch.Tensor | None:
        return None if self.aspect_mask is None else self.aspect_mask[None]

    def render(self, image: torch.Tensor) -> torch.Tensor:
        """Exact (direct MLP) render of ``(B, 3, H, W)`` images; differentiable in the image."""
        return self.renderer(image, self.latents.expand(image.shape[0], -1), self._batched_mask())

    def lut(self, size: int = 65) -> np.ndarray:
        """The edit as a read-only ``(N, N, N, 3)`` LUT ``[r, g, b]`` (baked once per size)."""
        if size not in self._luts:
            lut = self.renderer.bake_lut(self.latents, self._batched_mask(), size)
            lut.setflags(write=False)
            self._luts[size] = lut
        return self._luts[size]

    def apply(self, photo: Photo, lut_size: int = 65, in_place: bool = False) -> Photo:
        """Full-resolution render of a `Photo` through the baked LUT (see `veraretouch.apply_plan`)."""
        return apply_lut_to_photo(photo, self.lut(lut_size), in_place)

    def fit_sliders(self, sample: torch.Tensor | None = None, extensions: bool = True, steps: int = 200):
        """Slider values (a `FitResult`; ``.plan`` is the preset) whose operator render best matches
        this edit on ``sample``'s colours (a ``(1, 3, H, W)`` image) plus a 17^3 colour lattice."""
        from ..fitting import fit_plan

        lattice = lattice_rgb(FIT_LATTICE).reshape(1, 3, -1, 1).float()
        colors = lattice if sample is None else torch.cat([sample.reshape(1, 3, -1, 1).float(), lattice], dim=2)
        with torch.no_grad():
            target = self.render(colors)
        return fit_plan(colors, target, extensions=extensions, steps=steps)

    def to_record(self) -> dict:
        """JSON-able description: source, kept aspects and the latents (6 significant digits); the kept
        aspects are stored under ``"groups"``, the key result files have carried since v0.1."""
        mask = [1.0] * len(ASPECTS) if self.aspect_mask is None else self.aspect_mask.tolist()
        kept = [aspect for aspect, keep in zip(ASPECTS, mask) if keep]
        return {"source": self.source, "groups": kept,
                "latents": [float(f"{value:.6g}") for value in self.latents[0].tolist()]}


REFINE_STEPS = 60
"""Renderer evaluations L-BFGS may use to refine a pair's latents (each one pass over the pixel pairs)."""
REFINE_PRIOR = 1e-2
"""Weight of the squared pull back to the encoder's latents, per latent value: keeps the edit of
colours the example does not show close to the encoder's estimate."""


def refine_latents(
    renderer: RetouchRenderer,
    before: torch.Tensor,
    after: torch.Tensor,
    latents: torch.Tensor,
    steps: int = REFINE_STEPS,
    prior_weight: float = REFINE_PRIOR,
    sample_pixels: int = 8192,
) -> torch.Tensor:
    """Latents ``(B, 3d)`` that make ``renderer(before)`` match ``after`` (aligned ``(B, 3, H, W)``
    pairs of one size), found by L-BFGS from ``latents`` on sampled pixel pairs, with the
    Charbonnier loss of slider fitting plus ``prior_weight * mean((z - latents)^2)``."""
    from ..fitting import charbonnier, intra_op_threads, sample_pairs

    source, target = sample_pairs(before.float(), after.float(), sample_pixels)
    colors = source.flatten(2).transpose(1, 2)
    wanted = target.flatten(2).transpose(1, 2)
    start = latents.detach().float()
    fitted = start.clone().requires_grad_(True)
    optimiser = torch.optim.LBFGS([fitted], lr=1.0, max_iter=steps, max_eval=steps, history_size=20,
                                  line_search_fn="strong_wolfe", tolerance_grad=1e-9, tolerance_change=1e-12)
    base = renderer.raw(colors, None).detach()

    def closure() -> torch.Tensor:
        rendered = renderer.render_colors(colors, fitted, base=base)
        loss = (charbonnier(rendered[:, None], wanted[:, None]).sum()
                + prior_weight * (fitted - start).square().mean(dim=1).sum())
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        return loss

    with intra_op_threads(1):
        optimiser.step(closure)
    return fitted.detach()
