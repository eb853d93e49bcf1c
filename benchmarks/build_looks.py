"""Rebuild the shipped look library (src/veraretouch/weights/looks/looks.json) from a presets folder,
and the looks' text embeddings by the shipped instruction encoder (embeddings.safetensors beside it;
rerun after training a new encoder).

Run: ``.venv/bin/python benchmarks/build_looks.py [--presets ../shared/presets]``. The folder has the
layout of peva3/Lightroom-Presets (MIT): ``Presets/<Category>/*.xmp``, ``docs/*.md`` (a table per
category describing each preset) and ``LICENSE``; the licence text is stored with the looks.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from veraretouch.reasoning.encoder import default_instruction_encoder
from veraretouch.reasoning.looks import (
    build_look_library,
    save_look_embeddings,
    save_look_library,
    shipped_library_path,
)

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", type=Path, default=ROOT.parent / "shared" / "presets")
    parser.add_argument("--output", type=Path, default=shipped_library_path())
    args = parser.parse_args()
    looks = build_look_library(args.presets)
    licence = (args.presets / "LICENSE").read_text() if (args.presets / "LICENSE").exists() else ""
    save_look_library(looks, args.output, "peva3/Lightroom-Presets (github.com/peva3/Lightroom-Presets), unchanged "
                      "slider values; names and descriptions from its docs/", licence)
    save_look_embeddings(looks, default_instruction_encoder(), args.output)
    described = sum(bool(look.description) for look in looks)
    print(f"{len(looks)} looks ({described} with a description) -> {args.output} "
          f"({args.output.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
