"""Plan files: ``.json`` (ours or the VeraRetouch param file) and ``.xmp`` (Lightroom develop presets).

`read_plan` / `write_plan` pick the format from the file suffix; a file that cannot be read as a
plan is a one-line `PlanError` that starts with the file name. Every plan that arrives as bytes
(a file, a web upload) comes through `plan_from_bytes`, which bounds its size; the JSON reader
bounds nesting and number length, and the XMP reader refuses DTDs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from ..errors import PlanError
from ..io.atomic import atomic_write_text
from ..io.files import read_user_file
from . import Plan
from .jsonplan import plan_from_json, plan_to_json
from .xmp import plan_from_xmp, plan_to_xmp

__all__ = ["read_plan", "plan_from_bytes", "write_plan", "MAX_PLAN_BYTES"]

MAX_PLAN_BYTES = 1024 * 1024
"""Plan files are kilobytes (the largest of ../shared/presets is 4 KB); anything past this is
refused before it is parsed, which also bounds the memory an XML document can build."""

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
    return plan_from_bytes(read_user_file(source, PlanError, "a plan file", MAX_PLAN_BYTES), source, suffix)


def plan_from_bytes(data: bytes, name: str | Path, suffix: str | None = None) -> Plan:
    """A plan from a file's bytes; ``name`` labels errors. ``suffix`` (".json" or ".xmp") picks the
    reader; without one the content decides: JSON when the text (UTF-8, -16 or -32) starts with ``{``."""
    if len(data) > MAX_PLAN_BYTES:
        raise PlanError(f"{name}: too large for a plan file ({len(data):,} bytes; the limit is "
                        f"{MAX_PLAN_BYTES:,}: presets are kilobytes)")
    reader = _READERS[suffix or (".json" if _looks_like_json(data) else ".xmp")]
    try:
        return reader(data)
    except PlanError as error:
        raise PlanError(f"{name}: {error}") from None


def _looks_like_json(data: bytes) -> bool:
    head = data[:64]
    try:
        text = head.decode(json.detect_encoding(head), errors="ignore")
    except LookupError:
        return False
    return text.lstrip("\ufeff \t\r\n").startswith("{")


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
