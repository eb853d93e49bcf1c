"""The Retouch Renderer: a per-pixel MLP steered by three decoupled control latents."""
from .model import RendererConfig, RetouchRenderer

__all__ = ["RendererConfig", "RetouchRenderer"]
