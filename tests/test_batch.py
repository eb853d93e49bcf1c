"""The batch pipeline: overlap of decode, render and encode, bounded memory, order, failure rules."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from veraretouch.cli.batch import PhotoSteps, run_batch
from veraretouch.errors import ImageReadError

PATHS = [Path(f"photo{i}.jpg") for i in range(7)]


class Recorder:
    """Steps that log what ran where and count the photos held between read start and write end."""

    def __init__(self, fail: dict[str, set[int]] | None = None):
        self.fail = fail or {}
        self.lock = threading.Lock()
        self.held = self.most_held = 0
        self.threads: dict[str, set[str]] = {"read": set(), "work": set(), "write": set()}
        self.worked: list[int] = []

    def step(self, name: str, path: Path) -> int:
        self.threads[name].add(threading.current_thread().name)
        index = int(path.stem.removeprefix("photo"))
        if index in self.fail.get(name, set()):
            raise ImageReadError(f"{path}: cannot {name}")
        return index

    def read(self, path: Path) -> int:
        with self.lock:
            self.held += 1
            self.most_held = max(self.most_held, self.held)
        try:
            return self.step("read", path)
        except ImageReadError:
            self.release()
            raise

    def work(self, path: Path, index: int) -> int:
        self.worked.append(index)
        try:
            return self.step("work", path)
        except ImageReadError:
            self.release()
            raise

    def write(self, path: Path, index: int) -> list[Path]:
        try:
            self.step("write", path)
            return [Path(f"out/{path.stem}.jpg")]
        finally:
            self.release()

    def release(self) -> None:
        with self.lock:
            self.held -= 1

    def steps(self) -> PhotoSteps:
        return PhotoSteps(self.read, self.work, self.write)


def test_results_come_in_input_order_with_each_step_in_its_own_thread():
    recorder = Recorder()
    report = run_batch(PATHS, recorder.steps(), "test", in_flight=3)
    assert [path for path, _ in report.done] == PATHS
    assert report.exit_code == 0 and not report.failed
    assert recorder.worked == list(range(len(PATHS)))
    assert recorder.threads["work"] == {threading.current_thread().name}
    assert recorder.threads["read"].isdisjoint(recorder.threads["write"] | recorder.threads["work"])
    assert recorder.threads["write"].isdisjoint(recorder.threads["work"])
    assert 1 <= recorder.most_held <= 3, "never more photos held than in_flight"


@pytest.mark.parametrize("in_flight", [1, 2, 4])
def test_photos_held_never_exceed_in_flight(in_flight):
    recorder = Recorder()
    assert run_batch(PATHS, recorder.steps(), "test", in_flight=in_flight).exit_code == 0
    assert recorder.most_held <= in_flight


def test_the_next_decode_overlaps_the_previous_encode():
    """Photo 0's encode waits until photo 2's decode has started: a sequential loop would deadlock."""
    started_reading_2 = threading.Event()

    def read(path: Path) -> Path:
        if path == PATHS[2]:
            started_reading_2.set()
        return path

    def write(path: Path, rendered: Path) -> list[Path]:
        if path == PATHS[0]:
            assert started_reading_2.wait(timeout=20), "decode of photo 2 never ran during encode of photo 0"
        return [rendered]

    report = run_batch(PATHS[:4], PhotoSteps(read, lambda path, photo: photo, write), "test", in_flight=4)
    assert [path for path, _ in report.done] == PATHS[:4] and not report.failed


@pytest.mark.parametrize("stage", ["read", "work", "write"])
def test_a_failure_in_any_step_is_one_line_and_the_rest_finish(stage, capsys):
    recorder = Recorder(fail={stage: {1, 4}})
    report = run_batch(PATHS, recorder.steps(), "test", in_flight=3)
    assert [path for path, _ in report.done] == [p for i, p in enumerate(PATHS) if i not in (1, 4)]
    assert [path for path, _ in report.failed] == [PATHS[1], PATHS[4]]
    assert report.exit_code == 1
    assert report.summary().startswith("5 done, 2 failed")
    err = capsys.readouterr().err
    assert err.count("error: ") == 2 and f"photo1.jpg: cannot {stage}" in err
    assert recorder.held == 0, "a failed photo releases its slot"


def test_os_errors_are_reported_with_their_type_and_bugs_are_raised():
    def read(path: Path) -> Path:
        if path == PATHS[0]:
            raise PermissionError("denied")
        return path

    report = run_batch(PATHS[:2], PhotoSteps(read, lambda path, photo: photo, lambda path, r: [r]), "test")
    assert report.failed == [(PATHS[0], "photo0.jpg: PermissionError: denied")]

    def buggy(path: Path, photo: Path) -> Path:
        raise RuntimeError("a bug, not a bad file")

    with pytest.raises(RuntimeError, match="a bug"):
        run_batch(PATHS, PhotoSteps(lambda path: path, buggy, lambda path, r: [r]), "test")


def test_steps_called_on_one_photo_run_back_to_back():
    recorder = Recorder()
    assert recorder.steps()(PATHS[3]) == [Path("out/photo3.jpg")]
    assert recorder.held == 0


def test_param_batch_writes_the_same_bytes_as_one_photo_at_a_time(sample_rgb, tmp_path, capsys):
    """The pipeline only reorders work: images and LUTs match running the steps photo by photo."""
    from PIL import Image

    from veraretouch.api import PlanEdit
    from veraretouch.cli import build_parser, main
    from veraretouch.cli.photos import load_plan, photo_steps

    folder = tmp_path / "shoot"
    folder.mkdir()
    for index in range(5):
        Image.fromarray(np.roll(sample_rgb, 17 * index, axis=1)).save(folder / f"p{index}.jpg", quality=90)
    Image.fromarray(sample_rgb).save(folder / "p5.png")
    Image.fromarray((sample_rgb.astype(np.uint16) * 257)[..., 0]).save(folder / "p6.tif")
    (folder / "p7.jpg").write_bytes((folder / "p0.jpg").read_bytes()[:500])
    options = ["--params", "src/veraretouch/examples/warm-film.json", "--export", "cube"]
    options[1] = str(Path(__file__).resolve().parents[1] / options[1])
    assert main(["param", str(folder), "-o", str(tmp_path / "batch"), *options]) == 1
    assert "1 failed" in capsys.readouterr().err

    args = build_parser().parse_args(["param", str(folder), "-o", str(tmp_path / "single"), *options])
    edit = PlanEdit(load_plan(args))
    steps = photo_steps(args, "param", lambda photo: edit)
    for path in sorted(folder.iterdir())[:-1]:
        steps(path)
    batch = sorted(p.name for p in (tmp_path / "batch").iterdir())
    assert batch == sorted(p.name for p in (tmp_path / "single").iterdir()) and len(batch) == 21
    for name in batch:
        if not name.endswith(".plan.json"):
            assert (tmp_path / "batch" / name).read_bytes() == (tmp_path / "single" / name).read_bytes(), name


def test_a_stored_plan_lut_is_the_baked_one_and_follows_the_plan(tmp_path, monkeypatch):
    from veraretouch import Plan
    from veraretouch.lut.photo import _bake_cached, _plan_lut, bake_plan_lut
    from veraretouch.lut.store import lut_path

    monkeypatch.setenv("VERARETOUCH_LUT_CACHE", str(tmp_path / "luts"))
    plan = Plan({"Exposure2012": 0.3, "Vibrance": 25}, curves={"ToneCurvePV2012": ((0, 0), (128, 150), (255, 255))})
    _plan_lut.cache_clear()
    baked = bake_plan_lut(plan, 17).copy()
    assert len(list((tmp_path / "luts").glob("*.npy"))) == 1
    _plan_lut.cache_clear()
    _bake_cached.cache_clear()
    stored = bake_plan_lut(plan, 17)
    assert _bake_cached.cache_info().misses == 0, "read back, not baked again"
    assert np.array_equal(stored, baked) and not stored.flags.writeable
    assert np.array_equal(baked, bake_plan_lut(plan.to_tensor(), 17)), "the same LUT as the tensor path"

    grain = Plan({**plan.values, "GrainAmount": 40}, curves=plan.curves)
    assert bake_plan_lut(grain, 17) is stored, "finishing controls are not in the LUT"
    other = Plan({"Exposure2012": 0.31, "Vibrance": 25}, curves=plan.curves)
    assert not np.array_equal(bake_plan_lut(other, 17), baked)
    assert lut_path("x", 17) != lut_path("x", 33) and lut_path("x", 17) != lut_path("y", 17)

    for path in (tmp_path / "luts").glob("*.npy"):  # damaged files are baked again
        path.write_bytes(b"not a LUT")
    _plan_lut.cache_clear()
    assert np.array_equal(bake_plan_lut(plan, 17), baked)
    monkeypatch.setenv("VERARETOUCH_LUT_CACHE", "off")
    assert lut_path("x", 17) is None


def test_param_with_a_stored_lut_imports_no_torch(sample_jpeg, tmp_path):
    """Start-up: a preset used before is applied without torch (nor the planner, web or ONNX stacks)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "VERARETOUCH_LUT_CACHE": str(tmp_path / "luts")}
    command = ("import sys; from veraretouch.cli import main; code = main(sys.argv[1:]); "
               "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'onnxruntime', "
               "'sentence_transformers', 'starlette', 'uvicorn', 'aiohttp', 'ray'}); print(code, heavy)")
    plan = Path(__file__).resolve().parents[1] / "src" / "veraretouch" / "examples" / "warm-film.json"
    outputs = []
    for run in ("first", "second"):
        args = ["param", str(sample_jpeg), "--params", str(plan), "-o", str(tmp_path / run)]
        result = subprocess.run([sys.executable, "-c", command, *args], env=env, capture_output=True, text=True)
        outputs.append(result.stdout.strip().splitlines()[-1])
        assert (tmp_path / run / "astronaut.jpg").exists(), result.stderr
    assert outputs == ["0 ['torch']", "0 []"]
    assert (tmp_path / "first" / "astronaut.jpg").read_bytes() == (tmp_path / "second" / "astronaut.jpg").read_bytes()


def test_the_renderer_onnx_session_pickles_as_its_model():
    """Models travel to Ray workers by pickle; an ONNX Runtime session cannot, so it goes as bytes."""
    import pickle

    pytest.importorskip("onnxruntime")
    import veraretouch
    from veraretouch.renderer.onnx import OnnxEdit

    session = OnnxEdit.load(Path(veraretouch.__file__).parent / "weights" / "renderer")
    copy = pickle.loads(pickle.dumps(session))
    latent_dim = session.session.get_inputs()[1].shape[-1]
    colors = np.random.default_rng(0).random((500, 3), dtype=np.float32)
    latents = np.random.default_rng(1).standard_normal((1, latent_dim), dtype=np.float32)
    assert np.array_equal(copy.raw(colors, latents), session.raw(colors, latents))
