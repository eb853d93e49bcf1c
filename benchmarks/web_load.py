"""Web app under hostile load (issue 17): memory stays bounded and a normal request still succeeds.

Run: ``.venv/bin/python benchmarks/web_load.py [--clients 20] [--seconds 30] [--cap-mb 1024]``.
A real server (uvicorn on 127.0.0.1, a free port, the app with ``Limits(max_session_bytes=cap)``)
runs in a child process; ``--clients`` threads hammer it for ``--seconds`` (a bounded loop) with a
rotating mix: decompression-bomb headers, uploads declared or streamed over the size limit, slow
uploads that stall mid-body, truncated and fake-terminated JPEGs, hostile presets, and large legit
photos (16-bit RGBA PNGs of ``--megapixels``, the case whose alpha planes were once under-counted).
The server's resident memory is sampled every 0.1 s; at the end a normal photo is opened and a
slider moved. Prints the peak against the cap + 300 MB target and writes
benchmarks/results/web_load.json.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
MEGABYTE = 1024 * 1024
SERVER = """
import sys, uvicorn
from veraretouch.api import Retoucher
from veraretouch.web import Limits, create_app
limits = Limits(max_session_bytes=int(sys.argv[2]), body_idle_seconds=float(sys.argv[3]))
uvicorn.run(create_app(Retoucher(max_pixels=limits.max_pixels), limits), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="error")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def inputs(megapixels: float) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    photo = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (640, 480), interpolation=cv2.INTER_CUBIC)
    jpeg = cv2.imencode(".jpg", photo)[1].tobytes()
    scan = jpeg.find(b"\xff\xda")
    side = int((megapixels * 1e6 / 1.5) ** 0.5)
    rgba = np.zeros((side, int(side * 1.5), 4), np.uint16)
    rgba[...] = (20000, 30000, 40000, 65535)
    bomb_header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    return {
        "photo": jpeg,
        "truncated": jpeg[: len(jpeg) // 2],
        "fake-terminated": jpeg[: scan + (len(jpeg) - scan) // 2] + b"\xff\xd9",
        "bomb": (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", bomb_header) + png_chunk(b"IDAT", zlib.compress(bytes(64)))
                 + png_chunk(b"IEND", b"")),
        "large-rgba16": cv2.imencode(".png", rgba, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes(),
        "deep-preset": b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "digits-preset": b'{"Exposure2012": {"value": ' + b"9" * 5000 + b"}}",
    }


def multipart(field: str, name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def request(port: int, method: str, path: str, body: bytes = b"", content_type: str | None = None,
            headers: dict | None = None, timeout: float = 60) -> tuple[int, bytes, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        sent = {"Host": "127.0.0.1", **({"Content-Type": content_type} if content_type else {}), **(headers or {})}
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


def upload(port: int, name: str, data: bytes, path: str = "/api/photos", field: str = "photo"):
    body, content_type = multipart(field, name, data)
    return request(port, "POST", path, body, content_type)


def slow_upload(port: int, data: bytes, stall: float) -> int:
    """Send half the body, then stall past the server's idle limit: it must answer 408 and let go."""
    body, content_type = multipart("photo", "slow.jpg", data)
    with socket.create_connection(("127.0.0.1", port), timeout=stall + 30) as raw:
        raw.sendall((f"POST /api/photos HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n").encode() + body[: len(body) // 2])
        answer = raw.recv(4096).split(b" ", 2)
    return int(answer[1]) if len(answer) > 1 else 0


def oversize_streamed(port: int, limit: int) -> int:
    """A chunked body that keeps coming past the upload limit."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        raw.sendall(b"POST /api/photos HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n")
        part = b'--x\r\nContent-Disposition: form-data; name="photo"; filename="big.jpg"\r\n\r\n'
        raw.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
        chunk = bytes(MEGABYTE)
        try:
            for _ in range(limit // MEGABYTE + 4):
                raw.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except OSError:  # the server answered and closed
            pass
        answer = raw.recv(4096).split(b" ", 2)
    return int(answer[1]) if len(answer) > 1 else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--cap-mb", type=int, default=1024, help="the server's max_session_bytes")
    parser.add_argument("--idle-seconds", type=float, default=5, help="the server's body_idle_seconds")
    parser.add_argument("--megapixels", type=float, default=30, help="size of the large legit uploads")
    args = parser.parse_args()
    data = inputs(args.megapixels)
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(args.cap_mb * MEGABYTE),
                               str(args.idle_seconds)], env=env)
    process = psutil.Process(server.pid)
    try:
        for _ in range(300):
            try:
                if request(port, "GET", "/api/health", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        baseline = process.memory_info().rss
        samples: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(process.memory_info().rss)
                time.sleep(0.1)

        outcomes: Counter = Counter()
        errors: Counter = Counter()
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds
        kinds = ["bomb", "large-rgba16", "oversize-declared", "oversize-streamed", "slow", "truncated",
                 "fake-terminated", "preset", "large-rgba16", "bomb"]

        def client(index: int) -> None:
            step = index
            while time.monotonic() < deadline:
                kind = kinds[step % len(kinds)]
                step += 1
                try:
                    if kind in ("bomb", "large-rgba16", "truncated", "fake-terminated"):
                        status = upload(port, f"{kind}.png", data[kind])[0]
                    elif kind == "oversize-declared":
                        status = request(port, "POST", "/api/photos", b"x", "multipart/form-data; boundary=x",
                                         {"Content-Length": str(1 << 40)})[0]
                    elif kind == "oversize-streamed":
                        status = oversize_streamed(port, 64 * MEGABYTE)
                    elif kind == "slow":
                        status = slow_upload(port, data["photo"], args.idle_seconds)
                    else:
                        opened = json.loads(upload(port, "p.jpg", data["photo"])[1])
                        preset = data["deep-preset" if step % 2 else "digits-preset"]
                        status = upload(port, "p.json", preset, f"/api/sessions/{opened['session']}/preset",
                                        "preset")[0]
                except (OSError, ValueError, KeyError) as error:
                    with lock:
                        errors[f"{kind}: {type(error).__name__}"] += 1
                    continue
                with lock:
                    outcomes[f"{kind} -> {status}"] += 1

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        threads = [threading.Thread(target=client, args=(index,)) for index in range(args.clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + 120)
        load_seconds = time.monotonic() - started
        status, body, headers = upload(port, "normal.jpg", data["photo"])
        session = json.loads(body)["session"] if status == 200 else None
        moved = session and request(port, "POST", f"/api/sessions/{session}/sliders",
                                    json.dumps({"values": {"Exposure2012": 0.4}}).encode(), "application/json")[0]
        stop.set()
        sampler.join()
    finally:
        server.terminate()
        server.wait(30)
    peak = max(samples)
    target = args.cap_mb * MEGABYTE + 300 * MEGABYTE
    results = {
        "clients": args.clients, "seconds": args.seconds, "load_wall_s": round(load_seconds, 1),
        "cap_mb": args.cap_mb, "body_idle_seconds": args.idle_seconds, "large_upload_megapixels": args.megapixels,
        "large_upload_bytes": len(data["large-rgba16"]), "baseline_rss_mb": round(baseline / MEGABYTE),
        "peak_rss_mb": round(peak / MEGABYTE), "target_mb": round(target / MEGABYTE), "met": peak < target,
        "final_rss_mb": round(samples[-1] / MEGABYTE), "normal_upload_status": status,
        "normal_slider_status": moved, "security_headers_on_normal": "content-security-policy" in {
            name.lower() for name in headers},
        "outcomes": dict(sorted(outcomes.items())), "client_errors": dict(errors),
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
    }
    print(json.dumps(results, indent=2))
    out = ROOT / "benchmarks" / "results" / "web_load.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"peak {results['peak_rss_mb']} MB against {results['target_mb']} MB (cap + 300 MB): "
          f"{'met' if results['met'] else 'MISSED'}; wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
