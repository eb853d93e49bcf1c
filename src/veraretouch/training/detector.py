"""Train the fault detector (`reasoning.detector`) on photos given known camera faults.

Each training photo gives ``clean_per_photo`` random crops left as they are and, per fault state of
`reasoning.detector.FAULT_STATES`, ``crops_per_fault`` crops with that one camera fault
(`data.camera`: exposure in linear light, white balance along the daylight locus, green-magenta tint,
a flat camera tone, saturation in linear light; magnitudes from `data.camera.FAULT_RANGES`), and a
share of crops with two faults at once. Images are quantised to 8 bits and measured as auto mode
measures a photo (`diagnosis_copy`, then `reasoning.diagnosis.scene_measurements`).

Per attribute, a scikit-learn ``GradientBoostingClassifier`` (none / each state) is fitted; its trees
are exported to the detector's arrays. Each fault's claiming threshold is the ``1 - budget`` quantile
of its probability on the clean crops, out of fold (``folds`` splits by photo: a photo's crops are
scored by trees that never saw it), so at most ``budget`` of good photos are accused of it.
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.camera import FAULT_RANGES, apply_camera_faults
from ..data.samples import split_of
from ..data.shards import load_photo, photo_paths
from ..planner.base import PLANNER_SIDE
from ..planner.features import planner_copy
from ..reasoning.detector import FAULT_STATES, TREE_ARRAYS, FaultDetector, FaultDetectorConfig, ensemble_scores
from ..reasoning.diagnosis import scene_measurements
from ..reasoning.measure import LABEL_SIDE

CAMERA_FAULTS = {
    ("exposure", "low"): ("exposure_ev", 0), ("exposure", "high"): ("exposure_ev", 1),
    ("temperature", "low"): ("white_balance_mired", 0), ("temperature", "high"): ("white_balance_mired", 1),
    ("tint", "high"): ("tint", 0), ("tint", "low"): ("tint", 1), ("contrast", "low"): ("flat", 0),
    ("saturation", "low"): ("saturation", 0), ("saturation", "high"): ("saturation", 1),
}
"""Fault state -> the camera fault that makes it and its range in `FAULT_RANGES` (a positive tint is a
green gain: a green cast, tint "low" in the checker's words; a positive mired shift leaves a warm cast)."""


@dataclass
class DetectorTrainingConfig:
    clean_per_photo: int = 3
    crops_per_fault: int = 2
    two_fault_share: float = 0.15
    side: int = 512
    crop_range: tuple[float, float] = (0.6, 1.0)
    budget: float = 0.08
    folds: int = 4
    trees: int = 150
    learning_rate: float = 0.05
    depth: int = 3
    subsample: float = 0.8
    seed: int = 0
    photos: list[str] = field(default_factory=list)


def diagnosis_copy(image: torch.Tensor) -> torch.Tensor:
    """The copy auto mode diagnoses: the planner's copy, then the label-size copy (`planner.explain`)."""
    return planner_copy(planner_copy(image.float(), PLANNER_SIDE), LABEL_SIDE)


def training_photos(folders: list[Path], hold_out: tuple[str, ...] = ()) -> list[Path]:
    """The train-split photos (`data.samples.split_of`) of ``folders``, less names matching ``hold_out``."""
    return [p for folder in folders for p in photo_paths(folder)
            if split_of(p.name) == "train" and not any(p.match(glob) for glob in hold_out)]


def _crop(image: torch.Tensor, rng: random.Random, crop_range: tuple[float, float]) -> torch.Tensor:
    h, w = image.shape[-2:]
    scale = rng.uniform(*crop_range)
    ch, cw = max(8, int(h * scale)), max(8, int(w * scale))
    y, x = rng.randint(0, h - ch), rng.randint(0, w - cw)
    return image[..., y:y + ch, x:x + cw]


def _draw(states: list[tuple[str, str]], rng: random.Random) -> dict:
    record = {}
    for state in states:
        name, which = CAMERA_FAULTS[state]
        record[name] = rng.uniform(*FAULT_RANGES[name][which])
    return record


def fault_samples(photos: list[Path], config: DetectorTrainingConfig, progress: bool = True) -> list[dict]:
    """``[{photo, faults, labels: {attribute: state}, m}]`` for every crop (module docstring)."""
    from tqdm import tqdm

    rng, samples, states = random.Random(config.seed), [], list(CAMERA_FAULTS)
    for photo in tqdm(photos, desc="measuring faulty crops", unit="photo", disable=not progress):
        image = load_photo(photo, config.side)
        plans = [[]] * config.clean_per_photo + [[s] for s in states for _ in range(config.crops_per_fault)]
        for chosen in plans:
            if chosen and rng.random() < config.two_fault_share:
                other = rng.choice([s for s in states if s[0] != chosen[0][0]])
                chosen = [*chosen, other]
            faults = _draw(chosen, rng)
            crop = _crop(image, rng, config.crop_range)
            faulty = apply_camera_faults(crop, [faults]) if faults else crop
            faulty = (faulty * 255).round() / 255
            samples.append({"photo": photo.name, "faults": faults, "labels": dict(chosen),
                            "m": scene_measurements(diagnosis_copy(faulty))})
    return samples


def _classifier(config: DetectorTrainingConfig):
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=config.trees, learning_rate=config.learning_rate,
                                      max_depth=config.depth, subsample=config.subsample, random_state=config.seed)


