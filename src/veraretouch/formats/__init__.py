"""LUT files: Adobe / Resolve ``.cube`` 3D LUTs, the form a baked edit leaves the package in.

Plan files (our JSON, the VeraRetouch param file, Lightroom XMP) are the plan's own:
`veraretouch.plan.files` (`Plan.from_file`, `Plan.save`).
"""
from __future__ import annotations

from .cube import read_cube, write_cube

__all__ = ["read_cube", "write_cube"]

MOVED_TO_PLAN_FILES = frozenset({"read_plan", "write_plan", "plan_from_bytes", "MAX_PLAN_BYTES"})
"""Names this package exported before plan files moved under `veraretouch.plan` (issue 16)."""


def __getattr__(name: str):
    """Old imports of plan-file functions fail with the new home in the message, not a bare "cannot import"."""
    if name in MOVED_TO_PLAN_FILES:
        raise ImportError(f"veraretouch.formats.{name} moved: use `from veraretouch.plan.files import {name}` "
                          f"(or Plan.from_file / Plan.save)")
    raise AttributeError(f"module 'veraretouch.formats' has no attribute {name!r}")
