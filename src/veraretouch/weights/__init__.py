"""The weights that ship inside the package (this folder: safetensors + config per model, see
docs/model-card-renderer.md), and `load_models`, which loads them (or a training run's) by name."""
from __future__ import annotations

from pathlib import Path

from ..pretrained import model_folder

MODEL_NAMES = ("renderer", "slider_encoder", "reference_encoder", "compact_planner")


def load_models(folder: str | Path | None, *names: str) -> list:
    """Models by name from ``folder`` (e.g. a training run holding ``renderer/`` ...) or, where
    ``folder`` is None, the shipped weights. The renderer and its encoders must come from one run:
    latents mean nothing to another renderer."""
    from ..encoders import ReferenceEncoder, SliderEncoder
    from ..planner.compact import CompactPlanner
    from ..renderer import RetouchRenderer

    classes = {"renderer": RetouchRenderer, "slider_encoder": SliderEncoder, "reference_encoder": ReferenceEncoder,
               "compact_planner": CompactPlanner}
    unknown = [name for name in names if name not in classes]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; choose from {', '.join(MODEL_NAMES)}")
    return [classes[name].from_pretrained(model_folder(folder, name)) for name in names]


def load_renderer():
    return load_models(None, "renderer")[0]


def load_slider_encoder():
    return load_models(None, "slider_encoder")[0]


def load_reference_encoder():
    return load_models(None, "reference_encoder")[0]
