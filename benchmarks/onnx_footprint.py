"""ONNX export footprint: parameters, file sizes (fp32 / fp16) and CPU latency of every exported graph.

Run: ``.venv/bin/python benchmarks/onnx_footprint.py [--models DIR] [--runs 15]``. Exports the
shipped weights (or a run folder) with fp16 copies and 33^3 / 65^3 bakers to a temporary folder,
then times each graph at batch 1 in ONNX Runtime (CPU, one intra-op thread and ORT's default) and
the same module in eager PyTorch (one thread and torch's default), the four interleaved, median of
``--runs`` rounds after two warm-up rounds. The per-pixel renderer runs on a 512 x 512 image
(262,144 pixels). Also times the on-device path of ``veraretouch auto`` on a 512 px photo, one
thread: image_features (PyTorch; not exported) -> planner -> slider encoder -> 65^3 bake -> the
photo through the LUT. Writes benchmarks/results/onnx_footprint.json and prints Markdown.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from veraretouch.export.graphs import GRAPHS
from veraretouch.export.onnx import export_onnx
from veraretouch.lut import apply_lut
from veraretouch.onnx_support import ort_session
from veraretouch.planner.features import image_features
from veraretouch.weights import MODEL_NAMES, load_models

ROOT = Path(__file__).resolve().parents[1]
SIDE = 512
LUT_SIZES = (33, 65)


def interleaved_medians(functions: dict, runs: int) -> dict[str, float]:
    """Median milliseconds of each function over ``runs`` rounds that call every function once in
    turn (after two warm-up rounds), so a busy spell on the shared machine hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for round_ in range(runs + 2):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            if round_ >= 2:
                times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(values) for name, values in times.items()}


def batch_one_inputs(entry: dict) -> list[np.ndarray]:
    """Batch-1 inputs of the manifest's shapes: random sRGB colours / latents, mode 0, a 512 x 512 image's pixels."""
    rng = np.random.default_rng(0)
    sizes = {"batch": 1, "pixels": SIDE * SIDE}
    arrays = []
    for io in entry["inputs"]:
        shape = [sizes.get(dim, dim) for dim in io["shape"]]
        arrays.append(np.zeros(shape, np.int64) if io["dtype"] == "int64" else rng.random(shape, dtype=np.float32))
    return arrays


def time_graph(entry: dict, folder: Path, module: torch.nn.Module, runs: int, default_threads: int) -> dict:
    """ONNX Runtime and eager PyTorch, each on one thread and on its default threads, interleaved."""
    arrays = batch_one_inputs(entry)
    feeds = {io["name"]: array for io, array in zip(entry["inputs"], arrays)}
    tensors = [torch.from_numpy(array) for array in arrays]
    sessions = {
        label: ort_session(folder / entry["file"], threads) for label, threads in (("1t", 1), ("default", None))
    }

    def in_torch(threads: int):
        def call():
            torch.set_num_threads(threads)
            with torch.inference_mode():
                module(*tensors)
        return call

    functions = {
        **{
            f"ort_{label}_ms": (lambda session=session: session.run(None, feeds)) for label, session in sessions.items()
        },
        "torch_1t_ms": in_torch(1),
        "torch_default_ms": in_torch(default_threads),
    }
    result = interleaved_medians(functions, runs)
    torch.set_num_threads(1)
    return result


