"""`veraretouch data build`: planner training data from a folder of good photos."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import VeraRetouchError
from .arguments import positive_int, subset_list, weights
from .train import check_source_folders

DATA_EPILOG = """\
examples:
  veraretouch data build --photos ../shared/photos --presets ../shared/presets --out data/v1
  veraretouch data build --photos my-photos/ --out data/small --per-photo 20 --subsets auto,param
  veraretouch data build --photos ../shared/photos --photos ../shared/photos-more --hold-out 'tuxpaint-*' \
      --presets ../shared/presets --out data/v2 --per-photo 48 --subset-weights 0.6,0.25,0.15 \
      --auto-mix 0.35,0.5,0.15 --ray                                                  # data v2
  veraretouch data build --photos ../shared/photos --out data/v1 --ray                 # local Ray
  veraretouch data build --photos /nfs/photos --out /nfs/data --ray ray://head:10001   # a cluster

subsets: auto (inverse degradation: a good photo degraded by a sampled edit is the input, the
photo the target, the fitted fix the label), style (a preset's look, asked for in words), param
(slider values, in words and as JSON). Every sample has problem/plan reasoning per aspect,
checked against the measurements and the edit; samples that fail a quality gate are dropped and
counted (see OUT/CARD.md).

OUT gets manifest.json, WebDataset shards <split>-NNNNN.tar of recipes (photo, crop, plans,
labels; --materialize adds input/target PNGs), a .stats.json per shard, and CARD.md with plots.
Photos are split train/validation/test by a hash of the file name (a photo is in one split
only); presets likewise. Deterministic for a seed; rerun the same command to resume.
"""


def add_data_command(commands) -> None:
    """Register ``data build`` on the ``add_subparsers()`` object of the ``veraretouch`` parser."""
    data = commands.add_parser("data", help="build training data for the planner")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    build = data_commands.add_parser(
        "build", help="build the auto / style / param training sets from a folder of photos",
        description="Build planner training data by inverse degradation, presets and slider plans.",
        epilog=DATA_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("--photos", required=True, type=Path, action="append", metavar="DIR",
                       help="folder of good photos (repeat for several; they are linked into OUT/photos)")
    build.add_argument("--hold-out", action="append", default=[], metavar="GLOB",
                       help="leave photos whose name matches GLOB out of every split (e.g. 'tuxpaint-*': a whole "
                            "source kept for benchmarks; listed in the manifest)")
    build.add_argument("--subset-weights", type=weights(3), default=(0.5, 0.3, 0.2), metavar="A,S,P",
                       help="relative weights of the auto, style and param subsets (default 0.5,0.3,0.2)")
    build.add_argument("--auto-mix", type=weights(3), default=(1.0, 0.0, 0.0), metavar="D,C,N",
                       help="auto inputs made by slider degradations, camera faults (exposure, white balance, "
                            "flat tone, saturation, hue) or left as they are, by weight (default 1,0,0 as data v1)")
    build.add_argument("--fit-steps", type=positive_int, default=30, metavar="N",
                       help="render evaluations allowed when fitting an auto sample's fix (default 30)")
    build.add_argument("--out", required=True, type=Path, metavar="DIR", help="dataset folder (resumed if present)")
    build.add_argument("--presets", type=Path, metavar="DIR", help="folder of Lightroom .xmp presets (for style)")
    build.add_argument(
        "--per-photo", type=positive_int, default=520, metavar="N", help="samples per photo (default 520)"
    )
    build.add_argument("--subsets", type=subset_list, default=("auto", "style", "param"), metavar="LIST",
                       help="auto,style,param (default all; weights 0.5/0.3/0.2)")
    build.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    build.add_argument(
        "--shard-size", type=positive_int, default=200, metavar="N", help="samples per shard (default 200)"
    )
    build.add_argument("--materialize", action="store_true", help="also store input/target PNGs (portable, larger)")
    build.add_argument(
        "--models", type=Path, metavar="DIR", help="renderer + slider encoder run folder (default shipped)"
    )
    build.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                       help="run on Ray Data: local Ray, or a cluster address")
    build.set_defaults(run=run_data_build)


def run_data_build(args: argparse.Namespace) -> int:
    import torch

    from ..data.card import write_card
    from ..data.shards import BuildConfig, build_dataset, gather_photos

    for folder in args.photos:
        check_source_folders(argparse.Namespace(photos=folder, presets=args.presets))
    if "style" in args.subsets and args.presets is None:
        raise VeraRetouchError("the style subset needs --presets DIR (or leave it out of --subsets)")
    torch.set_num_threads(1)
    config = BuildConfig(per_photo=args.per_photo, subsets=args.subsets, seed=args.seed, shard_size=args.shard_size,
                         materialize=args.materialize, models=None if args.models is None else str(args.models),
                         subset_weights=args.subset_weights, auto_mix=args.auto_mix, fit_steps=args.fit_steps)
    started = time.perf_counter()
    try:
        photos_dir, held_out = gather_photos(args.photos, args.out, tuple(args.hold_out))
    except ValueError as error:
        raise VeraRetouchError(str(error)) from None
    stats = build_dataset(photos_dir, args.out, args.presets, config, use_ray=args.ray is not None,
                          ray_address=None if args.ray in (None, "local") else args.ray, held_out=held_out)
    card = write_card(stats, args.out, "veraretouch " + " ".join(sys.argv[1:]), time.perf_counter() - started)
    kept = sum(sum(s["kept"].values()) for s in stats)
    dropped = sum(sum(s["dropped"].values()) for s in stats)
    print(f"{args.out}: {kept} samples kept, {dropped} dropped, {len(stats)} shards in "
          f"{time.perf_counter() - started:.0f} s; card {card}")
    return 0
