"""Atomic file writes: write to a temporary sibling, then rename, so no reader ever sees a partial file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ..errors import ImageWriteError


def atomic_write(path: str | Path, write: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Call ``write(tmp_path)`` then move ``tmp_path`` onto ``path``.

    Refuses an existing ``path`` unless ``overwrite``. On any failure the temporary file is removed
    and nothing appears at ``path``. The temporary file keeps ``path``'s suffix so writers that pick
    a format by extension still work.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise ImageWriteError(f"{target}: already exists (use --overwrite to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if tmp.stat().st_size == 0:
            raise ImageWriteError(f"{target}: writer produced an empty file")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | Path, text: str, overwrite: bool = False) -> Path:
    """Atomically write UTF-8 text."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=overwrite)


def atomic_write_bytes(path: str | Path, data: bytes, overwrite: bool = False) -> Path:
    """Atomically write bytes."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), overwrite=overwrite)
