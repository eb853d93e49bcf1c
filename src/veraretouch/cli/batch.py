"""Batch processing shared by every CLI mode: input expansion, output naming, a pipeline that
keeps the cores busy, progress, summary.

One bad file never stops a batch: its error is reported on one line and the exit code says
that some inputs failed.
"""
from __future__ import annotations

import glob
import os
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import VeraRetouchError, one_line
from ..io.atomic import is_temporary
from ..io.fileformats import IMAGE_SUFFIXES


def expand_inputs(patterns: Iterable[str]) -> list[Path]:
    """Files as given, folders as the images directly inside them, globs expanded; order kept, no repeats.

    A pattern that matches nothing raises `VeraRetouchError` naming it.
    """
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            matches = sorted(p for p in path.iterdir()  # not a temporary file a killed run left
                             if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not is_temporary(p))
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


def check_output_names(inputs: list[Path], output_dir: Path, suffixes_for: Callable[[Path], Iterable[str]]) -> None:
    """Refuse batches where two inputs would write the same output, or an output would replace an
    input, for every output of every input (``suffixes_for(input)``: ".jpg", ".plan.json", ...).

    Names are compared case-insensitively: on a case-insensitive filesystem (macOS, Windows)
    ``E.jpg`` is ``E.JPG``, and refusing there too keeps a batch's outputs the same everywhere.
    """
    seen: dict[str, tuple[Path, Path]] = {}
    for path in inputs:
        for suffix in suffixes_for(path):
            target = (output_dir / (path.stem + suffix)).resolve()
            key = str(target).casefold()
            if key in seen and seen[key][1] != path:
                raise VeraRetouchError(f"{path} and {seen[key][1]} would both write {seen[key][0]}; "
                                       "rename one or run them separately")
            seen.setdefault(key, (target, path))
    for path in inputs:
        clash = seen.get(str(path.resolve()).casefold())
        if clash is not None:
            raise VeraRetouchError(f"{clash[0]}: output would replace an input ({path}); choose another output folder")


@dataclass
class BatchReport:
    """What happened to each input: written files or the one-line error."""

    done: list[tuple[Path, list[Path]]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    """Inputs left alone because their outputs exist (resumed Ray batches)."""
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> str:
        skipped = f", {len(self.skipped)} skipped (outputs exist)" if self.skipped else ""
        text = f"{len(self.done)} done, {len(self.failed)} failed{skipped} in {self.seconds:.1f} s"
        return text + "".join(f"\n  failed: {error}" for _, error in self.failed)


@dataclass
class PhotoSteps:
    """One photo's work in three steps, so that a batch can overlap them on the cores.

    ``read`` decodes (in a reader thread), ``work`` plans and renders (in the caller's thread, in
    input order, so printed explanations stay in order), ``write`` encodes and saves (in a writer
    thread). The codecs and the numba LUT kernel release the GIL, so the three run at once.
    Called as a function, the steps run back to back on one photo (the Ray path's unit of work).
    """

    read: Callable[[Path], Any]
    work: Callable[[Path, Any], Any]
    write: Callable[[Path, Any], list[Path]]

    def __call__(self, path: Path) -> list[Path]:
        return self.write(path, self.work(path, self.read(path)))


PHOTOS_IN_FLIGHT = 4
"""Photos `run_batch` holds at once (decoding, decoded, rendering, encoding): memory stays flat,
about 4 x 72 MB of pixels for 24 MP photos, however many photos a batch has
(benchmarks/batch_speed.py measures time and peak memory). The environment variable
VERARETOUCH_PHOTOS_IN_FLIGHT overrides it; 1 runs one photo at a time."""


def photos_in_flight() -> int:
    """`PHOTOS_IN_FLIGHT`, or VERARETOUCH_PHOTOS_IN_FLIGHT when set (a positive integer)."""
    text = os.environ.get("VERARETOUCH_PHOTOS_IN_FLIGHT", "").strip()
    if not text:
        return PHOTOS_IN_FLIGHT
    if not text.isdigit() or int(text) < 1:
        raise VeraRetouchError(f"VERARETOUCH_PHOTOS_IN_FLIGHT must be a positive integer, got {text!r}")
    return int(text)


def failure_message(path: Path, error: BaseException) -> str | None:
    """The one line a batch reports for ``error`` on ``path``; None for errors that are bugs."""
    if isinstance(error, VeraRetouchError):
        return one_line(str(error))
    if isinstance(error, (OSError, ValueError, MemoryError)):
        return one_line(f"{path}: {type(error).__name__}: {error}")
    return None


def run_batch(inputs: list[Path], steps: PhotoSteps, description: str, in_flight: int | None = None) -> BatchReport:
    """Run ``steps`` on each input with a progress bar: the next photos decode and the previous
    one encodes while the current one renders, with at most ``in_flight`` photos held (default
    `photos_in_flight`). User errors are collected, not raised; written files are reported in
    input order."""
    from tqdm import tqdm

    in_flight = in_flight or photos_in_flight()
    report = BatchReport()
    start = time.perf_counter()
    waiting = iter(inputs)
    reads: deque[tuple[Path, Future]] = deque()
    writes: deque[tuple[Path, Future]] = deque()
    progress = tqdm(total=len(inputs), desc=description, unit="photo", file=sys.stderr, disable=None,
                    dynamic_ncols=True)

    def fail(path: Path, error: Exception) -> None:
        message = failure_message(path, error)
        if message is None:
            raise error
        report.failed.append((path, message))
        progress.write(f"error: {message}", file=sys.stderr)
        progress.update(1)

    def finish_write() -> None:
        path, writing = writes.popleft()
        try:
            report.done.append((path, writing.result()))
        except Exception as error:
            fail(path, error)
        else:
            progress.update(1)

    with (progress, ThreadPoolExecutor(1, thread_name_prefix="veraretouch-read") as reader,
          ThreadPoolExecutor(1, thread_name_prefix="veraretouch-write") as writer):
        try:
            while True:
                while writes and writes[0][1].done():
                    finish_write()
                while len(reads) + len(writes) < in_flight and (path := next(waiting, None)) is not None:
                    reads.append((path, reader.submit(steps.read, path)))
                if reads:
                    path, reading = reads.popleft()
                    try:
                        rendered = steps.work(path, reading.result())
                    except Exception as error:
                        fail(path, error)
                    else:
                        writes.append((path, writer.submit(steps.write, path, rendered)))
                elif writes:
                    finish_write()
                else:
                    break
        finally:  # on an interrupt or a bug: start nothing new; running steps finish (atomic writes)
            for _, future in (*reads, *writes):
                future.cancel()
    report.seconds = time.perf_counter() - start
    return report
