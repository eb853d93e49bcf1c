"""Plan samplers for training and evaluation, as ``(B, P)`` parameter batches.

- `sample_paper_plans`: each of the 38 sliders Gaussian with the standard deviations the paper
  used for its param data (system notes §1), clipped to range. Where the paper gives a range of
  deviations for a family (parametric zones 7.2-15.8, HSL 5.8-28.3) we use the middle of it.
- `sample_sparse_plans`: a few sliders only (one to four), drawn like the paper's Gaussians but
  wider, as a person asks for an edit ("warm it up and lift the shadows").
- `sample_uniform_plans`: each slider uniform over a fraction of its range, for coverage of the
  extremes the Gaussians rarely reach; a random subset of sliders is set, the rest stay default.
- `preset_plans`: real Lightroom presets from a folder, split into train / held-out by a hash of
  the file name, so the split never changes when files are added.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from ..errors import PlanError
from ..plan import Plan
from ..plan.parameters import HSL_BANDS, N_SLIDERS, SLIDERS, default_params

PAPER_STDDEV = {
    "Exposure2012": 0.654, "Contrast2012": 12.7, "Highlights2012": 21.6, "Shadows2012": 16.2,
    "Whites2012": 16.4, "Blacks2012": 15.6,
    **{name: 11.5 for name in ("ParametricShadows", "ParametricDarks", "ParametricLights", "ParametricHighlights")},
    "IncrementalTemperature": 15.0, "IncrementalTint": 15.0, "Vibrance": 7.8, "Saturation": 7.4,
    **{f"{kind}Adjustment{band}": 17.0 for kind in ("Hue", "Saturation", "Luminance") for band in HSL_BANDS},
}
_STDDEV = torch.tensor([PAPER_STDDEV[spec.name] for spec in SLIDERS])
_LOW = torch.tensor([spec.minimum for spec in SLIDERS])
_HIGH = torch.tensor([spec.maximum for spec in SLIDERS])


def sample_paper_plans(count: int, generator: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    """``(count, P)`` plans with the 38 sliders drawn from the paper's Gaussians (times ``scale``)."""
    params = default_params(count)
    sliders = torch.randn(count, N_SLIDERS, generator=generator) * _STDDEV * scale
    params[:, :N_SLIDERS] = torch.maximum(torch.minimum(sliders, _HIGH), _LOW)
    return params


SPARSE_SCALE = 2.0
"""Sparse plans draw their sliders at this multiple of the paper's deviations: one or two moves
that a person names are larger than the many small ones of a full edit."""


def sample_sparse_plans(count: int, generator: torch.Generator, most: int = 4) -> torch.Tensor:
    """``(count, P)`` plans that each move 1..``most`` random sliders (uniform count), every moved
    slider Gaussian at ``SPARSE_SCALE`` times the paper's deviation, clipped to range."""
    params = default_params(count)
    for row in range(count):
        moved = int(torch.randint(1, most + 1, (), generator=generator))
        chosen = torch.randperm(N_SLIDERS, generator=generator)[:moved]
        values = torch.randn(moved, generator=generator) * _STDDEV[chosen] * SPARSE_SCALE
        params[row, chosen] = torch.maximum(torch.minimum(values, _HIGH[chosen]), _LOW[chosen])
    return params


def sample_uniform_plans(count: int, generator: torch.Generator, fraction: float = 0.6,
                         active: float = 0.3) -> torch.Tensor:
    """``(count, P)`` plans: each slider set with probability ``active``, uniform in ``fraction`` of its range."""
    params = default_params(count)
    unit = torch.rand(count, N_SLIDERS, generator=generator) * 2 - 1
    chosen = torch.rand(count, N_SLIDERS, generator=generator) < active
    params[:, :N_SLIDERS] = torch.where(chosen, unit * fraction * _HIGH, torch.zeros(()))
    return params


def is_held_out(path: Path, held_out_share: float = 0.2) -> bool:
    """Deterministic split by a hash of the file name (not the path, so moving a folder keeps it)."""
    digest = hashlib.sha256(path.name.encode()).digest()
    return digest[0] / 256.0 < held_out_share


def preset_plans(
    folder: str | Path, split: str = "train", held_out_share: float = 0.2
) -> tuple[torch.Tensor, list[str]]:
    """``(count, P)`` parameters of the presets in ``folder`` for ``split`` ('train' or 'held_out'),
    with their names; files that do not parse (e.g. placeholders) are skipped."""
    if split not in ("train", "held_out"):
        raise ValueError(f"split must be 'train' or 'held_out', got {split!r}")
    rows, names = [], []
    for path in sorted(Path(folder).rglob("*.xmp")):
        if is_held_out(path, held_out_share) != (split == "held_out"):
            continue
        try:
            plan = Plan.from_file(path)
        except PlanError:
            continue
        rows.append(plan.to_tensor())
        names.append(path.stem)
    if not rows:
        return default_params(0), names
    return torch.stack(rows), names


class PlanMixture:
    """The training mixture of plans: ``paper_share`` paper Gaussians, ``uniform_share`` wide
    uniform, the rest real presets (paper Gaussians instead when there are no presets)."""

    def __init__(
        self, presets: torch.Tensor | None = None, paper_share: float = 0.45, uniform_share: float = 0.30
    ) -> None:
        self.presets = presets if presets is not None else default_params(0)
        self.paper_share, self.uniform_share = paper_share, uniform_share

    def sample(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """``(count, P)`` plans, in the order paper, uniform, presets."""
        uniform = int(count * self.uniform_share)
        presets = count - int(count * self.paper_share) - uniform if len(self.presets) else 0
        parts = [sample_paper_plans(count - uniform - presets, generator), sample_uniform_plans(uniform, generator)]
        if presets:
            parts.append(self.presets[torch.randint(0, len(self.presets), (presets,), generator=generator)])
        return torch.cat(parts)
