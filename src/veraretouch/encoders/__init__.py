"""Encoders into the renderer's control-latent space."""
from .slider import SliderEncoder, SliderEncoderConfig, group_features

__all__ = ["SliderEncoder", "SliderEncoderConfig", "group_features"]
