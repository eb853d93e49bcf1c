"""`veraretouch sliders`: every control with its group, range and meaning."""
from __future__ import annotations

import argparse


def add_sliders_command(commands) -> None:
    """Register ``sliders`` on the ``add_subparsers()`` object of the ``veraretouch`` parser."""
    sliders = commands.add_parser("sliders", help="list every control with its group, range and meaning")
    sliders.set_defaults(run=run_sliders)


def run_sliders(args: argparse.Namespace) -> int:
    from ..plan.parameters import SCALARS

    for spec in SCALARS:
        print(f"{spec.name:28s} {spec.aspect:15s} {spec.minimum:g}..{spec.maximum:g} {spec.unit:8s} {spec.description}")
    return 0
