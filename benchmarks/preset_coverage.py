"""How much of the shared Lightroom presets veraretouch models: look-field occurrences, modelled or not.

Run: ``.venv/bin/python benchmarks/preset_coverage.py [--presets ../shared/presets]``.
Prints a Markdown table (paste into docs/benchmarks.md) and writes benchmarks/results/preset_coverage.json.

A *look-field occurrence* is one field of one readable preset that changes the picture, as
`Plan.from_file` reads it: a set value or a non-identity curve (modelled), or an entry of
``plan.unmodelled`` (not modelled). Bookkeeping and no-op fields are neither. The issue's target
excludes the fields that stay out of scope: ``Look`` (the profile reference), lens corrections and
noise reduction (`OUT_OF_SCOPE`).
"""
from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from veraretouch import Plan, PlanError

ROOT = Path(__file__).resolve().parents[1]
OUT_OF_SCOPE_PREFIXES = ("Look", "Lens", "AutoLateralCA", "PerspectiveUpright", "VignetteAmount", "VignetteMidpoint",
                         "ChromaticAberration", "Defringe", "LuminanceSmoothing", "LuminanceNoiseReduction",
                         "ColorNoiseReduction")
"""Field-name prefixes that stay unmodelled by design: the profile, lens corrections, noise reduction."""


def out_of_scope(name: str) -> bool:
    return name.startswith(OUT_OF_SCOPE_PREFIXES)


def count(folder: Path) -> dict:
    modelled: collections.Counter = collections.Counter()
    unmodelled: collections.Counter = collections.Counter()
    excluded: collections.Counter = collections.Counter()
    readable = unreadable = 0
    for path in sorted(folder.rglob("*.xmp")):
        try:
            plan = Plan.from_file(path)
        except PlanError:
            unreadable += 1
            continue
        readable += 1
        modelled.update(list(plan.values) + list(plan.curves))
        for name in plan.unmodelled:
            (excluded if out_of_scope(name) else unmodelled)[name] += 1
    total = sum(modelled.values()) + sum(unmodelled.values())
    return {"readable": readable, "unreadable": unreadable, "modelled": sum(modelled.values()),
            "unmodelled": sum(unmodelled.values()), "share_modelled": sum(modelled.values()) / max(total, 1),
            "excluded": sum(excluded.values()), "unmodelled_fields": dict(unmodelled.most_common()),
            "excluded_fields": dict(excluded.most_common()), "modelled_fields": dict(modelled.most_common())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", type=Path, default=ROOT.parent / "shared" / "presets")
    args = parser.parse_args()
    if not args.presets.is_dir():
        raise SystemExit(f"{args.presets}: no preset folder (the shared presets are needed)")
    result = count(args.presets)
    out = ROOT / "benchmarks" / "results" / "preset_coverage.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("| readable presets | look-field occurrences | modelled | not modelled | share modelled |")
    print("|---|---|---|---|---|")
    print(f"| {result['readable']} ({result['unreadable']} unreadable) | {result['modelled'] + result['unmodelled']} "
          f"| {result['modelled']} | {result['unmodelled']} | {100 * result['share_modelled']:.1f} % |")
    print(f"\nnot modelled: {result['unmodelled_fields'] or 'none'}")
    print(f"out of scope (not counted): {result['excluded_fields']}")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
