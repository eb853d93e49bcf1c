"""Bootstrap intervals for "is B better than A, beyond noise?" on paired per-sample scores.

Samples drawn from one photo are correlated (crops and edits of the same scene), so besides the
ordinary bootstrap over samples, `paired_bootstrap` resamples whole groups (photos): the cluster
bootstrap, whose interval is the honest one when there are few photos.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

DRAWS = 10_000


def paired_bootstrap(differences: Sequence[float], groups: Sequence[str] | None = None, draws: int = DRAWS,
                     seed: int = 0, level: float = 0.95) -> dict:
    """Mean of per-sample ``differences`` (B - A) with percentile intervals at ``level``: resampling
    samples (``samples_ci``) and, given ``groups`` (one label per sample), resampling groups with all
    their samples (``groups_ci``)."""
    values = np.asarray(differences, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError("differences must be a non-empty 1-D sequence")
    tail = 100 * (1 - level) / 2
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (draws, len(values)))].mean(axis=1)
    result = {"mean": float(values.mean()), "samples": len(values),
              "samples_ci": [float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))]}
    if groups is not None:
        if len(groups) != len(values):
            raise ValueError(f"{len(groups)} group labels for {len(values)} differences")
        labels = np.asarray(groups)
        members = [values[labels == name] for name in sorted(set(groups))]
        sums = np.array([m.sum() for m in members])
        counts = np.array([len(m) for m in members])
        picks = rng.integers(0, len(members), (draws, len(members)))
        cluster_means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
        result.update(groups=len(members), groups_ci=[float(np.percentile(cluster_means, tail)),
                                                      float(np.percentile(cluster_means, 100 - tail))])
    return result
