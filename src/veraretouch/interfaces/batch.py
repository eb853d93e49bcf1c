"""Batch processing shared by every CLI mode: input expansion, output naming, progress, summary.

One bad file never stops a batch: its error is reported on one line and the exit code says
that some inputs failed.
"""
from __future__ import annotations

import glob
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tqdm import tqdm

from ..errors import VeraRetouchError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


def expand_inputs(patterns: Iterable[str]) -> list[Path]:
    """Files as given, folders as the images directly inside them, globs expanded; order kept, no repeats.

    A pattern that matches nothing raises `VeraRetouchError` naming it.
    """
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not matches:
                raise VeraRetouchError(f"{path}: folder holds no JPEG, PNG or TIFF files")
        elif path.exists():
            matches = [path]
        else:
            matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True) if Path(m).is_file())
            if not matches:
                raise VeraRetouchError(f"{pattern}: no such file, folder or matching files")
        found.extend(matches)
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def check_output_names(inputs: list[Path], output_dir: Path, suffix_for: Callable[[Path], str]) -> None:
    """Refuse batches where two inputs would write the same output, or an output would replace an input."""
    seen: dict[Path, Path] = {}
    for path in inputs:
        target = (output_dir / (path.stem + suffix_for(path))).resolve()
        if target in seen:
            raise VeraRetouchError(f"{path} and {seen[target]} would both write {target}; rename one or run them separately")
        seen[target] = path
    clashes = set(seen) & {p.resolve() for p in inputs}
    if clashes:
        raise VeraRetouchError(f"{sorted(clashes)[0]}: output would replace an input; choose another output folder")


@dataclass
class BatchReport:
    """What happened to each input: written files or the one-line error."""

    done: list[tuple[Path, list[Path]]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> str:
        text = f"{len(self.done)} done, {len(self.failed)} failed in {self.seconds:.1f} s"
        return text + "".join(f"\n  failed: {error}" for _, error in self.failed)


def run_batch(inputs: list[Path], process: Callable[[Path], list[Path]], description: str) -> BatchReport:
    """Run ``process`` on each input with a progress bar; user errors are collected, not raised."""
    report = BatchReport()
    start = time.perf_counter()
    progress = tqdm(inputs, desc=description, unit="photo", file=sys.stderr, disable=None, dynamic_ncols=True)
    for path in progress:
        try:
            report.done.append((path, process(path)))
        except VeraRetouchError as error:
            report.failed.append((path, str(error)))
            progress.write(f"error: {error}", file=sys.stderr)
        except (OSError, ValueError, MemoryError) as error:
            message = f"{path}: {type(error).__name__}: {error}"
            report.failed.append((path, message))
            progress.write(f"error: {message}", file=sys.stderr)
    report.seconds = time.perf_counter() - start
    return report