def _probabilities(model, x: np.ndarray, classes: int) -> np.ndarray:
    """``predict_proba`` spread over all ``classes`` (a fold may lack one)."""
    out = np.zeros((len(x), classes))
    out[:, model.classes_] = model.predict_proba(x)
    return out


def export_trees(model, classes: int) -> dict[str, torch.Tensor]:
    """A fitted ``GradientBoostingClassifier`` -> the detector's arrays for one attribute: every tree's
    nodes padded to one length, leaf values scaled by the learning rate, the initial scores recovered
    from ``decision_function`` (a binary model scores its second class against a fixed 0; a class
    missing from the training labels scores -inf)."""
    stages, present = model.estimators_, model.classes_
    owners = present[1:] if stages.shape[1] == 1 else present
    trees = [(tree.tree_, int(owners[k])) for stage in stages for k, tree in enumerate(stage)]
    nodes = max(t.node_count for t, _ in trees)
    arrays = {name: np.zeros((len(trees), nodes)) for name in TREE_ARRAYS}
    arrays["feature"][:] = -1
    for i, (tree, _) in enumerate(trees):
        n = tree.node_count
        leaf = tree.children_left[:n] < 0
        arrays["feature"][i, :n] = np.where(leaf, -1, tree.feature[:n])
        arrays["threshold"][i, :n] = tree.threshold[:n]
        arrays["left"][i, :n] = np.where(leaf, 0, tree.children_left[:n])
        arrays["right"][i, :n] = np.where(leaf, 0, tree.children_right[:n])
        arrays["value"][i, :n] = model.learning_rate * tree.value[:n, 0, 0]
    out = {name: torch.from_numpy(a).to(torch.float64 if name in ("threshold", "value") else torch.long)
           for name, a in arrays.items()}
    out["tree_class"] = torch.tensor([owner for _, owner in trees], dtype=torch.long)
    probe = torch.zeros(1, model.n_features_in_, dtype=torch.float64)
    trees_only = ensemble_scores(probe, *(out[name] for name in TREE_ARRAYS), torch.zeros(classes, dtype=torch.float64),
                                 out["tree_class"], _depth(model))[0]
    decision = torch.from_numpy(np.atleast_1d(model.decision_function(probe.numpy())[0]).astype(np.float64))
    init = torch.full((classes,), float("-inf"), dtype=torch.float64)
    if stages.shape[1] == 1:
        init[int(present[0])] = 0.0
        init[int(present[1])] = decision[0] - trees_only[int(present[1])]
    else:
        init[torch.from_numpy(present)] = decision - trees_only[torch.from_numpy(present)]
    out["init"] = init
    return out


def _depth(model) -> int:
    return max(tree.tree_.max_depth for stage in model.estimators_ for tree in stage)


def budget_threshold(clean_probabilities: np.ndarray, budget: float) -> float:
    """The lowest threshold that claims a fault on at most ``budget`` of the clean crops: just above the
    ``floor(budget * n) + 1``-th highest probability (ties stay below it)."""
    ranked = np.sort(clean_probabilities)[::-1]
    return float(np.nextafter(ranked[int(np.floor(budget * len(ranked)))], np.inf))


