"""`veraretouch reference`: retouch photos like an example (a before/after pair or a target look)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .arguments import add_output_options, aspect_list
from .photos import check_output_options, retouch_photos

REFERENCE_EPILOG = """\
examples:
  veraretouch reference shoot/ --before raw.jpg --after graded.jpg -o out/
  veraretouch reference photo.jpg --after look.jpg -o out/ --export cube,xmp
  veraretouch reference shoot/ --before a.jpg --after b.jpg -o out/ --aspects lighting

two ways to show the edit:
  --before B --after A   A is B after the edit (same photo and framing; sizes may differ): the
                         change from B to A is applied to every PHOTO, the same for all of them
  --after A only         A is any photo with the wanted look: each PHOTO is brought towards it
                         (experimental: on held-out photos it does not yet beat no edit)

A pair's latents are refined on the example's pixels by gradient descent through the renderer
(a few seconds; --no-refine skips it). --aspects keeps only some of the edit: lighting,
global_color, specific_color (the renderer's three latents; the others are switched off
exactly).

outputs are those of `veraretouch param` (image, <stem>.plan.json, --export cube,xmp). The .xmp
is a Lightroom preset fitted to the edit by gradient descent (its PSNR against the edit is in the
.plan.json as preset_fit_psnr_db); the .cube is the edit itself. Exit status as for param.
"""


def add_reference_command(commands) -> None:
    """Register ``reference`` on the ``add_subparsers()`` object of the ``veraretouch`` parser."""
    reference = commands.add_parser(
        "reference", help="apply the edit shown by an example (before/after pair or a target look)",
        description="Retouch photos like an example: the change from --before to --after, or towards the look "
                    "of --after alone. The example is encoded into the renderer's control latents.",
        epilog=REFERENCE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_output_options(reference)
    reference.add_argument(
        "--after", required=True, type=Path, metavar="A", help="the example after the edit, or a target look"
    )
    reference.add_argument("--before", type=Path, metavar="B", help="the example before the edit (same photo as A)")
    reference.add_argument("--aspects", type=aspect_list, default=None, metavar="LIST",
                           help="keep only these aspects: lighting, global_color, specific_color (default all)")
    reference.add_argument("--no-refine", dest="refine", action="store_false",
                           help="pair mode: use the encoder's latents as they are (faster, less faithful)")
    reference.add_argument(
        "--models", type=Path, metavar="DIR", help="a training run folder instead of the shipped weights"
    )
    reference.set_defaults(run=run_reference)


def run_reference(args: argparse.Namespace) -> int:
    from ..api import Retoucher
    from ..io.images import read_image

    check_output_options(args)
    retoucher = Retoucher(args.models, lut_size=args.lut_size)
    after = read_image(args.after)
    retoucher.reference_models  # load the models (and report a bad --models) before the batch starts
    if args.before is not None:
        edit = retoucher.reference_edit(after, read_image(args.before), aspects=args.aspects, refine=args.refine)
        return retouch_photos(args, "reference", lambda photo: edit)

    print("note: with no --before, the look is estimated from the after image alone; on the held-out benchmark "
          "this is not yet better than no edit (docs/benchmarks.md): give --before where you can", file=sys.stderr)
    return retouch_photos(args, "reference", lambda photo: retoucher.reference_edit(after, None, photo, args.aspects))
