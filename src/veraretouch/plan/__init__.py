"""`Plan`: one typed retouch plan (38 sliders + colour grading + monochrome + point curves).

A plan is what a user edits and what every format (our JSON, the VeraRetouch param file,
Lightroom XMP, `.cube` via baking) reads or writes. `Plan.to_tensor()` gives the flat parameter
vector that the differentiable operators consume (layout in `veraretouch.plan.parameters`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np

from ..errors import PlanError
from .parameters import (
    CURVE_CHANNELS,
    CURVE_SAMPLES,
    CURVES_SLICE,
    N_PARAMS,
    SCALARS,
    SPECS,
    aspect_of,
    default_params,
    param_index,
)

if TYPE_CHECKING:
    import torch

CurvePoints = tuple[tuple[float, float], ...]
"""Point-curve control points ``((x, y), ...)`` in Lightroom's 0..255 units, x strictly increasing."""

IDENTITY_CURVE: CurvePoints = ((0.0, 0.0), (255.0, 255.0))


def monotone_cubic(points: CurvePoints, x: np.ndarray) -> np.ndarray:
    """Evaluate a Fritsch-Carlson monotone cubic through ``points`` (0..255) at ``x`` (0..255).

    Monotone interpolation never overshoots between control points, so a curve whose points rise
    never folds colours back. Outside the first/last point the curve is held flat, as Lightroom does.
    """
    px = np.array([p[0] for p in points], dtype=np.float64)
    py = np.array([p[1] for p in points], dtype=np.float64)
    if len(px) == 1:
        return np.full_like(x, py[0], dtype=np.float64)
    h = np.diff(px)
    delta = np.diff(py) / h
    slopes = np.empty_like(px)
    slopes[0], slopes[-1] = delta[0], delta[-1]
    for i in range(1, len(px) - 1):
        if delta[i - 1] * delta[i] <= 0:
            slopes[i] = 0.0
        else:
            w1, w2 = 2 * h[i] + h[i - 1], h[i] + 2 * h[i - 1]
            slopes[i] = (w1 + w2) / (w1 / delta[i - 1] + w2 / delta[i])
    xc = np.clip(x, px[0], px[-1])
    k = np.clip(np.searchsorted(px, xc, side="right") - 1, 0, len(px) - 2)
    t = (xc - px[k]) / h[k]
    h00, h10 = (1 + 2 * t) * (1 - t) ** 2, t * (1 - t) ** 2
    h01, h11 = t * t * (3 - 2 * t), t * t * (t - 1)
    return h00 * py[k] + h10 * h[k] * slopes[k] + h01 * py[k + 1] + h11 * h[k] * slopes[k + 1]


def curve_to_samples(points: CurvePoints) -> np.ndarray:
    """Control points (0..255) -> ``CURVE_SAMPLES`` outputs in [0, 1] at evenly spaced inputs."""
    grid = np.linspace(0.0, 255.0, CURVE_SAMPLES)
    return np.clip(monotone_cubic(points, grid) / 255.0, 0.0, 1.0)


def samples_to_curve(samples: Sequence[float]) -> CurvePoints:
    """Sampled curve (values in [0, 1]) -> control points in 0..255 units, one per sample."""
    grid = np.linspace(0.0, 255.0, len(samples))
    return tuple((round(float(x), 2), round(float(y) * 255.0, 2)) for x, y in zip(grid, samples))


def _check_curve(name: str, points: Iterable[Sequence[float]]) -> CurvePoints:
    try:
        curve = tuple((float(x), float(y)) for x, y in points)
    except (TypeError, ValueError) as error:
        raise PlanError(f"{name}: curve points must be pairs of numbers ({error})") from None
    if not curve:
        raise PlanError(f"{name}: a point curve needs at least one point")
    xs = [x for x, _ in curve]
    if any(not (0.0 <= v <= 255.0) or not math.isfinite(v) for pair in curve for v in pair):
        raise PlanError(f"{name}: curve points must lie in 0..255, got {list(curve)}")
    if any(b <= a for a, b in zip(xs, xs[1:])):
        raise PlanError(f"{name}: curve x values must be strictly increasing, got {xs}")
    return curve


