"""The weights that ship inside the package (safetensors + config, see docs/model-card-renderer.md)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import VeraRetouchError

WEIGHTS = resources.files("veraretouch") / "weights"
MODEL_NAMES = ("renderer", "slider_encoder", "reference_encoder", "compact_planner")


def shipped(name: str) -> Path:
    """Folder of a shipped model (one of `MODEL_NAMES`), with a clear error if missing."""
    folder = Path(str(WEIGHTS / name))
    if not (folder / "model.safetensors").is_file():
        raise VeraRetouchError(f"shipped weights {name!r} are missing from {folder}; reinstall veraretouch")
    return folder


def load_models(folder: str | Path | None, *names: str) -> list:
    """Models by name from ``folder`` (e.g. a training run holding ``renderer/`` ...) or, where
    ``folder`` is None, the shipped weights. The renderer and its encoders must come from one run:
    latents mean nothing to another renderer."""
    from .encoders import ReferenceEncoder, SliderEncoder
    from .planner.compact import CompactPlanner
    from .renderer import RetouchRenderer

    classes = {"renderer": RetouchRenderer, "slider_encoder": SliderEncoder, "reference_encoder": ReferenceEncoder,
               "compact_planner": CompactPlanner}
    unknown = [name for name in names if name not in classes]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; choose from {', '.join(MODEL_NAMES)}")
    return [classes[name].from_pretrained(Path(folder) / name if folder is not None else shipped(name)) for name in names]


def load_renderer():
    return load_models(None, "renderer")[0]


def load_slider_encoder():
    return load_models(None, "slider_encoder")[0]


def load_reference_encoder():
    return load_models(None, "reference_encoder")[0]
