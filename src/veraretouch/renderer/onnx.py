"""The renderer's colour function ``D(x, z)`` as ONNX, run by ONNX Runtime for fast LUT bakes.

Baking a 65^3 LUT is one MLP pass over 274,625 colours. PyTorch's eager CPU kernels run it
about 2.3x slower than ONNX Runtime's fused graph (docs/benchmarks.md), and the bake is most
of a full-resolution render, so `save_pretrained` writes ``edit.onnx`` beside the weights (when
the ``onnx`` exporter is installed) and `from_pretrained` attaches it (when ``onnxruntime`` is).
Without either, bakes fall back to PyTorch with identical results (to ~1e-6).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..onnx_support import export_graph, ort_session

ONNX_FILE = "edit.onnx"


class _EditGraph(nn.Module):
    """``(N, 3)`` colours, ``(1, 3d)`` latents -> ``(N, 3)`` raw ``D(x, z)``: what a bake evaluates."""

    def __init__(self, renderer: nn.Module) -> None:
        super().__init__()
        self.renderer = renderer

    def forward(self, colors: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        return self.renderer.raw(colors[None], latents)[0]


def export_edit_onnx(renderer: nn.Module, path: str | Path) -> Path | None:
    """Write ``D(x, z)`` as ONNX to ``path``; None (nothing written) when the exporter is missing."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        return None
    colors = torch.rand(64, 3)
    latents = torch.rand(1, renderer.config.latent_dim)
    return export_graph(_EditGraph(renderer).eval(), (colors, latents), path, ["colors", "latents"], ["raw"],
                        {"colors": {0: "count"}, "raw": {0: "count"}})


class OnnxEdit:
    """An ONNX Runtime session of ``D(x, z)``; `raw` takes and returns float32 numpy arrays.

    It pickles as the model's bytes (a session cannot be pickled), so a renderer can travel to Ray
    workers (`cli/ray_batch.py`), which open their own session."""

    def __init__(self, path: str | Path) -> None:
        self._open(Path(path).read_bytes())

    def _open(self, model: bytes) -> None:
        # Idle pool threads sleep instead of spinning: on the loaded 2-core machine spinning cost a
        # quarter more CPU per 65^3 bake (0.41-0.56 s against 0.31-0.46 s), with the same output.
        self.model = model
        self.session = ort_session(model, spinning=False)

    def __getstate__(self) -> dict:
        return {"model": self.model}

    def __setstate__(self, state: dict) -> None:
        self._open(state["model"])

    def raw(self, colors: np.ndarray, latents: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"colors": np.ascontiguousarray(colors, dtype=np.float32),
                                       "latents": np.ascontiguousarray(latents, dtype=np.float32)})[0]

    @classmethod
    def load(cls, folder: str | Path) -> "OnnxEdit | None":
        """The session for ``folder/edit.onnx``, or None when the file or onnxruntime is missing."""
        path = Path(folder) / ONNX_FILE
        if not path.is_file():
            return None
        try:
            return cls(path)
        except ImportError:
            return None
