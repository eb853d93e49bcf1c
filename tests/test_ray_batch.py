"""`--ray`: the same photos through a local 2-worker Ray cluster give the same bytes, summary and
exit status as the local pipeline, and a rerun resumes (slow: starting Ray takes tens of seconds)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from veraretouch.cli import main

pytestmark = pytest.mark.slow
WARM_FILM = Path(__file__).resolve().parents[1] / "src" / "veraretouch" / "examples" / "warm-film.json"


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    yield
    ray.shutdown()


def files(folder: Path) -> dict[str, bytes]:
    """Every output but the result JSON (its timings differ from run to run)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.endswith(".plan.json")}


def test_ray_batch_matches_the_local_batch_and_resumes(local_ray, sample_rgb, tmp_path, capsys):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for index in range(4):
        Image.fromarray(np.roll(sample_rgb, 29 * index, axis=0)).save(shoot / f"p{index}.jpg", quality=92)
    Image.fromarray(sample_rgb).save(shoot / "p4.png")
    (shoot / "broken.jpg").write_bytes((shoot / "p0.jpg").read_bytes()[:600])
    options = ["--params", str(WARM_FILM), "--export", "cube"]

    assert main(["param", str(shoot), "-o", str(tmp_path / "local"), *options]) == 1
    local_err = capsys.readouterr().err
    assert main(["param", str(shoot), "-o", str(tmp_path / "ray"), *options, "--ray", "--ray-workers", "2"]) == 1
    captured = capsys.readouterr()
    assert files(tmp_path / "ray") == files(tmp_path / "local") and len(files(tmp_path / "local")) == 10
    assert "5 done, 1 failed in" in captured.err and "5 done, 1 failed in" in local_err
    assert captured.err.count("broken.jpg: truncated JPEG") == 2, "reported as it happens and in the summary"
    assert captured.out.count(" -> ") == 5

    for leftover in (tmp_path / "ray").glob("p2.*"):  # as if the batch had stopped before p2
        leftover.unlink()
    assert main(["param", str(shoot), "-o", str(tmp_path / "ray"), *options, "--ray", "--ray-workers", "2",
                 "--overwrite"]) == 1, "--overwrite redoes everything"
    assert "5 done, 1 failed in" in capsys.readouterr().err
    for leftover in (tmp_path / "ray").glob("p2.*"):
        leftover.unlink()
    assert main(["param", str(shoot), "-o", str(tmp_path / "ray"), *options, "--ray", "--ray-workers", "2"]) == 1
    resumed = capsys.readouterr()
    assert "1 done, 1 failed, 4 skipped (outputs exist) in" in resumed.err
    assert resumed.out.strip().endswith("p2.plan.json") and resumed.out.count(" -> ") == 1
    assert files(tmp_path / "ray") == files(tmp_path / "local")


def test_ray_auto_writes_the_local_bytes(local_ray, sample_rgb, tmp_path, capsys):
    """The planner and renderer go to the workers with the steps; their images match the driver's."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for index in range(2):
        Image.fromarray(np.roll(sample_rgb, 41 * index, axis=1)).save(shoot / f"p{index}.jpg", quality=92)
    assert main(["auto", str(shoot), "-o", str(tmp_path / "local")]) == 0
    assert main(["auto", str(shoot), "-o", str(tmp_path / "ray"), "--ray", "--ray-workers", "2"]) == 0
    assert "2 done, 0 failed in" in capsys.readouterr().err
    assert files(tmp_path / "ray") == files(tmp_path / "local") and len(files(tmp_path / "local")) == 2
