"""veraretouch: reasoning photo retouching with a differentiable 38-slider toolkit.

The main entry points::

    from veraretouch import Plan, read_image, write_image, apply_plan
    image = read_image("photo.jpg")
    plan = Plan.from_file("preset.xmp")
    write_image(apply_plan(image, plan), "out/photo.jpg")
"""
from .errors import ImageReadError, ImageWriteError, PlanError, VeraRetouchError
from .parameters import SLIDERS, SCALARS, default_params
from .plan import Plan

__version__ = "0.1.0"

__all__ = [
    "Plan", "SLIDERS", "SCALARS", "default_params",
    "VeraRetouchError", "ImageReadError", "ImageWriteError", "PlanError",
]
