"""`veraretouch eval`: score our retouching and the baselines against expert targets, e.g. MIT-Adobe FiveK.

Torch and the models are imported inside the functions so ``veraretouch --help`` answers at once.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from ..errors import VeraRetouchError
from .arguments import comma_choices, positive_int

DEFAULT_SIDE = 512
"""Long side the pairs are scored at: FiveK papers score at about 480-512 px (the "480p" protocols)."""
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
    parser.add_argument("--side", type=positive_int, default=DEFAULT_SIDE, metavar="N",
                        help=f"score at a long side of at most N pixels (default {DEFAULT_SIDE}, "
                             "as FiveK 480p protocols)")
    parser.add_argument("--limit", type=positive_int, metavar="N", help="only the first N pairs (by name)")
    parser.add_argument("--planner", choices=("compact", "vlm"), default="compact",
                        help="planner for ours: compact (shipped, default) or vlm (the paper's; needs --checkpoint)")
    parser.add_argument("--checkpoint", type=Path, metavar="DIR", help="a local VLM planner folder (--planner vlm)")
    parser.add_argument("--models", type=Path, metavar="DIR",
                        help="a training run folder holding compact_planner/ (default: the shipped planner)")
    parser.add_argument("--baselines", type=comma_choices("baseline", _baseline_names, allow_empty=True),
                        default=None, metavar="LIST",
                        help="comma separated, from identity, auto_levels, grey_world_auto_levels (default all; "
                             "'' for none)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing report")
    parser.set_defaults(run=run_eval)
    return parser


def _baseline_names() -> tuple[str, ...]:
    from ..evaluation.baselines import BASELINES

    return tuple(BASELINES)


def _ours(args: argparse.Namespace) -> Callable:
    """Our retouching as ``fn((1, 3, H, W)) -> (1, 3, H, W)``: the seam tests replace."""
    from ..planner import retouch_function

    prompt = args.prompt.strip() if args.prompt else None
    return retouch_function(args.mode, prompt, planner=args.planner, checkpoint=args.checkpoint,
                            models=args.models)


def run_eval(args: argparse.Namespace) -> int:
    from ..evaluation.baselines import BASELINES
    from ..evaluation.folder import check_report_free, evaluate_folder, listing, match_pairs
    from ..evaluation.report import markdown_report, write_report

    if args.mode == "style" and not (args.prompt or "").strip():
        raise VeraRetouchError("--mode style needs --prompt TEXT, the look to aim for")
    if args.mode == "auto" and args.prompt is not None:
        raise VeraRetouchError("--mode auto takes no --prompt; use --mode style to give an instruction")
    if args.checkpoint is not None and args.planner != "vlm":
        raise VeraRetouchError("--checkpoint is for --planner vlm")
    out_dir: Path = args.output or Path(f"eval-{args.mode}")
    check_report_free(out_dir, args.overwrite)
    pairs, unmatched = match_pairs(args.inputs, args.targets)
    for folder, names in unmatched.items():
        if names:
            print(f"warning: {len(names)} {folder} without a partner, not scored: {listing(names)}", file=sys.stderr)
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
