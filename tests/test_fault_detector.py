"""The fault detector (issue 20): boosted trees over the diagnosis' measurements, exported from
scikit-learn to plain arrays, deciding which faults an explanation may name."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from support import gains

from veraretouch.cli import main
from veraretouch.pretrained import shipped
from veraretouch.reasoning.detector import FAULT_STATES, FaultDetector, ensemble_scores, shipped_detector
from veraretouch.reasoning.diagnosis import scene_measurements
from veraretouch.training.detector import (
    DetectorTrainingConfig,
    _classifier,
    export_trees,
    train_detector,
    training_photos,
)


def _fit(x: np.ndarray, y: np.ndarray, classes: int, trees: int = 20) -> tuple[object, dict]:
    model = _classifier(DetectorTrainingConfig(trees=trees)).fit(x, y)
    return model, export_trees(model, classes)


def _scores(arrays: dict, x: np.ndarray, depth: int = 3) -> torch.Tensor:
    names = ("feature", "threshold", "left", "right", "value")
    return ensemble_scores(torch.from_numpy(x.astype(np.float32)).double(), *(arrays[n] for n in names),
                           arrays["init"], arrays["tree_class"], depth).softmax(dim=1)


@pytest.mark.parametrize("classes_present", [(0, 1, 2), (0, 1), (0, 2)])
def test_exported_trees_give_scikit_learns_probabilities(classes_present):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6))
    label = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int) + (x[:, 2] > 1.2) * (len(classes_present) > 2)
    y = np.array(classes_present)[label]
    model, arrays = _fit(x, y, classes=3)
    probe = rng.normal(size=(50, 6))
    expected = np.zeros((50, 3))
    expected[:, model.classes_] = model.predict_proba(probe)
    assert np.allclose(_scores(arrays, probe).numpy(), expected, atol=1e-12)
    missing = sorted(set(range(3)) - set(classes_present))
    assert all(float(_scores(arrays, probe)[:, k].max()) == 0.0 for k in missing), "a class never seen is never claimed"


@pytest.fixture(scope="module")
def photo(sample_rgb) -> torch.Tensor:
    return torch.from_numpy(np.array(sample_rgb)).permute(2, 0, 1)[None].float() / 255.0


def claimed(image: torch.Tensor) -> set[tuple[str, str]]:
    return {(attribute, state) for attribute, state, _ in shipped_detector().claimed(scene_measurements(image))}


def test_the_shipped_detector_names_plain_faults_and_leaves_the_photo(photo):
    assert claimed(photo) == set()
    assert ("exposure", "low") in claimed(gains(photo, 0.35, 0.35, 0.35))
    assert ("temperature", "high") in claimed(gains(photo, 1.2, 1.0, 0.7))
    assert ("temperature", "low") in claimed(gains(photo, 0.75, 1.0, 1.3))
    assert ("contrast", "low") in claimed(0.2 + 0.6 * photo)


def test_claims_follow_the_thresholds(photo, monkeypatch):
    detector = shipped_detector()
    m = scene_measurements(photo)
    monkeypatch.setattr(detector.config, "thresholds", {key: 0.0 for key in detector.config.thresholds})
    assert len(detector.claimed(m)) == sum(map(len, FAULT_STATES.values())), "threshold 0: every fault"
    monkeypatch.setattr(detector.config, "thresholds", {key: 1.01 for key in detector.config.thresholds})
    assert detector.claimed(m) == []


def test_a_missing_measurement_is_a_clear_error(photo):
    m = scene_measurements(photo)
    del m["cast_b_median"]
    with pytest.raises(KeyError, match="cast_b_median.*scene_measurements"):
        shipped_detector().claimed(m)


def test_the_shipped_detector_round_trips_and_carries_its_card(photo, tmp_path):
    detector = shipped_detector()
    loaded = FaultDetector.from_pretrained(detector.save_pretrained(tmp_path / "fault_detector"))
    m = [scene_measurements(photo), scene_measurements(gains(photo, 0.4, 0.4, 0.4))]
    for attribute, probabilities in detector.probabilities(m).items():
        assert torch.equal(probabilities, loaded.probabilities(m)[attribute])
    training = detector.config.training
    assert training["photos"] >= 100 and training["samples"] > 1000 and training["seconds"] > 0
    budget = training["budget"]
    assert set(training["out_of_fold"]) == {f"{a}/{s}" for a, states in FAULT_STATES.items() for s in states}
    assert all(v["accused"] <= budget + 0.01 for v in training["out_of_fold"].values()), "thresholds keep the budget"


def _photos(folder: Path, sample_rgb: np.ndarray, count: int) -> list[Path]:
    """``count`` JPEGs cut from the sample photo, named so that ``split_of`` puts most in train."""
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        y, x = rng.integers(0, 48, size=2)
        crop = np.ascontiguousarray(np.rot90(sample_rgb[y:y + 80, x:x + 80], k=i % 4))
        path = folder / f"crop-{i:02d}.jpg"
        Image.fromarray(crop).save(path, quality=95)
        paths.append(path)
    return paths


def test_training_keeps_good_photos_within_the_budget_out_of_fold(sample_rgb, tmp_path):
    _photos(tmp_path / "photos", sample_rgb, 14)
    photos = training_photos([tmp_path / "photos"], hold_out=("crop-13.jpg",))
    assert 8 <= len(photos) <= 13 and all(p.name != "crop-13.jpg" for p in photos)
    config = DetectorTrainingConfig(clean_per_photo=4, crops_per_fault=1, trees=10, folds=2, side=80, budget=0.25)
    detector, report, samples = train_detector(photos, config, progress=False)
    assert len(samples) == len(photos) * (4 + 9)
    assert set(report) == set(detector.config.thresholds)
    for entry in report.values():
        assert entry["accused"] <= 0.25 + 1e-9
        named = [point["named"] for point in entry["curve"]]
        assert named == sorted(named, reverse=True), "a higher threshold never names more"


def test_train_detector_refuses_bad_folders_and_options(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "detector", "--photos", str(tmp_path / "absent"), "-o", str(out)]) != 0
    assert "not a folder of photos" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["train", "detector", "--photos", str(tmp_path / "empty"), "-o", str(out)]) != 0
    assert "needs at least 8" in capsys.readouterr().err
    assert main(["train", "detector", "--photos", str(tmp_path / "empty"), "--budget", "2", "-o", str(out)]) != 0
    assert "between 0 and 1" in capsys.readouterr().err
    assert main(["train", "renderer", "--photos", str(tmp_path), "--photos", str(tmp_path), "-o", str(out)]) != 0
    assert "one --photos folder" in capsys.readouterr().err
    assert not out.exists(), "nothing written on a refused run"


def test_auto_takes_a_trained_detector_from_a_run_folder(tmp_path):
    from veraretouch.errors import VeraRetouchError
    from veraretouch.planner.pipeline import PlanningPipeline

    run = tmp_path / "run"
    detector = FaultDetector.from_pretrained(shipped("fault_detector"))
    detector.config.thresholds = {key: 0.0 for key in detector.config.thresholds}
    detector.save_pretrained(run / "fault_detector")
    pipeline = PlanningPipeline(models=run)
    saved = json.loads((run / "fault_detector" / "config.json").read_text())
    assert saved["thresholds"] == pipeline.detector.config.thresholds
    with pytest.raises(VeraRetouchError, match="holds none of"):
        PlanningPipeline(models=tmp_path)
