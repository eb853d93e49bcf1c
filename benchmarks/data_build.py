"""Data-build throughput: the same small build locally (one process) and on local Ray (one worker per
core), samples per second, and whether both wrote the same bytes.

Run: ``.venv/bin/python benchmarks/data_build.py [--photos 4] [--per-photo 40] [--shard-size 20]``.
Uses the first ``--photos`` of ../shared/photos (linked into a temporary folder) and the shared
presets. Prints a Markdown table and writes benchmarks/results/data_build.json. The machine is
shared: quote the ratio from one run.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from veraretouch.data.colors import photo_paths
from veraretouch.data.shards import BuildConfig, build_dataset

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--per-photo", type=int, default=40)
    parser.add_argument("--shard-size", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        photos = Path(folder) / "photos"
        photos.mkdir()
        for path in photo_paths(SHARED / "photos")[:args.photos]:
            os.symlink(path.resolve(), photos / path.name)
        config = BuildConfig(per_photo=args.per_photo, shard_size=args.shard_size)
        results = {}
        for name, use_ray in (("local (1 process)", False), (f"Ray ({os.cpu_count()} workers)", True)):
            out = Path(folder) / name.split()[0]
            started = time.perf_counter()
            stats = build_dataset(photos, out, SHARED / "presets", config, use_ray=use_ray, progress=False)
            seconds = time.perf_counter() - started
            attempted = sum(sum(s["kept"].values()) + sum(s["dropped"].values()) for s in stats)
            labelling = sum(s["seconds"] for s in stats)
            results[name] = {"samples": attempted, "seconds": round(seconds, 2),
                             "samples_per_second": round(attempted / seconds, 3),
                             "labelling_seconds_per_sample": round(labelling / attempted, 4),
                             "shards": {p.name: p.read_bytes() for p in sorted(out.glob("*.tar"))}}
        local, ray = results.values()
        identical = local.pop("shards") == ray.pop("shards")
    print("| path | samples | wall s | samples/s | labelling s/sample (one core) |\n|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['samples']} | {r['seconds']} | {r['samples_per_second']} "
            f"| {r['labelling_seconds_per_sample']} |"
        )
    print(f"\nRay / local throughput: {ray['samples_per_second'] / local['samples_per_second']:.2f}x; "
          f"same bytes: {identical}")
    out = ROOT / "benchmarks" / "results" / "data_build.json"
    out.write_text(
        json.dumps({"config": vars(args), "results": results, "identical_shards": identical}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
