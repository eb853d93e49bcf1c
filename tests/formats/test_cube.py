""".cube 3D LUTs: round trip, red-fastest orientation, header, malformed files."""
from __future__ import annotations

import re
import shutil
import subprocess
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veraretouch.errors import ImageWriteError, PlanError
from veraretouch.formats import read_cube, write_cube
from veraretouch.formats.cube import cube_text, parse_cube


def identity_lut(size: int) -> np.ndarray:
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([r, g, b], axis=-1)


def data_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and line[0].isdigit()]


def test_identity_n2_runs_red_fastest(tmp_path):
    path = write_cube(identity_lut(2), tmp_path / "id.cube")
    assert data_lines(path.read_text()) == [
        f"{r}.000000 {g}.000000 {b}.000000"
        for b in (0, 1) for g in (0, 1) for r in (0, 1)
    ]
    assert data_lines(path.read_text())[:5] == [
        "0.000000 0.000000 0.000000", "1.000000 0.000000 0.000000", "0.000000 1.000000 0.000000",
        "1.000000 1.000000 0.000000", "0.000000 0.000000 1.000000",
    ]


def test_red_only_lut_keeps_its_orientation(tmp_path):
    lut = identity_lut(5)
    lut[..., 1:] = 0.0
    path = write_cube(lut, tmp_path / "red.cube")
    lines = data_lines(path.read_text())
    assert lines[1] == "0.250000 0.000000 0.000000"
    assert lines[5] == "0.000000 0.000000 0.000000"
    back = read_cube(path)
    assert back.dtype == np.float32 and back.shape == (5, 5, 5, 3)
    np.testing.assert_allclose(back, lut, atol=1e-6)
    assert back[4, 0, 3].tolist() == [1.0, 0.0, 0.0]


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 9), st.integers(0, 2**32 - 1))
def test_round_trip_within_1e6(size, seed):
    lut = np.random.default_rng(seed).random((size, size, size, 3), dtype=np.float32)
    back = parse_cube(cube_text(lut))
    np.testing.assert_allclose(back, lut, atol=1e-6, rtol=0)


def test_header(tmp_path):
    text = cube_text(identity_lut(3), title='My "warm"\nlook')
    assert text.splitlines()[:4] == [
        'TITLE "My \'warm\' look"', "LUT_3D_SIZE 3", "DOMAIN_MIN 0 0 0", "DOMAIN_MAX 1 1 1"]
    assert len(text.splitlines()) == 4 + 27
    assert not cube_text(identity_lut(3)).startswith("TITLE")


def test_negative_zero_is_written_as_zero():
    lut = identity_lut(2)
    lut[0, 0, 0] = [-0.0, -1e-9, 0.0]
    assert data_lines(cube_text(lut))[0] == "0.000000 0.000000 0.000000"


def test_size_65_round_trip(tmp_path):
    lut = np.random.default_rng(0).random((65, 65, 65, 3), dtype=np.float32)
    start = time.perf_counter()
    path = write_cube(lut, tmp_path / "big.cube", title="big")
    elapsed = time.perf_counter() - start
    assert len(path.read_text().splitlines()) == 4 + 65 ** 3
    np.testing.assert_allclose(read_cube(path), lut, atol=1e-6, rtol=0)
    assert elapsed < 5.0


def test_reader_accepts_comments_crlf_bom_and_other_keywords(tmp_path):
    body = "\r\n".join([
        "# made by hand", 'TITLE "x"', "", "LUT_3D_INPUT_RANGE 0.0 1.0", "LUT_3D_SIZE 2", "MY_KEYWORD 7",
        *data_lines(cube_text(identity_lut(2))),
    ])
    path = tmp_path / "hand.cube"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    np.testing.assert_array_equal(read_cube(path), identity_lut(2))


