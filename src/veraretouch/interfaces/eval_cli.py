"""`veraretouch eval`: score our retouching and the baselines against expert targets, e.g. MIT-Adobe FiveK.

Torch and the models are imported inside the functions so ``veraretouch --help`` answers at once.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import VeraRetouchError
from ..io.fileformats import IMAGE_SUFFIXES

if TYPE_CHECKING:
    import torch

DEFAULT_SIDE = 512
"""Long side the pairs are scored at: FiveK papers score at about 480-512 px (the "480p" protocols)."""
FRAMING_TOLERANCE = 0.02
"""Input and target aspect ratios may differ by this fraction (rounding in exports), no more."""
MIN_SCORED_SIDE = 11
"""SSIM's Gaussian window is 11 pixels wide: smaller images cannot be scored."""
LISTED_NAMES = 10

EVAL_EPILOG = """\
examples:
  veraretouch eval --inputs fivek/input --targets fivek/expertC --mode auto
  veraretouch eval --inputs fivek/input --targets fivek/expertC --mode auto --limit 50 -o eval-fivek-c
  veraretouch eval --inputs shoot/raw --targets shoot/graded --mode style --prompt "warm film look"
  veraretouch eval --inputs in/ --targets out/ --mode auto --baselines auto_levels --side 256

pairs: an input and a target are paired when their file names match without the suffix, so the
MIT-Adobe FiveK layout input/a0001.tif + expertC/a0001.tif works as it is (.jpg, .png, .tif in
any case; a0001.TIF pairs with a0001.jpg). Files without a partner are listed in a warning.
Each pair is read with its EXIF orientation applied and scored at a long side of at most --side
pixels (default 512, as FiveK "480p" protocols; smaller pairs are scored as they are). The
target must have the input's framing (same aspect ratio); it is resized to the input's size.

methods: ours (the planner and renderer, as `veraretouch auto` / `style` with --planner,
--checkpoint, --models) and the baselines: identity (leave the photo as it is), auto_levels
(per-channel levels: each channel's 0.5th..99.5th percentile stretched to 0..1, as Photoshop
Auto Levels), grey_world_auto_levels (grey-world white balance in linear light, then
auto_levels).

metrics, each the mean over the pairs, against the target:
  PSNR (dB)              higher is better; 10 log10(1 / MSE), identical images capped at 100
  SSIM                   higher is better; structural similarity, 1 = identical
  ΔE2000                 lower is better; mean CIEDE2000 colour difference, ~2.3 is just noticeable
  histogram similarity   higher is better; cosine of per-channel colour histograms, 1 = same colours

OUT (default eval-<mode>) gets results.md (the table), results.json (the table, every pair's
scores and the settings), index.html (before / each method / target thumbnails with scores) and
thumbs/. Nothing is overwritten without --overwrite. Exit status: 0 done, 1 some pairs could not
be scored (listed), 2 bad usage or no pairs.
"""


