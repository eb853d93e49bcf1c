"""Set the photo diagnosis' thresholds on the training photos, for a budget of false claims (issue 20).

The diagnosis (`reasoning.diagnosis`) names a fault from absolute statistics of one photo, so every
threshold trades faults found against good photos wrongly accused. This script measures that trade on
the training photos (`auto_heldout.held_out_photos("train")`: 132 photos no benchmark reports on),
each degraded by ImageMagick in the benchmark's ways (`auto_heldout.DEGRADATIONS`) and also left as it
is, measured exactly as auto mode measures a photo (256 px planner copy, then the 192 px label copy).

For each group of thresholds (`GRID`: the constants one rule reads) it tries every combination and
keeps the one that names the most faults of its kinds while claiming none of them on more than
``--budget`` of the undegraded photos; groups are searched in order, each on top of the choices
before it. The chosen values are printed for `reasoning/diagnosis.py` (whose constants cite this
script); the held-out photos (`benchmarks/explanations.py`) then report.

Run: ``.venv/bin/python benchmarks/diagnosis_calibration.py [--budget 0.08] [--plot docs/images/diagnosis_calibration.png]``.
Writes benchmarks/results/diagnosis_calibration.json (every combination's rates, the choice, and the
rates of the thresholds in the code before and after).
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from auto_heldout import held_out_cases  # noqa: E402
from explanations import FAULTS  # noqa: E402

import veraretouch.reasoning.diagnosis as diagnosis  # noqa: E402
from veraretouch.data.samples import LABEL_SIDE  # noqa: E402
from veraretouch.planner.base import PLANNER_SIDE  # noqa: E402
from veraretouch.planner.features import planner_copy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OFF = 1e9
"""A threshold no photo reaches: that half of a rule never fires."""
GRID = {
    ("under",): {"DARK_STOPS": [0.4, 0.5, 0.6, 0.75, 0.9, 1.0], "DARK_MEDIAN": [0.1, 0.15, 0.2, 0.3, 0.4]},
    ("over",): {"BRIGHT_CLIPPING": [0.005, 0.01, 0.02, 0.04], "BRIGHT_MEDIAN": [0.15, 0.2, 0.25, 0.3, 0.35]},
    ("flat",): {"FLAT_BLACK": [6.0, 8.0, 10.0, 12.0, 14.0, 16.0], "FLAT_WHITE": [90.0, 92.0, 94.0, 96.0, 98.0]},
    ("desaturated",): {"MUTED_CHROMA_P90": [0.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0],
                       "MUTED_SATURATION_P99": [0.0, 30.0, 35.0, 40.0, 45.0, 50.0, 58.0]},
    ("oversaturated",): {"VIVID_CHROMA_P90": [60.0, 70.0, 80.0, 90.0, OFF], "GAMUT_EDGE_SHARE": [0.03, 0.05, 0.1, 0.2, OFF]},
    ("warm", "cool", "green"): {"CAST_THRESHOLD": [3.0, 4.0, 6.0, 8.0, OFF], "CAST_AGREEING": [4, 5],
                                "CAST_SUPPORT": [0.05, 0.1, 0.2], "TOP_LEAN": [0.08, 0.12, 0.16, 0.2, OFF],
                                "TOP_AGREEING": [3, 4, 5]},
}
"""Fault kinds -> the constants of `reasoning.diagnosis` their rule reads -> candidate values."""


@contextlib.contextmanager
def thresholds(values: dict):
    """Set `reasoning.diagnosis` constants for the block, restoring them after."""
    before = {name: getattr(diagnosis, name) for name in values}
    try:
        for name, value in values.items():
            setattr(diagnosis, name, value)
        yield
    finally:
        for name, value in before.items():
            setattr(diagnosis, name, value)


def measure_cases(cases: list[dict]) -> list[dict]:
    """``[{photo, type, m}]``: each case measured as auto mode measures it (`planner.explain.explain`)."""
    return [{"photo": c["photo"], "type": c["type"],
             "m": diagnosis.scene_measurements(planner_copy(planner_copy(c["source"], PLANNER_SIDE), LABEL_SIDE))}
            for c in cases]


def rates(rows: list[dict], kinds) -> dict[str, dict[str, float]]:
    """Per fault kind: ``named`` (share of its degraded cases with the finding) and ``false`` (share of
    undegraded photos with it), under the constants in force."""
    stated = [{(f.aspect, f.attribute, f.state) for f in diagnosis.findings_of(r["m"]) if f.band is None} for r in rows]
    clean = [s for s, r in zip(stated, rows) if r["type"] == "none"]
    out = {}
    for kind in kinds:
        mine = [s for s, r in zip(stated, rows) if r["type"] == kind]
        out[kind] = {"named": sum(FAULTS[kind] in s for s in mine) / max(len(mine), 1),
                     "false": sum(FAULTS[kind] in s for s in clean) / max(len(clean), 1)}
    return out


def search(rows: list[dict], budget: float) -> tuple[dict, list[dict]]:
    """The constants chosen group by group (module docstring) and every combination's rates."""
    chosen, tried = {}, []
    for kinds, grid in GRID.items():
        subset = [r for r in rows if r["type"] in (*kinds, "none")]
        best = None
        for values in itertools.product(*grid.values()):
            candidate = dict(zip(grid, values))
            with thresholds({**chosen, **candidate}):
                result = rates(subset, kinds)
            within = max(v["false"] for v in result.values()) <= budget
            named = statistics.mean(v["named"] for v in result.values())
            tried.append({"kinds": list(kinds), "values": candidate, "rates": result, "within_budget": within})
            if within and (best is None or named > best[0]):
                best = (named, candidate)
        if best is None:
            sys.exit(f"no combination of {list(grid)} keeps {kinds} within a {budget:.0%} false-claim budget")
        chosen.update(best[1])
        print(f"{'/'.join(kinds)}: {best[1]} names {best[0]:.0%}")
    return chosen, tried


