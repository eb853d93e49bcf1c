"""User-facing errors: one line that names the file or the field, never a traceback."""


class VeraRetouchError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits non-zero."""


class ImageReadError(VeraRetouchError):
    """A file could not be decoded as an image (corrupt, truncated, not an image, too large)."""


class ImageWriteError(VeraRetouchError):
    """An output could not be written (exists, unsupported format, disk error)."""


class PlanError(VeraRetouchError):
    """A plan or parameter file is malformed, names unknown sliders or holds out-of-range values."""


_CONTROL_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(32), 127)} | {9: "\\t", 10: "\\n", 13: "\\r"}


def one_line(text: str) -> str:
    """``text`` with control characters escaped as ``\\n``, ``\\x1b``...: a newline in a file name
    would otherwise split a one-line report in two, and an escape sequence would reach the terminal."""
    return text.translate(_CONTROL_ESCAPES)