def train_detector(photos: list[Path], config: DetectorTrainingConfig,
                   progress: bool = True) -> tuple[FaultDetector, dict, list[dict]]:
    """Fit the detector (module docstring); returns it, a report (per fault: out-of-fold named and
    accused rates at its threshold and along a curve of thresholds) and the measured samples."""
    started = time.perf_counter()
    samples = fault_samples(photos, config, progress)
    names = sorted(k for k, v in samples[0]["m"].items() if isinstance(v, float))
    x = FaultDetector(FaultDetectorConfig(feature_names=names)).features([s["m"] for s in samples]).numpy()
    folds = {name: i % config.folds for i, name in enumerate(sorted({s["photo"] for s in samples}))}
    fold = np.array([folds[s["photo"]] for s in samples])
    clean = np.array([not s["labels"] for s in samples])
    arrays, shapes, thresholds, report, depth = {}, {}, {}, {}, 1
    for attribute, states in FAULT_STATES.items():
        classes = len(states) + 1
        y = np.array([0 if attribute not in s["labels"] else 1 + states.index(s["labels"][attribute]) for s in samples])
        out_of_fold = np.zeros((len(samples), classes))
        for k in range(config.folds):
            model = _classifier(config).fit(x[fold != k], y[fold != k])
            out_of_fold[fold == k] = _probabilities(model, x[fold == k], classes)
        model = _classifier(config).fit(x, y)
        depth = max(depth, _depth(model))
        for name, tensor in export_trees(model, classes).items():
            arrays[f"{attribute}_{name}"] = tensor
        shapes[attribute] = [*arrays[f"{attribute}_feature"].shape, classes]
        for index, state in enumerate(states, start=1):
            key = f"{attribute}/{state}"
            threshold = budget_threshold(out_of_fold[clean, index], config.budget)
            thresholds[key] = threshold
            faulty = y == index
            curve = [{"threshold": float(t), "named": float((out_of_fold[faulty, index] >= t).mean()),
                      "accused": float((out_of_fold[clean, index] >= t).mean())}
                     for t in np.quantile(out_of_fold[clean, index], np.linspace(0.5, 1.0, 26))]
            report[key] = {"threshold": threshold, "named": float((out_of_fold[faulty, index] >= threshold).mean()),
                           "accused": float((out_of_fold[clean, index] >= threshold).mean()),
                           "faulty_crops": int(faulty.sum()), "curve": curve}
    training = {**asdict(config), "photos": len(photos), "samples": len(samples), "clean_samples": int(clean.sum()),
                "seconds": round(time.perf_counter() - started, 1),
                "out_of_fold": {k: {q: round(v[q], 3) for q in ("named", "accused")} for k, v in report.items()}}
    detector = FaultDetector(FaultDetectorConfig(feature_names=names, shapes=shapes, depth=depth,
                                                 thresholds=thresholds, training=training))
    detector.load_state_dict(arrays)
    return detector.eval(), report, samples


def plot_report(report: dict, budget: float, path: Path) -> Path:
    """Faults named against good photos accused, per fault, as the threshold moves (out of fold); the
    chosen threshold ringed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 5, figsize=(16, 6.5), sharex=True, sharey=True)
    for ax, (key, entry) in zip(axes.flat, report.items()):
        curve = entry["curve"]
        ax.plot([c["accused"] for c in curve], [c["named"] for c in curve], marker=".", color="tab:blue")
        ax.scatter([entry["accused"]], [entry["named"]], s=90, facecolors="none", edgecolors="tab:red", linewidths=2)
        ax.axvline(budget, color="grey", linestyle="--", linewidth=1)
        ax.set_title(key)
        ax.set_xlim(-0.02, 0.52)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(report):]:
        ax.axis("off")
    for ax in axes[1]:
        ax.set_xlabel("good crops accused")
    for ax in axes[:, 0]:
        ax.set_ylabel("faulty crops named")
    fig.suptitle(f"Fault detector, out of fold on the training photos: the chosen threshold (red) for a "
                 f"{budget:.0%} budget (dashed)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
