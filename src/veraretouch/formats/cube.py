"""Adobe / Resolve ``.cube`` 3D LUTs.

Project convention: a LUT is a float32 array ``(N, N, N, 3)`` indexed ``lut[r, g, b]`` over the
domain [0, 1]^3. In the file, data lines run with RED CHANGING FASTEST (blue outer loop, green,
red inner), which is what the .cube specification, Resolve and ffmpeg's ``lut3d`` expect.

Only the [0, 1] domain is accepted when reading: a different ``DOMAIN_MIN/MAX`` (or
``LUT_3D_INPUT_RANGE``) samples other inputs, and converting it would mean resampling and
losing whatever lies outside [0, 1], so such files are refused with a `PlanError` rather than
silently misread. 1D LUTs are refused too.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import PlanError
from ..io.atomic import atomic_write_text
from ..io.files import read_user_file

MAX_SIZE = 256
"""Largest grid read (256^3 entries); larger sizes are refused before allocating."""

_ONE_D_KEYWORDS = ("LUT_1D_SIZE", "LUT_1D_INPUT_RANGE")


def _check_lut(lut: np.ndarray) -> np.ndarray:
    array = np.asarray(lut)
    if array.ndim != 4 or array.shape[3] != 3 or not (array.shape[0] == array.shape[1] == array.shape[2]):
        raise ValueError(f"a 3D LUT must have shape (N, N, N, 3), got {array.shape}")
    if array.shape[0] < 2:
        raise ValueError(f"a 3D LUT needs at least 2 samples per axis, got {array.shape[0]}")
    if not np.isfinite(array).all():
        raise ValueError("a 3D LUT must hold finite values")
    return array


def cube_text(lut: np.ndarray, title: str | None = None, comments: Sequence[str] = ()) -> str:
    """The ``.cube`` text of ``lut[r, g, b]``: ``# comments``, header, then N^3 ``"r g b"`` lines, red fastest."""
    array = _check_lut(lut)
    size = array.shape[0]
    header = [f"# {' '.join(comment.split())}" for comment in comments]
    if title:
        one_line = " ".join(title.split()).replace('"', "'")
        header.append(f'TITLE "{one_line}"')
    header += [f"LUT_3D_SIZE {size}", "DOMAIN_MIN 0 0 0", "DOMAIN_MAX 1 1 1"]
    rows = np.round(array.transpose(2, 1, 0, 3).reshape(-1, 3).astype(np.float64), 6) + 0.0
    data = ("%.6f %.6f %.6f\n" * len(rows)) % tuple(rows.ravel().tolist())
    return "\n".join(header) + "\n" + data


def write_cube(lut: np.ndarray, path: str | Path, title: str | None = None, overwrite: bool = False,
               comments: Sequence[str] = ()) -> Path:
    """Atomically write ``lut`` as a ``.cube`` file (``comments`` as ``#`` lines at the top);
    refuses an existing file unless ``overwrite``."""
    return atomic_write_text(path, cube_text(lut, title, comments), overwrite=overwrite)


def parse_cube(text: str) -> np.ndarray:
    """``.cube`` text -> float32 ``lut[r, g, b]``; `PlanError` names the line that is wrong."""
    size = None
    domain = {"DOMAIN_MIN": (0.0, 0.0, 0.0), "DOMAIN_MAX": (1.0, 1.0, 1.0)}
    data: list[str] = []
    first_data_line = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line[0] in "+-.0123456789":
            if not data:
                first_data_line = number
            data.append(line)
            continue
        if data:
            raise PlanError(f"line {number}: expected three numbers, got {line[:40]!r}")
        keyword, _, rest = line.partition(" ")
        if keyword in _ONE_D_KEYWORDS:
            raise PlanError(f"line {number}: {keyword}: 1D LUTs are not supported, only 3D (LUT_3D_SIZE)")
        if keyword == "LUT_3D_SIZE":
            size = _size(number, rest)
        elif keyword in domain:
            domain[keyword] = _floats(number, keyword, rest, 3)
        elif keyword == "LUT_3D_INPUT_RANGE":
            low, high = _floats(number, keyword, rest, 2)
            domain = {"DOMAIN_MIN": (low,) * 3, "DOMAIN_MAX": (high,) * 3}
    if size is None:
        raise PlanError("no LUT_3D_SIZE line: not a 3D .cube LUT")
    if domain["DOMAIN_MIN"] != (0.0, 0.0, 0.0) or domain["DOMAIN_MAX"] != (1.0, 1.0, 1.0):
        raise PlanError(f"DOMAIN_MIN/DOMAIN_MAX: only the [0, 1] domain is supported, got "
                        f"{list(domain['DOMAIN_MIN'])} .. {list(domain['DOMAIN_MAX'])}")
    if len(data) != size ** 3:
        raise PlanError(f"LUT_3D_SIZE {size} needs {size ** 3} data lines, found {len(data)}")
    try:
        rows = np.loadtxt(io.StringIO("\n".join(data)), dtype=np.float64, ndmin=2)
    except ValueError:
        rows = None
    if rows is None or rows.shape[1] != 3:  # unparsable, or the same wrong count on every line
        bad = next(i for i, line in enumerate(data) if len(line.split()) != 3 or not _all_floats(line))
        raise PlanError(f"data line {bad + 1} (from line {first_data_line}): expected three numbers, "
                        f"got {data[bad][:40]!r}")
    if not np.isfinite(rows).all():
        raise PlanError("data lines must hold finite numbers")
    return np.ascontiguousarray(rows.reshape(size, size, size, 3).transpose(2, 1, 0, 3), dtype=np.float32)


def read_cube(path: str | Path) -> np.ndarray:
    """Read a ``.cube`` file into a float32 ``lut[r, g, b]`` of shape ``(N, N, N, 3)``."""
    target = Path(path)
    data = read_user_file(target, PlanError, "a .cube file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlanError(f"{target}: not a text .cube file (not UTF-8)") from None
    try:
        return parse_cube(text)
    except PlanError as error:
        raise PlanError(f"{target}: {error}") from None


def _all_floats(line: str) -> bool:
    try:
        [float(token) for token in line.split()]
    except ValueError:
        return False
    return True


def _floats(number: int, keyword: str, rest: str, count: int) -> tuple[float, ...]:
    tokens = rest.split()
    if len(tokens) != count or not _all_floats(rest):
        raise PlanError(f"line {number}: {keyword} expects {count} numbers, got {rest!r}")
    return tuple(float(token) for token in tokens)


def _size(number: int, rest: str) -> int:
    text = rest.strip()
    if not (text.isdigit() and len(text) <= 3) or not (2 <= int(text) <= MAX_SIZE):
        raise PlanError(f"line {number}: LUT_3D_SIZE must be a whole number from 2 to {MAX_SIZE}, got {text!r}")
    return int(text)
