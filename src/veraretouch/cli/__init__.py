"""The ``veraretouch`` command line: one module per command, the shared argument types in
`arguments`, the photo driver in `photos` (batches in `batch`, Ray clusters in `ray_batch`).

Heavy imports (torch, numba) happen inside the commands so ``--help`` answers at once.
"""
from __future__ import annotations

import argparse
import signal
import sys

from ..errors import VeraRetouchError, one_line
from ..io.atomic import removing_temporaries_on_signals
from .data import add_data_command
from .evaluate import add_eval_command
from .export import add_export_commands
from .fit import add_fit_command
from .param import add_param_command
from .planned import add_planner_commands
from .reference import add_reference_command
from .serve import add_serve_command
from .sliders import add_sliders_command
from .train import add_train_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="veraretouch",
        description="Reasoning photo retouching: explainable, differentiable edits rendered at full resolution "
                    "on a CPU.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (add_param_command, add_fit_command, add_reference_command, add_train_command, add_data_command,
                add_sliders_command, add_planner_commands, add_eval_command, add_export_commands, add_serve_command):
        add(commands)
    return parser


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