def test_write_refuses_existing_file_and_bad_arrays(tmp_path):
    path = write_cube(identity_lut(2), tmp_path / "a.cube")
    with pytest.raises(ImageWriteError, match="already exists"):
        write_cube(identity_lut(3), path)
    write_cube(identity_lut(3), path, overwrite=True)
    assert read_cube(path).shape == (3, 3, 3, 3)
    for bad in (np.zeros((2, 2, 3, 3)), np.zeros((2, 2, 2)), np.zeros((1, 1, 1, 3)), np.full((2, 2, 2, 3), np.nan)):
        with pytest.raises(ValueError):
            cube_text(bad)


HEADER = "LUT_3D_SIZE 2\n"
GOOD = "\n".join(data_lines(cube_text(identity_lut(2))))


@pytest.mark.parametrize("text, message", [
    ("LUT_1D_SIZE 4\n0 0 0\n0.3 0.3 0.3\n0.6 0.6 0.6\n1 1 1\n", "1D LUTs are not supported"),
    (GOOD, "no LUT_3D_SIZE line"),
    (HEADER + "\n".join(GOOD.splitlines()[:7]), "needs 8 data lines, found 7"),
    (HEADER + GOOD + "\n1 1 1", "needs 8 data lines, found 9"),
    (HEADER + GOOD.replace("1.000000 1.000000 1.000000", "1.0 1.0"), "data line 8"),
    (HEADER + GOOD.replace("1.000000 1.000000 1.000000", "1.0 x 1.0"), "data line 8"),
    (HEADER + GOOD + "\nTITLE \"late\"", "expected three numbers"),
    ("LUT_3D_SIZE 1\n0 0 0\n", "LUT_3D_SIZE must be a whole number from 2 to 256"),
    ("LUT_3D_SIZE 1000\n", "LUT_3D_SIZE must be a whole number from 2 to 256"),
    ("LUT_3D_SIZE two\n", "LUT_3D_SIZE must be a whole number"),
    ("DOMAIN_MAX 2 2 2\n" + HEADER + GOOD, "only the [0, 1] domain is supported"),
    ("DOMAIN_MIN -0.1 0 0\n" + HEADER + GOOD, "only the [0, 1] domain is supported"),
    ("LUT_3D_INPUT_RANGE 0 4\n" + HEADER + GOOD, "only the [0, 1] domain is supported"),
    ("DOMAIN_MAX 1 1\n" + HEADER + GOOD, "DOMAIN_MAX expects 3 numbers"),
    (HEADER + GOOD.replace("1.000000 1.000000 1.000000", "1e999 1 1"), "finite"),
])
def test_malformed_files_are_refused(tmp_path, text, message):
    path = tmp_path / "bad.cube"
    path.write_text(text)
    with pytest.raises(PlanError, match=re.escape(message)) as caught:
        read_cube(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(PlanError, match="no such file"):
        read_cube(tmp_path / "nope.cube")
    (tmp_path / "bin.cube").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(PlanError, match="not UTF-8"):
        read_cube(tmp_path / "bin.cube")


@pytest.mark.external
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_ffmpeg_lut3d_reads_our_orientation(tmp_path):
    """ffmpeg applies a channel-rotating LUT out = (b, r, g) exactly as we meant it, at every grid corner."""
    lut = identity_lut(3)[..., [2, 0, 1]]
    path = write_cube(lut, tmp_path / "rotate.cube")
    corners = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], dtype=np.uint8)
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "8x1", "-i", "-",
         "-vf", f"lut3d=file={path}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        input=corners.tobytes(), capture_output=True, check=True, timeout=60,
    )
    out = np.frombuffer(result.stdout, dtype=np.uint8).reshape(8, 3)
    np.testing.assert_array_equal(out, corners[:, [2, 0, 1]])


def test_plan_file_functions_name_their_new_home():
    with pytest.raises(ImportError, match=r"from veraretouch\.plan\.files import read_plan"):
        from veraretouch.formats import read_plan  # noqa: F401
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        import veraretouch.formats

        veraretouch.formats.nothing  # noqa: B018
