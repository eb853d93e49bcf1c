"""16-bit colour conversion for matrix/TRC ICC profiles, in numpy.

LittleCMS as exposed by Pillow converts 8-bit images only, so 16-bit pixels are converted here:
the profile's tone curves ('curv' or 'para') take codes to linear light, the colorant matrix takes
linear light to XYZ and back, and an inverse table returns to codes. Only matrix/TRC profiles
(such as sRGB, Adobe RGB, Display P3 or a grey gamma) can be done this way; 16-bit images with a
LUT-based profile are refused (see `icc.Profile.unsupported_reason`). Rows are converted in bands
to bound memory.
"""
from __future__ import annotations

import struct
from functools import cached_property

import numpy as np

_CODES_16BIT = np.arange(65536, dtype=np.float64)
_ROOT_STEPS = 1 << 18
_BAND_BYTES = 1 << 22
"""Rows are converted in bands of about this many bytes to bound memory on large images."""


class MatrixShaper:
    """A matrix/TRC ICC profile: tone curves to linear light, then a 3x3 matrix to XYZ (D50)."""

    def __init__(self, linear_levels: np.ndarray, rgb_to_xyz: np.ndarray | None):
        self.linear_levels = linear_levels
        """(65536, channels) float32: linear light of each 16-bit code, non-decreasing."""
        self.rgb_to_xyz = rgb_to_xyz
        """(3, 3) with the rXYZ, gXYZ, bXYZ colorants as columns; None for a grey (kTRC) profile."""

    @cached_property
    def code_of_root_linear(self) -> np.ndarray:
        """(channels, _ROOT_STEPS + 1) uint16: the code whose linear light is (i / _ROOT_STEPS)**2.

        Sampling sqrt(linear) evenly keeps the table fine near black, where codes are steep.
        """
        linear = (np.arange(_ROOT_STEPS + 1) / _ROOT_STEPS) ** 2
        columns = self.linear_levels.T.astype(np.float64)
        return np.stack([np.rint(np.interp(linear, column, _CODES_16BIT)) for column in columns]).astype(np.uint16)

    def encode(self, linear: np.ndarray, channel: int) -> np.ndarray:
        """Linear light in [0, 1] -> nearest 16-bit code (within ~0.4 code)."""
        index = np.rint(np.sqrt(linear) * _ROOT_STEPS).astype(np.int32)
        return np.take(self.code_of_root_linear[channel], index)

    @classmethod
    def parse(cls, icc: bytes, colour_space: str) -> MatrixShaper | None:
        """The shaper of a matrix/TRC profile with an XYZ connection space, else None."""
        tags = _icc_tags(icc)
        if icc[20:24] != b"XYZ " or tags.keys() & {b"A2B0", b"A2B1", b"B2A0", b"B2A1"}:
            return None
        curves = {"RGB": (b"rTRC", b"gTRC", b"bTRC"), "GRAY": (b"kTRC",)}.get(colour_space)
        if curves is None:
            return None
        codes = np.arange(65536) / 65535.0
        try:
            linear = np.stack([_tone_curve(tags[name], codes) for name in curves], axis=1)
            matrix = None
            if colour_space == "RGB":
                matrix = np.stack([_xyz(tags[name]) for name in (b"rXYZ", b"gXYZ", b"bXYZ")], axis=1)
        except (KeyError, ValueError, struct.error):
            return None
        return cls(np.maximum.accumulate(linear, axis=0).astype(np.float32), matrix)


def _icc_tags(icc: bytes) -> dict[bytes, bytes]:
    """The profile's tag table: signature -> tag data."""
    (count,) = struct.unpack_from(">I", icc, 128)
    tags = {}
    for entry in range(132, 132 + 12 * count, 12):
        signature, offset, size = struct.unpack_from(">4sII", icc, entry)
        tags[signature] = icc[offset : offset + size]
    return tags


def _xyz(tag: bytes) -> np.ndarray:
    if tag[:4] != b"XYZ ":
        raise ValueError("not an XYZ tag")
    return np.array(struct.unpack_from(">3i", tag, 8)) / 65536.0


def _tone_curve(tag: bytes, x: np.ndarray) -> np.ndarray:
    """Evaluate an ICC 'curv' (identity, gamma or table) or 'para' (functions 0-4) curve at x."""
    if tag[:4] == b"curv":
        (count,) = struct.unpack_from(">I", tag, 8)
        if count == 0:
            return x
        if count == 1:
            return x ** (struct.unpack_from(">H", tag, 12)[0] / 256.0)
        table = np.frombuffer(tag, ">u2", count, 12) / 65535.0
        return np.interp(x, np.linspace(0.0, 1.0, count), table)
    if tag[:4] == b"para":
        (function,) = struct.unpack_from(">H", tag, 8)
        count = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[function]
        p = np.array(struct.unpack_from(f">{count}i", tag, 12)) / 65536.0
        # Y = (aX + b)^g + e for X >= d, else cX + f: every ICC parametric curve in one form.
        g, a, b, c, d, e, f = {
            0: lambda: (p[0], 1.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            1: lambda: (p[0], p[1], p[2], 0.0, -p[2] / p[1], 0.0, 0.0),
            2: lambda: (p[0], p[1], p[2], 0.0, -p[2] / p[1], p[3], p[3]),
            3: lambda: (*p, 0.0, 0.0),
            4: lambda: tuple(p),
        }[function]()
        curve = np.where(x >= d, np.maximum(a * x + b, 0.0) ** g + e, c * x + f)
        return np.clip(curve, 0.0, 1.0)
    raise ValueError(f"unsupported curve type {tag[:4]!r}")


def convert_16bit(pixels: np.ndarray, source: MatrixShaper, target: MatrixShaper) -> np.ndarray:
    """codes -> linear (source curves) -> XYZ -> linear target (clipped to gamut) -> codes.

    Grey on either side skips the matrix: a neutral's linear light is the same in every profile.
    Works plane by plane on bands of rows (a 3x3 matmul over interleaved pixels is much slower).
    """
    matrix = None
    if source.rgb_to_xyz is not None and target.rgb_to_xyz is not None:
        matrix = (np.linalg.inv(target.rgb_to_xyz) @ source.rgb_to_xyz).astype(np.float32)
    height, width, channels = pixels.shape
    converted = np.empty_like(pixels)
    rows = max(1, _BAND_BYTES // (width * 4))
    for start in range(0, height, rows):
        band = pixels[start : start + rows]
        linear = [np.take(source.linear_levels[:, c], band[..., c]) for c in range(channels)]
        if matrix is not None:
            linear = [np.clip(m[0] * linear[0] + m[1] * linear[1] + m[2] * linear[2], 0.0, 1.0) for m in matrix]
        for channel, plane in enumerate(linear):
            converted[start : start + rows, :, channel] = target.encode(plane, channel)
    return converted
