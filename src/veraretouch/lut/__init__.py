"""3D LUTs: bake a pointwise colour function on an N^3 lattice, apply it fast at full resolution.

`bake_lut` / `apply_lut` are the numpy path for photos (compiled, multi-threaded);
`bake_lut_tensor` / `apply_lut_tensor` are the differentiable torch path for training.
A LUT is a float32 ``(N, N, N, 3)`` array indexed ``lut[r, g, b]`` with values in ``[0, 1]``.
"""
from .bake import apply_lut_tensor, bake_lut, bake_lut_tensor, identity_lut, lattice_rgb, lattice_to_lut
from .kernel import METHODS, apply_lut

__all__ = [
    "METHODS", "apply_lut", "apply_lut_tensor", "bake_lut", "bake_lut_tensor",
    "identity_lut", "lattice_rgb", "lattice_to_lut",
]
