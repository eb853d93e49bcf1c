"""Baked LUTs kept on disk between runs, so that applying a preset again needs no torch at all.

A LUT is stored under a hash of everything that determines it: a description of the edit (the
caller's: a plan's values and curves), the LUT size, and the source code that bakes it (the
operators, the parameter registry, plans, baking) with the torch and numpy versions. Editing an
operator or upgrading torch therefore never reuses a stale LUT. The folder is
$VERARETOUCH_LUT_CACHE, else $XDG_CACHE_HOME/veraretouch/luts, else ~/.cache/veraretouch/luts;
VERARETOUCH_LUT_CACHE=off turns the store off. A folder that cannot be written is skipped
silently: the store only saves time, and a bad or truncated file is baked again.
"""
from __future__ import annotations

import functools
import hashlib
import io
import os
from importlib import metadata
from pathlib import Path

import numpy as np

from ..errors import VeraRetouchError
from ..io.atomic import atomic_write_bytes

PACKAGE = Path(__file__).resolve().parents[1]
BAKING_SOURCES = ("operators", "plan", "lut/photo.py", "lut/bake.py", "lut/store.py")
"""What a baked plan LUT depends on, relative to the package folder (folders: every .py in them)."""


def store_folder() -> Path | None:
    """Where LUTs are kept, or None when the store is off."""
    chosen = os.environ.get("VERARETOUCH_LUT_CACHE", "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(cache_home) / "veraretouch" / "luts"


@functools.cache
def code_fingerprint() -> str:
    """Hash of the baking code and the torch and numpy versions."""
    digest = hashlib.sha256()
    for name in BAKING_SOURCES:
        path = PACKAGE / name
        for source in sorted(path.glob("*.py")) if path.is_dir() else [path]:
            digest.update(source.relative_to(PACKAGE).as_posix().encode() + b"\0" + source.read_bytes())
    for package in ("torch", "numpy"):
        digest.update(f"{package}={metadata.version(package)}".encode())
    return digest.hexdigest()


def lut_path(description: str, size: int) -> Path | None:
    """The file for the LUT of ``description`` at ``size``, or None when the store is off."""
    folder = store_folder()
    if folder is None:
        return None
    key = hashlib.sha256(f"{code_fingerprint()}\0{size}\0{description}".encode()).hexdigest()
    return folder / f"{key[:40]}.npy"


def load_lut(path: Path | None, size: int) -> np.ndarray | None:
    """The stored ``(N, N, N, 3)`` float32 LUT (read-only), or None when absent or unreadable."""
    if path is None:
        return None
    try:
        lut = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if lut.shape != (size, size, size, 3) or lut.dtype != np.float32 or not np.isfinite(lut).all():
        return None
    lut.setflags(write=False)
    return lut


def save_lut(path: Path | None, lut: np.ndarray) -> None:
    """Keep ``lut`` at ``path`` (atomically, as every output); failures are ignored."""
    if path is None:
        return
    buffer = io.BytesIO()
    np.save(buffer, lut)
    try:
        atomic_write_bytes(path, buffer.getvalue(), overwrite=True)
    except (OSError, VeraRetouchError):
        pass
