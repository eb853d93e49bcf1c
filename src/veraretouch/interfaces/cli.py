"""The ``veraretouch`` command line.

Heavy imports (torch, numba) happen inside the commands so ``--help`` answers at once.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from ..errors import PlanError, VeraRetouchError, one_line
from ..io.atomic import removing_temporaries_on_signals
from .eval_cli import add_eval_command
from .export_cli import add_export_commands
from .planner_cli import add_planner_commands
from .serve_cli import add_serve_command

EXPORTS = ("cube", "xmp")
LOW_FIT_PSNR = 30.0
"""`fit` warns below this PSNR: the fitted preset visibly differs from the after photo."""

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
global_color, specific_color (the renderer's three latent groups; the others are switched off
exactly).

outputs are those of `veraretouch param` (image, <stem>.plan.json, --export cube,xmp). The .xmp
is a Lightroom preset fitted to the edit by gradient descent (its PSNR against the edit is in the
.plan.json as preset_fit_psnr_db); the .cube is the edit itself. Exit status as for param.
"""

TRAIN_EPILOG = """\
examples:
  veraretouch train renderer --photos ../shared/photos --presets ../shared/presets -o runs/renderer
  veraretouch train renderer --photos my-photos/ -o runs/renderer --max-minutes 30   # resume later
  veraretouch train reference --photos ../shared/photos --presets ../shared/presets \\
      --models runs/renderer -o runs/reference
  veraretouch train planner --data data/v1 --photos ../shared/photos -o runs/planner
  veraretouch train rl --cache runs/planner/cache --photos ../shared/photos --models runs/planner -o runs/rl
  torchrun --standalone --nproc-per-node 2 -m veraretouch train rl --cache runs/planner/cache \\
      --photos ../shared/photos -o runs/rl        # two processes share the sampling
  veraretouch train rl ... --ray 4                # four Ray Train workers (--ray-address for a cluster)
  veraretouch train rl --planner vlm --checkpoint runs/vlm/vlm_planner --data data/v1 \\
      --photos ../shared/photos -o runs/rl-vlm   # the VLM planner: a GPU wanted (docs/rl.md)

rl: DAPO-AE post-training of the compact planner (docs/rl.md): the SFT planner in --models (or the
shipped one) becomes a Gaussian policy over plans, rewarded for similarity to the targets and, in
auto mode, by the aesthetic critic (--critic DIR, or one trained from --photos into OUT/critic).
Prompts come from a planner cache (--cache, or built from --data into OUT/cache). OUT gets
steps.csv (every DAPO step), log.csv (validation PSNR per mode, similarity, critic reward),
rewards.png and compact_planner/; use it with `veraretouch auto --models OUT`.

planner: trains the compact planner on a dataset from `veraretouch data build` (--data; --photos
is the folder the dataset was built from), through the frozen renderer and SliderEncoder (--models,
default the shipped ones); the rendered colour cache goes to OUT/cache.

renderer: trains the Retouch Renderer and the SliderEncoder on colours of --photos, with plans
from the paper's slider distributions, wide uniform ranges and the --presets (.xmp files,
searched recursively); the parametric operators are the teacher. reference: trains the
ReferenceEncoder for a frozen renderer (--models: a run folder holding renderer/ and
slider_encoder/; default the shipped ones). One photo in five and one preset in five (by a hash
of the file name) are held out for the metrics in OUT/log.csv, never trained on.

OUT gets checkpoint.pt (rerunning the same command resumes), log.csv, loss.png and the weights as
safetensors folders (a reference run also copies the renderer it was trained for, so the folder is
a complete set); use them with --models OUT. Runs single-threaded by default (small
tensors: more threads were slower on a busy machine).
"""


