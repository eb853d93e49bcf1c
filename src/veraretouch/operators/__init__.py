"""Differentiable parametric operators: the 38 sliders and the pointwise extensions."""
from .pipeline import RetouchOperators, render, render_chunked

__all__ = ["RetouchOperators", "render", "render_chunked"]
