"""Photos open in the web app, held in memory under random ids that cannot be guessed.

A `Session` is one opened photo: the upload at full resolution (downloads render from it), a
downsized proxy (previews render on it, well under a second per slider move), the current edit
as a `Retouched`, and the last preview. The `SessionStore` drops the least recently used photo
when there are too many or they take too much memory, and any photo left idle too long, so a
long-running server's memory stays bounded. Nothing is written to disk.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from fastapi import HTTPException

from ..api import Retouched
from ..io.images import Photo

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{22}")
"""`secrets.token_urlsafe(16)`: 128 random bits. Anything else (a path, a guess) is refused unread."""


@dataclass
class Session:
    label: str
    """The upload's file name made safe (`safe_label`): for messages and download names only."""
    photo: Photo
    proxy: Photo
    original_jpeg: bytes
    id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    result: Retouched | None = None
    """The current edit on `photo`: the model's (auto, style, reference) or the sliders' (param)."""
    source_mode: str | None = None
    """The mode that made the edit the sliders started from."""
    adjusted: bool = False
    """The sliders were moved after a model's edit: `result` now renders the sliders."""
    explanation: dict | None = None
    preview_jpeg: bytes | None = None
    version: int = 0
    last_used: float = field(default_factory=time.monotonic)

    @property
    def nbytes(self) -> int:
        """Memory held: pixels and alpha of the photo and proxy (the whole buffer each one keeps
        alive, should it be a view of a larger one), and the encoded previews."""
        planes = [self.photo.pixels, self.photo.alpha, self.proxy.pixels, self.proxy.alpha]
        buffers = {id(base): base.nbytes for base in map(_owner, planes) if base is not None}
        return sum(buffers.values()) + len(self.original_jpeg) + len(self.preview_jpeg or b"")


def _owner(array: np.ndarray | None) -> np.ndarray | None:
    """The array that owns ``array``'s memory (itself unless it is a view)."""
    while array is not None and isinstance(array.base, np.ndarray):
        array = array.base
    return array


class SessionStore:
    """Thread-safe LRU store of sessions, bounded in count, memory and idle time."""

    def __init__(self, max_sessions: int, max_bytes: int, idle_seconds: float, clock=time.monotonic) -> None:
        self.max_sessions, self.max_bytes, self.idle_seconds = max_sessions, max_bytes, idle_seconds
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session: Session) -> Session:
        """Keep ``session``, dropping expired and then least recently used ones to stay in bounds
        (the newest is always kept, whatever its size: the pixel limit bounds it)."""
        with self._lock:
            session.last_used = self._clock()
            self._sessions[session.id] = session
            self._drop_expired()
            while len(self._sessions) > 1 and (
                    len(self._sessions) > self.max_sessions
                    or sum(s.nbytes for s in self._sessions.values()) > self.max_bytes):
                self._sessions.popitem(last=False)
        return session

    def make_room(self, incoming: int) -> None:
        """Drop least recently used sessions until ``incoming`` more bytes fit under the limit: called
        before a photo is decoded, so its decode does not come on top of a full store."""
        with self._lock:
            while self._sessions and sum(s.nbytes for s in self._sessions.values()) + incoming > self.max_bytes:
                self._sessions.popitem(last=False)

    def get(self, session_id: str) -> Session:
        """The session, marked as just used; 404 for a malformed, unknown, dropped or expired id."""
        with self._lock:
            self._drop_expired()
            session = self._sessions.get(session_id) if SESSION_ID.fullmatch(session_id) else None
            if session is None:
                raise HTTPException(404, "this photo is no longer open (the server keeps a few photos for "
                                         "an hour, or was restarted); open it again")
            session.last_used = self._clock()
            self._sessions.move_to_end(session_id)
            return session

    def remove(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _drop_expired(self) -> None:
        deadline = self._clock() - self.idle_seconds
        for session_id in [key for key, s in self._sessions.items() if s.last_used < deadline]:
            del self._sessions[session_id]
