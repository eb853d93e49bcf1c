"""`veraretouch train`: train the renderer, the reference encoder, the planner, or post-train it by RL."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import VeraRetouchError
from .arguments import positive_int

TRAIN_EPILOG = """\
examples:
  veraretouch train renderer --photos ../shared/photos --presets ../shared/presets -o runs/renderer
  veraretouch train renderer --photos my-photos/ -o runs/renderer --max-minutes 30   # resume later
  veraretouch train reference --photos ../shared/photos --presets ../shared/presets \\
      --models runs/renderer -o runs/reference
  veraretouch train planner --data data/v1 --photos ../shared/photos -o runs/planner
  veraretouch train detector --photos ../shared/photos --photos ../shared/photos-more \
      --hold-out 'tuxpaint-*' -o runs/detector
  veraretouch train rl --cache runs/planner/cache --photos ../shared/photos --models runs/planner -o runs/rl
  torchrun --standalone --nproc-per-node 2 -m veraretouch train rl --cache runs/planner/cache \\
      --photos ../shared/photos -o runs/rl        # two processes share the sampling
  veraretouch train rl ... --ray 4                # four Ray Train workers (--ray-address for a cluster)
  veraretouch train rl --planner vlm --checkpoint runs/vlm/vlm_planner --data data/v1 \\
      --photos ../shared/photos -o runs/rl-vlm   # the VLM planner: a GPU wanted (docs/rl.md)

rl: DAPO-AE post-training of the compact planner (docs/rl.md): the SFT planner in --models (or the
shipped one) becomes a Gaussian policy over plans, rewarded for similarity to the targets and, in
auto mode, by the aesthetic critic (--critic DIR, or one trained from --photos into OUT/critic).
Prompts come from a planner cache (--cache, or built from --data into OUT/cache). OUT gets
steps.csv (every DAPO step), log.csv (validation PSNR per mode, similarity, critic reward),
rewards.png and compact_planner/; use it with `veraretouch auto --models OUT`.

detector: trains the fault detector that decides which faults an explanation names
(docs/model-card-fault-detector.md):
the train-split photos of every --photos folder (less --hold-out globs) are given known camera faults and
measured; boosted trees per fault, each fault's threshold set so that at most --budget of good photos
(out of fold) are accused of it. OUT gets fault_detector/ (use it with `veraretouch auto --models OUT`),
report.json and detector.png (faults named against good photos accused, per fault).

planner: trains the compact planner on a dataset from `veraretouch data build` (--data; --photos
is the folder the dataset was built from), through the frozen renderer and SliderEncoder (--models,
default the shipped ones); the rendered colour cache goes to OUT/cache.

renderer: trains the Retouch Renderer and the SliderEncoder on colours of --photos, with plans
from the paper's slider distributions, wide uniform ranges and the --presets (.xmp files,
searched recursively); the parametric operators are the teacher. reference: trains the
ReferenceEncoder for a frozen renderer (--models: a run folder holding renderer/ and
slider_encoder/; default the shipped ones). One photo in five and one preset in five (by a hash
of the file name) are held out for the metrics in OUT/log.csv, never trained on.

