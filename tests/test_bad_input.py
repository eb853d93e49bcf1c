"""The 13 ways bad input once crashed, hung or left a file behind (issue 17), one test each.

The broader hostile corpus that found them is tests/test_hostile_corpus.py; these pin each defect
where it was fixed: plan parsing bounds, special files, output-path checks, signals, file modes,
corrupt-but-terminated JPEGs, grey photos, .cube rows, one-line reports, and the web app's
presets, 500 headers and memory accounting.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image

from veraretouch import Plan
from veraretouch.cli import main
from veraretouch.errors import ImageReadError, PlanError
from veraretouch.formats import read_cube
from veraretouch.io.atomic import is_temporary
from veraretouch.io.images import read_image, read_image_bytes
from veraretouch.plan.files import read_plan

HUGE_PLANS = {
    "digits400.json": '{"Exposure2012": {"value": ' + "9" * 400 + "}}",
    "digits5000.json": '{"Exposure2012": {"value": ' + "9" * 5000 + "}}",
    "deep.json": '{"values": ' + "[" * 100_000 + "]" * 100_000 + "}",
}


def run(*args) -> int:
    return main([str(a) for a in args])


def fake_terminated(jpeg: bytes) -> bytes:
    """The first half of a JPEG's entropy-coded data, then an end-of-image marker."""
    scan = jpeg.find(b"\xff\xda")
    return jpeg[: scan + (len(jpeg) - scan) // 2] + b"\xff\xd9"


def assert_one_line_error(err: str, *words: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert all(word in err for word in words), err


# ------------------------------------------------------------- 1. plan parsing is bounded


@pytest.mark.parametrize("name", sorted(HUGE_PLANS))
def test_huge_numbers_and_deep_nesting_in_a_plan_are_a_usage_error(sample_jpeg, tmp_path, capsys, name):
    plan = tmp_path / name
    plan.write_text(HUGE_PLANS[name])
    assert run("param", sample_jpeg, "--params", plan, "-o", tmp_path / "out") == 2
    assert_one_line_error(capsys.readouterr().err, name)
    assert not (tmp_path / "out").exists()


def test_plans_handed_over_parsed_or_as_text_are_bounded_too():
    with pytest.raises(PlanError, match="about 401 digits"):
        Plan.from_json({"Exposure2012": {"value": 10 ** 400}})
    with pytest.raises(PlanError, match="nested"):
        Plan.from_json('{"a":' * 50_000 + "1" + "}" * 50_000)
    started = time.perf_counter()
    with pytest.raises(PlanError, match="not valid JSON"):
        Plan.from_json('"' + '\\"' * 300_000)  # an unterminated string full of escaped quotes
    assert time.perf_counter() - started < 2.0


# ------------------------------------------------------------- 7. special files refused by type


def test_a_named_pipe_is_refused_at_once_not_waited_on(sample_jpeg, tmp_path, capsys):
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    photo_pipe = tmp_path / "pipe.jpg"
    os.mkfifo(photo_pipe)

    def unblock() -> None:  # a reader blocked on the pipe (the old behaviour) is released, to fail
        time.sleep(10)
        for fifo in (pipe, photo_pipe):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass

    threading.Thread(target=unblock, daemon=True).start()
    started = time.perf_counter()
    assert run("param", sample_jpeg, "--params", pipe, "-o", tmp_path / "out") == 2
    assert_one_line_error(capsys.readouterr().err, "pipe.json", "named pipe")
    assert run("param", photo_pipe, "--set", "Exposure2012=0.5", "-o", tmp_path / "out") == 1
    assert "named pipe" in capsys.readouterr().err
    assert time.perf_counter() - started < 5


def test_a_symlink_to_a_device_is_refused_before_reading(tmp_path):
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    result: list[BaseException] = []
    reader = threading.Thread(target=lambda: result.append(pytest.raises(PlanError, read_plan, link).value),
                              daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "read /dev/zero until memory runs out"
    assert "character device" in str(result[0])
    image_link = tmp_path / "zero.jpg"
    image_link.symlink_to("/dev/zero")
    with pytest.raises(ImageReadError, match="character device"):
        read_image(image_link)


# ------------------------------------------------------------- 5, 6, 8, 9: outputs


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path):
    noisy = np.random.default_rng(0).integers(0, 65535, (2400, 3200, 3), dtype=np.uint16)
    source = tmp_path / "in" / "big.png"
    source.parent.mkdir()
    cv2.imwrite(str(source), noisy)
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "veraretouch", "param", str(source), "--set",
                                "Exposure2012=0.3", "-o", str(out)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out.is_dir() and any(is_temporary(p) for p in out.iterdir())):
        assert process.poll() is None and time.monotonic() < deadline, "the write never started"
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 128 + signal.SIGTERM
    assert "interrupted" in process.stderr.read()
    assert list(out.iterdir()) == [], "no temporary file and no partial output"


def test_a_folder_with_a_leftover_temporary_file_does_not_report_it(sample_jpeg, tmp_path, capsys):
    leftover = sample_jpeg.parent / ".astronaut.Ab3_x-9Z.tmp.jpg"
    leftover.write_bytes(sample_jpeg.read_bytes()[:300])
    assert run("param", sample_jpeg.parent, "--set", "Exposure2012=0.2", "-o", tmp_path / "out") == 0
    assert ".tmp" not in capsys.readouterr().err


def test_an_earlier_plan_json_refuses_the_photo_before_anything_is_written(sample_jpeg, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "astronaut.plan.json").write_text("{}")
    assert run("param", sample_jpeg, "--set", "Exposure2012=0.5", "--export", "cube", "-o", out) == 1
    assert "astronaut.plan.json: already exists" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.plan.json"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_output_files_follow_the_umask(sample_jpeg, tmp_path, umask):
    previous = os.umask(umask)
    try:
        assert run("param", sample_jpeg, "--set", "Exposure2012=0.5", "--export", "cube,xmp",
                   "-o", tmp_path / "out") == 0
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    assert len(modes) == 4 and set(modes.values()) == {0o666 & ~umask}, modes


def test_an_output_differing_from_an_input_only_in_case_is_refused(sample_rgb, tmp_path, capsys):
    photo = tmp_path / "E.JPG"
    Image.fromarray(sample_rgb).save(photo, "JPEG")
    before = photo.read_bytes()
    assert run("param", photo, "--set", "Exposure2012=0.5", "-o", tmp_path, "--overwrite") == 2
    assert "replace an input" in capsys.readouterr().err
    assert photo.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["E.JPG"]


def test_two_outputs_differing_only_in_case_are_refused(sample_rgb, tmp_path, capsys):
    for name in ("a/Shot.png", "b/shot.png"):
        (tmp_path / name).parent.mkdir()
        Image.fromarray(sample_rgb).save(tmp_path / name)
    assert run("param", tmp_path / "a/Shot.png", tmp_path / "b/shot.png", "--set", "Exposure2012=0.5",
               "-o", tmp_path / "out") == 2
    assert "would both write" in capsys.readouterr().err


# ------------------------------------------------------------- 10, 11: images


def test_a_jpeg_cut_in_half_with_an_end_marker_is_refused(sample_jpeg, tmp_path, capfd):
    cut = sample_jpeg.with_name("cut.jpg")
    cut.write_bytes(fake_terminated(sample_jpeg.read_bytes()))
    capfd.readouterr()
    assert run("param", cut, "--set", "Exposure2012=0.5", "-o", tmp_path / "out") == 1
    err = capfd.readouterr().err
    assert "cut.jpg: corrupt JPEG" in err and "Traceback" not in err
    assert sum("Corrupt JPEG data" in line for line in err.splitlines()) == 2, "reported, not printed raw"
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_padding_before_the_end_marker_is_still_accepted(sample_jpeg, capfd):
    data = sample_jpeg.read_bytes()
    padded = read_image_bytes(data[:-2] + b"\0" * 6 + b"\xff\xd9", "padded.jpg")
    assert padded.size == (128, 128)
    assert "extraneous" not in capfd.readouterr().err


def test_codec_capture_passes_other_stderr_text_through(sample_jpeg, capfd):
    from veraretouch.io import decode

    with decode._codec_messages() as warned:
        os.write(2, b"Corrupt JPEG data: premature end of data segment\nsomeone else's line\n")
    assert warned == ["Corrupt JPEG data: premature end of data segment\n"]
    assert capfd.readouterr().err == "someone else's line\n"


@pytest.mark.parametrize("depth", [np.uint8, np.uint16])
def test_grey_photos_stay_grey_after_a_neutral_edit(tmp_path, depth):
    top = np.iinfo(depth).max
    grey = (np.linspace(0, 1, 96 * 64).reshape(96, 64) * top).astype(depth)
    source = tmp_path / "grey.png"
    cv2.imwrite(str(source), grey)
    assert run("param", source, "--set", "Exposure2012=0.5", "--set", "Contrast2012=20", "-o", tmp_path / "out") == 0
    out = cv2.imread(str(tmp_path / "out" / "grey.png"), cv2.IMREAD_UNCHANGED)
    assert out.ndim == 2 and out.dtype == depth and out.mean() > grey.mean()
    assert run("param", source, "--set", "IncrementalTemperature=40", "-o", tmp_path / "warm") == 0
    assert cv2.imread(str(tmp_path / "warm" / "grey.png"), cv2.IMREAD_UNCHANGED).ndim == 3, "a tint makes colour"


# ------------------------------------------------------------- 12, 13: .cube rows, one-line reports


def test_a_cube_with_two_values_per_line_is_a_plan_error_naming_the_file(tmp_path):
    cube = tmp_path / "two.cube"
    cube.write_text("LUT_3D_SIZE 2\n" + "0 0\n" * 8)
    with pytest.raises(PlanError, match=r"two\.cube: data line 1 .*expected three numbers"):
        read_cube(cube)


def test_a_newline_in_a_file_name_keeps_every_report_on_one_line(sample_jpeg, tmp_path, capsys):
    bad = sample_jpeg.with_name("two\nlines.jpg")
    bad.write_bytes(b"not a photo at all")
    good = sample_jpeg.with_name("fine\nname.jpg")
    good.write_bytes(sample_jpeg.read_bytes())
    assert run("param", bad, good, "--set", "Exposure2012=0.5", "-o", tmp_path / "out") == 1
    captured = capsys.readouterr()
    assert [line for line in captured.out.splitlines() if line] == [
        line for line in captured.out.splitlines() if "fine\\nname.jpg ->" in line]
    failures = [line for line in captured.err.splitlines() if "two" in line]
    assert failures and all("two\\nlines.jpg" in line for line in failures)
    assert (tmp_path / "out" / "fine\nname.jpg").exists()


# ------------------------------------------------------------- 2, 3, 4: the web app


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from veraretouch.api import Retoucher
    from veraretouch.web import Limits, create_app

    class Broken(Retoucher):
        def auto(self, photo, aspects=None, name="x"):
            raise RuntimeError("unexpected")

    limits = Limits(max_upload_bytes=8 * 1024 * 1024, max_pixels=4_000_000)
    app = create_app(Broken(max_pixels=limits.max_pixels), limits, temp_dir=tmp_path_factory.mktemp("web"))
    return TestClient(app, base_url="http://127.0.0.1:8765", raise_server_exceptions=False)


@pytest.fixture(scope="module")
def web_photo(web, sample_rgb) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    Image.fromarray(sample_rgb).save(buffer, "JPEG", quality=90)
    response = web.post("/api/photos", files={"photo": ("photo.jpg", buffer.getvalue())})
    assert response.status_code == 200
    return buffer.getvalue(), response.json()["session"]


@pytest.mark.parametrize("name", sorted(HUGE_PLANS))
def test_web_presets_with_huge_numbers_or_deep_nesting_are_422(web, web_photo, name):
    response = web.post(f"/api/sessions/{web_photo[1]}/preset",
                        files={"preset": (name, HUGE_PLANS[name].encode()[: 1024 * 1024 - 1])})
    assert response.status_code in (413, 422) and "\n" not in response.json()["error"], response.text


def test_web_accepts_a_utf16_json_preset_as_the_cli_does(web, web_photo):
    preset = '{"Exposure2012": {"value": 30}}'.encode("utf-16")
    response = web.post(f"/api/sessions/{web_photo[1]}/preset", files={"preset": ("p.json", preset)})
    assert response.status_code == 200 and response.json()["values"]["Exposure2012"] == pytest.approx(0.3)


def test_a_500_carries_the_security_headers(web, web_photo):
    response = web.post(f"/api/sessions/{web_photo[1]}/auto", json={})
    assert response.status_code == 500
    for header in ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"):
        assert header in response.headers, header
    assert web.get("/api/health").status_code == 200


def test_web_refuses_a_fake_terminated_jpeg(web, web_photo):
    response = web.post("/api/photos", files={"photo": ("cut.jpg", fake_terminated(web_photo[0]))})
    assert response.status_code == 422 and "corrupt JPEG" in response.json()["error"]


def test_a_unicode_upload_name_keeps_its_suffix():
    from veraretouch.web.safety import safe_label

    assert safe_label("фото.jpg") == "photo.jpg" and safe_label("😀.xmp", "preset") == "preset.xmp"


def test_a_photo_with_alpha_holds_only_its_own_planes():
    """Decoded 16-bit RGBA: the alpha plane was a view of the whole interleaved buffer, so a photo
    held 14 bytes a pixel while the web app's accounting counted 8."""
    from veraretouch.web.sessions import Session

    rgba = np.random.default_rng(1).integers(0, 65535, (600, 800, 4), dtype=np.uint16)
    ok, data = cv2.imencode(".png", rgba, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    read_image_bytes(cv2.imencode(".png", rgba[:8, :8])[1].tobytes(), "warm-up.png")  # first-use imports
    tracemalloc.start()
    try:
        photo = read_image_bytes(data.tobytes(), "rgba.png")
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    own = photo.pixels.nbytes + photo.alpha.nbytes
    assert held < own * 1.1, (held, own)
    session = Session("rgba.png", photo, photo, b"")
    assert session.nbytes >= held * 0.9


def test_a_stalled_upload_gets_a_408(web_photo):
    """A client that stops sending its body is answered, not waited on for ever."""
    import asyncio

    from veraretouch.web.safety import Limits, RequestGuard

    async def app(scope, receive, send):
        await receive()
        await receive()  # never comes
        raise AssertionError("unreachable")

    async def call() -> list[dict]:
        sent: list[dict] = []
        messages = [{"type": "http.request", "body": b"x", "more_body": True}]

        async def receive():
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)

        async def send(message):
            sent.append(message)

        from starlette.middleware.exceptions import ExceptionMiddleware

        guarded = RequestGuard(ExceptionMiddleware(app), Limits(body_idle_seconds=0.2))
        scope = {"type": "http", "method": "POST", "path": "/api/photos", "headers": [(b"host", b"127.0.0.1")],
                 "query_string": b"", "root_path": ""}
        await guarded(scope, receive, send)
        return sent

    sent = asyncio.run(asyncio.wait_for(call(), 10))
    assert sent[0]["status"] == 408


def test_the_store_makes_room_for_a_decode_before_it_starts():
    """A decode used to come on top of a full store (peak 1.86 GB against a 1 GB cap,
    benchmarks/web_load.py); now least recently used photos go first."""
    from veraretouch.io.decode import decode_footprint
    from veraretouch.web.sessions import Session, SessionStore

    rgba = np.zeros((300, 400, 4), np.uint16)
    data = cv2.imencode(".png", rgba)[1].tobytes()
    assert decode_footprint(data) == 2 * 300 * 400 * 8
    assert decode_footprint(b"not an image") == 0
    photo = read_image_bytes(data, "rgba.png")
    size = Session("a", photo, photo, b"").nbytes
    store = SessionStore(max_sessions=10, max_bytes=3 * size, idle_seconds=60)
    kept = [store.add(Session(str(index), photo, photo, b"")) for index in range(3)]
    store.make_room(decode_footprint(data))  # twice a photo: two of the three go
    assert len(store) == 1 and store.get(kept[-1].id) is kept[-1]
