"""Applying a plan: exact and differentiable on tensors, baked to a 3D LUT for full-resolution photos.

A plan is a pointwise colour function, so on a photo we evaluate the operators once on an N^3
lattice (a few hundred thousand colours) and interpolate that LUT over the photo's millions of
pixels with a compiled kernel, instead of running the torch graph on every pixel. A plan's LUT
is kept on disk (`lut.store`), so applying a preset that was used before needs no torch at all:
torch and the operators are imported only to bake.
"""
from __future__ import annotations

import functools
import json
import threading
from typing import TYPE_CHECKING

import numpy as np

from ..io.images import NEUTRAL_SPREAD, Photo
from ..plan import Plan
from ..plan.parameters import FINISHING
from .kernel import apply_lut
from .store import load_lut, lut_path, save_lut

if TYPE_CHECKING:
    import torch

DEFAULT_LUT_SIZE = 65
"""A 65^3 LUT (tetrahedral interpolation) keeps smooth edits within 2 levels of the direct render
on 8-bit photos, far below a quarter level on average; edits that clip a channel can be a few
levels off in rare pixels at the clip edge (tests/test_apply.py, docs/benchmarks.md)."""


def plan_params(plan: Plan | torch.Tensor) -> torch.Tensor:
    """``(1, P)`` parameters from a `Plan` or a ``(P,)`` / ``(1, P)`` tensor."""
    params = plan.to_tensor() if isinstance(plan, Plan) else plan
    return params.reshape(1, -1)


_BAKING = threading.Lock()
"""One bake at a time: a second caller of the same plan (the CLI bakes in the background while
photos decode) waits for the cache instead of baking again."""


