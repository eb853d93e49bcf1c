"""Argument types and options the commands share: each ``type=`` callable parses one value and
raises ``argparse.ArgumentTypeError`` with a message that names what was expected."""
from __future__ import annotations

import argparse
from pathlib import Path

EXPORTS = ("cube", "xmp")


def positive_int(text: str) -> int:
    """A whole number above zero."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def weights(count: int):
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


def comma_choices(noun: str, choices, allow_empty: bool = False):
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


def aspect_names() -> tuple[str, ...]:
    """The aspects (the renderer's three latents), imported only when an option is parsed."""
    from ..plan.parameters import ASPECTS

    return ASPECTS


export_list = comma_choices("export", EXPORTS, allow_empty=True)
aspect_list = comma_choices("aspect", aspect_names)
subset_list = comma_choices("subset", ("auto", "style", "param"))


def assignment(text: str) -> tuple[str, float]:
    """``NAME=VALUE`` with a numeric value."""
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not a number") from None


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Options every retouching mode shares."""
    parser.add_argument(
        "photos", nargs="+", metavar="PHOTO", help="image files, folders or glob patterns (JPEG, PNG, TIFF)"
    )
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUTDIR", help="folder for the results (created if needed)"
    )
    parser.add_argument(
        "--export",
        type=export_list,
        default=[],
        metavar="LIST",
        help="also write the edit as: cube, xmp (comma separated)",
    )
    parser.add_argument(
        "--lut-size",
        type=int,
        default=65,
        metavar="N",
        help="LUT resolution for rendering and .cube export (default 65)",
    )
    parser.add_argument("--format", choices=("jpeg", "png", "tiff"), help="output format (default: same as the input)")
    parser.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG quality 1-100 (default 95)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--max-pixels", type=positive_int, default=None, metavar="N",
                        help="refuse images with more pixels than this (default 150 million)")
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                        help="spread the photos over a Ray cluster: alone, a local one; 'auto' or ray://HEAD:10001 "
                             "for a cluster (inputs and OUTDIR on a shared filesystem); photos whose results exist "
                             "are skipped, so rerunning resumes")
    parser.add_argument("--ray-workers", type=positive_int, default=None, metavar="N",
                        help="Ray workers (default: one per CPU of the cluster)")
