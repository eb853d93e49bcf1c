"""The full-resolution hot path: a compiled 3D-LUT interpolation over ``(H, W, 3)`` pixel arrays.

``apply_lut`` maps uint8, uint16 or float32 sRGB pixels through a ``lut[r, g, b]`` (float32
``(N, N, N, 3)`` over ``[0, 1]^3``) and returns the same dtype, rounded to nearest and clipped.
Integer inputs look their lattice cell up in a per-level table (no division, no clamping in the
inner loop); the LUT is pre-scaled to the output's range and flattened so the three outputs of a
node are adjacent. Rows are spread over numba's threads in small tasks, taken dynamically so a core
that other processes slow down takes fewer.

Two interpolations, both exact on affine maps and equally accurate on smooth edits:
``"tetrahedral"`` (default) reads 4 lattice nodes per pixel and keeps greys on the grey axis;
``"trilinear"`` reads 8 and matches the differentiable torch path (`apply_lut_tensor`) to float
round-off. The first call per dtype compiles the kernel (seconds); numba caches it on disk.
"""
from __future__ import annotations

import functools
import sys

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import overload

METHODS = ("tetrahedral", "trilinear")
MAX_LUT_SIZE = 256
"""Node offsets are int32 and must reach ``3 * N^3``; 256^3 is already far past any useful LUT."""

_LEVELS = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
_FLOAT = np.dtype(np.float32)
_TASKS_PER_THREAD = 16


