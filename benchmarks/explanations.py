"""Do explanations name the fault a photo has, and only that (issue 20)?

Held-out photos (`auto_heldout.held_out_photos`: the test photos and the Tux Paint source) are
degraded by ImageMagick with one known fault each (`auto_heldout.DEGRADATIONS`: under / over
exposure, warm / cool / green cast, flat tone, desaturated, oversaturated) and also left as they are.
Auto mode plans and explains each, as users get it (shipped compact planner on a 256 px copy).

Scored per case, reading the explanation's text with the claim checker's own parser:

- **named**: the problem span of the fault's aspect states that fault in the right direction
  (exposure low for "under", temperature high for "warm", ...);
- **false claims**: on the undegraded photos, how often each fault is stated anyway;
- **checked**: the explanation passes `check(..., measured=True)` (stated numbers, faults backed by a
  measurement, problem / plan pairs agreeing);
- **unbacked sentences**: problem sentences with no number in them; **words**: per explanation.

Also reported: how often the diagnosis found the fault (`findings`), so a miss is placed in the
measurement or in the writing.

Run: ``.venv/bin/python benchmarks/explanations.py [--split test|validation] [--side 512] [--limit N]``.
Writes benchmarks/results/explanations[-validation].json and prints the summary.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from auto_heldout import held_out_cases  # noqa: E402

from veraretouch.planner.base import PLANNER_SIDE  # noqa: E402
from veraretouch.planner.features import planner_copy  # noqa: E402
from veraretouch.planner.pipeline import PlanningPipeline  # noqa: E402
from veraretouch.reasoning.text import check, parse_span, parse_tagged, span_name  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FAULTS = {
    "under": ("lighting", "exposure", "low"), "over": ("lighting", "exposure", "high"),
    "warm": ("global_color", "temperature", "high"), "cool": ("global_color", "temperature", "low"),
    "green": ("global_color", "tint", "low"), "flat": ("lighting", "contrast", "low"),
    "desaturated": ("global_color", "saturation", "low"), "oversaturated": ("global_color", "saturation", "high"),
}
"""Degradation type -> the aspect, attribute and state an explanation should name."""
_NUMBER = re.compile(r"\d")


def strength(kind: str, options: str) -> float:
    """How strong a degradation is, read from its ImageMagick options: stops for exposure, log2 of the
    channel-gain ratio for casts, black lift plus white drop (%) for flat, saturation change (%)."""
    numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", options)]
    gains = dict(re.findall(r"-channel ([RGB]) -evaluate multiply ([\d.]+)", options))
    gain = {c: float(gains.get(c, 1.0)) for c in "RGB"}
    if kind in ("under", "over"):
        return abs(math.log2(numbers[0]))
    if kind in ("warm", "cool"):
        return abs(math.log2(gain["R"] / gain["B"]))
    if kind == "green":
        return math.log2(gain["G"])
    if kind == "flat":
        return numbers[0] + 100 - numbers[1]
    return abs(numbers[1] - 100)


def stated_faults(text: str) -> set[tuple[str, str, str]]:
    """``(aspect, attribute, state)`` of every fault the problem spans state (bands excluded)."""
    spans, _ = parse_tagged(text)
    found = set()
    for aspect, _attribute, _state in set(FAULTS.values()):
        for parsed in parse_span(aspect, "problem", spans.get(span_name(aspect, "problem"), "")):
            claim = parsed.claim
            if claim.direction in ("low", "high") and claim.band is None:
                found.add((aspect, claim.attribute, claim.direction))
    return found


def score(case: dict, planned) -> dict:
    explanation = planned.explanation
    text = explanation.text
    spans, _ = parse_tagged(text)
    problem_sentences = [s for name, content in spans.items() if name.endswith("_problem")
                         for s in re.split(r"(?<=[.!?])\s+", content) if s.strip()]
    found = {(f["aspect"], f["attribute"], f["state"]) for f in explanation.findings if "band" not in f}
    return {"photo": case["photo"], "type": case["type"], "options": case["options"],
            "stated": sorted(map(list, stated_faults(text))), "found": sorted(map(list, found)),
            "checked": not check(text, explanation.measurements, planned.plan, measured=True),
            "unbacked": [s for s in problem_sentences if not _NUMBER.search(s)],
            "words": len(re.sub(r"<[^>]+>", " ", text).split()), "text": text}


def summarise(rows: list[dict]) -> dict:
    degraded = [r for r in rows if r["type"] in FAULTS]
    clean = [r for r in rows if r["type"] == "none"]
    per_type = {}
    for kind, fault in FAULTS.items():
        mine = [r for r in degraded if r["type"] == kind]
        if mine:
            cut = statistics.median(strength(kind, r["options"]) for r in mine)
            stronger = [r for r in mine if strength(kind, r["options"]) >= cut]
            per_type[kind] = {"named": sum(list(fault) in r["stated"] for r in mine) / len(mine),
                              "named_stronger_half": sum(list(fault) in r["stated"] for r in stronger) / len(stronger),
                              "stronger_half_from": round(cut, 3),
                              "found": sum(list(fault) in r["found"] for r in mine) / len(mine),
                              "claimed_on_undegraded":
                                  sum(list(fault) in r["stated"] for r in clean) / max(len(clean), 1),
                              "n": len(mine)}
    named = sum(list(FAULTS[r["type"]]) in r["stated"] for r in degraded) / max(len(degraded), 1)
    worst_false = max((v["claimed_on_undegraded"] for v in per_type.values()), default=0.0)
    any_false = sum(any(list(f) in r["stated"] for f in FAULTS.values()) for r in clean) / max(len(clean), 1)
    clean_claims = [sum(list(f) in r["stated"] for f in FAULTS.values()) for r in clean]
    return {"named": round(named, 3),
            "named_stronger_half": round(statistics.mean(v["named_stronger_half"] for v in per_type.values()), 3),
            "mean_false_claims": round(statistics.mean(v["claimed_on_undegraded"] for v in per_type.values()), 3),
            "fault_claims_per_undegraded_photo": round(statistics.mean(clean_claims), 3) if clean_claims else 0.0,
            "found_by_diagnosis": round(sum(list(FAULTS[r["type"]]) in r["found"] for r in degraded)
                                        / max(len(degraded), 1), 3),
            "false_claims_worst_kind": round(worst_false, 3), "undegraded_with_any_fault_claim": round(any_false, 3),
            "checked": round(sum(r["checked"] for r in rows) / len(rows), 3),
            "unbacked_problem_sentences": sum(len(r["unbacked"]) for r in rows),
            "median_words": statistics.median(r["words"] for r in rows), "max_words": max(r["words"] for r in rows),
            "per_type": {k: {q: round(v, 3) if isinstance(v, float) else v for q, v in d.items()}
                         for k, d in per_type.items()},
            "met": {"named_0.9": named >= 0.9, "false_claims_0.1": worst_false <= 0.1,
                    "checked_all": all(r["checked"] for r in rows),
                    "no_unbacked": all(not r["unbacked"] for r in rows),
                    "median_words_90": statistics.median(r["words"] for r in rows) <= 90}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--limit", type=int, default=0, help="at most this many photos (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    photos, cases = held_out_cases(args.split, args.side, args.limit, args.seed)
    cases = [c for c in cases if c["type"] in FAULTS or c["type"] == "none"]
    pipeline = PlanningPipeline()
    rows = [score(case, pipeline.plan(planner_copy(case["source"], PLANNER_SIDE), "auto")) for case in cases]
    summary = summarise(rows)
    out = args.out or ROOT / "benchmarks" / "results" / (
        "explanations.json" if args.split == "test" else "explanations-validation.json")
    result = {"split": args.split, "photos": [p.name for p in photos], "side": args.side, "seed": args.seed,
              "summary": summary, "seconds": round(time.perf_counter() - started, 1), "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(photos)} photos, {len(cases)} cases ({args.split})")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
