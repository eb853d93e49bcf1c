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
(`_register_symbolics`): ``searchsorted`` (hue-wheel interpolation), ``deg2rad``, ``rad2deg`` and
``cummax`` (monotone curves), plus the in-place ``|=`` of the pruning.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..errors import VeraRetouchError
from ..weights import MODEL_NAMES, load_models

OPSET = 17
LUT_SIZES = (33, 65)
MAX_LUT_SIZE = 129
"""A baker stores 2 N^3 colours; past 129 the file passes 100 MB and no edit gains visibly."""
TOLERANCE = 1e-4
"""Largest difference ONNX Runtime may show against PyTorch: absolute for values within +-1,
relative to the value above (the planner's plan holds hue angles up to 360 degrees)."""
FP16_TOLERANCE = 2e-3
"""The same for the fp16 files: half an 8-bit level. Half-precision weights moved the shipped
models' colours, LUTs and latents by at most 5.1e-4."""
FP16_MIN_ELEMENTS = 1024
"""Float tensors at least this large are stored as fp16 in the fp16 files (the weight matrices and
baked lattices, nearly all the bytes); smaller ones (biases, norms, scalars) stay fp32."""
MANIFEST = "manifest.json"
SRGB = [0.0, 1.0]


# ---------------------------------------------------------------- exporter support


@lru_cache(maxsize=1)
def _register_symbolics() -> None:
    """ONNX translations of the ATen operators our graphs use that PyTorch's TorchScript exporter lacks."""
    from torch.onnx import register_custom_op_symbolic
    from torch.onnx import symbolic_helper as helper

    def constant(g, value):
        return g.op("Constant", value_t=torch.tensor(value))

    @helper.parse_args("v", "v", "b", "b", "s", "v")
    def searchsorted(g, sequence, values, out_int32, right, side, sorter):
        """Index into a sorted 1-D sequence = how many knots lie below the value (at or below for right)."""
        if helper._get_tensor_rank(sequence) != 1 or not helper._is_none(sorter):
            raise NotImplementedError("searchsorted exports for a sorted 1-D sequence without sorter only")
        compare = "LessOrEqual" if right or side == "right" else "Less"
        below = g.op(compare, sequence, g.op("Unsqueeze", values, constant(g, [-1])))
        return g.op("ReduceSum", g.op("Cast", below, to_i=6 if out_int32 else 7), constant(g, [-1]), keepdims_i=0)

    @helper.parse_args("v", "i")
    def cummax(g, values, dim):
        """Running maximum along the last axis of static size S: the max over an S x S lower-triangular mask."""
        rank, size = helper._get_tensor_rank(values), helper._get_tensor_dim_size(values, dim)
        if dim not in (-1, rank - 1) or size is None:
            raise NotImplementedError("cummax exports along a last axis of static size only")
        earlier = constant(g, torch.ones(size, size, dtype=torch.bool).tril())
        masked = g.op("Where", earlier, g.op("Unsqueeze", values, constant(g, [-2])), constant(g, -math.inf))
        return (g.op("ReduceMax", masked, axes_i=[-1], keepdims_i=0),
                g.op("ArgMax", masked, axis_i=-1, keepdims_i=0, select_last_index_i=1))

    symbolics = {
        "searchsorted": searchsorted,
        "cummax": cummax,
        "deg2rad": lambda g, x: g.op("Mul", x, constant(g, math.pi / 180)),
        "rad2deg": lambda g, x: g.op("Mul", x, constant(g, 180 / math.pi)),
        "__ior_": lambda g, a, b: g.op("Or", a, b),
    }
    for name, function in symbolics.items():
        register_custom_op_symbolic(f"aten::{name}", function, OPSET)


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise VeraRetouchError("ONNX export needs the onnx package: pip install 'veraretouch[export]'") from None
    return onnx


