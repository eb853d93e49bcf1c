"""`veraretouch param`: apply a plan (preset, plan file or slider values) to photos."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .arguments import add_output_options, assignment
from .photos import check_output_options, load_plan, retouch_photos

PARAM_EPILOG = """\
examples:
  veraretouch param photo.jpg --params preset.xmp -o out/
  veraretouch param shoot/ --params look.json -o out/ --export cube,xmp
  veraretouch param "raw/*.tif" --set Exposure2012=0.5 --set Vibrance=20 -o out/ --format jpeg

outputs, for each PHOTO:
  OUT/<stem>.<ext>        the retouched photo (same format as the input unless --format),
                          EXIF and ICC profile kept, never overwriting anything without --overwrite
  OUT/<stem>.plan.json    mode, the plan that was applied, fields the plan file held that are
                          not modelled, timings
  OUT/<stem>.cube         with --export cube: the edit as a 3D LUT (Resolve, ffmpeg, Photoshop)
  OUT/<stem>.xmp          with --export xmp: the edit as a Lightroom / Camera Raw preset

plan files: Lightroom/Camera Raw .xmp presets, our .json plans, or the VeraRetouch param file
({"Exposure2012": {"value": 30}, ...}: Exposure in hundredths of an EV, other sliders in
slider units). Values out of range are refused, not clamped. `veraretouch sliders` lists the
controls with their ranges. Exit status: 0 all done, 1 some photos failed, 2 bad usage.
"""


def add_param_command(commands) -> None:
    """Register ``param`` on the ``add_subparsers()`` object of the ``veraretouch`` parser."""
    param = commands.add_parser(
        "param", help="apply slider values (a preset or plan file) to photos",
        description="Apply a plan (Lightroom preset, plan JSON or slider values) to photos at full resolution.",
        epilog=PARAM_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_output_options(param)
    param.add_argument(
        "--params", type=Path, metavar="FILE", help="plan file: .xmp, .json (ours or the VeraRetouch param file)"
    )
    param.add_argument("--set", type=assignment, action="append", default=[], metavar="NAME=VALUE",
                       help="set one control, e.g. Exposure2012=0.5 (repeatable; applied on top of --params)")
    param.set_defaults(run=run_param)


def run_param(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from ..api import PlanEdit, spatial_note
    from ..lut.photo import bake_plan_lut

    plan = load_plan(args)
    check_output_options(args)
    if plan.unmodelled:
        print(f"note: not modelled, ignored: {', '.join(sorted(plan.unmodelled))}", file=sys.stderr)
    if "cube" in args.export and spatial_note(plan):
        print(f"note: the .cube export holds the {spatial_note(plan)}", file=sys.stderr)
    edit = PlanEdit(plan)
    with ThreadPoolExecutor(max_workers=1) as pool:
        if args.ray is None:  # one plan for the batch: bake while the first photos decode
            pool.submit(bake_plan_lut, plan, args.lut_size)
        return retouch_photos(args, "param", lambda photo: edit)
