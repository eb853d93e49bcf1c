"""Train and measure the antonym-aware instruction encoder (issue 15) against plain MiniLM.

Run: ``nice .venv/bin/python benchmarks/instruction_encoder.py [--save]`` (one thread, seed 0; about a
minute). Trains `reasoning.encoder.DirectionHead` on generated direction requests and on requests for
the train-split presets of ../shared/presets (`data.samples.split_of`), then measures, for MiniLM and
MiniLM + head:

- direction: held-out phrasings (`training.instruction_encoder.HELD_OUT_PHRASINGS`, other words and
  templates than training) classified by their nearest direction prototype; accuracy and the cosine
  margin of the right direction over its opposite;
- antonym pairs: cosine of "make it cooler" to "make it warmer" and to "make it colder" (and two more pairs);
- look retrieval: requests for the held-out presets (validation + test split, never trained on) in
  the data set's words; share whose preset is the nearest / among the 5 nearest of all 451 looks.

``--save`` writes the head to src/veraretouch/weights/instruction_encoder. Results:
benchmarks/results/instruction_encoder.json.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict
from pathlib import Path

import torch

from veraretouch.data.samples import split_of
from veraretouch.reasoning.encoder import InstructionEncoder, SentenceEncoder, shipped_head_path
from veraretouch.reasoning.looks import (
    build_look_library,
    load_look_library,
    save_look_embeddings,
    shipped_library_path,
)
from veraretouch.reasoning.text.instructions import style_instructions
from veraretouch.training.instruction_encoder import HeadTrainingConfig, direction_accuracy, train_direction_head

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ROOT.parent / "shared" / "presets"
ANTONYMS = (("make it cooler", "make it warmer", "make it colder"), ("more contrast", "less contrast", "punchier"),
            ("make it brighter", "make it darker", "make it lighter"))


def look_requests(looks, seed: int, count: int) -> list[tuple[list[str], str]]:
    rng = random.Random(seed)
    return [(style_instructions(look.name, look.category, look.description, rng, count), look.text) for look in looks]


def retrieval(encode, looks, held_out, seed: int) -> dict:
    texts = encode([look.text for look in looks])
    top1 = top5 = total = 0
    for requests, text in look_requests(held_out, seed, 3):
        target = [look.text for look in looks].index(text)
        ranks = torch.argsort(encode(requests) @ texts.T, dim=1, descending=True)[:, :5]
        top1 += int((ranks[:, 0] == target).sum())
        top5 += int((ranks == target).any(dim=1).sum())
        total += len(requests)
    return {"top1": round(top1 / total, 4), "top5": round(top5 / total, 4), "requests": total}


def antonyms(encode) -> list[dict]:
    rows = []
    for anchor, opposite, synonym in ANTONYMS:
        vectors = encode([anchor, opposite, synonym])
        rows.append(
            {
                "pair": f"{anchor} / {opposite} vs {synonym}",
                "opposite": round(float(vectors[0] @ vectors[1]), 3),
                "synonym": round(float(vectors[0] @ vectors[2]), 3),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true", help="write the head to the shipped weights folder")
    parser.add_argument("--label", default="shipped", help="name of this run in the results file")
    parser.add_argument("--steps", type=int, default=HeadTrainingConfig.steps)
    parser.add_argument("--hidden", type=int, default=HeadTrainingConfig.hidden)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--look-examples", type=int, default=HeadTrainingConfig.look_examples_per_preset,
                        help="requests per train preset")
    parser.add_argument("--no-negations", action="store_true", help="train without the 'too X' / 'less X' templates")
    args = parser.parse_args()
    torch.set_num_threads(1)
    looks = build_look_library(PRESETS)
    train = [look for look in looks if split_of(Path(look.file).name) == "train"]
    held_out = [look for look in looks if split_of(Path(look.file).name) != "train"]
    base = SentenceEncoder()
    config = HeadTrainingConfig(steps=args.steps, hidden=args.hidden, seed=args.seed, negations=not args.no_negations,
                                look_examples_per_preset=args.look_examples)
    start = time.perf_counter()
    head, losses = train_direction_head(base, look_requests(train, args.seed, config.look_examples_per_preset), config)
    seconds = time.perf_counter() - start
    tuned = InstructionEncoder(head, base)
    results = {
        "config": asdict(config),
        "train_seconds": round(seconds, 1),
        "train_looks": len(train),
        "held_out_looks": len(held_out),
        "loss_first_last": [round(losses[0], 3), round(sum(losses[-50:]) / 50, 3)],
    }
    for name, encode in (("minilm", base), ("minilm+head", tuned)):
        results[name] = {"direction": direction_accuracy(encode), "antonyms": antonyms(encode),
                         "look_retrieval_held_out": retrieval(encode, looks, held_out, seed=1000 + args.seed)}
        print(name, json.dumps(results[name]))
    print(f"trained in {seconds:.0f} s; loss {results['loss_first_last']}")
    if args.save:
        head.save_pretrained(shipped_head_path())
        library = shipped_library_path()
        save_look_embeddings(load_look_library(library), tuned, library)  # the shipped looks, by the new encoder
        print(f"saved {shipped_head_path()} and the look embeddings")
    out = ROOT / "benchmarks" / "results" / "instruction_encoder.json"
    runs = json.loads(out.read_text()) if out.exists() else {}
    runs[args.label] = results
    out.write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
