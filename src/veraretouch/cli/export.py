"""`veraretouch export onnx`: the models as ONNX files with a manifest, for phones and edge devices.

Torch and ONNX are imported inside the command so ``veraretouch --help`` answers at once.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .arguments import comma_choices

EXPORT_ONNX_EPILOG = """\
examples:
  veraretouch export onnx --out onnx/
  veraretouch export onnx --out onnx/ --fp16 --lut-size 33
  veraretouch export onnx --out onnx/ --models runs/reference --only renderer,slider_encoder

files in DIR (every one is checked against PyTorch by ONNX Runtime before it is kept):
  renderer_pixels.onnx          the renderer per pixel: (B, N, 3) sRGB colours + latents -> edited colours
  lut_baker_<N>.onnx            latents -> the edit as an (N, N, N, 3) LUT, lut[r, g, b]: bake once,
                                then map the full-resolution photo through it (GPU 3D texture, .cube)
  slider_encoder.onnx           a plan's parameters (B, P) -> latents
  reference_encoder_pair.onnx   before/after example thumbnails (B, 3, 32, 32) -> latents
  reference_encoder_target.onnx photo and target-look thumbnails -> latents
  compact_planner.onnx          image features + instruction embedding + mode -> a plan (params)
  *.fp16.onnx                   with --fp16: the same with half-precision weights (half the size)
  manifest.json                 every file's inputs, outputs, shapes, value ranges, parameters,
                                sha256 and measured difference from PyTorch

colours are sRGB floats in [0, 1]. Run a plan on a photo with onnxruntime:
  import numpy as np, onnxruntime as ort
  from veraretouch import Plan
  params = Plan.from_file("look.xmp").to_tensor()[None].numpy()
  latents, = ort.InferenceSession("DIR/slider_encoder.onnx").run(None, {"params": params})
  lut, = ort.InferenceSession("DIR/lut_baker_33.onnx").run(None, {"latents": latents, "group_mask": np.ones((1, 3), np.float32)})
then veraretouch.lut.apply_lut(pixels, lut[0]), or veraretouch.formats.cube.write_cube(lut[0], "look.cube").

Nothing is overwritten without --overwrite (which replaces the files an export writes and keeps
the rest). docs/export.md has the details. Exit status: 0 done, 2 bad usage or a failed check.
"""  # noqa: E501 -- the example line is printed as it is


def _lut_sizes(text: str) -> list[int]:
    try:
        sizes = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 33 or 33,65, got {text!r}") from None
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one LUT size")
    return sizes


def _model_names() -> tuple[str, ...]:
    from ..weights import MODEL_NAMES

    return MODEL_NAMES


def add_export_commands(commands) -> argparse.ArgumentParser:
    """Register ``export onnx`` on the ``add_subparsers()`` object of the ``veraretouch`` parser."""
    export = commands.add_parser("export", help="export the models for other runtimes (ONNX for phones and edge)")
    formats = export.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    onnx = formats.add_parser(
        "onnx", help="the renderer (per pixel and as a LUT baker), the encoders and the planner as ONNX",
        description="Export the renderer (per pixel and as LUT bakers), the slider and reference encoders and the "
                    "compact planner as ONNX (opset 17, dynamic batch), each checked against PyTorch, with a manifest.",
        epilog=EXPORT_ONNX_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    onnx.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the files (created if needed)")
    onnx.add_argument(
        "--models", type=Path, metavar="RUN_DIR", help="a training run folder instead of the shipped weights"
    )
    onnx.add_argument("--fp16", action="store_true", help="also write half-precision-weight copies (*.fp16.onnx)")
    onnx.add_argument("--lut-size", type=_lut_sizes, default=[33, 65], metavar="N[,N]",
                      help="LUT baker sizes, comma separated (default 33,65)")
    onnx.add_argument("--only", type=comma_choices("model", _model_names), default=None, metavar="LIST",
                      help="export only these: renderer, slider_encoder, reference_encoder, compact_planner")
    onnx.add_argument("--overwrite", action="store_true", help="export into a folder that is not empty")
    onnx.set_defaults(run=run_export_onnx)
    return onnx


def run_export_onnx(args: argparse.Namespace) -> int:
    from ..export.onnx import export_onnx
    from ..weights import MODEL_NAMES

    manifest = export_onnx(args.out, models=args.models, fp16=args.fp16, lut_sizes=args.lut_size,
                           overwrite=args.overwrite, names=args.only or MODEL_NAMES)
    for entry in manifest["files"]:
        worst = max(item["max_abs_diff"] for item in entry["check"]["outputs"].values())
        print(f"{args.out / entry['file']}  {entry['bytes'] / 1e6:.2f} MB  {entry['parameters']:,} parameters  "
              f"max |ONNX - PyTorch| {worst:.1e}")
    print(f"{args.out / 'manifest.json'}: {len(manifest['files'])} files, opset {manifest['opset']}")
    return 0