def ort_session(path: str | Path, threads: int | None = None):
    """An ONNX Runtime CPU session of ``path``; ``threads`` fixes the intra-op threads (default: ORT's)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def half_weights(model, min_elements: int = FP16_MIN_ELEMENTS):
    """A copy of an ONNX model whose float32 initializers of at least ``min_elements`` values are
    stored as float16, each followed by a Cast back to float32: half the file, computed in fp32
    (ONNX Runtime folds the casts when it loads the model)."""
    import onnx
    from onnx import numpy_helper

    half = onnx.ModelProto()
    half.CopyFrom(model)
    casts = []
    for initializer in half.graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT or math.prod(initializer.dims) < min_elements:
            continue
        name = initializer.name
        initializer.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(initializer).astype(np.float16), f"{name}.fp16"))
        casts.append(onnx.helper.make_node("Cast", [f"{name}.fp16"], [name], name=f"{name}.to_fp32", to=onnx.TensorProto.FLOAT))
    nodes = casts + list(half.graph.node)
    del half.graph.node[:]
    half.graph.node.extend(nodes)
    return half


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- graphs


def _io(name: str, shape: list, dtype: str, meaning: str, value_range: list | None = None) -> dict:
    entry = {"name": name, "shape": shape, "dtype": dtype, "meaning": meaning}
    if value_range is not None:
        entry["range"] = value_range
    return entry


@dataclass
class Graph:
    """One ONNX file to write: the module, what its inputs and outputs mean, and inputs to trace and check."""

    name: str
    module: nn.Module
    inputs: list[dict]
    outputs: list[dict]
    example: tuple[torch.Tensor, ...]
    check: tuple[torch.Tensor, ...]
    parameters: int
    description: str
    preprocessing: str | None = None
    extra: dict = dataclasses.field(default_factory=dict)
    no_fp16: str | None = None
    """Why the graph gets no fp16 file, where it gets none."""


def _latents_io(latent_dim: int, name: str = "latents") -> dict:
    return _io(name, ["batch", latent_dim], "float32",
               f"control latents: lighting | global_color | specific_color, {latent_dim // 3} each "
               "(from slider_encoder, reference_encoder_*, or the planner's params through slider_encoder)")


_MASK_IO = _io("group_mask", ["batch", 3], "float32",
               "per latent group (lighting, global_color, specific_color): 1 keeps it, 0 switches it off exactly; "
               "ones for the whole edit", [0.0, 1.0])


class PixelRenderer(nn.Module):
    """``(B, N, 3)`` colours, ``(B, 3d)`` latents, ``(B, 3)`` group mask -> edited ``(B, N, 3)``:
    `RetouchRenderer.render_colors`, ``clamp(x + D(x, z) - D(x, 0), 0, 1)``."""

    def __init__(self, renderer: nn.Module) -> None:
        super().__init__()
        self.renderer = renderer
        self.eval()

    def forward(self, colors: torch.Tensor, latents: torch.Tensor, group_mask: torch.Tensor) -> torch.Tensor:
        return self.renderer.render_colors(colors, latents, group_mask)


class LutBaker(nn.Module):
    """``(B, 3d)`` latents, ``(B, 3)`` group mask -> ``(B, N, N, N, 3)`` LUTs ``lut[., r, g, b]``, as
    `RetouchRenderer.bake_lut`; the lattice and its ``D(x, 0)`` are constants of the graph."""

    def __init__(self, renderer: nn.Module, size: int) -> None:
        super().__init__()
        from ..lut.bake import lattice_rgb

        self.renderer, self.size = renderer, size
        colors = lattice_rgb(size).reshape(3, -1).T.contiguous()
        with torch.no_grad():
            self.register_buffer("colors", colors)
            self.register_buffer("base", renderer.raw(colors[None], None)[0])
        self.eval()

    def forward(self, latents: torch.Tensor, group_mask: torch.Tensor) -> torch.Tensor:
        latents = self.renderer.mask_latents(latents, group_mask)
        edited = self.renderer.raw(self.colors.expand(latents.shape[0], -1, -1), latents)
        lut = (self.colors + edited - self.base).clamp(0.0, 1.0)
        return lut.reshape(-1, self.size, self.size, self.size, 3)


class ReferenceMode(nn.Module):
    """``(B, 3, S, S)`` before and after thumbnails -> ``(B, 3d)`` latents, for one reference mode."""

    def __init__(self, encoder: nn.Module, mode: str) -> None:
        super().__init__()
        self.encoder, self.mode = encoder, mode
        self.eval()

    def forward(self, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        return self.encoder(before, after, self.mode)


class PlannerPlan(nn.Module):
    """Image features, instruction embeddings, mode ids -> the raw plan features and the plan the CLI
    renders: `params_from_features` (projection onto valid plans), then `prune_imperceptible`."""

    def __init__(self, planner: nn.Module) -> None:
        super().__init__()
        self.planner = planner
        self.eval()

    def forward(self, features: torch.Tensor, text_embeddings: torch.Tensor,
                mode_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from ..encoders.slider import params_from_features
        from ..planner.pipeline import prune_imperceptible

        plan_features = self.planner(features, text_embeddings, mode_ids)
        return plan_features, prune_imperceptible(params_from_features(plan_features))


def _count(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def renderer_graphs(renderer: nn.Module, lut_sizes=LUT_SIZES) -> list[Graph]:
    """The per-pixel renderer and one LUT baker per size."""
    latent_dim = renderer.config.latent_dim
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(3, latent_dim, generator=generator) * 0.5
    masks = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    graphs = [Graph(
        "renderer_pixels", PixelRenderer(renderer),
        inputs=[_io("colors", ["batch", "pixels", 3], "float32",
                    "sRGB colours to edit, e.g. a photo's (H, W, 3) pixels reshaped to (1, H*W, 3)", SRGB),
                _latents_io(latent_dim), _MASK_IO],
        outputs=[_io("edited", ["batch", "pixels", 3], "float32", "the edited sRGB colours", SRGB)],
        example=(torch.rand(2, 64, 3, generator=generator), latents[:2], masks[:2]),
        check=(torch.rand(3, 500, 3, generator=generator), latents, masks),
        parameters=_count(renderer),
        description="The Retouch Renderer per pixel: x + D(x, z) - D(x, 0), clamped to [0, 1] "
                    "(RetouchRenderer.render_colors). Exact; costs two MLP passes per pixel.",
    )]
    for size in lut_sizes:
        graphs.append(Graph(
            f"lut_baker_{size}", LutBaker(renderer, size),
            inputs=[_latents_io(latent_dim), _MASK_IO],
            outputs=[_io("lut", ["batch", size, size, size, 3], "float32",
                         f"the edit as a {size}^3 LUT: lut[i, r, g, b] is the edited colour of (r, g, b) / {size - 1} "
                         "(red the slowest index; a .cube file lists red fastest)", SRGB)],
            example=(latents[:1], masks[:1]),
            check=(latents[:2], masks[1:]),
            parameters=_count(renderer),
            description=f"The renderer baked into a {size}^3 3D LUT (RetouchRenderer.bake_lut): one MLP pass over "
                        f"{size ** 3} lattice colours; D(x, 0) on the lattice is stored in the file. Map photos through "
                        "the LUT with trilinear or tetrahedral interpolation (a GPU 3D texture, Core Image's "
                        "CIColorCube, a .cube file).",
        ))
    return graphs


def slider_encoder_graph(encoder: nn.Module) -> Graph:
    """The SliderEncoder on plan parameters, its plan -> feature step included."""
    from ..encoders.slider import FEATURE_SIZES, params_from_features
    from ..parameters import N_PARAMS

    generator = torch.Generator().manual_seed(1)
    features = sum(FEATURE_SIZES.values())
    plans = params_from_features(torch.randn(5, features, generator=generator) * 0.3)
    latent_dim = 3 * encoder.config.group_dim
    return Graph(
        "slider_encoder", encoder.eval(),
        inputs=[_io("params", ["batch", N_PARAMS], "float32",
                    "a plan as a parameter vector (veraretouch.Plan.to_tensor(): 38 sliders and extensions in "
                    "slider units, then 4 point curves x 33 samples in [0, 1]); `veraretouch sliders` lists them")],
        outputs=[_latents_io(latent_dim)],
        example=(plans[:2],), check=(plans,), parameters=_count(encoder),
        description="SliderEncoder: a plan (slider values) -> control latents; identity plan -> exactly zero.",
    )


def reference_encoder_graphs(encoder: nn.Module) -> list[Graph]:
    """The ReferenceEncoder once per mode, on thumbnails."""
    from ..encoders.reference import MODES

    if encoder.config.backbone == "efficientnet_lite0":
        raise VeraRetouchError("the ReferenceEncoder's efficientnet_lite0 backbone resizes with antialiasing, which "
                               f"ONNX opset {OPSET} cannot express; export a soft_lut or pixels encoder")
    side = encoder.config.sample_side
    generator = torch.Generator().manual_seed(2)
    before = torch.rand(3, 3, side, side, generator=generator)
    after = (before * 0.8 + 0.15 * torch.rand(3, 3, 1, 1, generator=generator)).clamp(0, 1)
    latent_dim = 3 * encoder.config.group_dim
    total = _count(encoder)
    meaning = {"pair": ("the example before the edit", "the same example after the edit"),
               "target": ("the photo to edit", "any photo with the wanted look")}
    graphs = []
    for mode in MODES:
        other = sum(_count(encoder.heads[name]) for name in MODES if name != mode)
        graphs.append(Graph(
            f"reference_encoder_{mode}", ReferenceMode(encoder, mode),
            inputs=[_io(name, ["batch", 3, side, side], "float32", f"{text}, area-resized to {side} x {side}", SRGB)
                    for name, text in zip(("before", "after"), meaning[mode])],
            outputs=[_latents_io(latent_dim)],
            example=(before[:2], after[:2]), check=(before, after),
            parameters=total - other,
            description=f"ReferenceEncoder, {mode} mode: "
                        + ("a before/after example -> the latents of its edit; an unchanged pair -> zero."
                           if mode == "pair" else "a target look -> latents bringing the photo towards it (experimental)."),
            preprocessing=f"area-resize each image to {side} x {side}: veraretouch.encoders.reference.thumbnail_pixels "
                          "(PyTorch's adaptive average pooling; cv2.INTER_AREA agrees for whole-number factors)",
        ))
    return graphs


def compact_planner_graph(planner: nn.Module) -> Graph:
    """The compact planner on image features, with projection and pruning of the plan."""
    from ..encoders.slider import FEATURE_SIZES
    from ..parameters import N_PARAMS
    from ..planner.base import MODES
    from ..planner.features import FEATURE_SIDE, image_features

    generator = torch.Generator().manual_seed(3)
    images = torch.rand(3, 3, 48, 64, generator=generator) ** torch.rand(3, 1, 1, 1, generator=generator).mul(2)
    features = image_features(images)
    text = torch.nn.functional.normalize(torch.randn(3, planner.config.text_dim, generator=generator), dim=1)
    text[0] = 0.0
    modes = torch.tensor([0, 1, 2])
    return Graph(
        "compact_planner", PlannerPlan(planner),
        inputs=[_io("features", ["batch", planner.config.image_features], "float32",
                    "colour statistics of the photo: veraretouch.planner.features.image_features(image)"),
                _io("text_embeddings", ["batch", planner.config.text_dim], "float32",
                    "all-MiniLM-L6-v2 sentence embedding of the instruction, unit length; zeros in auto mode "
                    "(the text model is not part of this export)"),
                _io("mode_ids", ["batch"], "int64", f"index into {list(MODES)}", [0, len(MODES) - 1])],
        outputs=[_io("plan_features", ["batch", sum(FEATURE_SIZES.values())], "float32",
                     "the predicted plan in the SliderEncoder's feature space, before projection"),
                 _io("params", ["batch", N_PARAMS], "float32",
                     "the plan as parameters (valid, imperceptible moves dropped): feed to slider_encoder")],
        example=(features[:2], text[:2], modes[:2]), check=(features, text, modes), parameters=_count(planner),
        description="Compact planner: image features + instruction -> a plan (sliders), which slider_encoder turns "
                    "into latents. The CLI also rounds the plan to 2 decimals when it writes it.",
        preprocessing=f"features = veraretouch.planner.features.image_features(photo) on an area-resized copy with a "
                      f"long side of {FEATURE_SIDE} px; image_features uses torch.quantile and a data-dependent "
                      "resize, which ONNX cannot express, so it is not in the graph",
        extra={"feature_groups_read": list(planner.config.feature_groups),
               "feature_columns_read": _read_columns(planner.config.feature_groups)},
        no_fp16="the plan passes thresholds (range clamps, the pruning of imperceptible moves) where half-precision "
                "weights switch a slider on or off (the shipped planner's fp16 plan differed by 0.05 slider units, "
                "2.4e-3 relative); the fp32 file is 0.3 MB",
    )


def _read_columns(groups) -> dict[str, list[int]]:
    """Start and stop column of each feature group the planner reads (the others are multiplied by zero)."""
    from ..planner.features import feature_slices

    slices = feature_slices()
    return {name: [slices[name].start, slices[name].stop] for name in groups}


GRAPHS: dict[str, Callable[[nn.Module, tuple[int, ...]], list[Graph]]] = {
    "renderer": renderer_graphs,
    "slider_encoder": lambda encoder, _: [slider_encoder_graph(encoder)],
    "reference_encoder": lambda encoder, _: reference_encoder_graphs(encoder),
    "compact_planner": lambda planner, _: [compact_planner_graph(planner)],
}
"""Per model name, the graphs it is exported as (given the LUT sizes)."""


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
    """ONNX Runtime against PyTorch on ``graph.check``: per output, the largest absolute difference and
    the largest difference relative to ``max(1, |value|)`` (what `TOLERANCE` bounds)."""
    feeds = {io["name"]: tensor.numpy() for io, tensor in zip(graph.inputs, graph.check)}
    results = []
    for got, want in zip(session.run(None, feeds), expected):
        error = np.abs(got.astype(np.float64) - want)
        results.append({"max_abs_diff": float(error.max()),
                        "max_diff": float((error / np.maximum(1.0, np.abs(want))).max())})
    return results


def _write_graph(graph: Graph, folder: Path, fp16: bool) -> list[dict]:
    """Export ``graph`` to ``folder/<name>.onnx`` (and ``.fp16.onnx``), check it, return manifest entries."""
    import onnx

    from .. import __version__

    path = folder / f"{graph.name}.onnx"
    with warnings.catch_warnings():  # tracer and exporter warnings: the check below is what counts
        warnings.simplefilter("ignore")
        torch.onnx.export(graph.module, graph.example, str(path), input_names=[io["name"] for io in graph.inputs],
                          output_names=[io["name"] for io in graph.outputs], dynamic_axes=_dynamic_axes(graph),
                          opset_version=OPSET, dynamo=False)
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
    onnx = _require_onnx()
    import onnxruntime

    from .. import __version__

    out_dir = Path(out_dir)
    _check_free(out_dir, overwrite)
    unknown = [name for name in names if name not in GRAPHS]
    if unknown:
        raise VeraRetouchError(f"unknown model {unknown[0]!r}; choose from {', '.join(GRAPHS)}")
    sizes = _check_lut_sizes(lut_sizes)
    loaded = dict(zip(names, load_models(models, *names)))
    _register_symbolics()
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