@dataclass
class Plan:
    """A retouch plan: slider values (non-defaults), point curves, and what a reader could not model.

    ``values`` maps ``crs:`` names (see `veraretouch.plan.parameters.SCALARS`) to values in Lightroom
    units; controls not listed are at their default. ``curves`` maps the four ``ToneCurvePV2012*``
    names to control points. ``unmodelled`` keeps fields a reader met but we do not render
    (Clarity, Grain, ...), so a user can see what was ignored.
    """

    values: dict[str, float] = field(default_factory=dict)
    curves: dict[str, CurvePoints] = field(default_factory=dict)
    name: str | None = None
    group: str | None = None
    description: str | None = None
    unmodelled: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checked: dict[str, float] = {}
        for key, value in self.values.items():
            param_index(key)
            if isinstance(value, bool):
                raise PlanError(f"{key}: expected a number, got {value!r}")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise PlanError(f"{key}: expected a number, got {value!r}") from None
            if not math.isfinite(number):
                raise PlanError(f"{key}: expected a finite number, got {value!r}")
            SPECS[key].check(number)
            checked[key] = number
        self.values = checked
        curves: dict[str, CurvePoints] = {}
        for key, points in self.curves.items():
            if key not in CURVE_CHANNELS:
                raise PlanError(f"unknown curve {key!r}; valid curves: {', '.join(CURVE_CHANNELS)}")
            curves[key] = _check_curve(key, points)
        self.curves = curves

    # ------------------------------------------------------------------ access
    def get(self, name: str) -> float:
        """Value of a scalar control (its default when the plan does not set it)."""
        param_index(name)
        return self.values.get(name, SPECS[name].default)

    @property
    def monochrome(self) -> bool:
        return self.get("Monochrome") >= 0.5

    def is_identity(self) -> bool:
        """True when rendering this plan leaves every colour unchanged."""
        import torch

        return bool(torch.allclose(self.to_tensor(), default_params(), atol=1e-6))

    def by_aspect(self) -> dict[str, dict[str, float]]:
        """Set values split by aspect group (lighting / global_color / specific_color)."""
        out: dict[str, dict[str, float]] = {}
        for key, value in self.values.items():
            out.setdefault(aspect_of(key), {})[key] = value
        return out

    def restricted_to(self, groups: Iterable[str]) -> "Plan":
        """A copy keeping only the controls of the given aspect groups (the others at default)."""
        keep = set(groups)
        return Plan(
            values={k: v for k, v in self.values.items() if aspect_of(k) in keep},
            curves={k: v for k, v in self.curves.items() if aspect_of(k) in keep},
            name=self.name, group=self.group, description=self.description,
        )

    # ------------------------------------------------------------------ tensors
    def to_tensor(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The flat parameter vector ``(P,)`` the operators consume (float32 unless ``dtype`` says otherwise)."""
        import torch

        params = default_params(dtype=dtype)
        dtype = params.dtype
        for key, value in self.values.items():
            params[param_index(key)] = value
        for c, key in enumerate(CURVE_CHANNELS):
            if key in self.curves:
                start = CURVES_SLICE.start + c * CURVE_SAMPLES
                params[start:start + CURVE_SAMPLES] = torch.from_numpy(curve_to_samples(self.curves[key])).to(dtype)
        return params

    @classmethod
    def from_tensor(cls, params: torch.Tensor, decimals: int = 2, clamp: bool = True) -> "Plan":
        """A plan from a parameter vector ``(P,)`` (e.g. a fitted or predicted one).

        Values are rounded to ``decimals`` (Lightroom shows two for exposure) and, with ``clamp``,
        pulled into range; controls equal to their default are left out.
        """
        if params.shape != (N_PARAMS,):
            raise PlanError(f"expected a parameter vector of shape ({N_PARAMS},), got {tuple(params.shape)}")
        vector = params.detach().cpu().double().numpy()
        values: dict[str, float] = {}
        for i, spec in enumerate(SCALARS):
            value = float(vector[i])
            if clamp:
                value = min(max(value, spec.minimum), spec.maximum)
            value = round(value, decimals)
            if value != spec.default:
                values[spec.name] = value
        identity = np.linspace(0.0, 1.0, CURVE_SAMPLES)
        curves: dict[str, CurvePoints] = {}
        for c, key in enumerate(CURVE_CHANNELS):
            start = CURVES_SLICE.start + c * CURVE_SAMPLES
            samples = np.clip(vector[start:start + CURVE_SAMPLES], 0.0, 1.0)
            if np.abs(samples - identity).max() > 1e-4:
                curves[key] = samples_to_curve(np.maximum.accumulate(samples))
        return cls(values=values, curves=curves)

    def to_record(self) -> dict:
        """The plan's rendering content, compactly: ``{"values": {...}, "curves": {name: [[x, y], ...]}}``
        (what a training sample or a result file stores; `from_record` reads it back)."""
        return {"values": dict(self.values), "curves": {name: [list(point) for point in points]
                                                        for name, points in self.curves.items()}}

    @classmethod
    def from_record(cls, record: Mapping) -> "Plan":
        return cls(values=record["values"], curves={name: [tuple(p) for p in points]
                                                    for name, points in record["curves"].items()})

    @staticmethod
    def stack(plans: Sequence["Plan"], dtype: torch.dtype | None = None) -> torch.Tensor:
        """Batch of plans -> ``(B, P)`` parameters."""
        import torch

        return torch.stack([plan.to_tensor(dtype) for plan in plans])

    # ------------------------------------------------------------------ files (plan.files)
    @classmethod
    def from_file(cls, path: str | Path) -> "Plan":
        """Read a plan from ``.json`` (ours or the VeraRetouch param file) or ``.xmp``."""
        from .files import read_plan

        return read_plan(path)

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write ``.json`` or ``.xmp`` by extension (atomically; refuses to overwrite unless asked)."""
        from .files import write_plan

        return write_plan(self, path, overwrite=overwrite)

    @classmethod
    def from_xmp(cls, text: str | bytes) -> "Plan":
        from .xmp import plan_from_xmp

        return plan_from_xmp(text)

    def to_xmp(self) -> str:
        from .xmp import plan_to_xmp

        return plan_to_xmp(self)

    @classmethod
    def from_json(cls, text: str | bytes | Mapping) -> "Plan":
        from .jsonplan import plan_from_json

        return plan_from_json(text)

    def to_json(self) -> str:
        from .jsonplan import plan_to_json

        return plan_to_json(self)
