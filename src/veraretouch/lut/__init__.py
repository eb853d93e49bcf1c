"""3D LUTs: bake a pointwise colour function on an N^3 lattice, apply it fast at full resolution.

`bake_lut` / `apply_lut` are the numpy path for photos (compiled, multi-threaded);
`bake_lut_tensor` / `apply_lut_tensor` are the differentiable torch path for training.
A LUT is a float32 ``(N, N, N, 3)`` array indexed ``lut[r, g, b]`` with values in ``[0, 1]``.
"""
import importlib

_EXPORTS = {
    **dict.fromkeys(("METHODS", "apply_lut"), "kernel"),
    **dict.fromkeys(("apply_lut_tensor", "bake_lut", "bake_lut_tensor", "identity_lut", "lattice_rgb",
                     "lattice_to_lut"), "bake"),
}
"""Imported on first use: the kernel needs only numba and numpy, the torch path (bake) needs torch."""

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
