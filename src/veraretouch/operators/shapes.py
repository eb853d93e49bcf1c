"""Smooth 1-D shape functions for building monotone tone and zone curves.

Every tone control is ``x + amount * height * shape(x)``. With ``|amount| <= 1`` and
``height * max|shape'| <= MAX_SLOPE_CHANGE < 1`` the slope stays positive, so each control is
strictly monotone and any composition of controls is monotone too (no tone reversals, ever).
"""
from __future__ import annotations

import math

import torch

MAX_SLOPE_CHANGE = 0.9


def rise(x: torch.Tensor, start: float | torch.Tensor, end: float | torch.Tensor) -> torch.Tensor:
    """Raised-cosine step: 0 below ``start``, 1 above ``end``; max slope ``pi / (2 (end - start))``."""
    t = ((x - start) / (end - start)).clamp(0.0, 1.0)
    return 0.5 - 0.5 * torch.cos(math.pi * t)


def bump(x: torch.Tensor, start: float, end: float) -> torch.Tensor:
    """Raised-cosine bump: 0 outside ``[start, end]``, 1 at the centre; max slope ``pi / (end - start)``."""
    t = ((x - start) / (end - start)).clamp(0.0, 1.0)
    return torch.sin(math.pi * t) ** 2


def bump_height(start: float, end: float) -> float:
    """Largest bump height whose slope change stays within `MAX_SLOPE_CHANGE`."""
    return MAX_SLOPE_CHANGE * (end - start) / math.pi


def interp_periodic(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor, period: float = 360.0) -> torch.Tensor:
    """Piecewise-linear interpolation of a periodic map between circles.

    Knots ``xp`` and values ``fp`` both increase within one period (an orientation-preserving map
    of the circle). Differentiable in ``x``; used to map Lightroom wheel hues onto OKLab hues.
    """
    xp = xp.to(x.dtype)
    fp = fp.to(x.dtype)
    knots_x = torch.cat([xp[-1:] - period, xp, xp[:1] + period])
    unwrapped = torch.cat([fp[-1:] - period, fp, fp[:1] + period])
    xw = torch.remainder(x - knots_x[0], period) + knots_x[0]
    index = (torch.searchsorted(knots_x.contiguous(), xw.detach().contiguous(), right=True) - 1).clamp(
        0, len(knots_x) - 2
    )
    x0, x1 = knots_x[index], knots_x[index + 1]
    y0, y1 = unwrapped[index], unwrapped[index + 1]
    return torch.remainder(y0 + (xw - x0) / (x1 - x0) * (y1 - y0), period)