def end_to_end(folder: Path, runs: int) -> dict:
    """`veraretouch auto` the way a device runs it, on a 512 x 512 photo, one thread (ORT and torch):
    the median of each step and of the whole."""
    from skimage import data

    pixels = np.ascontiguousarray(data.astronaut())
    image = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float() / 255
    planner, encoder, baker = (ort_session(folder / name, 1) for name in
                               ("compact_planner.onnx", "slider_encoder.onnx", "lut_baker_65.onnx"))
    text, mode, mask = np.zeros((1, 384), np.float32), np.zeros(1, np.int64), np.ones((1, 3), np.float32)
    features = image_features(image).numpy()
    _, params = planner.run(None, {"features": features, "text_embeddings": text, "mode_ids": mode})
    latents, = encoder.run(None, {"params": params})
    lut, = baker.run(None, {"latents": latents, "group_mask": mask})
    steps = {
        "features (PyTorch)": lambda: image_features(image),
        "planner": lambda: planner.run(None, {"features": features, "text_embeddings": text, "mode_ids": mode}),
        "slider_encoder": lambda: encoder.run(None, {"params": params}),
        "bake 65^3": lambda: baker.run(None, {"latents": latents, "group_mask": mask}),
        "apply LUT": lambda: apply_lut(pixels, lut[0]),
    }

    def whole():
        for function in steps.values():
            function()

    with torch.inference_mode():
        medians = interleaved_medians({"total": whole, **steps}, runs)
    return {"side": SIDE, "total_ms": medians.pop("total"), "steps_ms": medians}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=None, help="run folder (default: the shipped weights)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per measurement (median)")
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    models = dict(zip(MODEL_NAMES, load_models(args.models, *MODEL_NAMES)))
    modules = {graph.name: graph.module for name, model in models.items() for graph in GRAPHS[name](model, LUT_SIZES)}
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "onnx"
        manifest = export_onnx(folder, models=args.models, fp16=True, lut_sizes=LUT_SIZES)
        halves = {entry["name"]: entry["bytes"] for entry in manifest["files"] if entry["precision"] == "fp16"}
        for entry in manifest["files"]:
            if entry["precision"] != "fp32":
                continue
            runs = max(5, args.runs // 2) if entry["name"] in ("renderer_pixels", "lut_baker_65") else args.runs
            print(f"timing {entry['name']} ({runs} runs)", flush=True)
            rows.append({"name": entry["name"], "parameters": entry["parameters"], "bytes_fp32": entry["bytes"],
                         "bytes_fp16": halves.get(entry["name"]), "runs": runs,
                         **time_graph(entry, folder, modules[entry["name"]], runs, default_threads)})
        pipeline = end_to_end(folder, args.runs)
    results = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "ort_default_threads": "ORT default (physical cores)", "torch_default_threads": default_threads},
        "versions": {"onnxruntime": onnxruntime.__version__, "torch": torch.__version__},
        "weights": "shipped" if args.models is None else str(args.models),
        "rows": rows, "auto_512": pipeline,
        "total_parameters": sum(p.numel() for model in models.values() for p in model.parameters()),
    }
    out = ROOT / "benchmarks" / "results" / "onnx_footprint.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))


def markdown(results: dict) -> str:
    lines = ["| graph | parameters | fp32 file | fp16 file | ORT 1 thread | ORT default | PyTorch 1 thread | "
             "PyTorch default | PyTorch / ORT (1 thread) |", "|---|---|---|---|---|---|---|---|---|"]
    for row in results["rows"]:
        half = "—" if row["bytes_fp16"] is None else f"{row['bytes_fp16'] / 1e6:.2f} MB"
        lines.append(f"| {row['name']} | {row['parameters']:,} | {row['bytes_fp32'] / 1e6:.2f} MB | {half} | "
                     f"{row['ort_1t_ms']:.2f} ms | {row['ort_default_ms']:.2f} ms | {row['torch_1t_ms']:.2f} ms | "
                     f"{row['torch_default_ms']:.2f} ms | {row['torch_1t_ms'] / row['ort_1t_ms']:.1f}x |")
    auto = results["auto_512"]
    steps = ", ".join(f"{name} {value:.1f}" for name, value in auto["steps_ms"].items())
    lines.append(
        f"\n`auto` on a {auto['side']} px photo through the ONNX files, one thread: {auto['total_ms']:.0f} ms "
        f"median (median ms per step: {steps}); {results['total_parameters']:,} parameters in all four models."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
