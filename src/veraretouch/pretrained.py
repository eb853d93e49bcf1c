"""`save_pretrained` / `from_pretrained` for our models: a folder with ``config.json`` and
``model.safetensors``, as Hugging Face does, so weights load offline with no pickle; and where
a model's folder is (`model_folder`: in a training run, or shipped in ``veraretouch/weights/``)."""
from __future__ import annotations

import dataclasses
import json
import warnings
from importlib import resources
from pathlib import Path
from typing import ClassVar, TypeVar

from safetensors.torch import load_file, save_file

from .errors import VeraRetouchError
from .version import __version__

T = TypeVar("T", bound="PretrainedMixin")

WEIGHTS = resources.files("veraretouch") / "weights"

RENAMED_CONFIG_KEYS = {"group_dim": "aspect_dim"}
"""Config keys saved by earlier versions -> today's name (issue 16: one word, "aspect", for the
renderer's three latent parts); a folder saved before the rename loads unchanged."""


def shipped(name: str) -> Path:
    """Folder of a shipped model (e.g. ``"renderer"``), with a clear error if missing."""
    folder = Path(str(WEIGHTS / name))
    if not (folder / "model.safetensors").is_file():
        raise VeraRetouchError(f"shipped weights {name!r} are missing from {folder}; reinstall veraretouch")
    return folder


def model_folder(run: str | Path | None, name: str) -> Path:
    """The folder of model ``name`` in the training run ``run``, or the shipped one where ``run`` is None."""
    return Path(run) / name if run is not None else shipped(name)


class PretrainedMixin:
    """Mix into an ``nn.Module`` whose ``__init__`` takes one dataclass ``config``."""

    config_class: ClassVar[type]
    config: object
    renamed_weights: ClassVar[dict[str, str]] = {}
    """Weight-name prefixes saved by earlier versions -> today's, as `RENAMED_CONFIG_KEYS` for configs."""

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write ``config.json`` (the model's name, the package version, the config) and the weights."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {"model": type(self).__name__, "veraretouch_version": __version__, **dataclasses.asdict(self.config)}
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        state = {name: tensor.detach().contiguous().cpu() for name, tensor in self.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        return folder

    @classmethod
    def from_pretrained(cls: type[T], folder: str | Path) -> T:
        """Load a saved model; config keys this version does not know are ignored with a warning
        (a newer or older veraretouch saved them: the model may not behave as it did there)."""
        folder = Path(folder)
        try:
            config = json.loads((folder / "config.json").read_text())
            state = load_file(str(folder / "model.safetensors"))
        except (OSError, ValueError) as error:
            raise VeraRetouchError(f"{folder}: not a saved {cls.__name__} ({error})") from None
        if config.pop("model", cls.__name__) != cls.__name__:
            raise VeraRetouchError(f"{folder}: holds a different model than {cls.__name__}")
        saved_by = config.pop("veraretouch_version", "an unknown version")
        config = {RENAMED_CONFIG_KEYS.get(key, key): value for key, value in config.items()}
        state = current_weight_names(cls, state)
        fields = {field.name for field in dataclasses.fields(cls.config_class)}
        unknown = sorted(set(config) - fields)
        if unknown:
            warnings.warn(f"{folder}: {cls.__name__} config keys {', '.join(unknown)} (saved by veraretouch "
                          f"{saved_by}) are unknown to veraretouch {__version__} and ignored", stacklevel=2)
        model = cls(cls.config_class(**{key: value for key, value in config.items() if key in fields}))
        model.load_state_dict(state)
        return model.eval()



def current_weight_names(model: object, state: dict) -> dict:
    """``state`` with names saved by earlier versions renamed by the model's `renamed_weights`
    (a model or class that has none keeps its names): for `from_pretrained` and training checkpoints."""
    prefixes = getattr(model, "renamed_weights", {})

    def renamed(name: str) -> str:
        for old, new in prefixes.items():
            if name.startswith(old):
                return new + name[len(old):]
        return name

    return {renamed(name): tensor for name, tensor in state.items()}
