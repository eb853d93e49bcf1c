"""Encoders into the renderer's control-latent space."""
from .reference import ReferenceEncoder, ReferenceEncoderConfig
from .slider import SliderEncoder, SliderEncoderConfig, group_features

__all__ = ["ReferenceEncoder", "ReferenceEncoderConfig", "SliderEncoder", "SliderEncoderConfig", "group_features"]
