"""Scoring a folder of photos against expert targets (e.g. MIT-Adobe FiveK): pairs matched by file
name, each method run on each input and scored against its target (`report.score`), thumbnails
written. `veraretouch eval` is the command line over it.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import VeraRetouchError
from ..io.fileformats import IMAGE_SUFFIXES

if TYPE_CHECKING:
    import torch

FRAMING_TOLERANCE = 0.02
"""Input and target aspect ratios may differ by this fraction (rounding in exports), no more."""
MIN_SCORED_SIDE = 11
"""SSIM's Gaussian window is 11 pixels wide: smaller images cannot be scored."""
LISTED_NAMES = 10


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
            f"(e.g. input/a0001.tif with expertC/a0001.jpg); {inputs} has {listing(sorted(input_files))}, "
            f"{targets} has {listing(sorted(target_files))}")
    return pairs, unmatched


def listing(names: list[str]) -> str:
    """The first `LISTED_NAMES` names, comma separated, and how many more there are."""
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


def apply_method(name: str, method: Callable, before: torch.Tensor) -> torch.Tensor:
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
            outputs = {name: apply_method(name, method, before) for name, method in methods.items()}
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


def check_report_free(out_dir: Path, overwrite: bool) -> None:
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
