"""Encoders into the renderer's control-latent space."""
from .reference import ReferenceEncoder, ReferenceEncoderConfig
from .slider import SliderEncoder, SliderEncoderConfig, aspect_features

__all__ = ["ReferenceEncoder", "ReferenceEncoderConfig", "SliderEncoder", "SliderEncoderConfig", "aspect_features"]
