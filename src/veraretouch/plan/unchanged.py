"""Helpers shared by the plan readers: what counts as "no change" for a value or a curve."""
from __future__ import annotations

from typing import Mapping, Sequence

from .parameters import SPECS


def without_defaults(values: Mapping[str, float]) -> dict[str, float]:
    """Drop controls set to their default: a plan read from a file lists only what changes the picture."""
    return {name: value for name, value in values.items() if name not in SPECS or value != SPECS[name].default}


def is_identity_curve(points: Sequence[Sequence[float]]) -> bool:
    """True for a point curve on the diagonal from (0, 0) to (255, 255).

    Every point on y = x makes the monotone cubic through them exactly y = x, and the end points
    at 0 and 255 leave no flat hold outside them, so the curve changes nothing.
    """
    return (
        len(points) >= 2
        and tuple(points[0]) == (0.0, 0.0)
        and tuple(points[-1]) == (255.0, 255.0)
        and all(x == y for x, y in points)
    )