def apply_lut(
    pixels: np.ndarray, lut: np.ndarray, out: np.ndarray | None = None, method: str = "tetrahedral"
) -> np.ndarray:
    """Map ``(H, W, 3)`` uint8 / uint16 / float32 pixels through ``lut[r, g, b]``; same dtype back.

    Integer levels ``v`` stand for ``v / max``; float pixels are clamped to ``[0, 1]`` (NaN -> 0).
    LUT values are clipped to ``[0, 1]``; integer outputs are rounded to nearest. ``out`` (same
    shape and dtype, C-contiguous, writeable) receives the result and may be ``pixels`` itself.
    """
    pixels = _checked_pixels(pixels)
    size = _checked_lut(lut)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    out = _checked_out(out, pixels)
    levels = _LEVELS.get(pixels.dtype)
    if levels is None:
        offsets, fractions = _NO_TABLE
    else:
        offsets, fractions = _level_tables(levels, size)
    flat_lut = (np.clip(lut, 0.0, 1.0).astype(np.float32) * np.float32(levels or 1)).ravel()
    source = pixels.view()
    source.flags.writeable = False  # one compiled specialisation whether or not the caller's array is writeable
    threads = _thread_count()
    rows_per_task = max(1, -(-pixels.shape[0] // (threads * _TASKS_PER_THREAD)))
    previous_threads = numba.get_num_threads()
    numba.set_num_threads(threads)
    previous_chunksize = numba.set_parallel_chunksize(1)  # tasks are handed out one at a time
    try:
        _interpolate_parallel(source, out, flat_lut, offsets, fractions, size, method == "tetrahedral", rows_per_task)
    finally:
        numba.set_parallel_chunksize(previous_chunksize)
        numba.set_num_threads(previous_threads)
    return out


def _checked_pixels(pixels: np.ndarray) -> np.ndarray:
    if not isinstance(pixels, np.ndarray):
        raise ValueError(f"pixels must be a numpy array, got {type(pixels).__name__}")
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must have shape (H, W, 3), got {pixels.shape}")
    if pixels.dtype not in _LEVELS and pixels.dtype != _FLOAT:
        raise ValueError(f"pixels must be uint8, uint16 or float32, got {pixels.dtype} (convert with .astype)")
    return np.ascontiguousarray(pixels)


def _checked_lut(lut: np.ndarray) -> int:
    if not isinstance(lut, np.ndarray):
        raise ValueError(f"lut must be a numpy array, got {type(lut).__name__}")
    size = lut.shape[0] if lut.ndim == 4 else 0
    if lut.shape != (size, size, size, 3) or not 2 <= size <= MAX_LUT_SIZE:
        raise ValueError(f"lut must have shape (N, N, N, 3) with 2 <= N <= {MAX_LUT_SIZE}, got {lut.shape}")
    if lut.dtype.kind != "f" or not np.isfinite(lut).all():
        raise ValueError(f"lut must hold finite floats, got dtype {lut.dtype}")
    return size


def _checked_out(out: np.ndarray | None, pixels: np.ndarray) -> np.ndarray:
    if out is None:
        return np.empty_like(pixels)
    if not isinstance(out, np.ndarray) or out.shape != pixels.shape or out.dtype != pixels.dtype:
        raise ValueError(f"out must be a {pixels.shape} {pixels.dtype} array, got "
                         f"{getattr(out, 'shape', None)} {getattr(out, 'dtype', type(out).__name__)}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be C-contiguous and writeable")
    if np.may_share_memory(out, pixels) and out.ctypes.data != pixels.ctypes.data:
        raise ValueError("out overlaps pixels without being the same array")
    return out


@functools.lru_cache(maxsize=16)
def _level_tables(levels: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Level ``v`` -> flat offset of its cell's lower node on each axis, and the fraction across it.

    ``v / levels * (N - 1)`` splits into node ``i`` and fraction ``f``; ``v = levels`` lands on
    ``i = N - 2, f = 1`` so the upper neighbour always exists.
    """
    position = np.arange(levels + 1, dtype=np.float64) * (size - 1) / levels
    node = np.minimum(np.floor(position), size - 2)
    strides = np.array([[size * size * 3], [size * 3], [3]], dtype=np.int64)
    offsets = (node.astype(np.int64) * strides).astype(np.int32)
    fractions = (position - node).astype(np.float32)
    offsets.flags.writeable = False
    fractions.flags.writeable = False
    return offsets, fractions


def _empty_table() -> tuple[np.ndarray, np.ndarray]:
    offsets, fractions = np.zeros((3, 0), dtype=np.int32), np.zeros(0, dtype=np.float32)
    offsets.flags.writeable = False
    fractions.flags.writeable = False
    return offsets, fractions


_NO_TABLE = _empty_table()
"""Float pixels compute their cell; they pass empty tables so every dtype shares one signature shape."""


def _thread_count() -> int:
    """numba's current thread count, lowered to torch's when torch is loaded and limited further
    (the kernel itself does not need torch: param mode can run without importing it)."""
    torch = sys.modules.get("torch")
    return max(1, min(numba.get_num_threads(), torch.get_num_threads() if torch else numba.get_num_threads()))


def _locate(value, axis, offsets, fractions, stride, top):
    """Flat offset of the cell's lower node along ``axis`` and the fraction across the cell (compiled only)."""
    raise NotImplementedError


@overload(_locate)
def _locate_overload(value, axis, offsets, fractions, stride, top):
    if isinstance(value, types.Integer):
        def from_table(value, axis, offsets, fractions, stride, top):
            return np.int64(offsets[axis, value]), fractions[value]
        return from_table

    def from_float(value, axis, offsets, fractions, stride, top):
        position = min(np.float32(value) * top, top) if value > 0 else np.float32(0)  # NaN -> 0
        node = min(np.int64(position), np.int64(top) - 1)
        return node * stride, position - np.float32(node)
    return from_float


def _store(out, y, x, channel, value):
    """Write an interpolated value: integer outputs round to nearest, floats clamp to [0, 1] (compiled only)."""
    raise NotImplementedError


@overload(_store)
def _store_overload(out, y, x, channel, value):
    if isinstance(out.dtype, types.Integer):
        def rounded(out, y, x, channel, value):
            out[y, x, channel] = value + np.float32(0.5)  # value is in [0, max]: truncation rounds
        return rounded

    def clamped(out, y, x, channel, value):
        out[y, x, channel] = min(max(value, np.float32(0)), np.float32(1))
    return clamped


@njit(inline="always")
def _at(lut, index):
    """``lut[index]`` through an unsigned index, which spares numba's negative-index wraparound."""
    return lut[np.uint64(index)]


@njit(inline="always")
def _tetrahedral(lut, base, fr, fg, fb, stride_r, stride_g):
    """Walk from node 000 to 111 along the axes in decreasing order of fraction.

    With sorted fractions ``f1 >= f2 >= f3`` the four visited nodes weigh
    ``1 - f1, f1 - f2, f2 - f3, f3``.
    """
    stride_b = 3
    far = stride_r + stride_g + stride_b
    r_first = (fr >= fg) & (fr >= fb)  # ties pick r before g before b, so `first` and `last` always differ
    b_last = (fb <= fg) & (fb <= fr)
    first = stride_r if r_first else (stride_g if fg >= fb else stride_b)
    last = stride_b if b_last else (stride_g if fg <= fr else stride_r)
    f1 = max(fr, max(fg, fb))
    f2 = max(min(fr, fg), min(max(fr, fg), fb))
    f3 = min(fr, min(fg, fb))
    w0 = np.float32(1) - f1
    w1 = f1 - f2
    w2 = f2 - f3
    i0 = base
    i1 = base + first
    i2 = base + far - last
    i3 = base + far
    return (
        w0 * _at(lut, i0) + w1 * _at(lut, i1) + w2 * _at(lut, i2) + f3 * _at(lut, i3),
        w0 * _at(lut, i0 + 1) + w1 * _at(lut, i1 + 1) + w2 * _at(lut, i2 + 1) + f3 * _at(lut, i3 + 1),
        w0 * _at(lut, i0 + 2) + w1 * _at(lut, i1 + 2) + w2 * _at(lut, i2 + 2) + f3 * _at(lut, i3 + 2),
    )


@njit(inline="always")
def _lerp(a, b, t):
    return a + t * (b - a)


@njit(inline="always")
def _trilinear_channel(lut, i, fr, fg, fb, stride_r, stride_g):
    """Lerp the 8 cell corners along b, then g, then r."""
    g0 = _lerp(_at(lut, i), _at(lut, i + 3), fb)
    g1 = _lerp(_at(lut, i + stride_g), _at(lut, i + stride_g + 3), fb)
    r1 = i + stride_r
    h0 = _lerp(_at(lut, r1), _at(lut, r1 + 3), fb)
    h1 = _lerp(_at(lut, r1 + stride_g), _at(lut, r1 + stride_g + 3), fb)
    return _lerp(_lerp(g0, g1, fg), _lerp(h0, h1, fg), fr)


@njit(inline="always")
def _trilinear(lut, base, fr, fg, fb, stride_r, stride_g):
    return (
        _trilinear_channel(lut, base, fr, fg, fb, stride_r, stride_g),
        _trilinear_channel(lut, base + 1, fr, fg, fb, stride_r, stride_g),
        _trilinear_channel(lut, base + 2, fr, fg, fb, stride_r, stride_g),
    )


@njit(inline="always")
def _cell(pixels, y, x, offsets, fractions, size):
    """Flat offset of the pixel's lattice cell (its lower node) and its fractions across the cell."""
    top = np.float32(size - 1)
    offset_r, fr = _locate(pixels[y, x, 0], 0, offsets, fractions, size * size * 3, top)
    offset_g, fg = _locate(pixels[y, x, 1], 1, offsets, fractions, size * 3, top)
    offset_b, fb = _locate(pixels[y, x, 2], 2, offsets, fractions, 3, top)
    return offset_r + offset_g + offset_b, fr, fg, fb


@njit(inline="always")
def _store_rgb(out, y, x, rgb):
    _store(out, y, x, 0, rgb[0])
    _store(out, y, x, 1, rgb[1])
    _store(out, y, x, 2, rgb[2])


@njit(cache=True, fastmath={"contract"})
def _tetrahedral_rows(pixels, out, lut, offsets, fractions, size, first_row, end_row):
    for y in range(first_row, end_row):
        for x in range(pixels.shape[1]):
            base, fr, fg, fb = _cell(pixels, y, x, offsets, fractions, size)
            _store_rgb(out, y, x, _tetrahedral(lut, base, fr, fg, fb, size * size * 3, size * 3))


@njit(cache=True, fastmath={"contract"})
def _trilinear_rows(pixels, out, lut, offsets, fractions, size, first_row, end_row):
    for y in range(first_row, end_row):
        for x in range(pixels.shape[1]):
            base, fr, fg, fb = _cell(pixels, y, x, offsets, fractions, size)
            _store_rgb(out, y, x, _trilinear(lut, base, fr, fg, fb, size * size * 3, size * 3))


@njit(parallel=True, cache=True)
def _interpolate_parallel(pixels, out, lut, offsets, fractions, size, tetrahedral, rows_per_task):
    height = pixels.shape[0]
    tasks = (height + rows_per_task - 1) // rows_per_task
    for task in prange(tasks):
        first_row = task * rows_per_task
        end_row = min(height, first_row + rows_per_task)
        if tetrahedral:
            _tetrahedral_rows(pixels, out, lut, offsets, fractions, size, first_row, end_row)
        else:
            _trilinear_rows(pixels, out, lut, offsets, fractions, size, first_row, end_row)
