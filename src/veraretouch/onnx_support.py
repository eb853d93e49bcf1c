"""The one ONNX home, shared by the renderer's runtime baker (`renderer.onnx`) and the model export
(`export/`): the opset, the export call (`export_graph`), ONNX Runtime sessions (`ort_session`),
the parity check against PyTorch (`differences`), translations of the ATen operators PyTorch's
TorchScript exporter lacks (`register_symbolics`), fp16 weight storage (`half_weights`) and file
digests."""
from __future__ import annotations

import hashlib
import math
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .errors import VeraRetouchError

OPSET = 17
FP16_MIN_ELEMENTS = 1024
"""Float tensors at least this large are stored as fp16 in the fp16 files (the weight matrices and
baked lattices, nearly all the bytes); smaller ones (biases, norms, scalars) stay fp32."""


@lru_cache(maxsize=1)
def register_symbolics() -> None:
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


def require_onnx():
    try:
        import onnx
    except ImportError:
        raise VeraRetouchError("ONNX export needs the onnx package: pip install 'veraretouch[export]'") from None
    return onnx


def export_graph(module: torch.nn.Module, example: tuple, path: str | Path, input_names: list[str],
                 output_names: list[str], dynamic_axes: dict) -> Path:
    """``module`` traced on ``example`` and written to ``path`` as ONNX at `OPSET` (TorchScript exporter)."""
    with warnings.catch_warnings():  # tracer warnings, and the exporter announcing its own deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example, str(path), input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, dynamo=False)
    return Path(path)


def ort_session(model: str | Path | bytes, threads: int | None = None, spinning: bool = True):
    """An ONNX Runtime CPU session of a file or model bytes; ``threads`` fixes the intra-op threads
    (default: ORT's); ``spinning=False`` lets idle pool threads sleep instead of spinning."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model if isinstance(model, bytes) else str(model), options,
                                        providers=["CPUExecutionProvider"])


def differences(session, feeds: dict[str, np.ndarray], expected: tuple[np.ndarray, ...]) -> list[dict]:
    """ONNX Runtime against PyTorch's ``expected`` outputs on ``feeds``: per output, the largest absolute
    difference and the largest difference relative to ``max(1, |value|)``."""
    results = []
    for got, want in zip(session.run(None, feeds), expected):
        error = np.abs(got.astype(np.float64) - want)
        results.append({"max_abs_diff": float(error.max()),
                        "max_diff": float((error / np.maximum(1.0, np.abs(want))).max())})
    return results


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
        initializer.CopyFrom(
            numpy_helper.from_array(numpy_helper.to_array(initializer).astype(np.float16), f"{name}.fp16")
        )
        casts.append(
            onnx.helper.make_node("Cast", [f"{name}.fp16"], [name], name=f"{name}.to_fp32", to=onnx.TensorProto.FLOAT)
        )
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

