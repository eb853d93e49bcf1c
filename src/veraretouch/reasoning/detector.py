"""Which faults a photo has, learned: boosted decision trees over the diagnosis' measurements.

A fixed threshold on one statistic cannot tell a fault from a look (a warm cast from a sunset, a dark
exposure from a night scene); trees over all of `diagnosis.scene_measurements` weigh them together.
One classifier per attribute (`FAULT_STATES`: exposure none / low / high, ...), each an ensemble of
regression trees adding to per-class scores, softmaxed: the gradient-boosting model of Friedman
(2001), trained by `training.detector` with scikit-learn and stored here as plain arrays, so that
inference needs only torch and the weights load offline from safetensors.

A fault is claimed when its probability reaches its threshold (``config.thresholds``), set in
training for a budget of false claims on photos the trees never saw (out-of-fold): the
photographer's trust in the text comes before naming every fault (docs/benchmarks.md, issue 20).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import torch
from torch import nn

from ..pretrained import PretrainedMixin, shipped

FAULT_STATES = {"exposure": ("low", "high"), "contrast": ("low",), "temperature": ("low", "high"),
                "tint": ("low", "high"), "saturation": ("low", "high")}
"""The faults the detector judges, by attribute, in the claim checker's words (exposure low = too
dark, temperature high = a warm cast, tint low = a green cast, contrast low = flat)."""
TREE_ARRAYS = ("feature", "threshold", "left", "right", "value")


@dataclass
class FaultDetectorConfig:
    """``feature_names``: the measurement keys, in column order; ``shapes``: attribute -> [trees,
    nodes, classes]; ``depth``: the deepest path; ``thresholds``: ``"attribute/state"`` -> the
    probability from which that fault is claimed; ``training``: how it was made (for the model card)."""

    feature_names: list[str] = field(default_factory=list)
    shapes: dict[str, list[int]] = field(default_factory=dict)
    depth: int = 3
    thresholds: dict[str, float] = field(default_factory=dict)
    training: dict = field(default_factory=dict)


def ensemble_scores(x: torch.Tensor, feature: torch.Tensor, threshold: torch.Tensor, left: torch.Tensor,
                    right: torch.Tensor, value: torch.Tensor, init: torch.Tensor, tree_class: torch.Tensor,
                    depth: int) -> torch.Tensor:
    """``(n, F)`` features -> ``(n, C)`` class scores of a tree ensemble.

    Trees are ``(T, N)`` node arrays: a split node sends ``x[feature] <= threshold`` to ``left``, the rest
    to ``right``; a leaf has ``feature < 0`` and adds ``value`` to the score of class ``tree_class[t]``,
    on top of ``init``. All rows and trees descend together, ``depth`` steps.
    """
    trees = torch.arange(feature.shape[0])
    node = torch.zeros(x.shape[0], feature.shape[0], dtype=torch.long)
    for _ in range(depth):
        column = feature[trees, node]
        goes_left = x.gather(1, column.clamp_min(0)) <= threshold[trees, node]
        step = torch.where(goes_left, left[trees, node], right[trees, node])
        node = torch.where(column < 0, node, step)
    scores = init.expand(x.shape[0], -1).clone()
    return scores.index_add_(1, tree_class, value[trees, node])


class FaultDetector(PretrainedMixin, nn.Module):
    """Probabilities of each fault in `FAULT_STATES` from a measurement dictionary."""

    config_class = FaultDetectorConfig

    def __init__(self, config: FaultDetectorConfig):
        super().__init__()
        self.config = config
        for attribute, (trees, nodes, classes) in config.shapes.items():
            for name in TREE_ARRAYS:
                dtype = torch.float64 if name in ("threshold", "value") else torch.long
                self.register_buffer(f"{attribute}_{name}", torch.zeros(trees, nodes, dtype=dtype))
            self.register_buffer(f"{attribute}_init", torch.zeros(classes, dtype=torch.float64))
            self.register_buffer(f"{attribute}_tree_class", torch.zeros(trees, dtype=torch.long))

    def features(self, measurements: list[dict[str, float]]) -> torch.Tensor:
        """``(n, F)`` float64 columns in ``config.feature_names`` order, rounded through float32 as the
        trees were fitted (scikit-learn compares float32 features); a missing key is an error."""
        missing = [k for k in self.config.feature_names if k not in measurements[0]]
        if missing:
            raise KeyError(f"measurements lack {missing[:5]}: measure with reasoning.diagnosis.scene_measurements")
        rows = [[m[k] if math.isfinite(m[k]) else 0.0 for k in self.config.feature_names] for m in measurements]
        return torch.tensor(rows, dtype=torch.float32).double()

    def probabilities(self, measurements: list[dict[str, float]]) -> dict[str, torch.Tensor]:
        """``attribute -> (n, 1 + states)`` probabilities of no fault, then each state of `FAULT_STATES`."""
        x = self.features(measurements)
        out = {}
        for attribute in self.config.shapes:
            arrays = [getattr(self, f"{attribute}_{name}") for name in TREE_ARRAYS]
            scores = ensemble_scores(x, *arrays, getattr(self, f"{attribute}_init"),
                                     getattr(self, f"{attribute}_tree_class"), self.config.depth)
            out[attribute] = scores.softmax(dim=1)
        return out

    def claimed(self, measurements: dict[str, float]) -> list[tuple[str, str, float]]:
        """``(attribute, state, probability)`` of each fault whose probability reaches its threshold."""
        found = []
        for attribute, probabilities in self.probabilities([measurements]).items():
            for index, state in enumerate(FAULT_STATES[attribute], start=1):
                probability = float(probabilities[0, index])
                if probability >= self.config.thresholds[f"{attribute}/{state}"]:
                    found.append((attribute, state, probability))
        return found


@lru_cache(maxsize=1)
def shipped_detector() -> FaultDetector:
    """The fault detector shipped in ``veraretouch/weights/fault_detector`` (loaded once)."""
    return FaultDetector.from_pretrained(shipped("fault_detector"))