DATA_EPILOG = """\
examples:
  veraretouch data build --photos ../shared/photos --presets ../shared/presets --out data/v1
  veraretouch data build --photos my-photos/ --out data/small --per-photo 20 --subsets auto,param
  veraretouch data build --photos ../shared/photos --photos ../shared/photos-more --hold-out 'tuxpaint-*' \
      --presets ../shared/presets --out data/v2 --per-photo 48 --subset-weights 0.6,0.25,0.15 \
      --auto-mix 0.35,0.5,0.15 --ray                                                  # data v2
  veraretouch data build --photos ../shared/photos --out data/v1 --ray                 # local Ray
  veraretouch data build --photos /nfs/photos --out /nfs/data --ray ray://head:10001   # a cluster

subsets: auto (inverse degradation: a good photo degraded by a sampled edit is the input, the
photo the target, the fitted fix the label), style (a preset's look, asked for in words), param
(slider values, in words and as JSON). Every sample has problem/plan reasoning per aspect,
checked against the measurements and the edit; samples that fail a quality gate are dropped and
counted (see OUT/CARD.md).

OUT gets manifest.json, WebDataset shards <split>-NNNNN.tar of recipes (photo, crop, plans,
labels; --materialize adds input/target PNGs), a .stats.json per shard, and CARD.md with plots.
Photos are split train/validation/test by a hash of the file name (a photo is in one split
only); presets likewise. Deterministic for a seed; rerun the same command to resume.
"""


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _weights(count: int):
    """An argparse type for ``count`` comma-separated non-negative weights, not all zero."""
    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {count} comma-separated numbers, got {text!r}") from None
        if len(values) != count or min(values) < 0 or sum(values) <= 0:
            raise argparse.ArgumentTypeError(f"expected {count} non-negative weights, not all zero, got {text!r}")
        return values

    return parse


def _comma_choices(noun: str, choices, allow_empty: bool = False):
    """An argparse type for a comma-separated list of ``choices`` (a tuple, or a function giving
    one, so heavy imports wait until an option is actually parsed)."""
    def parse(text: str) -> list[str]:
        names = choices() if callable(choices) else choices
        chosen = [item.strip().lower() for item in text.split(",") if item.strip()]
        unknown = [item for item in chosen if item not in names]
        if unknown or not (chosen or allow_empty):
            raise argparse.ArgumentTypeError(
                f"unknown {noun} {unknown[0] if unknown else text!r}; choose from {', '.join(names)}")
        return chosen

    return parse


def _groups() -> tuple[str, ...]:
    from ..parameters import GROUPS

    return GROUPS


_exports = _comma_choices("export", EXPORTS, allow_empty=True)
_aspects = _comma_choices("aspect", _groups)
_subsets = _comma_choices("subset", ("auto", "style", "param"))


