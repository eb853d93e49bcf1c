"""Exports of the models for other runtimes: ONNX for mobile and edge (`export_onnx`)."""
from .onnx import LUT_SIZES, MANIFEST, TOLERANCE, export_onnx

__all__ = ["LUT_SIZES", "MANIFEST", "TOLERANCE", "export_onnx"]
