"""Batches over a Ray cluster: the same per-photo steps as the local pipeline, one photo per task.

Each Ray worker is an actor holding the batch's `PhotoSteps` (the edit, its models and options,
sent once per worker); photos go to whichever worker is free. A photo's files are written by
the worker, so inputs and the output folder must be at the same paths on every node (a shared
filesystem). Photos whose result JSON (written last) already exists are skipped unless
--overwrite, so an interrupted batch resumes where it stopped.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import ray
from ray.util import ActorPool

from .batch import BatchReport, PhotoSteps, failure_message


@ray.remote(num_cpus=1)
class PhotoWorker:
    """One worker process: runs the batch's steps on the photos it is given."""

    def __init__(self, steps: PhotoSteps) -> None:
        self.steps = steps

    def retouch(self, path: str) -> tuple[str, bool, list[str] | str]:
        """(path, True, written files) or (path, False, the one-line error); bugs are raised."""
        try:
            return path, True, [str(p) for p in self.steps(Path(path))]
        except Exception as error:
            message = failure_message(Path(path), error)
            if message is None:
                raise
            return path, False, message


def connect(address: str, workers: int | None) -> int:
    """Start (``"local"``) or join a Ray cluster; the number of workers to use (its CPUs by default)."""
    if not ray.is_initialized():
        local = address == "local"
        ray.init(address=address, num_cpus=workers if local else None, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    return workers or max(1, int(ray.cluster_resources().get("CPU", 1)))


def run_on_ray(inputs: list[Path], steps: PhotoSteps, description: str, address: str, workers: int | None,
               finished) -> BatchReport:
    """Run ``steps`` on the inputs across the cluster with a progress bar; photos for which
    ``finished(path)`` holds are skipped. Same report (and exit status) as `batch.run_batch`."""
    from tqdm import tqdm

    report = BatchReport()
    start = time.perf_counter()
    todo = []
    for path in inputs:
        (report.skipped if finished(path) else todo).append(path)
    if todo:
        count = min(connect(address, workers), len(todo))
        steps_ref = ray.put(steps)
        pool = ActorPool([PhotoWorker.remote(steps_ref) for _ in range(count)])
        outcomes: dict[str, tuple[bool, list[str] | str]] = {}
        with tqdm(total=len(todo), desc=description, unit="photo", file=sys.stderr, disable=None,
                  dynamic_ncols=True) as progress:
            for path, ok, value in pool.map_unordered(lambda worker, path: worker.retouch.remote(path),
                                                      [str(path) for path in todo]):
                outcomes[path] = ok, value
                if not ok:
                    progress.write(f"error: {value}", file=sys.stderr)
                progress.update(1)
        for path in todo:
            ok, value = outcomes[str(path)]
            if ok:
                report.done.append((path, [Path(p) for p in value]))
            else:
                report.failed.append((path, value))
    report.seconds = time.perf_counter() - start
    return report
