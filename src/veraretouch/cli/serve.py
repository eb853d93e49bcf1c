"""`veraretouch serve`: the local web app (`veraretouch.web`).

The server and the models are imported inside `run_serve` so ``veraretouch --help`` answers at once.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
import threading
import time
from pathlib import Path

from ..errors import VeraRetouchError

SERVE_EPILOG = """\
examples:
  veraretouch serve                          # http://127.0.0.1:8765, reachable from this computer only
  veraretouch serve --open                   # ... and open it in your web browser
  veraretouch serve --port 9000 --max-upload-mb 200 --max-pixels 100000000
  veraretouch serve --models runs/planner    # your own trained models
  veraretouch serve --host 0.0.0.0           # reachable from other machines: read docs/web.md first
  veraretouch serve --allow-host photos.example.com   # behind a reverse proxy with that public name

in the browser: open a photo (JPEG, PNG, TIFF; drop it or pick it), retouch it in auto, style
(words), param (every slider, or a Lightroom preset) or reference (an example) mode, read the
explanation per aspect, nudge the sliders (the preview renders on a copy at most 1024 pixels on
its long side), compare before and after with the split slider, and download the full-resolution
image (EXIF and ICC profile kept), the XMP preset, the .cube LUT and the plan JSON.

safety: binds 127.0.0.1 unless --host says otherwise, and then answers only to localhost names
(and --allow-host names), so no other web site can reach it through the browser;
uploads over --max-upload-mb and images over --max-pixels are refused before they are decoded;
files are accepted by their content, never their name; clients never name a file on the server
(models come only from --models); photos are held in memory (8 at most, dropped after an hour
idle) and downloads are written to a temporary folder that is removed at once. There is no login:
with --host, anyone who can reach the port can use the app and its CPU. Stop it with Ctrl+C.
"""


def add_serve_command(commands) -> argparse.ArgumentParser:
    """Register ``serve`` on the ``add_subparsers()`` object of the ``veraretouch`` parser."""
    serve = commands.add_parser(
        "serve", help="run the web app in your browser (local by default)",
        description="Run the veraretouch web app: retouch photos in a browser, then download the results.",
        epilog=SERVE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this computer only)")
    serve.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="also answer to this host name, e.g. a reverse proxy's public name (repeatable)")
    serve.add_argument("--open", action="store_true", help="open the app in your web browser once it is up")
    serve.add_argument("--max-upload-mb", type=float, default=64, metavar="N",
                       help="largest upload in MB: one photo, or reference mode's after + before (default 64)")
    serve.add_argument("--max-pixels", type=int, default=64_000_000, metavar="N",
                       help="largest image in pixels, checked before decoding (default 64,000,000)")
    serve.add_argument(
        "--models", type=Path, metavar="DIR", help="a training run folder instead of the shipped weights"
    )
    serve.set_defaults(run=run_serve)
    return serve


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, extra: list[str]) -> frozenset[str] | None:
    """Host names to answer to: loopback names on loopback, plus ``--allow-host`` names; None (any)
    off loopback unless names were given."""
    from ..web.safety import LOOPBACK_NAMES

    if not is_loopback(host) and not extra:
        return None
    return LOOPBACK_NAMES | {name.lower() for name in extra} | ({host.lower()} if not is_loopback(host) else set())


def run_serve(args: argparse.Namespace) -> int:
    import numpy as np
    import torch
    import uvicorn

    from ..api import Retoucher
    from ..web import Limits, create_app
    from ..web.safety import MEGABYTE

    if not 0 <= args.port <= 65535:
        raise VeraRetouchError(f"--port must be between 0 and 65535, got {args.port}")
    if args.max_upload_mb <= 0 or args.max_pixels <= 0:
        raise VeraRetouchError("--max-upload-mb and --max-pixels must be positive")
    if args.models is not None and not args.models.is_dir():
        raise VeraRetouchError(f"--models {args.models}: no such folder")
    local = is_loopback(args.host)
    if not local:
        print(f"WARNING: listening on {args.host}: anyone who can reach this machine on port {args.port} can use "
              "the app (there is no login) and its CPU. Use it only on a network you trust, or put it behind a "
              "reverse proxy with authentication and TLS (docs/web.md).", file=sys.stderr)
    limits = Limits(max_upload_bytes=int(args.max_upload_mb * MEGABYTE), max_pixels=args.max_pixels,
                    allowed_hosts=allowed_hosts(args.host, args.allow_host))
    # One worker thread does all model work. Half the cores (at most 4) leaves the browser and the
    # event loop theirs: on 2 busy cores, 2 threads made a slider move 25x slower (2.9 s, not 0.12 s).
    torch.set_num_threads(max(1, min((os.cpu_count() or 2) // 2, 4)))
    listener = _listen(args.host, args.port)
    retoucher = Retoucher(args.models, max_pixels=args.max_pixels)
    print("veraretouch: loading the models ...", file=sys.stderr, flush=True)
    retoucher.pipeline
    retoucher.param(np.full((2, 2, 3), 128, np.uint8), {"Exposure2012": 0.1}).image  # compiles the LUT kernel now
    port = listener.getsockname()[1]
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"
    server = uvicorn.Server(uvicorn.Config(create_app(retoucher, limits), log_level="warning"))
    print(f"veraretouch: the app is at {url}  (Ctrl+C stops it)", file=sys.stderr, flush=True)
    if args.open:
        threading.Thread(target=_open_when_up, args=(server, url), daemon=True).start()
    server.run(sockets=[listener])
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, made here so a busy port is a clear one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise VeraRetouchError(f"cannot listen on {host}:{port} ({error.strerror or error}); "
                               "is another server using it? choose another with --port") from None
    return listener


def _open_when_up(server, url: str) -> None:
    """Open the browser once the server answers; where there is no browser, say so and carry on."""
    import webbrowser

    while not server.started:
        time.sleep(0.1)
    # Without a display, webbrowser would start a text-mode browser in this terminal.
    headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    try:
        opened = not headless and webbrowser.open(url)
    except Exception:  # a broken browser setting must not stop the server
        opened = False
    if not opened:
        print(f"veraretouch: no web browser could be opened here: open {url} yourself", file=sys.stderr)