def _assignment(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not a number") from None


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Options every retouching mode shares."""
    parser.add_argument("photos", nargs="+", metavar="PHOTO", help="image files, folders or glob patterns (JPEG, PNG, TIFF)")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="folder for the results (created if needed)")
    parser.add_argument("--export", type=_exports, default=[], metavar="LIST", help="also write the edit as: cube, xmp (comma separated)")
    parser.add_argument("--lut-size", type=int, default=65, metavar="N", help="LUT resolution for rendering and .cube export (default 65)")
    parser.add_argument("--format", choices=("jpeg", "png", "tiff"), help="output format (default: same as the input)")
    parser.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG quality 1-100 (default 95)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--max-pixels", type=_positive_int, default=None, metavar="N",
                        help="refuse images with more pixels than this (default 150 million)")
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                        help="spread the photos over a Ray cluster: alone, a local one; 'auto' or ray://HEAD:10001 "
                             "for a cluster (inputs and OUTDIR on a shared filesystem); photos whose results exist "
                             "are skipped, so rerunning resumes")
    parser.add_argument("--ray-workers", type=_positive_int, default=None, metavar="N",
                        help="Ray workers (default: one per CPU of the cluster)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="veraretouch",
        description="Reasoning photo retouching: explainable, differentiable edits rendered at full resolution on a CPU.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    param = commands.add_parser(
        "param", help="apply slider values (a preset or plan file) to photos",
        description="Apply a plan (Lightroom preset, plan JSON or slider values) to photos at full resolution.",
        epilog=PARAM_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_output_options(param)
    param.add_argument("--params", type=Path, metavar="FILE", help="plan file: .xmp, .json (ours or the VeraRetouch param file)")
    param.add_argument("--set", type=_assignment, action="append", default=[], metavar="NAME=VALUE",
                       help="set one control, e.g. Exposure2012=0.5 (repeatable; applied on top of --params)")
    param.set_defaults(run=run_param)
    fit = commands.add_parser(
        "fit", help="fit sliders to a before/after pair and save them as a preset",
        description="Fit the sliders (and optionally grading and curves) that turn BEFORE into AFTER, "
                    "and save them as a Lightroom preset or plan file.",
        epilog=FIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("--before", required=True, type=Path, metavar="BEFORE", help="the photo before the edit")
    fit.add_argument("--after", required=True, type=Path, metavar="AFTER", help="the same photo after the edit")
    fit.add_argument("-o", "--output", required=True, type=Path, metavar="PRESET", help="preset to write: .xmp or .json")
    fit.add_argument("--extensions", action="store_true", help="also fit colour grading and point curves")
    fit.add_argument("--spatial", action="store_true",
                     help="also fit the post-crop vignette (amount, midpoint) and clarity on the whole images")
    fit.add_argument("--steps", type=_positive_int, default=None, metavar="N",
                     help="render evaluations the optimiser may use (default 200; more for hard edits)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    fit.set_defaults(run=run_fit)
    reference = commands.add_parser(
        "reference", help="apply the edit shown by an example (before/after pair or a target look)",
        description="Retouch photos like an example: the change from --before to --after, or towards the look "
                    "of --after alone. The example is encoded into the renderer's control latents.",
        epilog=REFERENCE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_output_options(reference)
    reference.add_argument("--after", required=True, type=Path, metavar="A", help="the example after the edit, or a target look")
    reference.add_argument("--before", type=Path, metavar="B", help="the example before the edit (same photo as A)")
    reference.add_argument("--aspects", type=_aspects, default=None, metavar="LIST",
                           help="keep only these aspects: lighting, global_color, specific_color (default all)")
    reference.add_argument("--no-refine", dest="refine", action="store_false",
                           help="pair mode: use the encoder's latents as they are (faster, less faithful)")
    reference.add_argument("--models", type=Path, metavar="DIR", help="a training run folder instead of the shipped weights")
    reference.set_defaults(run=run_reference)
    train = commands.add_parser(
        "train", help="train the renderer and its encoders (resumable)",
        description="Train the models on your photos and presets.", epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("model", choices=("renderer", "reference", "planner", "rl"), help="what to train")
    train.add_argument("--photos", required=True, type=Path, metavar="DIR", help="folder of training photos (JPEG, PNG, TIFF)")
    train.add_argument("--presets", type=Path, metavar="DIR", help="folder of Lightroom .xmp presets (optional)")
    train.add_argument("-o", "--output", required=True, type=Path, metavar="OUT", help="run folder (resumed if it has a checkpoint)")
    train.add_argument("--models", type=Path, metavar="DIR",
                       help="reference, planner: the run holding the renderer (and SliderEncoder) to train for")
    train.add_argument("--data", type=Path, metavar="DIR", help="planner, rl: a dataset built by `veraretouch data build`")
    train.add_argument("--cache", type=Path, metavar="DIR", help="rl: a planner cache to reuse (default OUT/cache from --data)")
    train.add_argument("--critic", type=Path, metavar="DIR", help="rl: the aesthetic critic (default: train one from --photos)")
    train.add_argument("--planner", choices=("compact", "vlm"), default="compact",
                       help="rl: the planner to post-train: compact (default) or vlm (needs --checkpoint and --data)")
    train.add_argument("--checkpoint", type=Path, metavar="DIR", help="rl --planner vlm: the fine-tuned VLM planner to start from")
    train.add_argument("--ray", type=_positive_int, metavar="N", help="rl: run on N Ray Train workers")
    train.add_argument("--ray-address", metavar="ADDRESS", help="rl: a Ray cluster address (default a local Ray)")
    train.add_argument("--steps", type=_positive_int, metavar="N", help="length of the schedule (default 10000 renderer, 4000 reference)")
    train.add_argument("--max-minutes", type=float, metavar="M", help="stop after M minutes (checkpointed; rerun to resume)")
    train.add_argument("--threads", type=_positive_int, default=1, metavar="N", help="torch threads (default 1)")
    train.set_defaults(run=run_train)
    data = commands.add_parser("data", help="build training data for the planner")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    build = data_commands.add_parser(
        "build", help="build the auto / style / param training sets from a folder of photos",
        description="Build planner training data by inverse degradation, presets and slider plans.",
        epilog=DATA_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("--photos", required=True, type=Path, action="append", metavar="DIR",
                       help="folder of good photos (repeat for several; they are linked into OUT/photos)")
    build.add_argument("--hold-out", action="append", default=[], metavar="GLOB",
                       help="leave photos whose name matches GLOB out of every split (e.g. 'tuxpaint-*': a whole "
                            "source kept for benchmarks; listed in the manifest)")
    build.add_argument("--subset-weights", type=_weights(3), default=(0.5, 0.3, 0.2), metavar="A,S,P",
                       help="relative weights of the auto, style and param subsets (default 0.5,0.3,0.2)")
    build.add_argument("--auto-mix", type=_weights(3), default=(1.0, 0.0, 0.0), metavar="D,C,N",
                       help="auto inputs made by slider degradations, camera faults (exposure, white balance, "
                            "flat tone, saturation, hue) or left as they are, by weight (default 1,0,0 as data v1)")
    build.add_argument("--fit-steps", type=_positive_int, default=30, metavar="N",
                       help="render evaluations allowed when fitting an auto sample's fix (default 30)")
    build.add_argument("--out", required=True, type=Path, metavar="DIR", help="dataset folder (resumed if present)")
    build.add_argument("--presets", type=Path, metavar="DIR", help="folder of Lightroom .xmp presets (for style)")
    build.add_argument("--per-photo", type=_positive_int, default=520, metavar="N", help="samples per photo (default 520)")
    build.add_argument("--subsets", type=_subsets, default=("auto", "style", "param"), metavar="LIST",
                       help="auto,style,param (default all; weights 0.5/0.3/0.2)")
    build.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    build.add_argument("--shard-size", type=_positive_int, default=200, metavar="N", help="samples per shard (default 200)")
    build.add_argument("--materialize", action="store_true", help="also store input/target PNGs (portable, larger)")
    build.add_argument("--models", type=Path, metavar="DIR", help="renderer + slider encoder run folder (default shipped)")
    build.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                       help="run on Ray Data: local Ray, or a cluster address")
    build.set_defaults(run=run_data_build)
    sliders = commands.add_parser("sliders", help="list every control with its group, range and meaning")
    sliders.set_defaults(run=run_sliders)
    add_planner_commands(commands, add_output_options)
    add_eval_command(commands)
    add_export_commands(commands)
    add_serve_command(commands)
    return parser


def load_plan(args: argparse.Namespace):
    from ..plan import Plan

    if args.params is None and not args.set:
        raise PlanError("give a plan with --params FILE and/or --set NAME=VALUE")
    plan = Plan.from_file(args.params) if args.params is not None else Plan()
    if args.set:
        plan = Plan(values={**plan.values, **dict(args.set)}, curves=plan.curves, name=plan.name,
                    group=plan.group, description=plan.description, unmodelled=plan.unmodelled)
    return plan


def check_output_options(args: argparse.Namespace) -> None:
    if not 1 <= args.quality <= 100:
        raise VeraRetouchError(f"--quality must be between 1 and 100, got {args.quality}")
    if not 2 <= args.lut_size <= 256:
        raise VeraRetouchError(f"--lut-size must be between 2 and 256, got {args.lut_size}")


def retouch_photos(args: argparse.Namespace, mode: str, edit_for) -> int:
    """Shared driver: read each photo, render ``edit_for(photo)`` (see `interfaces.edits`), write
    the image, the result JSON and the exports; photos overlap in a pipeline (`batch.run_batch`)."""
    from .batch import check_output_names, expand_inputs, run_batch

    check_output_options(args)
    inputs = expand_inputs(args.photos)
    out_dir: Path = args.output
    suffix = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif"}
    exports = [f".{kind}" for kind in args.export]
    check_output_names(inputs, out_dir, lambda p: [suffix.get(args.format or "", p.suffix.lower()), *exports,
                                                   ".plan.json"])
    steps = photo_steps(args, mode, edit_for)
    if args.ray is None:
        report = run_batch(inputs, steps, description=f"veraretouch {mode}")
    else:
        from .ray_batch import run_on_ray

        def finished(path: Path) -> bool:  # the result JSON is written last
            return not args.overwrite and (out_dir / f"{path.stem}.plan.json").exists()

        report = run_on_ray(inputs, steps, f"veraretouch {mode} (Ray)", args.ray, args.ray_workers, finished)
    for path, outputs in report.done:
        print(one_line(f"{path} -> {', '.join(str(p) for p in outputs)}"))
    print(report.summary(), file=sys.stderr)
    return report.exit_code


def photo_steps(args: argparse.Namespace, mode: str, edit_for):
    """`batch.PhotoSteps` for one photo: read (decode), work (plan, exports, LUT pass in place),
    write (image, exports, result JSON)."""
    from ..io.images import DEFAULT_MAX_PIXELS, read_image
    from .batch import PhotoSteps

    max_pixels = args.max_pixels or DEFAULT_MAX_PIXELS

    def read(path: Path):
        started = time.perf_counter()
        photo = read_image(path, max_pixels=max_pixels)
        return photo, time.perf_counter() - started

    def work(path: Path, decoded) -> dict:
        photo, decode_seconds = decoded
        started = time.perf_counter()
        edit = edit_for(photo)
        exports: dict[str, object] = {}
        if "xmp" in args.export:  # before rendering: a latent edit fits its preset to the photo's own colours
            exports["xmp"], preset_info = edit.preset(photo)
        else:
            preset_info = {}
        planned = time.perf_counter()
        result = edit.apply(photo, args.lut_size, in_place=True)
        rendered = time.perf_counter()
        if "cube" in args.export:
            exports["cube"] = edit.lut(args.lut_size), edit.cube_comments()
        record = {
            "format": "veraretouch.result", "version": 1, "mode": mode, "input": str(path),
            "image": {"width": photo.size[0], "height": photo.size[1], "bit_depth": photo.bit_depth,
                      "format": photo.format, "icc_profile": photo.icc_profile is not None},
            "lut_size": args.lut_size,
            **edit.record(),
            **preset_info,
            "timings_s": {"decode": round(decode_seconds, 4), "plan": round(planned - started, 4),
                          "render": round(rendered - planned, 4)},
        }
        return {"result": result, "title": edit.name or path.stem, "exports": exports, "record": record}

    def write(path: Path, rendered: dict) -> list[Path]:
        from ..formats import write_cube, write_plan
        from ..io.atomic import atomic_write_text, refuse_existing
        from ..io.images import output_suffix, write_image

        started = time.perf_counter()
        result, exports, record = rendered["result"], rendered["exports"], rendered["record"]
        out_dir: Path = args.output
        image_path = out_dir / (path.stem + output_suffix(result, args.format))
        refuse_existing([image_path, *(out_dir / f"{path.stem}.{kind}" for kind in args.export),
                         out_dir / f"{path.stem}.plan.json"], args.overwrite)
        write_image(result, image_path, format=args.format, quality=args.quality, overwrite=args.overwrite)
        encoded = time.perf_counter()
        written = [image_path]
        if "cube" in exports:
            lut, comments = exports["cube"]
            written.append(write_cube(lut, out_dir / f"{path.stem}.cube", title=rendered["title"],
                                      overwrite=args.overwrite, comments=comments))
        if "xmp" in exports:
            written.append(write_plan(exports["xmp"], out_dir / f"{path.stem}.xmp", overwrite=args.overwrite))
        head = {key: record[key] for key in ("format", "version", "mode", "input")}
        record = {**head, "output": str(image_path), "exports": [str(p) for p in written[1:]], **record}
        record["timings_s"]["encode"] = round(encoded - started, 4)
        written.append(atomic_write_text(out_dir / f"{path.stem}.plan.json", json.dumps(record, indent=2) + "\n",
                                         overwrite=args.overwrite))
        return written

    return PhotoSteps(read, work, write)


def run_param(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from ..apply import bake_plan_lut
    from ..api import PlanEdit, spatial_note

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


def run_fit(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..errors import ImageWriteError
    from ..fitting import DEFAULT_STEPS, fit_plan
    from ..formats import write_plan
    from ..formats.xmp import format_value
    from ..io.images import read_image

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


def run_reference(args: argparse.Namespace) -> int:
    from ..io.images import read_image
    from ..api import Retoucher

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


def check_source_folders(args: argparse.Namespace) -> None:
    """``--photos`` must be a folder, and ``--presets`` one when given (train and data build)."""
    if not args.photos.is_dir():
        raise VeraRetouchError(f"{args.photos}: not a folder of photos")
    if args.presets is not None and not args.presets.is_dir():
        raise VeraRetouchError(f"{args.presets}: not a folder of presets")


def run_train(args: argparse.Namespace) -> int:
    import torch

    from ..weights import load_models

    torch.set_num_threads(args.threads)
    check_source_folders(args)
    seconds = None if args.max_minutes is None else 60 * args.max_minutes
    steps = {} if args.steps is None else {"steps": args.steps}
    if (args.planner, args.checkpoint) != ("compact", None) and args.model != "rl":
        raise VeraRetouchError("--planner and --checkpoint are for train rl")
    if args.model == "rl":
        return run_train_rl(args, seconds, steps)
    if args.model == "planner":
        from ..training.planner import PlannerTrainingConfig, build_planner_cache, train_planner

        if args.data is None or not (args.data / "manifest.json").is_file():
            raise VeraRetouchError("train planner needs --data DIR, a dataset folder made by `veraretouch data build`")
        renderer, slider_encoder = load_models(args.models, "renderer", "slider_encoder")
        cache = build_planner_cache(args.data, args.photos, args.output / "cache")
        trainer = train_planner(args.output, cache, renderer, slider_encoder, PlannerTrainingConfig(**steps),
                                max_seconds=seconds)
    elif args.model == "renderer":
        from ..training.renderer import RendererTrainingConfig, train_renderer

        trainer = train_renderer(args.output, args.photos, args.presets, RendererTrainingConfig(**steps),
                                 max_seconds=seconds)
    else:
        from ..training.reference import ReferenceTrainingConfig, train_reference_encoder

        renderer, slider_encoder = load_models(args.models, "renderer", "slider_encoder")
        trainer = train_reference_encoder(args.output, renderer, args.photos, args.presets,
                                          ReferenceTrainingConfig(**steps), slider_encoder=slider_encoder,
                                          max_seconds=seconds)
    state = "finished" if trainer.step >= trainer.config.steps else "paused (rerun the same command to resume)"
    print(f"{args.output}: step {trainer.step} of {trainer.config.steps}, {state}; log {args.output / 'log.csv'}, "
          f"plot {args.output / 'loss.png'}")
    return 0


def run_train_rl(args: argparse.Namespace, seconds: float | None, steps: dict) -> int:
    import csv

    from ..training.rl import run_rl, run_rl_on_ray

    if args.checkpoint is not None and args.planner != "vlm":
        raise VeraRetouchError("--checkpoint is for --planner vlm")
    if args.planner == "vlm" and (args.checkpoint is None or args.cache is not None or args.data is None):
        raise VeraRetouchError("train rl --planner vlm needs --checkpoint DIR (a fine-tuned VLM planner) and --data DIR "
                               "(a dataset made by `veraretouch data build`; no --cache)")
    if args.data is not None and not (args.data / "manifest.json").is_file():
        raise VeraRetouchError(f"{args.data}: not a dataset (no manifest.json); make one with `veraretouch data build`")
    if args.cache is None and args.data is None:
        raise VeraRetouchError("train rl needs --cache DIR (a planner cache) or --data DIR (a dataset made by "
                               "`veraretouch data build`)")
    if args.cache is not None and not any(args.cache.glob("train-*.pt")):
        raise VeraRetouchError(f"{args.cache}: no cached training shards (train-*.pt); give --data to build them")
    paths = {"out": args.output, "photos": args.photos, "data": args.data, "cache": args.cache,
             "models": args.models, "critic": args.critic, "checkpoint": args.checkpoint}
    options = {**{key: None if path is None else str(path.resolve()) for key, path in paths.items()},  # Ray workers run elsewhere
               "planner": args.planner, "config": steps, "max_seconds": seconds, "threads": args.threads}
    if args.ray:
        run_rl_on_ray(options, args.ray, args.ray_address)
    else:
        run_rl(options)
    if int(os.environ.get("RANK", "0")) == 0:
        rows = list(csv.DictReader(open(args.output / "log.csv")))
        last = rows[-1] if rows else {}
        print(f"{args.output}: step {last.get('step', 0)}; validation auto PSNR {last.get('psnr_auto', 'n/a')} dB "
              f"(no edit {last.get('psnr_auto_none', 'n/a')}); log {args.output / 'log.csv'}, steps "
              f"{args.output / 'steps.csv'}, plot {args.output / 'rewards.png'}; rerun the same command to resume")
    return 0


def run_data_build(args: argparse.Namespace) -> int:
    import torch

    from ..data.card import write_card
    from ..data.shards import BuildConfig, build_dataset, gather_photos

    for folder in args.photos:
        check_source_folders(argparse.Namespace(photos=folder, presets=args.presets))
    if "style" in args.subsets and args.presets is None:
        raise VeraRetouchError("the style subset needs --presets DIR (or leave it out of --subsets)")
    torch.set_num_threads(1)
    config = BuildConfig(per_photo=args.per_photo, subsets=args.subsets, seed=args.seed, shard_size=args.shard_size,
                         materialize=args.materialize, models=None if args.models is None else str(args.models),
                         subset_weights=args.subset_weights, auto_mix=args.auto_mix, fit_steps=args.fit_steps)
    started = time.perf_counter()
    try:
        photos_dir, held_out = gather_photos(args.photos, args.out, tuple(args.hold_out))
    except ValueError as error:
        raise VeraRetouchError(str(error)) from None
    stats = build_dataset(photos_dir, args.out, args.presets, config, use_ray=args.ray is not None,
                          ray_address=None if args.ray in (None, "local") else args.ray, held_out=held_out)
    card = write_card(stats, args.out, "veraretouch " + " ".join(sys.argv[1:]), time.perf_counter() - started)
    kept = sum(sum(s["kept"].values()) for s in stats)
    dropped = sum(sum(s["dropped"].values()) for s in stats)
    print(f"{args.out}: {kept} samples kept, {dropped} dropped, {len(stats)} shards in "
          f"{time.perf_counter() - started:.0f} s; card {card}")
    return 0


def run_sliders(args: argparse.Namespace) -> int:
    from ..parameters import SCALARS

    for spec in SCALARS:
        print(f"{spec.name:28s} {spec.group:15s} {spec.minimum:g}..{spec.maximum:g} {spec.unit:8s} {spec.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with removing_temporaries_on_signals():
            return args.run(args)
    except VeraRetouchError as error:
        print(f"veraretouch: error: {one_line(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:  # Ctrl+C or SIGTERM: the writes in progress were removed
        print("veraretouch: interrupted", file=sys.stderr)
        return 128 + getattr(interrupt, "signum", signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