def plot(tried: list[dict], chosen: dict, budget: float, path: Path) -> None:
    """Named against falsely claimed, one panel per fault kind: every combination tried, the choice ringed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(14, 6.5), sharex=True, sharey=True)
    for ax, kind in zip(axes.flat, FAULTS):
        points = [(t["rates"][kind]["false"], t["rates"][kind]["named"], t["values"]) for t in tried if kind in t["kinds"]]
        ax.scatter([p[0] for p in points], [p[1] for p in points], s=8, alpha=0.35, color="tab:blue")
        pick = [p for p in points if all(chosen.get(k) == v for k, v in p[2].items())]
        if pick:
            ax.scatter([pick[-1][0]], [pick[-1][1]], s=90, facecolors="none", edgecolors="tab:red", linewidths=2)
        ax.axvline(budget, color="grey", linestyle="--", linewidth=1)
        ax.set_title(kind)
        ax.set_xlim(-0.02, 1.0)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("undegraded photos accused")
    for ax in axes[:, 0]:
        ax.set_ylabel("degraded photos named")
    fig.suptitle("Diagnosis thresholds on the training photos: every combination tried (blue), "
                 f"the choice (red ring), the {budget:.0%} budget (dashed)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.08,
                        help="largest share of undegraded photos a fault kind may be claimed on (default 0.08)")
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--limit", type=int, default=0, help="at most this many photos (0: all)")
    parser.add_argument("--seed", type=int, default=1, help="degradation draws (the held-out benchmarks use 0)")
    parser.add_argument("--plot", type=Path, help="also draw the trade per fault kind to this PNG")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "diagnosis_calibration.json")
    args = parser.parse_args()
    started = time.perf_counter()
    photos, cases = held_out_cases("train", args.side, args.limit, args.seed)
    rows = measure_cases([c for c in cases if c["type"] in FAULTS or c["type"] == "none"])
    before = rates(rows, FAULTS)
    chosen, tried = search(rows, args.budget)
    with thresholds(chosen):
        after = rates(rows, FAULTS)
    result = {"photos": len(photos), "cases": len(rows), "budget": args.budget, "seed": args.seed, "side": args.side,
              "chosen": chosen, "before": before, "after": after,
              "seconds": round(time.perf_counter() - started, 1), "tried": tried}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for name, table in (("before", before), ("after", after)):
        print(name, {k: (round(v["named"], 2), round(v["false"], 2)) for k, v in table.items()})
    if args.plot:
        plot(tried, chosen, args.budget, args.plot)


if __name__ == "__main__":
    main()
