"""The models as ONNX files for phones and edge devices, with a manifest (`export_onnx`).

Every graph is exported with the TorchScript exporter (``dynamo=False``: a few seconds for all of
them, where the dynamo exporter took 10 s for one encoder) at opset `OPSET`, with dynamic batch
(and pixel) axes, then run once by ONNX Runtime on fresh inputs of another batch size and compared
with PyTorch: an export that differs by more than `TOLERANCE` is refused, and the measured
difference goes into the manifest.

What is exported, and why in that shape:

- the renderer twice: ``renderer_pixels`` edits ``(B, N, 3)`` colours (a photo's pixels, any N)
  exactly as `RetouchRenderer.render_colors`; ``lut_baker_<N>`` turns latents into the edit's
  ``(N, N, N, 3)`` LUT exactly as `RetouchRenderer.bake_lut`, with ``D(x, 0)`` on the lattice
  stored as a constant (it does not depend on the edit), so a bake is one MLP pass over N^3
  colours and the photo is then mapped through the LUT by the device's own 3D-LUT code;
- the SliderEncoder on plan parameters ``(B, P)``: its plan -> feature step
  (`encoders.slider.flat_features`) is in the graph;
- the ReferenceEncoder once per mode on ``sample_side``-square thumbnails: its area resize has a
  size that depends on the input, which the exporter cannot express, so the caller area-resizes
  (`encoders.reference.thumbnail_pixels`); the EfficientNet backbone's antialiased resize has no
  opset-17 equivalent and is refused;
- the compact planner on image features, not on the photo: `planner.features.image_features` uses
  ``torch.quantile`` (no ONNX translation in either exporter) and an area resize of data-dependent
  size, so the features are computed by that documented function (only the groups the planner
  reads matter; the manifest names them). The graph includes the projection onto a valid plan and
  the pruning of imperceptible moves, so its ``params`` are the plan the CLI renders.

Four ATen operators have no opset-17 translation in PyTorch's exporter and get one here
(`support.register_symbolics`): ``searchsorted`` (hue-wheel interpolation), ``deg2rad``, ``rad2deg`` and
``cummax`` (monotone curves), plus the in-place ``|=`` of the pruning.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from ..errors import VeraRetouchError
from ..onnx_support import (
    FP16_MIN_ELEMENTS,
    OPSET,
    differences,
    export_graph,
    half_weights,
    ort_session,
    register_symbolics,
    require_onnx,
    sha256,
)
from ..weights import MODEL_NAMES, load_models
from .graphs import GRAPHS, LUT_SIZES, Graph

MAX_LUT_SIZE = 129
"""A baker stores 2 N^3 colours; past 129 the file passes 100 MB and no edit gains visibly."""
TOLERANCE = 1e-4
"""Largest difference ONNX Runtime may show against PyTorch: absolute for values within +-1,
relative to the value above (the planner's plan holds hue angles up to 360 degrees)."""
FP16_TOLERANCE = 2e-3
"""The same for the fp16 files: half an 8-bit level. Half-precision weights moved the shipped
models' colours, LUTs and latents by at most 5.1e-4."""
MANIFEST = "manifest.json"


# ---------------------------------------------------------------- writing and checking


def _dynamic_axes(graph: Graph) -> dict[str, dict[int, str]]:
    return {io["name"]: {axis: dim for axis, dim in enumerate(io["shape"]) if isinstance(dim, str)}
            for io in graph.inputs + graph.outputs}


def _expected(graph: Graph) -> tuple[np.ndarray, ...]:
    """PyTorch's outputs on ``graph.check``."""
    with torch.no_grad():
        outputs = graph.module(*graph.check)
    return tuple(output.numpy() for output in (outputs if isinstance(outputs, tuple) else (outputs,)))


def _differences(session, graph: Graph, expected: tuple[np.ndarray, ...]) -> list[dict]:
    """ONNX Runtime against PyTorch on ``graph.check`` (what `TOLERANCE` bounds: see `differences`)."""
    return differences(session, {io["name"]: tensor.numpy() for io, tensor in zip(graph.inputs, graph.check)},
                       expected)


def _write_graph(graph: Graph, folder: Path, fp16: bool) -> list[dict]:
    """Export ``graph`` to ``folder/<name>.onnx`` (and ``.fp16.onnx``), check it, return manifest entries."""
    import onnx

    from ..version import __version__

    path = folder / f"{graph.name}.onnx"
    export_graph(graph.module, graph.example, path, [io["name"] for io in graph.inputs],
                 [io["name"] for io in graph.outputs], _dynamic_axes(graph))  # the check below is what counts
    model = onnx.load(str(path))
    model.doc_string = graph.description
    onnx.helper.set_model_props(model, {"veraretouch_version": __version__, "graph": graph.name})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    variants = [(path, "fp32", TOLERANCE)]
    if fp16 and graph.no_fp16 is None:
        half_path = folder / f"{graph.name}.fp16.onnx"
        onnx.save(half_weights(model), str(half_path))
        variants.append((half_path, "fp16", FP16_TOLERANCE))
    expected = _expected(graph)
    entries = []
    for file, precision, tolerance in variants:
        differences = _differences(ort_session(file), graph, expected)
        worst = max(item["max_diff"] for item in differences)
        if worst > tolerance:
            raise VeraRetouchError(f"{graph.name} ({precision}): ONNX Runtime differs from PyTorch by {worst:.2e}, "
                                   f"more than {tolerance:g}; the export is refused")
        entry = {
            "name": graph.name, "file": file.name, "precision": precision,
            "description": graph.description, "parameters": graph.parameters,
            "bytes": file.stat().st_size, "sha256": sha256(file),
            "inputs": graph.inputs, "outputs": graph.outputs,
            "check": {"batch": int(graph.check[0].shape[0]), "tolerance": tolerance,
                      "outputs": dict(zip((io["name"] for io in graph.outputs), differences))},
        }
        if precision == "fp16":
            entry["storage"] = (f"float tensors of {FP16_MIN_ELEMENTS}+ values stored as fp16 and cast to fp32 "
                                "on load; computed in fp32")
        if graph.preprocessing:
            entry["preprocessing"] = graph.preprocessing
        if fp16 and graph.no_fp16 is not None:
            entry["no_fp16"] = graph.no_fp16
        entries.append({**entry, **graph.extra})
    return entries


def _check_free(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise VeraRetouchError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise VeraRetouchError(f"{out_dir}: already exists and is not empty (use --overwrite to replace the files "
                               "an export writes; nothing else there is touched)")


def _check_lut_sizes(lut_sizes) -> tuple[int, ...]:
    sizes = tuple(dict.fromkeys(int(size) for size in lut_sizes))
    bad = [size for size in sizes if not 2 <= size <= MAX_LUT_SIZE]
    if bad:
        raise VeraRetouchError(f"LUT size {bad[0]} is out of range: sizes run from 2 to {MAX_LUT_SIZE}")
    return sizes


def export_onnx(out_dir: str | Path, models: str | Path | None = None, fp16: bool = False,
                lut_sizes=LUT_SIZES, overwrite: bool = False, names=MODEL_NAMES) -> dict:
    """Export ``names`` (default all four models) from ``models`` (a training run folder; None: the
    shipped weights) to ONNX files in ``out_dir`` with ``manifest.json``; returns the manifest.

    Files are written to a temporary sibling folder and moved into ``out_dir`` only once every graph
    has passed its check, so a failed export leaves ``out_dir`` as it was. A non-empty ``out_dir``
    is refused unless ``overwrite`` (then files of the same name are replaced, others kept).
    """
    onnx = require_onnx()
    import onnxruntime

    from ..version import __version__

    out_dir = Path(out_dir)
    _check_free(out_dir, overwrite)
    unknown = [name for name in names if name not in GRAPHS]
    if unknown:
        raise VeraRetouchError(f"unknown model {unknown[0]!r}; choose from {', '.join(GRAPHS)}")
    sizes = _check_lut_sizes(lut_sizes)
    loaded = dict(zip(names, load_models(models, *names)))
    register_symbolics()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        files = []
        for name, model in loaded.items():
            for graph in GRAPHS[name](model, sizes):
                files.extend(_write_graph(graph, staging, fp16))
        manifest = {
            "format": "veraretouch-onnx", "format_version": 1, "veraretouch_version": __version__,
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "weights": "shipped" if models is None else str(models),
            "opset": OPSET, "exporter": f"torch {torch.__version__} TorchScript exporter (dynamo=False)",
            "onnx_version": onnx.__version__, "checked_with": f"onnxruntime {onnxruntime.__version__} CPU",
            "conventions": {
                "colors": "sRGB (gamma-encoded, not linear), float32 in [0, 1], RGB order; 8-bit values / 255",
                "images": "(batch, 3, height, width), channels first",
                "latents": "renderer control latents; they only mean something to the renderer exported with them",
                "tolerance": f"ONNX Runtime vs PyTorch, absolute for values within +-1 and relative above: "
                             f"fp32 {TOLERANCE:g}, fp16 {FP16_TOLERANCE:g}",
            },
            "pipeline": [
                "auto / style: compact_planner(image_features(photo), text embedding, mode) -> params",
                "param: a plan's params; reference: reference_encoder_pair or _target(thumbnails) -> latents",
                "slider_encoder(params) -> latents",
                "lut_baker_<N>(latents, group_mask) -> LUT; apply it to the full-resolution photo "
                "(or renderer_pixels(pixels, latents, group_mask) for the exact per-pixel render)",
            ],
            "files": files,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        out_dir.mkdir(exist_ok=True)
        for entry in files:
            os.replace(staging / entry["file"], out_dir / entry["file"])
        os.replace(staging / MANIFEST, out_dir / MANIFEST)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest
