"""The web app's guard rails, kept apart from the routes so they can be read and tested on their own.

`Limits` holds every bound the server enforces. `RequestGuard` is an ASGI middleware that runs
before any route: it answers only the host names the server was bound for (a page on another
site cannot reach a loopback server through DNS rebinding), refuses state-changing requests sent
from another site's page, refuses a request body larger than the upload limit both from its
declared Content-Length and while it streams in (so nothing over the limit is ever read, let
alone decoded), and adds security headers to every response. `safe_label` turns a client's file
name into a label for messages and download names: the server never opens a path a client sent.
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from fastapi import HTTPException
from starlette.responses import JSONResponse

MEGABYTE = 1024 * 1024

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "content-security-policy": (
        "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    ),
}
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Limits:
    """Every bound the server enforces. The defaults suit one person on their own computer."""

    max_upload_bytes: int = 64 * MEGABYTE
    """Largest request body: one photo, or the after + before pair of reference mode together."""
    max_pixels: int = 64_000_000
    """Largest image, from its header, before its pixels are decoded (decompression-bomb guard)."""
    max_preset_bytes: int = MEGABYTE
    """Largest preset (.xmp / .json) for param mode: real presets are a few kilobytes."""
    max_sessions: int = 8
    """Photos held in memory at once; the least recently used is dropped beyond this."""
    max_session_bytes: int = 2048 * MEGABYTE
    """Memory the held photos may take together (pixels and previews); least recently used go first."""
    session_idle_seconds: float = 3600.0
    """A photo not touched for this long is dropped."""
    body_idle_seconds: float = 30.0
    """Longest wait for the next part of a request body: a client that stalls longer gets a 408 and
    its connection is freed (a slow upload cannot hold the server's memory indefinitely)."""
    allowed_hosts: frozenset[str] | None = LOOPBACK_NAMES
    """Host names the server answers to (None: any). Loopback by default, against DNS rebinding."""


class RequestTooLarge(HTTPException):
    """The body went past the upload limit while it streamed in."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


class RequestTimedOut(HTTPException):
    """The body stopped arriving for longer than the idle limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the upload stalled for over {seconds:g} s; try again")


def too_large_message(limit: int) -> str:
    return (f"the upload is larger than the server's limit of {limit / MEGABYTE:g} MB; "
            "use a smaller file or restart the server with a larger --max-upload-mb")


class RequestGuard:
    """ASGI middleware: host and origin checks, the request-size limit, security headers."""

    def __init__(self, app, limits: Limits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()
                         if name.encode() not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        refusal = self._refusal(scope["method"], headers)
        if refusal is not None:
            status, text = refusal
            await JSONResponse({"error": text}, status)(scope, receive, send_with_headers)
            return
        limit, received, body_done = self.limits.max_upload_bytes, 0, False

        async def counted_receive():
            nonlocal received, body_done
            if body_done:  # after the body only a disconnect can come: no time limit
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.limits.body_idle_seconds)
            except asyncio.TimeoutError:
                raise RequestTimedOut(self.limits.body_idle_seconds) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    raise RequestTooLarge(limit)
            return message

        await self.app(scope, counted_receive, send_with_headers)

    def _refusal(self, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        allowed = self.limits.allowed_hosts
        if allowed is not None and _host_name(host.lower()) not in allowed:
            return 400, (f"this server answers only to {', '.join(sorted(allowed))}, not {host!r}; "
                         "open it by that address")
        origin = headers.get("origin")
        if method not in SAFE_METHODS and origin is not None and urlsplit(origin).netloc != host:
            return 403, "requests from another site's page are refused; use the app's own page"
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limits.max_upload_bytes):
            return 413, too_large_message(self.limits.max_upload_bytes)
        return None


def _host_name(host: str) -> str:
    """The Host header without its port (``[::1]:8765`` -> ``[::1]``, ``localhost:80`` -> ``localhost``)."""
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def safe_label(filename: str | None, fallback: str = "photo") -> str:
    """A client's file name reduced to a harmless label (``../../x y.JPG`` -> ``x-y.JPG``): the last
    path part, ASCII letters, digits, ``._-`` only, no leading dot, at most 80 characters. A name
    with nothing left of its stem (``фото.jpg``) becomes ``fallback`` with its suffix (``photo.jpg``)."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    label = _harmless(name)[:80]
    stem, dot, suffix = name.rpartition(".")
    if dot and not _harmless(stem) and _harmless(suffix):
        return f"{fallback}.{_harmless(suffix)[:16]}"
    return label or fallback


def _harmless(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")


def safe_stem(label: str) -> str:
    """The label without its suffix, for download names."""
    stem = label.rsplit(".", 1)[0] if "." in label else label
    return stem or "photo"