OUT gets checkpoint.pt (rerunning the same command resumes), log.csv, loss.png and the weights as
safetensors folders (a reference run also copies the renderer it was trained for, so the folder is
a complete set); use them with --models OUT. Runs single-threaded by default (small
tensors: more threads were slower on a busy machine).
"""


def add_train_command(commands) -> None:
    """Register ``train`` on the ``add_subparsers()`` object of the ``veraretouch`` parser."""
    train = commands.add_parser(
        "train", help="train the renderer and its encoders (resumable)",
        description="Train the models on your photos and presets.", epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("model", choices=("renderer", "reference", "planner", "rl", "detector"), help="what to train")
    train.add_argument("--photos", required=True, type=Path, action="append", metavar="DIR",
                       help="folder of training photos (JPEG, PNG, TIFF); detector: repeat for several")
    train.add_argument("--hold-out", action="append", default=[], metavar="GLOB",
                       help="detector: leave out photos whose name matches (a source kept for benchmarks)")
    train.add_argument("--budget", type=float, default=0.08, metavar="SHARE",
                       help="detector: the largest share of good photos accused of each fault (default 0.08)")
    train.add_argument("--presets", type=Path, metavar="DIR", help="folder of Lightroom .xmp presets (optional)")
    train.add_argument("-o", "--output", required=True, type=Path, metavar="OUT",
                       help="run folder (resumed if it has a checkpoint)")
    train.add_argument("--models", type=Path, metavar="DIR",
                       help="reference, planner: the run holding the renderer (and SliderEncoder) to train for")
    train.add_argument("--data", type=Path, metavar="DIR",
                       help="planner, rl: a dataset built by `veraretouch data build`")
    train.add_argument("--cache", type=Path, metavar="DIR",
                       help="rl: a planner cache to reuse (default OUT/cache from --data)")
    train.add_argument("--critic", type=Path, metavar="DIR",
                       help="rl: the aesthetic critic (default: train one from --photos)")
    train.add_argument("--planner", choices=("compact", "vlm"), default="compact",
                       help="rl: the planner to post-train: compact (default) or vlm (needs --checkpoint and --data)")
    train.add_argument("--checkpoint", type=Path, metavar="DIR",
                       help="rl --planner vlm: the fine-tuned VLM planner to start from")
    train.add_argument("--ray", type=positive_int, metavar="N", help="rl: run on N Ray Train workers")
    train.add_argument("--ray-address", metavar="ADDRESS", help="rl: a Ray cluster address (default a local Ray)")
    train.add_argument("--steps", type=positive_int, metavar="N",
                       help="length of the schedule (default 10000 renderer, 4000 reference)")
    train.add_argument("--max-minutes", type=float, metavar="M",
                       help="stop after M minutes (checkpointed; rerun to resume)")
    train.add_argument("--threads", type=positive_int, default=1, metavar="N", help="torch threads (default 1)")
    train.set_defaults(run=run_train)


def check_source_folders(args: argparse.Namespace) -> None:
    """``--photos`` must be a folder, and ``--presets`` one when given (train and data build)."""
    if not args.photos.is_dir():
        raise VeraRetouchError(f"{args.photos}: not a folder of photos")
    if args.presets is not None and not args.presets.is_dir():
        raise VeraRetouchError(f"{args.presets}: not a folder of presets")


def run_train(args: argparse.Namespace) -> int:
    import torch

    from ..weights import load_models

    torch.set_num_threads(args.threads)
    if args.model == "detector":
        return run_train_detector(args)
    if len(args.photos) > 1 or args.hold_out:
        raise VeraRetouchError(f"train {args.model} takes one --photos folder and no --hold-out")
    args.photos = args.photos[0]
    check_source_folders(args)
    seconds = None if args.max_minutes is None else 60 * args.max_minutes
    steps = {} if args.steps is None else {"steps": args.steps}
    if (args.planner, args.checkpoint) != ("compact", None) and args.model != "rl":
        raise VeraRetouchError("--planner and --checkpoint are for train rl")
    if args.model == "rl":
        return run_train_rl(args, seconds, steps)
    if args.model == "planner":
        from ..training.planner import PlannerTrainingConfig, train_planner
        from ..training.planner_cache import build_planner_cache

        if args.data is None or not (args.data / "manifest.json").is_file():
            raise VeraRetouchError("train planner needs --data DIR, a dataset folder made by `veraretouch data build`")
        renderer, slider_encoder = load_models(args.models, "renderer", "slider_encoder")
        cache = build_planner_cache(args.data, args.photos, args.output / "cache")
        trainer = train_planner(args.output, cache, renderer, slider_encoder, PlannerTrainingConfig(**steps),
                                max_seconds=seconds)
    elif args.model == "renderer":
        from ..training.renderer import RendererTrainingConfig, train_renderer

        trainer = train_renderer(args.output, args.photos, args.presets, RendererTrainingConfig(**steps),
                                 max_seconds=seconds)
    else:
        from ..training.reference import ReferenceTrainingConfig, train_reference_encoder

        renderer, slider_encoder = load_models(args.models, "renderer", "slider_encoder")
        trainer = train_reference_encoder(args.output, renderer, args.photos, args.presets,
                                          ReferenceTrainingConfig(**steps), slider_encoder=slider_encoder,
                                          max_seconds=seconds)
    state = "finished" if trainer.step >= trainer.config.steps else "paused (rerun the same command to resume)"
    print(f"{args.output}: step {trainer.step} of {trainer.config.steps}, {state}; log {args.output / 'log.csv'}, "
          f"plot {args.output / 'loss.png'}")
    return 0


def run_train_rl(args: argparse.Namespace, seconds: float | None, steps: dict) -> int:
    import csv

    from ..training.rl import run_rl, run_rl_on_ray

    if args.checkpoint is not None and args.planner != "vlm":
        raise VeraRetouchError("--checkpoint is for --planner vlm")
    if args.planner == "vlm" and (args.checkpoint is None or args.cache is not None or args.data is None):
        raise VeraRetouchError("train rl --planner vlm needs --checkpoint DIR (a fine-tuned VLM planner) and "
                               "--data DIR (a dataset made by `veraretouch data build`; no --cache)")
    if args.data is not None and not (args.data / "manifest.json").is_file():
        raise VeraRetouchError(f"{args.data}: not a dataset (no manifest.json); make one with `veraretouch data build`")
    if args.cache is None and args.data is None:
        raise VeraRetouchError("train rl needs --cache DIR (a planner cache) or --data DIR (a dataset made by "
                               "`veraretouch data build`)")
    if args.cache is not None and not any(args.cache.glob("train-*.pt")):
        raise VeraRetouchError(f"{args.cache}: no cached training shards (train-*.pt); give --data to build them")
    paths = {"out": args.output, "photos": args.photos, "data": args.data, "cache": args.cache,
             "models": args.models, "critic": args.critic, "checkpoint": args.checkpoint}
    # Ray workers run elsewhere: absolute paths.
    options = {**{key: None if path is None else str(path.resolve()) for key, path in paths.items()},
               "planner": args.planner, "config": steps, "max_seconds": seconds, "threads": args.threads}
    if args.ray:
        run_rl_on_ray(options, args.ray, args.ray_address)
    else:
        run_rl(options)
    if int(os.environ.get("RANK", "0")) == 0:
        rows = list(csv.DictReader(open(args.output / "log.csv")))
        last = rows[-1] if rows else {}
        print(f"{args.output}: step {last.get('step', 0)}; validation auto PSNR {last.get('psnr_auto', 'n/a')} dB "
              f"(no edit {last.get('psnr_auto_none', 'n/a')}); log {args.output / 'log.csv'}, steps "
              f"{args.output / 'steps.csv'}, plot {args.output / 'rewards.png'}; rerun the same command to resume")
    return 0


def run_train_detector(args: argparse.Namespace) -> int:
    import json

    from ..training.detector import DetectorTrainingConfig, plot_report, train_detector, training_photos

    for folder in args.photos:
        check_source_folders(argparse.Namespace(photos=folder, presets=args.presets))
    if not 0.0 < args.budget < 1.0:
        raise VeraRetouchError(f"--budget {args.budget}: give a share between 0 and 1, e.g. 0.08")
    photos = training_photos(args.photos, tuple(args.hold_out))
    if len(photos) < 8:
        raise VeraRetouchError(f"{len(photos)} training photos in {', '.join(map(str, args.photos))}: the detector "
                               "needs at least 8 (one in five photos is held out by name)")
    config = DetectorTrainingConfig(budget=args.budget, photos=[p.name for p in photos])
    detector, report, _ = train_detector(photos, config)
    detector.save_pretrained(args.output / "fault_detector")
    (args.output / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    plot_report(report, args.budget, args.output / "detector.png")
    named = sum(entry["named"] for entry in report.values()) / len(report)
    crops = detector.config.training["samples"]
    print(f"{args.output / 'fault_detector'}: {len(photos)} photos, {crops} crops; out of "
          f"fold {named:.0%} of faults named at <= {args.budget:.0%} good photos accused (per fault: "
          f"{args.output / 'report.json'}, plot {args.output / 'detector.png'}); use it with --models {args.output}")
    return 0
