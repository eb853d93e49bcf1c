"""Reading a user-named file with one-line errors that name it (missing, a folder, unreadable, empty,
too big, not a regular file).

The file is opened without blocking and its type checked on the open descriptor before a byte is
read: a named pipe would block forever and ``/dev/zero`` (or a symlink to it) would read until
memory ran out, while their ``st_size`` of 0 says nothing about what they hold.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import VeraRetouchError

_SPECIAL_KINDS = {stat.S_IFIFO: "a named pipe", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
                  stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory"}


def read_user_file(path: Path, error: type[VeraRetouchError], kind: str, max_bytes: int | None = None) -> bytes:
    """The bytes of ``path``, or ``error`` with a one-line message; ``kind`` names what was expected.

    Only regular files are read (symlinks are followed); at most ``max_bytes`` are accepted.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not {kind}") from None
    except OSError as failure:
        raise error(f"{path}: cannot read the file ({failure.strerror or type(failure).__name__})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise error(f"{path}: is {_SPECIAL_KINDS.get(stat.S_IFMT(mode), 'not a regular file')}, not {kind}")
    with open(descriptor, "rb", closefd=True) as file:
        try:
            data = file.read() if max_bytes is None else file.read(max_bytes + 1)
        except OSError as failure:
            raise error(f"{path}: cannot read the file ({failure.strerror or type(failure).__name__})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise error(f"{path}: too large for {kind} (over {max_bytes:,} bytes)")
    if not data or data.isspace():
        raise error(f"{path}: empty file")
    return data
