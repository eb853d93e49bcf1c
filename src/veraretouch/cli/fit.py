"""`veraretouch fit`: the sliders that turn a before photo into its after, saved as a preset."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import PlanError, VeraRetouchError
from .arguments import positive_int

LOW_FIT_PSNR = 30.0
"""`fit` warns below this PSNR: the fitted preset visibly differs from the after photo."""

FIT_EPILOG = """\
examples:
  veraretouch fit --before raw.jpg --after edited.jpg -o look.xmp
  veraretouch fit --before scan.tif --after graded.tif -o look.json --extensions --steps 400

BEFORE and AFTER must be the same photo before and after a global colour edit: same size and
framing (EXIF orientation is applied to both). The edit is fitted as slider values by gradient
descent through the differentiable operators; --extensions also fits colour grading and the
four point curves (closer for film looks and curve-heavy presets). The output suffix picks the
format: .xmp (Lightroom / Camera Raw preset) or .json (our plan).

prints the PSNR of the before photo rendered with the fitted preset against the after photo
(above 40 dB the two look the same; below 30 dB, where it warns, the edit is probably more than
a global colour edit: local adjustments, retouching, crops, grain) and the controls it set.
Exit status: 0 done, 2 bad usage or unreadable input.
"""


def add_fit_command(commands) -> None:
    """Register ``fit`` on the ``add_subparsers()`` object of the ``veraretouch`` parser."""
    fit = commands.add_parser(
        "fit", help="fit sliders to a before/after pair and save them as a preset",
        description="Fit the sliders (and optionally grading and curves) that turn BEFORE into AFTER, "
                    "and save them as a Lightroom preset or plan file.",
        epilog=FIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("--before", required=True, type=Path, metavar="BEFORE", help="the photo before the edit")
    fit.add_argument("--after", required=True, type=Path, metavar="AFTER", help="the same photo after the edit")
    fit.add_argument(
        "-o", "--output", required=True, type=Path, metavar="PRESET", help="preset to write: .xmp or .json"
    )
    fit.add_argument("--extensions", action="store_true", help="also fit colour grading and point curves")
    fit.add_argument("--spatial", action="store_true",
                     help="also fit the post-crop vignette (amount, midpoint) and clarity on the whole images")
    fit.add_argument("--steps", type=positive_int, default=None, metavar="N",
                     help="render evaluations the optimiser may use (default 200; more for hard edits)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    fit.set_defaults(run=run_fit)


def run_fit(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..errors import ImageWriteError
    from ..fitting import DEFAULT_STEPS, fit_plan
    from ..io.images import read_image
    from ..plan.files import write_plan
    from ..plan.xmp import format_value

    output: Path = args.output
    if output.suffix.lower() not in (".xmp", ".json"):
        raise PlanError(f"{output}: unknown plan format {output.suffix or '(no suffix)'!r}; use .json or .xmp")
    if output.exists() and not args.overwrite:
        raise ImageWriteError(f"{output}: already exists (use --overwrite to replace it)")
    before, after = read_image(args.before), read_image(args.after)
    if before.size != after.size:
        (bw, bh), (aw, ah) = before.size, after.size
        raise VeraRetouchError(f"{args.before} is {bw}x{bh} but {args.after} is {aw}x{ah}: the pair must be the same "
                               "photo before and after an edit, at the same size")
    steps = args.steps or DEFAULT_STEPS
    with tqdm(total=steps, desc="veraretouch fit", unit="step", file=sys.stderr, disable=None,
              dynamic_ncols=True) as bar:
        def progress(step: int, loss: float) -> None:
            bar.update(1)
            if step % 10 == 0 or step == steps:
                bar.set_postfix(loss=f"{loss:.5f}", refresh=False)

        result = fit_plan(before.to_tensor(), after.to_tensor(), extensions=args.extensions, steps=steps,
                          progress=progress, spatial=args.spatial)
        bar.total = bar.n  # the optimiser stops early once converged
    plan = result.plan
    plan.name = output.stem
    write_plan(plan, output, overwrite=args.overwrite)
    print(f"{output}: PSNR {result.psnr[0]:.2f} dB of {args.before} rendered with the preset against {args.after}")
    for name, value in plan.values.items():
        print(f"  {name:28s} {format_value(name, value)}")
    for name in plan.curves:
        print(f"  {name:28s} point curve")
    if not plan.values and not plan.curves:
        print("  (no control set: the two photos already match)")
    if result.psnr[0] < LOW_FIT_PSNR:
        print(f"note: below {LOW_FIT_PSNR:g} dB the edit is probably not only a global colour edit; "
              "try --extensions or more --steps", file=sys.stderr)
    return 0
