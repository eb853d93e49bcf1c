"""Reading a user-named file with one-line errors that name it (missing, a folder, unreadable, empty, too big)."""
from __future__ import annotations

from pathlib import Path

from ..errors import VeraRetouchError


def read_user_file(path: Path, error: type[VeraRetouchError], kind: str, max_bytes: int | None = None) -> bytes:
    """The bytes of ``path``, or ``error`` with a one-line message; ``kind`` names what was expected."""
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise error(f"{path}: too large for {kind} ({path.stat().st_size} bytes)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not {kind}") from None
    except OSError as failure:
        raise error(f"{path}: cannot read the file ({failure.strerror or type(failure).__name__})") from None
    if not data or data.isspace():
        raise error(f"{path}: empty file")
    return data
