"""``veraretouch auto`` and ``veraretouch style``: the planner's modes on the shared photo driver."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .arguments import add_output_options, aspect_list

AUTO_EPILOG = """\
examples:
  veraretouch auto photo.jpg -o out/ --explain
  veraretouch auto shoot/ -o out/ --export cube,xmp
  veraretouch auto photo.jpg -o out/ --aspects lighting,global_color
  veraretouch auto photo.jpg -o out/ --planner vlm --checkpoint my-vlm-planner/

the planner looks at a small copy of each photo, finds what is off in lighting, global colour
and specific colours, plans slider moves to fix it and renders them at full resolution through
the Retouch Renderer (a baked 3D LUT). --explain prints the problems and the plan per aspect;
every claim in them is checked against measurements of the photo and the plan that was
rendered. The .xmp export is that plan itself (open it in Lightroom / Camera Raw to continue by
hand); the .cube is the rendered edit.

outputs, for each PHOTO: OUT/<stem>.<ext> (format, EXIF and ICC kept), OUT/<stem>.plan.json
(the plan, the explanation, the latents, timings) and the --export files. Nothing is
overwritten without --overwrite. Exit status: 0 all done, 1 some photos failed, 2 bad usage.
"""

STYLE_EPILOG = """\
examples:
  veraretouch style photo.jpg --prompt "cool it down a touch" -o out/ --explain
  veraretouch style photo.jpg --prompt "warmer and brighter, with less saturated greens" -o out/
  veraretouch style shoot/ --prompt "Kodak Portra 400, a bit brighter" -o out/ --export xmp
  veraretouch style photo.jpg --prompt "black and white, high contrast" -o out/

the prompt is a request in English: plain edits ("brighter", "too warm", "not so contrasty",
"lift the shadows", "more saturated greens", "bluer sky", "warm highlights and teal shadows")
with strength words ("a touch", "slightly", "much", "extremely"), and / or a named look from
the 451 looks of the shipped library ("Kodak Portra", "matte fade", "moody PNW", "teal and
orange"). What it was read as is printed first (and kept in <stem>.plan.json under
"understood"). Requests outside tone and colour (remove objects, replace the sky, sharpen,
blur, crop, ...) are refused with exit status 2 and no output; in a mixed request only
the supported part is done and the rest is named. Outputs as for auto.
"""


def add_planner_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--explain", action="store_true", help="print the problems found and the plan, per aspect")
    parser.add_argument("--aspects", type=aspect_list, default=None, metavar="LIST",
                        help="keep only these aspects: lighting, global_color, specific_color (default all)")
    parser.add_argument("--planner", choices=("compact", "vlm"), default="compact",
                        help="compact (shipped, default) or vlm (the paper's VLM planner; needs --checkpoint)")
    parser.add_argument("--checkpoint", type=Path, metavar="DIR", help="a local VLM planner folder (--planner vlm)")
    parser.add_argument("--models", type=Path, metavar="DIR",
                        help="a training run folder holding compact_planner/ (default: the shipped planner)")


def add_planner_commands(commands) -> None:
    """Register ``auto`` and ``style`` on the ``add_subparsers()`` object of the ``veraretouch`` parser."""
    auto = commands.add_parser(
        "auto", help="find what is wrong with photos and fix it, with an explanation",
        description="Retouch photos automatically: problems found per aspect, a plan, the fix at full resolution.",
        epilog=AUTO_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_options(auto)
    add_planner_options(auto)
    auto.set_defaults(run=run_auto)
    style = commands.add_parser(
        "style", help="retouch photos towards a look described in words",
        description="Retouch photos in the style a prompt describes, with an explanation.",
        epilog=STYLE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_options(style)
    style.add_argument("--prompt", required=True, metavar="TEXT", help='the look you want, e.g. "warm and moody"')
    add_planner_options(style)
    style.set_defaults(run=run_style)


def run_auto(args: argparse.Namespace) -> int:
    return _run_planned(args, "auto", None)


def run_style(args: argparse.Namespace) -> int:
    from ..errors import VeraRetouchError

    if not args.prompt.strip():
        raise VeraRetouchError("--prompt is empty; describe the look you want")
    return _run_planned(args, "style", args.prompt.strip())


def _run_planned(args: argparse.Namespace, mode: str, prompt: str | None) -> int:
    from ..api import Retoucher
    from ..errors import VeraRetouchError
    from .photos import check_output_options, retouch_photos

    check_output_options(args)
    if prompt is not None:  # a request with nothing to do in tone and colour is refused before any work
        from ..reasoning.requests import check_in_scope

        check_in_scope(prompt)
    if args.checkpoint is not None and args.planner != "vlm":
        raise VeraRetouchError("--checkpoint is for --planner vlm")
    retoucher = Retoucher(args.models, args.planner, args.checkpoint, args.lut_size)
    retoucher.pipeline  # load the models (and report a bad checkpoint) before the batch starts
    if mode == "style" and args.planner == "compact":  # an unsupported or unreadable request stops here: no output
        understood = retoucher.pipeline.understand(prompt)
        print(understood.summary(), file=sys.stderr if not args.explain else sys.stdout, flush=True)
    elif args.planner == "compact" and args.models is None:
        print(f"note: the shipped compact planner is experimental: on held-out photos its {mode} edits do not yet beat "
              "leaving the photo as it is (docs/benchmarks.md); check the result, or train one on your photos "
              "(veraretouch train planner)", file=sys.stderr)

    def edit_for(photo):
        result = (retoucher.auto(photo, args.aspects) if mode == "auto"
                  else retoucher.style(photo, prompt, args.aspects))
        if args.explain:
            print(f"\n{photo.path or 'photo'}:\n{result.explanation.pretty()}", flush=True)
        return result.edit

    return retouch_photos(args, mode, edit_for)
