"""Baking a pointwise colour function into a 3D LUT, and the differentiable torch LUT lookup.

Convention: ``lut[r, g, b]`` of shape ``(N, N, N, 3)`` holds the output colour of the input
``(r, g, b) / (N - 1)``; values in ``[0, 1]``. The lattice is laid out as a ``(1, 3, N*N, N)``
image (row ``r*N + g``, column ``b``) so any ``fn(image (B, 3, H, W)) -> (B, 3, H, W)`` can be
evaluated on it unchanged. Only pointwise functions bake correctly: anything that looks at
neighbours or image statistics sees the lattice, not the photo.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

ImageFunction = Callable[[torch.Tensor], torch.Tensor]

DEFAULT_CHUNK = 1 << 19
"""Lattice colours per call of ``fn`` in `bake_lut`: bounds the memory of its intermediates."""


def identity_lut(size: int) -> np.ndarray:
    """The LUT that maps every colour to itself: ``lut[r, g, b] = (r, g, b) / (N - 1)``."""
    _check_size(size)
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)


def lattice_rgb(
    size: int, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> torch.Tensor:
    """All N^3 lattice colours as a ``(1, 3, N*N, N)`` image: pixel ``[r*N + g, b]`` is ``(r, g, b) / (N - 1)``."""
    _check_size(size)
    axis = torch.linspace(0.0, 1.0, size, dtype=torch.float64, device=device).to(dtype)
    red, green, blue = torch.meshgrid(axis, axis, axis, indexing="ij")
    return torch.stack((red, green, blue)).reshape(1, 3, size * size, size)


def lattice_to_lut(image: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, 3, N*N, N)`` lattice image -> ``(B, N, N, N, 3)`` LUT (the inverse of `lattice_rgb`'s layout)."""
    return image.reshape(image.shape[0], 3, size, size, size).permute(0, 2, 3, 4, 1)


def bake_lut(fn: ImageFunction, size: int = 65, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
    """Evaluate a pointwise ``fn`` on the N^3 lattice without autograd, in calls of whole lattice rows
    totalling at most ``chunk`` colours (at least one row of N).

    Returns a float32 ``(N, N, N, 3)`` LUT clipped to ``[0, 1]``; raises ValueError when ``fn``
    changes the shape or returns non-finite values.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be positive, got {chunk}")
    lattice = lattice_rgb(size)
    rows_per_call = max(1, chunk // size)
    with torch.no_grad():
        starts = range(0, size * size, rows_per_call)
        rows = [_evaluate(fn, lattice[:, :, start:start + rows_per_call]) for start in starts]
        image = torch.cat(rows, dim=2).to(device="cpu", dtype=torch.float32)
    if not torch.isfinite(image).all():
        raise ValueError("fn returned non-finite values on the lattice")
    return np.ascontiguousarray(lattice_to_lut(image, size)[0].clamp_(0.0, 1.0).numpy())


def bake_lut_tensor(
    fn: ImageFunction,
    size: int = 33,
    batch_size: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Evaluate ``fn`` on the lattice in one call, keeping the autograd graph; values clamped to ``[0, 1]``.

    ``batch_size=None`` gives one ``(N, N, N, 3)`` LUT. With ``batch_size=B`` the lattice is
    repeated B times (for a ``fn`` that applies per-image parameters) and the result is
    ``(B, N, N, N, 3)``, one LUT per image.
    """
    lattice = lattice_rgb(size, dtype=dtype, device=device)
    if batch_size is not None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        lattice = lattice.expand(batch_size, -1, -1, -1)
    luts = lattice_to_lut(_evaluate(fn, lattice), size).clamp(0.0, 1.0)
    return luts[0] if batch_size is None else luts


def apply_lut_tensor(image: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """Trilinear lookup of ``(B, 3, H, W)`` colours in ``lut`` ``(N, N, N, 3)`` or ``(B or 1, N, N, N, 3)``.

    Differentiable in both the image and the LUT. Colours outside ``[0, 1]`` use the border
    nodes. ``grid_sample`` reads its grid's (x, y, z) from the volume's (W, H, D) = (b, g, r) axes,
    so the grid holds the colours in b, g, r order.
    """
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"image must have shape (B, 3, H, W), got {tuple(image.shape)}")
    if lut.ndim == 4:
        lut = lut.unsqueeze(0)
    size = lut.shape[1]
    if lut.ndim != 5 or lut.shape[1:] != (size, size, size, 3) or size < 2:
        raise ValueError(f"lut must have shape (N, N, N, 3) or (B, N, N, N, 3), got {tuple(lut.shape)}")
    batch = image.shape[0]
    if lut.shape[0] not in (1, batch):
        raise ValueError(f"lut batch {lut.shape[0]} does not match image batch {batch}")
    volume = lut.to(device=image.device, dtype=image.dtype).permute(0, 4, 1, 2, 3).expand(batch, -1, -1, -1, -1)
    grid = image.flip(1).permute(0, 2, 3, 1).unsqueeze(1) * 2.0 - 1.0
    sampled = F.grid_sample(volume, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return sampled.squeeze(2)


def _evaluate(fn: ImageFunction, lattice: torch.Tensor) -> torch.Tensor:
    result = fn(lattice)
    if not isinstance(result, torch.Tensor) or result.shape != lattice.shape:
        shape = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
        raise ValueError(f"fn must map a {tuple(lattice.shape)} image to the same shape, got {shape}")
    return result


def _check_size(size: int) -> None:
    if not isinstance(size, (int, np.integer)) or size < 2:
        raise ValueError(f"LUT size must be an integer >= 2, got {size!r}")
