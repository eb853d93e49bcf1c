"""The package version, at the bottom of the layers so any module (ONNX metadata, saved configs) can name it."""
__version__ = "0.1.0"
