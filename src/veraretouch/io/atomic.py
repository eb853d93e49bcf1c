"""Atomic file writes: write to a temporary sibling, then rename, so no reader ever sees a partial file.

Every temporary file is registered while it exists. `removing_temporaries_on_signals` installs one
handler for SIGINT and SIGTERM that deletes them all (whichever thread was writing them), stops any
further rename, and raises `Interrupted`: an interrupted or terminated run leaves no hidden file
behind. Files are created with mode 0666 less the umask, as any other program's would be.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import ImageWriteError

_TEMPORARY_NAME = re.compile(r"^\..+\.[A-Za-z0-9_-]{8}\.tmp(\.[^.]*)?$")
_live: set[Path] = set()
_lock = threading.RLock()
"""Guards ``_live`` and the final rename; re-entrant because the signal handler runs on the main
thread, possibly while that thread holds it."""
_stopped_by: list[int] = []
"""The signal that interrupted the run, once one has: no rename happens after it."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which (the exit status is 128 + signum)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def is_temporary(path: Path) -> bool:
    """True for the name of a temporary file `atomic_write` makes (``.<stem>.<random>.tmp<suffix>``)."""
    return bool(_TEMPORARY_NAME.match(path.name))


def _create_temporary(target: Path) -> Path:
    """A new empty file beside ``target``, created exclusively with mode 0666 (the umask applies),
    registered before it exists so that a signal at any moment finds it."""
    while True:
        tmp = target.with_name(f".{target.stem}.{secrets.token_urlsafe(6)}.tmp{target.suffix}")
        with _lock:
            _live.add(tmp)
            try:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666))
                return tmp
            except FileExistsError:
                _live.discard(tmp)
            except BaseException:
                _live.discard(tmp)
                raise


def _check_not_stopped() -> None:
    if _stopped_by:
        raise Interrupted(_stopped_by[0])


def atomic_write(path: str | Path, write: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Call ``write(tmp_path)`` then move ``tmp_path`` onto ``path``.

    Refuses an existing ``path`` unless ``overwrite``. On any failure the temporary file is removed
    and nothing appears at ``path``. The temporary file keeps ``path``'s suffix so writers that pick
    a format by extension still work.
    """
    target = Path(path)
    refuse_existing([target], overwrite)
    _check_not_stopped()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temporary(target)
    try:
        write(tmp)
        if tmp.stat().st_size == 0:
            raise ImageWriteError(f"{target}: writer produced an empty file")
        with _lock:
            _check_not_stopped()  # a signal arrived while this thread wrote: leave no file
            os.replace(tmp, target)
            _live.discard(tmp)
    except BaseException:
        with _lock:
            tmp.unlink(missing_ok=True)
            _live.discard(tmp)
        raise
    return target


def refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """`ImageWriteError` naming the first of ``paths`` that exists, unless ``overwrite``: a writer
    checks all its outputs with one call before writing the first, so a clash leaves nothing."""
    if not overwrite:
        existing = next((path for path in map(Path, paths) if os.path.lexists(path)), None)
        if existing is not None:
            raise ImageWriteError(f"{existing}: already exists (use --overwrite to replace it)")


def remove_temporaries() -> None:
    """Delete every temporary file a write in progress holds."""
    with _lock:
        for tmp in list(_live):
            tmp.unlink(missing_ok=True)
        _live.clear()


def _on_signal(signum: int, frame) -> None:
    _stopped_by[:] = [signum]
    remove_temporaries()
    raise Interrupted(signum)


@contextmanager
def removing_temporaries_on_signals() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM delete the temporaries and raise `Interrupted`
    in the main thread (a no-op outside the main thread, where handlers cannot be installed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _stopped_by.clear()


def atomic_write_text(path: str | Path, text: str, overwrite: bool = False) -> Path:
    """Atomically write UTF-8 text."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=overwrite)


def atomic_write_bytes(path: str | Path, data: bytes, overwrite: bool = False) -> Path:
    """Atomically write bytes."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), overwrite=overwrite)