def add_eval_command(commands) -> argparse.ArgumentParser:
    """Register ``eval`` on the ``add_subparsers()`` object of the ``veraretouch`` parser."""
    from .cli import _comma_choices, _positive_int

    parser = commands.add_parser(
        "eval", help="score retouching against expert targets (e.g. FiveK), with baselines",
        description="Retouch every input, score it against the target of the same name with PSNR, SSIM, "
                    "ΔE2000 and histogram similarity, next to simple baselines, and write a report.",
        epilog=EVAL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--inputs", required=True, type=Path, metavar="DIR", help="folder of photos to retouch")
    parser.add_argument("--targets", required=True, type=Path, metavar="DIR",
                        help="folder of expert edits, same file names (e.g. FiveK expertC)")
    parser.add_argument("--mode", required=True, choices=("auto", "style"),
                        help="auto: fix the photo; style: follow --prompt")
    parser.add_argument("--prompt", metavar="TEXT", help="the instruction for --mode style")
    parser.add_argument("-o", "--output", type=Path, metavar="OUTDIR", help="report folder (default eval-<mode>)")
    parser.add_argument("--side", type=_positive_int, default=DEFAULT_SIDE, metavar="N",
                        help=f"score at a long side of at most N pixels (default {DEFAULT_SIDE}, "
                             "as FiveK 480p protocols)")
    parser.add_argument("--limit", type=_positive_int, metavar="N", help="only the first N pairs (by name)")
    parser.add_argument("--planner", choices=("compact", "vlm"), default="compact",
                        help="planner for ours: compact (shipped, default) or vlm (the paper's; needs --checkpoint)")
    parser.add_argument("--checkpoint", type=Path, metavar="DIR", help="a local VLM planner folder (--planner vlm)")
    parser.add_argument("--models", type=Path, metavar="DIR",
                        help="a training run folder holding compact_planner/ (default: the shipped planner)")
    parser.add_argument("--baselines", type=_comma_choices("baseline", _baseline_names, allow_empty=True),
                        default=None, metavar="LIST",
                        help="comma separated, from identity, auto_levels, grey_world_auto_levels (default all; "
                             "'' for none)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing report")
    parser.set_defaults(run=run_eval)
    return parser


def _baseline_names() -> tuple[str, ...]:
    from ..evaluation.baselines import BASELINES

    return tuple(BASELINES)


def _images_by_stem(folder: Path) -> dict[str, Path]:
    """{stem: file} for the JPEG, PNG and TIFF files directly in ``folder``; a stem twice is an error."""
    if not folder.is_dir():
        raise VeraRetouchError(f"{folder}: not a folder")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in found:
                raise VeraRetouchError(f"{found[path.stem]} and {path} have the same name; keep one of them")
            found[path.stem] = path
    if not found:
        raise VeraRetouchError(f"{folder}: folder holds no JPEG, PNG or TIFF files")
    return found


def match_pairs(inputs: Path, targets: Path) -> tuple[list[tuple[str, Path, Path]], dict[str, list[str]]]:
    """Inputs and targets paired by file stem, sorted by stem: ``[(stem, input, target)]``, and the
    stems without a partner, ``{"inputs": [...], "targets": [...]}``. No pair at all is an error."""
    input_files, target_files = _images_by_stem(inputs), _images_by_stem(targets)
    pairs = [(stem, input_files[stem], target_files[stem]) for stem in sorted(input_files.keys() & target_files.keys())]
    unmatched = {"inputs": sorted(input_files.keys() - target_files.keys()),
                 "targets": sorted(target_files.keys() - input_files.keys())}
    if not pairs:
        raise VeraRetouchError(
            f"no file in {inputs} has a partner in {targets}: pairs are matched by file name without the suffix "
            f"(e.g. input/a0001.tif with expertC/a0001.jpg); {inputs} has {_listing(sorted(input_files))}, "
            f"{targets} has {_listing(sorted(target_files))}")
    return pairs, unmatched


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED_NAMES])
    return shown + (f" and {len(names) - LISTED_NAMES} more" if len(names) > LISTED_NAMES else "")