@functools.lru_cache(maxsize=8)
def _bake_cached(key: bytes, size: int) -> np.ndarray:
    """Baked on one torch thread: how torch splits an elementwise op among threads moves a few
    lattice values by one float32 ulp, so a LUT baked on 2 threads differed from one baked on 1
    (a Ray worker's); on one thread the LUT is the same on every machine (tests/test_batch.py).
    On the shared 2-core machine one thread also baked faster (0.15-0.33 s against 2.4-2.7 s)."""
    import torch

    from ..operators import render
    from .bake import bake_lut

    params = torch.from_numpy(np.frombuffer(key, dtype=np.float64).copy()).reshape(1, -1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        lut = bake_lut(lambda image: render(image, params, compute_dtype=torch.float32), size)
    finally:
        torch.set_num_threads(threads)
    lut.setflags(write=False)
    return lut


def bake_plan_lut(plan: Plan | torch.Tensor, size: int = DEFAULT_LUT_SIZE) -> np.ndarray:
    """The plan's pointwise part as an ``(N, N, N, 3)`` float32 LUT indexed ``[r, g, b]`` (read-only,
    cached per plan; the finishing effects, which look at neighbours, are not in it).

    The lattice is rendered in float32: its round-off (~1e-5) is far below one 8-bit level. A
    `Plan`'s LUT is also kept on disk and read back by later runs (`lut.store`).
    """
    if not 2 <= size <= 256:
        raise ValueError(f"LUT size must be between 2 and 256, got {size}")
    with _BAKING:
        if isinstance(plan, Plan):
            return _plan_lut(pointwise_description(plan), size)
        return _bake_cached(_pointwise_key(plan), size)


def _pointwise_key(plan: Plan | torch.Tensor) -> bytes:
    import torch

    from ..operators.finishing import pointwise_params

    return pointwise_params(plan_params(plan)).detach().to(torch.float64).contiguous().numpy().tobytes()


def pointwise_description(plan: Plan) -> str:
    """The plan's pointwise values and curves as canonical JSON (floats exact): two plans with the
    same description have the same LUT."""
    finishing = {spec.name for spec in FINISHING}
    values = {name: float(value) for name, value in sorted(plan.values.items()) if name not in finishing}
    curves = {name: [list(map(float, point)) for point in points] for name, points in sorted(plan.curves.items())}
    return json.dumps({"values": values, "curves": curves}, sort_keys=True)


@functools.lru_cache(maxsize=8)
def _plan_lut(description: str, size: int) -> np.ndarray:
    """A plan's LUT from the disk store, else baked and stored."""
    path = lut_path(description, size)
    lut = load_lut(path, size)
    if lut is None:
        parsed = json.loads(description)
        plan = Plan(values=parsed["values"], curves={name: tuple(map(tuple, points))
                                                      for name, points in parsed["curves"].items()})
        lut = _bake_cached(_pointwise_key(plan), size)
        save_lut(path, lut)
    return lut


def sets_finishing(plan: Plan) -> bool:
    """Whether the plan moves any finishing control (vignette, grain, clarity, ...) off its default."""
    return any(plan.values.get(spec.name, spec.default) != spec.default for spec in FINISHING)


def apply_lut_to_photo(photo: Photo, lut: np.ndarray, in_place: bool = False) -> Photo:
    """A `Photo` through an ``(N, N, N, 3)`` LUT at full resolution. A grey photo stays grey when
    the LUT keeps greys neutral (within `NEUTRAL_SPREAD`) and is expanded to colour otherwise.
    With ``in_place`` a colour photo's own pixel array receives the result."""
    pixels = photo.pixels
    if photo.grayscale:
        grey = _neutral_grey_table(lut, photo.pixels.dtype)
        if grey is not None:
            return photo.with_pixels(grey[pixels])
        pixels = np.repeat(pixels, 3, axis=-1)
    writable = in_place and pixels is photo.pixels and pixels.flags.writeable and pixels.flags.c_contiguous
    return photo.with_pixels(apply_lut(pixels, lut, out=pixels if writable else None))


def _neutral_grey_table(lut: np.ndarray, dtype: np.dtype) -> np.ndarray | None:
    """Level -> level of every grey through ``lut`` (the channel mean, rounded), or None when the
    LUT tints some grey by more than `NEUTRAL_SPREAD`."""
    top = np.iinfo(dtype).max
    greys = np.repeat(np.arange(top + 1, dtype=np.float32)[None, :, None] / top, 3, axis=2)
    response = apply_lut(greys, lut)[0]
    if float((response.max(axis=1) - response.min(axis=1)).max()) > NEUTRAL_SPREAD:
        return None
    return np.rint(response.mean(axis=1, dtype=np.float64) * top).astype(dtype)


def apply_plan(image: Photo | torch.Tensor, plan: Plan | torch.Tensor, lut_size: int = DEFAULT_LUT_SIZE,
               in_place: bool = False, seed: int = 0):
    """Retouch a `Photo` (fast LUT path, full resolution) or a ``(B, 3, H, W)`` tensor (exact, differentiable).

    The pointwise plan goes through its LUT, then the finishing effects (vignette, grain, clarity,
    texture, dehaze, sharpening; ``seed`` fixes the grain) through their compiled full-resolution
    path. Returns the same kind of object it was given. With ``in_place`` a colour photo's own
    pixel array receives the result (the input photo changes): at 24 MP this saves allocating and
    page-faulting a 72 MB copy, about a fifth of the LUT pass.
    """
    if isinstance(image, Photo) and isinstance(plan, Plan) and not sets_finishing(plan):
        return apply_lut_to_photo(image, bake_plan_lut(plan, lut_size), in_place)  # no torch on a stored LUT
    import torch

    from ..operators import render
    from ..operators.finishing import finish, has_finishing

    params = plan_params(plan)
    if isinstance(image, Photo):
        result = apply_lut_to_photo(image, bake_plan_lut(params, lut_size), in_place)
        if not has_finishing(params):
            return result
        from .finishing import finish_pixels  # numba kernels: compiled on first use

        pixels = result.pixels if result.pixels.shape[-1] == 3 else np.repeat(result.pixels, 3, axis=-1)
        return result.with_pixels(finish_pixels(pixels, params, seed, out=pixels))
    if isinstance(image, torch.Tensor):
        params = params.to(image.dtype)
        return finish(render(image, params), params, seed)
    raise TypeError(f"apply_plan takes a Photo or a (B, 3, H, W) tensor, not {type(image).__name__}")
