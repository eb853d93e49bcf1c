"""The weights that ship inside the package (safetensors + config, see docs/model-card-renderer.md)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import VeraRetouchError

WEIGHTS = resources.files("veraretouch") / "weights"


def shipped(name: str) -> Path:
    """Folder of a shipped model (``renderer``, ``slider_encoder``), with a clear error if missing."""
    folder = Path(str(WEIGHTS / name))
    if not (folder / "model.safetensors").is_file():
        raise VeraRetouchError(f"shipped weights {name!r} are missing from {folder}; reinstall veraretouch")
    return folder


def load_renderer():
    from .renderer import RetouchRenderer

    return RetouchRenderer.from_pretrained(shipped("renderer"))


def load_slider_encoder():
    from .encoders import SliderEncoder

    return SliderEncoder.from_pretrained(shipped("slider_encoder"))