def load_pair(input_path: Path, target_path: Path, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(1, 3, h, w)`` input and target, upright, the input at a long side of at most ``side`` (antialiased
    bilinear) and the target resized to the same size; a target of other framing is an error."""
    import torch.nn.functional as F

    from ..io.images import read_image

    before, target = read_image(input_path).to_tensor(), read_image(target_path).to_tensor()
    (height, width), (target_height, target_width) = before.shape[-2:], target.shape[-2:]
    if abs((width / height) / (target_width / target_height) - 1) > FRAMING_TOLERANCE:
        raise VeraRetouchError(f"{target_path} ({target_width}x{target_height}) is not framed like {input_path} "
                               f"({width}x{height}): a target must be the same photo, same crop")
    scale = min(1.0, side / max(height, width))
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    if min(size) < MIN_SCORED_SIDE:
        raise VeraRetouchError(f"{input_path}: {size[1]}x{size[0]} pixels at a long side of {side} is too small to "
                               f"score (SSIM needs {MIN_SCORED_SIDE} pixels a side)")

    def resized(image: torch.Tensor) -> torch.Tensor:
        if tuple(image.shape[-2:]) == size:
            return image
        return F.interpolate(image, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0.0, 1.0)

    return resized(before), resized(target)


def _apply(name: str, method: Callable, before: torch.Tensor) -> torch.Tensor:
    """``method(before)`` without gradients, clipped to [0, 1]; a wrong shape is an error naming the method."""
    import torch

    with torch.no_grad():
        result = method(before)
    if not isinstance(result, torch.Tensor) or result.shape != before.shape:
        shape = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
        raise VeraRetouchError(f"method {name} returned {shape} for an input of shape {tuple(before.shape)}")
    return result.float().clamp(0.0, 1.0)


def evaluate_folder(pairs: list[tuple[str, Path, Path]], methods: dict[str, Callable], side: int, out_dir: Path,
                    progress: bool = True, overwrite: bool = False) -> dict:
    """Run every method on every pair, score it against the target and write thumbnails to ``out_dir/thumbs``.

    ``methods`` map a name to ``fn((1, 3, H, W) sRGB) -> (1, 3, H, W)``. A pair that cannot be read or
    scored (`VeraRetouchError`) is recorded under ``failed`` and the rest carry on. Returns the result
    dict `veraretouch.evaluation.report` describes (without the caller's settings).
    """
    from tqdm import tqdm

    from ..evaluation.report import score, summarize, write_thumbnails

    images, failed = [], []
    bar = tqdm(pairs, desc="veraretouch eval", unit="pair", file=sys.stderr, disable=None if progress else True,
               dynamic_ncols=True)
    for stem, input_path, target_path in bar:
        try:
            before, target = load_pair(input_path, target_path, side)
            outputs = {name: _apply(name, method, before) for name, method in methods.items()}
            scores = {name: {key: round(value, 6) for key, value in score(output, target).items()}
                      for name, output in outputs.items()}
            thumbs = write_thumbnails({"before": before, **outputs, "target": target}, out_dir, stem, overwrite)
        except VeraRetouchError as error:
            failed.append({"stem": stem, "error": str(error)})
            bar.write(f"error: {error}", file=sys.stderr)
            continue
        images.append({"stem": stem, "input": str(input_path), "target": str(target_path),
                       "width": before.shape[-1], "height": before.shape[-2], "scores": scores, "thumbs": thumbs})
    return {"side": side, "methods": list(methods), "summary": summarize(images, list(methods)),
            "images": images, "failed": failed}


def _ours(args: argparse.Namespace) -> Callable:
    """Our retouching as ``fn((1, 3, H, W)) -> (1, 3, H, W)``: the seam tests replace."""
    from ..planner import retouch_function

    prompt = args.prompt.strip() if args.prompt else None
    return retouch_function(args.mode, prompt, planner=args.planner, checkpoint=args.checkpoint,
                            models=args.models)


def _check_report_free(out_dir: Path, overwrite: bool) -> None:
    """Refuse to start when a report (or its thumbnails) is already there, unless ``overwrite``."""
    from ..evaluation.report import REPORT_FILES, THUMBS_DIR

    if overwrite:
        return
    thumbs = out_dir / THUMBS_DIR
    taken = [out_dir / name for name in REPORT_FILES if (out_dir / name).exists()]
    taken += [thumbs] if thumbs.is_dir() and any(thumbs.iterdir()) else []
    if taken:
        raise VeraRetouchError(f"{taken[0]}: already exists (use --overwrite to replace the report, "
                               "or -o another folder)")


def run_eval(args: argparse.Namespace) -> int:
    from ..evaluation.baselines import BASELINES
    from ..evaluation.report import markdown_report, write_report

    if args.mode == "style" and not (args.prompt or "").strip():
        raise VeraRetouchError("--mode style needs --prompt TEXT, the look to aim for")
    if args.mode == "auto" and args.prompt is not None:
        raise VeraRetouchError("--mode auto takes no --prompt; use --mode style to give an instruction")
    if args.checkpoint is not None and args.planner != "vlm":
        raise VeraRetouchError("--checkpoint is for --planner vlm")
    out_dir: Path = args.output or Path(f"eval-{args.mode}")
    _check_report_free(out_dir, args.overwrite)
    pairs, unmatched = match_pairs(args.inputs, args.targets)
    for folder, names in unmatched.items():
        if names:
            print(f"warning: {len(names)} {folder} without a partner, not scored: {_listing(names)}", file=sys.stderr)
    pairs = pairs[:args.limit]
    baselines = list(BASELINES) if args.baselines is None else args.baselines
    methods = {"ours": _ours(args), **{name: BASELINES[name] for name in baselines}}
    results = evaluate_folder(pairs, methods, args.side, out_dir, overwrite=args.overwrite)
    if not results["images"]:
        raise VeraRetouchError(f"none of the {len(pairs)} pairs could be scored (errors above)")
    results = {"format": "veraretouch.eval", "version": 1, "mode": args.mode, "prompt": args.prompt,
               "planner": args.planner, "checkpoint": args.checkpoint, "models": args.models,
               "inputs": str(args.inputs), "targets": str(args.targets), "unmatched": unmatched, **results}
    written = write_report(results, out_dir, overwrite=args.overwrite)
    print(markdown_report(results))
    print(f"report: {', '.join(str(path) for path in written)}", file=sys.stderr)
    return 1 if results["failed"] else 0
