"""Web app latency (issue 7): a slider move (preview on the proxy) and the full-resolution download.

Run: ``.venv/bin/python benchmarks/web_latency.py [--megapixels 24] [--moves 15]``. The app
(`web.create_app`, shipped models) is driven in-process through FastAPI's test client,
as the page drives it: open a photo, auto-retouch, then move the exposure slider ``--moves`` times
(each move = POST the sliders + GET the new preview JPEG), then download the image at full
resolution. Prints medians (ms) and writes benchmarks/results/web_latency.json. Set
``OMP_WAIT_POLICY=PASSIVE`` as `veraretouch serve` does (importing veraretouch sets it when unset).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import torch  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from param_speed import make_source  # noqa: E402  (the same photo-like source as the param benchmark)

from veraretouch.web import create_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=24)
    parser.add_argument("--moves", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        source, origin = make_source(Path(folder), args.megapixels)
        client = TestClient(create_app(), base_url="http://127.0.0.1:8765")  # the loopback name the app answers to
        started = time.perf_counter()
        response = client.post("/api/photos", files={"photo": (source.name, source.read_bytes(), "image/jpeg")})
        if response.status_code != 200:
            raise SystemExit(f"upload refused: {response.json()['error']}")
        opened = response.json()
        open_seconds = time.perf_counter() - started
        session = opened["session"]
        started = time.perf_counter()
        auto = client.post(f"/api/sessions/{session}/auto", json={}).json()
        auto_seconds = time.perf_counter() - started
        moves = []
        for step in range(args.moves):
            values = {**auto["values"], "Exposure2012": 0.5 + 0.05 * step}
            started = time.perf_counter()
            nudged = client.post(f"/api/sessions/{session}/sliders", json={"values": values}).json()
            client.get(nudged["preview"]).raise_for_status()
            moves.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.get(f"/api/sessions/{session}/download/image").raise_for_status()
        download_seconds = time.perf_counter() - started
    results = {"source": origin, "megapixels": args.megapixels, "open_s": round(open_seconds, 3),
               "auto_s": round(auto_seconds, 3), "slider_move_median_ms": round(1000 * statistics.median(moves), 1),
               "slider_move_max_ms": round(1000 * max(moves), 1), "moves": args.moves,
               "download_full_resolution_s": round(download_seconds, 3)}
    print(json.dumps(results, indent=2))
    (ROOT / "benchmarks" / "results" / "web_latency.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
