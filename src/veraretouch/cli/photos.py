"""The photo driver every retouching command shares: the plan from --params / --set, and for each
photo read, edit, render, write the image, the exports and ``<stem>.plan.json``."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import PlanError, VeraRetouchError, one_line


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
    """Shared driver: read each photo, render ``edit_for(photo)`` (an `api.Edit`), write
    the image, the result JSON and the exports; photos overlap in a pipeline (`batch.run_batch`)."""
    from ..io.fileformats import FORMAT_NAMES, SUFFIXES
    from .batch import check_output_names, expand_inputs, run_batch

    check_output_options(args)
    inputs = expand_inputs(args.photos)
    out_dir: Path = args.output
    exports = [f".{kind}" for kind in args.export]
    chosen = SUFFIXES[FORMAT_NAMES[args.format]] if args.format else None
    check_output_names(inputs, out_dir, lambda p: [chosen or p.suffix.lower(), *exports, ".plan.json"])
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
        from ..formats import write_cube
        from ..io.atomic import atomic_write_text, refuse_existing
        from ..io.images import output_suffix, write_image
        from ..plan.files import write_plan

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
