"""veraretouch: reasoning photo retouching with a differentiable 38-slider toolkit.

The main entry points::

    from veraretouch import Retoucher
    retoucher = Retoucher()                           # shipped models, loaded on first use
    result = retoucher.auto("photo.jpg")              # or .style(photo, "warm and moody"),
    print(result.explanation.pretty())                #    .param(photo, plan), .reference(photo, after)
    result.save("out/photo.jpg")

    from veraretouch import Plan, apply_plan, read_image, write_image
    photo = read_image("photo.jpg")
    plan = Plan.from_file("preset.xmp")
    write_image(apply_plan(photo, plan), "out/photo.jpg")

Names are imported lazily, so ``import veraretouch`` (and the CLI's ``--help``) stays fast.
"""
from __future__ import annotations

import importlib
import os

# OpenMP (torch and numba share it) lets idle threads spin after each parallel region; on a busy
# machine they starved the next LUT bake (slider previews took 0.1-5 s instead of 25 ms,
# docs/web.md). Passive waiting unless the user chose otherwise; it must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .version import __version__ as __version__  # noqa: E402 -- after the OpenMP setting, as every import

_EXPORTS = {
    "Retoucher": "veraretouch.api",
    "Retouched": "veraretouch.api",
    "Edit": "veraretouch.api",
    "sample_photo": "veraretouch.io.sample",
    "Plan": "veraretouch.plan",
    "Photo": "veraretouch.io.images",
    "read_image": "veraretouch.io.images",
    "write_image": "veraretouch.io.images",
    "apply_plan": "veraretouch.lut.photo",
    "bake_plan_lut": "veraretouch.lut.photo",
    "render": "veraretouch.operators",
    "SLIDERS": "veraretouch.plan.parameters",
    "SCALARS": "veraretouch.plan.parameters",
    "default_params": "veraretouch.plan.parameters",
    "VeraRetouchError": "veraretouch.errors",
    "ImageReadError": "veraretouch.errors",
    "ImageWriteError": "veraretouch.errors",
    "PlanError": "veraretouch.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'veraretouch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
