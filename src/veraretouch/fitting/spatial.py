"""Fitting the spatial part of a plan: post-crop vignette and clarity, after the pointwise fit.

The pointwise fit (`veraretouch.fitting.fit_plan`) sees pixel pairs, which cannot show a vignette
or local contrast. This stage renders the whole before image, downsized to `FIT_SIDE` pixels on
its short side (the finishing effects scale with the image, so values fitted there hold at full
resolution), through the fitted pointwise plan once, then fits ``PostCropVignetteAmount``,
``PostCropVignetteMidpoint`` and ``Clarity2012`` through `finish` with L-BFGS, each bounded as
``centre + half_range * tanh(raw)`` and starting at zero effect.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..operators import render
from ..operators.finishing import finish
from ..plan.parameters import SPECS, param_index

FIT_SIDE = 256
SPATIAL_CONTROLS = ("PostCropVignetteAmount", "PostCropVignetteMidpoint", "Clarity2012")
STEPS = 40


def downsized(images: torch.Tensor, side: int = FIT_SIDE) -> torch.Tensor:
    """``(B, 3, H, W)`` scaled (area-averaged) so the short side is at most ``side``."""
    scale = side / min(images.shape[-2:])
    if scale >= 1:
        return images
    size = (max(1, round(images.shape[-2] * scale)), max(1, round(images.shape[-1] * scale)))
    return F.interpolate(images, size=size, mode="area")


def fit_spatial(before: torch.Tensor, after: torch.Tensor, params: torch.Tensor, steps: int = STEPS) -> torch.Tensor:
    """``(B, P)`` plans ``params`` (pointwise part fitted) with vignette and clarity fitted to the pairs."""
    source = downsized(before.float())
    target = downsized(after.float())
    with torch.no_grad():
        pointwise = render(source, params.float(), compute_dtype=torch.float32)
    raw = torch.zeros(params.shape[0], len(SPATIAL_CONTROLS), requires_grad=True)
    specs = [SPECS[name] for name in SPATIAL_CONTROLS]
    centre = torch.tensor([(spec.minimum + spec.maximum) / 2 for spec in specs])
    half = torch.tensor([(spec.maximum - spec.minimum) / 2 for spec in specs])
    start = torch.atanh((torch.tensor([spec.default for spec in specs]) - centre) / half)

    def controls() -> torch.Tensor:
        fitted = params.float().clone()
        fitted[:, [param_index(name) for name in SPATIAL_CONTROLS]] = centre + half * torch.tanh(start + raw)
        return fitted

    optimiser = torch.optim.LBFGS([raw], lr=1.0, max_iter=steps, max_eval=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad(set_to_none=True)
        loss = (finish(pointwise, controls()) - target).abs().mean()
        loss.backward()
        return loss

    optimiser.step(closure)
    return controls().detach()
