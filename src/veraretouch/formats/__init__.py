"""Plan and LUT file formats: our JSON, the VeraRetouch param file, Lightroom XMP, ``.cube`` LUTs.

`read_plan` / `write_plan` pick the format from the file suffix; a file that cannot be read as a
plan is a one-line `PlanError` that starts with the file name.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import PlanError
from ..io.atomic import atomic_write_text
from ..io.files import read_user_file
from ..plan import Plan
from .cube import read_cube, write_cube
from .jsonplan import plan_from_json, plan_to_json
from .xmp import plan_from_xmp, plan_to_xmp

__all__ = ["read_plan", "write_plan", "read_cube", "write_cube"]

MAX_PLAN_BYTES = 64 * 1024 * 1024
"""Plan files are kilobytes; anything past this is refused before it is parsed."""

_READERS: dict[str, Callable[[bytes], Plan]] = {".json": plan_from_json, ".xmp": plan_from_xmp}


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise PlanError(f"{path}: unknown plan format {path.suffix or '(no suffix)'!r}; use .json or .xmp")
    return suffix


def read_plan(path: str | Path) -> Plan:
    """Read a plan from ``.json`` (ours or the VeraRetouch param file) or ``.xmp`` (Lightroom preset)."""
    source = Path(path)
    suffix = _suffix(source)
    data = read_user_file(source, PlanError, "a plan file", MAX_PLAN_BYTES)
    try:
        return _READERS[suffix](data)
    except PlanError as error:
        raise PlanError(f"{source}: {error}") from None


def write_plan(plan: Plan, path: str | Path, overwrite: bool = False) -> Path:
    """Atomically write ``.json`` (our format) or ``.xmp`` (a Lightroom develop preset).

    An existing file is refused unless ``overwrite``. An XMP preset without a plan name is named
    after the file, as Lightroom needs a name.
    """
    target = Path(path)
    try:
        text = plan_to_json(plan) if _suffix(target) == ".json" else plan_to_xmp(plan, fallback_name=target.stem)
    except PlanError as error:
        raise PlanError(f"{target}: {error}") from None
    return atomic_write_text(target, text, overwrite=overwrite)
