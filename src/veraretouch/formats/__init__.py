"""LUT files: Adobe / Resolve ``.cube`` 3D LUTs, the form a baked edit leaves the package in.

Plan files (our JSON, the VeraRetouch param file, Lightroom XMP) are the plan's own:
`veraretouch.plan.files` (`Plan.from_file`, `Plan.save`).
"""
from __future__ import annotations

from .cube import read_cube, write_cube

__all__ = ["read_cube", "write_cube"]
