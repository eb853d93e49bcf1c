"""Style requests on held-out photos (issue 15): does each request move the photo the way it says?

Run: ``nice .venv/bin/python benchmarks/style_requests.py [--photos 6] [--side 384]``. Needs
../shared/photos-more (photos no model was trained on) and ../shared/presets; skips a section whose
folder is absent. Every result is rendered the way users get it (`PlanningPipeline.plan` on a 256 px
copy, the edit baked into a 65^3 LUT, applied to the photo at long side ``--side``). Sections:

- suite: `SUITE`, phrasings written after the parser and never used to tune it (`DEVELOPMENT` is the
  list that was), each with the statistic it must move and the way; a phrasing passes on a photo
  when the statistic moves that way by at least `MARGIN` (black and white: mean chroma below 2).
  Core groups (black and white, warmer / cooler, brighter / darker, more / less saturated, more /
  less contrast) must pass on every photo.
- strength: "slightly X" < "X" < "much X" for warmer (mean b*), brighter (mean L*), more saturated
  (mean chroma) on every photo.
- looks: held-out presets (validation + test split of ``data.samples.split_of``) asked for in the
  data set's words (`reasoning.text.style_instructions`), with a look library built WITHOUT them;
  mean CIEDE2000 to the preset's own render, ours and the compact planner's network (the style
  path before issue 15) over the input's.
- speed: `Retoucher.style` on a 24 MP photo in one process: first call (models loaded) and the
  median of three more.
Results: benchmarks/results/style_requests.json; Markdown on stdout for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from veraretouch.data.samples import split_of
from veraretouch.data.shards import load_photo
from veraretouch.errors import VeraRetouchError
from veraretouch.evaluation.metrics import delta_e2000
from veraretouch.operators.colorspace import rgb_to_lab
from veraretouch.planner.base import PLANNER_SIDE
from veraretouch.planner.features import planner_copy
from veraretouch.planner.pipeline import PlanningPipeline
from veraretouch.reasoning.looks import LookLibrary, build_look_library
from veraretouch.reasoning.measure import measure
from veraretouch.reasoning.style import understand_request
from veraretouch.reasoning.text.instructions import style_instructions

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos-more"
PRESETS = ROOT.parent / "shared" / "presets"
MARGIN = 0.5
"""CIELAB units a statistic must move (L*, a*, b*, chroma on 0..100 scales; about a quarter of a JND)."""

DEVELOPMENT = (  # used while writing the parser
    "black and white please", "brighten it up a lot", "give it a cold, icy winter feel", "boost the contrast",
    "make the colours less saturated", "open up the dark shadows", "cool it down a touch",
    "warmer and brighter, with less saturated greens", "it's too dark", "not so contrasty", "kill the saturation",
    "reduce the highlights", "recover the highlights", "deeper blacks", "lift the blacks", "make the sky bluer",
    "make the greens more yellow", "remove the green cast", "too warm", "a little cooler", "much warmer",
    "slightly warmer", "more contrast and saturation", "brighter but not warmer", "blue shadows and warm highlights",
    "teal and orange", "sepia", "matte, faded look", "more vibrance", "skin tones less orange", "darker sky",
    "faded film", "the image is underexposed", "don't make it darker, just warmer", "not bright enough",
    "reduce the bright highlights", "brighter shadows", "crush the blacks", "more punch", "make it pop",
    "less red in the skin", "desaturate the blues a bit", "richer colours", "deeper blues", "a hint of warmth",
    "bring the exposure down a lot", "increase the exposure by a stop", "make it moodier",
    "drop the saturation slightly", "greener grass", "remove the blue cast")

SUITE: tuple[tuple[str, str, int, str], ...] = (  # (request, statistic, way, group); written after the parser
    ("convert this to black and white", "bw", -1, "bw"),
    ("B&W, please", "bw", -1, "bw"),
    ("make it monochrome", "bw", -1, "bw"),
    ("a grayscale version", "bw", -1, "bw"),
    ("black-and-white with a bit more contrast", "bw", -1, "bw"),
    ("strip out all the colour", "bw", -1, "bw"),
    ("warm it up", "mean_b", +1, "warmth"),
    ("could you make the photo warmer?", "mean_b", +1, "warmth"),
    ("it looks too cold", "mean_b", +1, "warmth"),
    ("add a little warmth", "mean_b", +1, "warmth"),
    ("give it a golden glow", "mean_b", +1, "warmth"),
    ("the tones feel too blue", "mean_b", +1, "warmth"),
    ("cooler please", "mean_b", -1, "warmth"),
    ("it's way too warm", "mean_b", -1, "warmth"),
    ("make it feel colder", "mean_b", -1, "warmth"),
    ("a chilly, icy mood", "mean_b", -1, "warmth"),
    ("take the yellow cast out", "mean_b", -1, "warmth"),
    ("not so warm", "mean_b", -1, "warmth"),
    ("brighter please", "mean_L", +1, "brightness"),
    ("it's too dim", "mean_L", +1, "brightness"),
    ("lighten the whole picture", "mean_L", +1, "brightness"),
    ("raise the exposure a little", "mean_L", +1, "brightness"),
    ("more light", "mean_L", +1, "brightness"),
    ("the photo is too dark, fix it", "mean_L", +1, "brightness"),
    ("darken it", "mean_L", -1, "brightness"),
    ("too bright", "mean_L", -1, "brightness"),
    ("lower the exposure slightly", "mean_L", -1, "brightness"),
    ("make it a lot darker", "mean_L", -1, "brightness"),
    ("less brightness", "mean_L", -1, "brightness"),
    ("it's overexposed", "mean_L", -1, "brightness"),
    ("more saturation", "mean_chroma", +1, "saturation"),
    ("make the colours more vivid", "mean_chroma", +1, "saturation"),
    ("colours are too dull", "mean_chroma", +1, "saturation"),
    ("increase saturation a lot", "mean_chroma", +1, "saturation"),
    ("more colourful", "mean_chroma", +1, "saturation"),
    ("a more vibrant picture", "mean_chroma", +1, "saturation"),
    ("desaturate it", "mean_chroma", -1, "saturation"),
    ("the colours are too saturated", "mean_chroma", -1, "saturation"),
    ("mute the colours", "mean_chroma", -1, "saturation"),
    ("less colour, please", "mean_chroma", -1, "saturation"),
    ("tone down the saturation", "mean_chroma", -1, "saturation"),
    ("a more subdued palette", "mean_chroma", -1, "saturation"),
    ("more contrast", "std_L", +1, "contrast"),
    ("add some punch", "std_L", +1, "contrast"),
    ("it looks flat", "std_L", +1, "contrast"),
    ("crank up the contrast", "std_L", +1, "contrast"),
    ("a high contrast look", "std_L", +1, "contrast"),
    ("increase contrast slightly", "std_L", +1, "contrast"),
    ("less contrast", "std_L", -1, "contrast"),
    ("too contrasty", "std_L", -1, "contrast"),
    ("soften the contrast", "std_L", -1, "contrast"),
    ("reduce the contrast a lot", "std_L", -1, "contrast"),
    ("a softer, flatter look", "std_L", -1, "contrast"),
    ("the contrast is too harsh", "std_L", -1, "contrast"),
    ("lift the shadows", "p05_L", +1, "tones"),
    ("the shadows are too dark", "p05_L", +1, "tones"),
    ("deepen the blacks", "p05_L", -1, "tones"),
    ("pull down the highlights", "p97_L", -1, "tones"),
    ("tame the highlights a bit", "p97_L", -1, "tones"),
    ("brighter whites", "p97_L", +1, "tones"),
    ("a faded matte look", "p05_L", +1, "tones"),
    ("less faded", "p05_L", -1, "tones"),
    ("more saturated blues", "blue_chroma", +1, "bands"),
    ("make the sky deeper blue", "blue_chroma", +1, "bands"),
    ("less saturated greens", "green_chroma", -1, "bands"),
    ("tone down the foliage", "green_chroma", -1, "bands"),
    ("boost the greens", "green_chroma", +1, "bands"),
    ("make the reds pop", "red_chroma", +1, "bands"),
    ("skin looks too orange", "orange_chroma", -1, "bands"),
    ("more vivid yellows", "yellow_chroma", +1, "bands"),
    ("warm highlights, cool shadows", "split_b", +1, "toning"),
    ("teal shadows and orange highlights", "split_b", +1, "toning"),
    ("blue highlights", "highlight_b", -1, "toning"),
    ("a sepia tone", "mean_b", +1, "toning"),
    ("warmer and brighter", "mean_b", +1, "compose"),
    ("warmer and brighter", "mean_L", +1, "compose"),
    ("darker, with less saturation", "mean_L", -1, "compose"),
    ("darker, with less saturation", "mean_chroma", -1, "compose"),
    ("cooler and more contrasty", "mean_b", -1, "compose"),
    ("cooler and more contrasty", "std_L", +1, "compose"),
    ("sharpen it and brighten it", "mean_L", +1, "compose"),
)
CORE_GROUPS = ("bw", "warmth", "brightness", "saturation", "contrast")
STRENGTH_LADDERS = (("warmer", "mean_b"), ("brighter", "mean_L"), ("more saturated", "mean_chroma"))


def statistics_of(image: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    """CIELAB statistics of ``image``; tonal masks (shadows L* < 35, highlights L* > 65) from ``reference``."""
    lab = rgb_to_lab(image.float())[0]
    light = lab[0].flatten()
    a, b = lab[1].flatten(), lab[2].flatten()
    ref_light = rgb_to_lab(reference.float())[0][0].flatten()
    shadows, highlights = ref_light < 35, ref_light > 65
    chroma = torch.sqrt(a * a + b * b)
    measured = measure(image.float())[0]
    stats = {"mean_L": float(light.mean()), "std_L": float(light.std()), "p05_L": float(torch.quantile(light, 0.05)),
             "p97_L": float(torch.quantile(light, 0.97)), "mean_a": float(a.mean()), "mean_b": float(b.mean()),
             "mean_chroma": float(chroma.mean()), "bw": float(chroma.mean()),
             "highlight_b": float(b[highlights].mean()) if highlights.any() else float(b.mean()),
             "split_b": (float(b[highlights].mean()) if highlights.any() else 0.0)
             - (float(b[shadows].mean()) if shadows.any() else 0.0)}
    for band in ("red", "orange", "yellow", "green", "aqua", "blue", "purple", "magenta"):
        stats[f"{band}_chroma"] = measured[f"{band}_chroma"] * (measured[f"{band}_share"] > 0)
    return stats


_EDITS: dict[str, object] = {}


def render(pipeline: PlanningPipeline, photo: torch.Tensor, prompt: str) -> torch.Tensor:
    """The style edit of ``prompt`` on ``photo`` through its LUT. A request's plan does not depend on
    the photo (only its explanation does), so one edit, baked once, serves every photo."""
    if prompt not in _EDITS:
        _EDITS[prompt] = pipeline.plan(planner_copy(photo, PLANNER_SIDE), "style", prompt)
    return _EDITS[prompt].apply_tensor(photo)


def passes(statistic: str, way: int, before: dict, after: dict) -> bool:
    if statistic == "bw":
        return after["bw"] < 2.0
    return way * (after[statistic] - before[statistic]) >= MARGIN


def suite_section(pipeline, photos) -> dict:
    rows, by_aspect = [], {}
    for prompt, statistic, way, group in SUITE:
        try:
            understood = pipeline.understand(prompt).summary()
            results = [passes(statistic, way, statistics_of(photo, photo),
                              statistics_of(render(pipeline, photo, prompt), photo)) for photo in photos]
        except VeraRetouchError as error:  # a refused request fails its row
            understood, results = f"refused: {error}", [False]
        share = sum(results) / len(photos)
        rows.append({"prompt": prompt, "statistic": statistic, "way": way, "group": group, "pass_share": share,
                     "understood": understood})
        by_aspect.setdefault(group, []).append(share)
    total = [row["pass_share"] for row in rows if "pass_share" in row]
    return {"rows": rows, "phrasings": len(SUITE), "pass_rate": round(sum(total) / len(total), 4),
            "full_pass_rate": round(sum(share == 1.0 for share in total) / len(total), 4),
            "groups": {group: round(sum(v) / len(v), 4) for group, v in by_aspect.items()},
            "core_pass_rate": round(statistics.mean(s for g in CORE_GROUPS for s in by_aspect[g]), 4)}


def strength_section(pipeline, photos) -> dict:
    out = {}
    for words, statistic in STRENGTH_LADDERS:
        ladder = (f"slightly {words}", words, f"much {words}")
        ordered = 0
        shifts = []
        for photo in photos:
            before = statistics_of(photo, photo)[statistic]
            moves = [statistics_of(render(pipeline, photo, prompt), photo)[statistic] - before for prompt in ladder]
            shifts.append([round(m, 2) for m in moves])
            ordered += moves[0] < moves[1] < moves[2]
        out[words] = {"monotone_share": ordered / len(photos), "shifts": shifts}
    return out


def looks_section(pipeline, photos, encoder, seed: int = 0) -> dict:
    looks = build_look_library(PRESETS)
    held_out = [look for look in looks if split_of(Path(look.file).name) != "train"]
    library = LookLibrary([look for look in looks if split_of(Path(look.file).name) == "train"], encoder)
    from veraretouch.operators import render as render_plan

    rng = random.Random(seed)
    ours, network, untouched, rows = [], [], [], []
    for look in held_out:
        request = style_instructions(look.name, look.category, look.description, rng, 1)[0]
        try:
            understood = understand_request(request, library)
        except VeraRetouchError as error:
            understood = None
            rows.append({"preset": look.name, "request": request, "error": str(error)})
        for photo in photos:
            target = render_plan(photo, look.plan.to_tensor()[None]).clamp(0, 1)
            params = understood.params[None] if understood is not None else None
            mine = photo if params is None else render_plan(photo, params).clamp(0, 1)
            old = pipeline.planner.plan(planner_copy(photo, PLANNER_SIDE), "style", [request],
                                        slider_encoder=pipeline.slider_encoder, embedder=pipeline.embedder).params
            old_render = render_plan(photo, old).clamp(0, 1)
            ours.append(float(delta_e2000(mine, target)))
            network.append(float(delta_e2000(old_render, target)))
            untouched.append(float(delta_e2000(photo, target)))
        if understood is not None:
            rows.append({"preset": look.name, "request": request, "understood": understood.summary()})
    base = statistics.mean(untouched)
    return {
        "presets": len(held_out),
        "samples": len(ours),
        "delta_e_input": round(base, 3),
        "delta_e_ours": round(statistics.mean(ours), 3),
        "delta_e_network": round(statistics.mean(network), 3),
        "ratio_ours": round(statistics.mean(ours) / base, 4),
        "ratio_network": round(statistics.mean(network) / base, 4),
        "rows": rows,
    }


def speed_section(photo_path: Path) -> dict:
    from PIL import Image

    from veraretouch import Retoucher
    from veraretouch.io.images import Photo

    with Image.open(photo_path) as image:
        big = np.asarray(image.convert("RGB").resize((6000, 4000), Image.BILINEAR))
    photo = Photo(np.ascontiguousarray(big), None, "JPEG", None, None)
    retoucher = Retoucher()
    start = time.perf_counter()
    retoucher.style(photo, "warmer and a bit brighter").image
    first = time.perf_counter() - start
    times, auto_times, understand_times = [], [], []
    for prompt in ("cool it down a touch", "Kodak Portra 400", "less saturated greens"):
        start = time.perf_counter()
        retoucher.pipeline.understand(prompt)
        understand_times.append(time.perf_counter() - start)
        retoucher.style(photo, prompt).image
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        retoucher.auto(photo).image  # the same path without a request: what style adds is the reading
        auto_times.append(time.perf_counter() - start)
    return {"megapixels": 24.0, "first_call_s": round(first, 2), "median_s": round(statistics.median(times), 2),
            "auto_median_s": round(statistics.median(auto_times), 2),
            "understand_median_s": round(statistics.median(understand_times), 3), "threads": torch.get_num_threads(),
            "load_average": round(__import__("os").getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--side", type=int, default=384)
    parser.add_argument("--skip", default="", help="comma list of sections to skip: suite,strength,looks,minilm,speed")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if not PHOTOS.is_dir():
        print(f"skipped: {PHOTOS} is absent")
        return
    paths = sorted(PHOTOS.glob("*.jpg"))
    paths = paths[:: max(1, len(paths) // args.photos)][:args.photos]
    photos = [load_photo(path, args.side) for path in paths]
    results = {"photos": [path.name for path in paths], "side": args.side}
    if "speed" not in skip:  # first: a fresh process's first call
        results["speed"] = speed_section(paths[0])
        print("speed", results["speed"], flush=True)
    pipeline = PlanningPipeline()
    if "suite" not in skip:
        results["suite"] = suite_section(pipeline, photos)
        print("suite", {k: v for k, v in results["suite"].items() if k != "rows"}, flush=True)
    if "strength" not in skip:
        results["strength"] = strength_section(pipeline, photos)
        print("strength", {k: v["monotone_share"] for k, v in results["strength"].items()}, flush=True)
    if "looks" not in skip and PRESETS.is_dir():
        import veraretouch.reasoning.style as style
        from veraretouch.reasoning.encoder import default_instruction_encoder, default_sentence_encoder

        runs = [("looks", default_instruction_encoder(), style.NEAREST_LOOK_FACTOR),
                ("looks_nearest_full", default_instruction_encoder(), 1.0)]
        if "minilm" not in skip:
            runs.append(("looks_minilm", default_sentence_encoder(), style.NEAREST_LOOK_FACTOR))
        shipped = style.NEAREST_LOOK_FACTOR
        for name, encoder, factor in runs:
            style.NEAREST_LOOK_FACTOR = factor
            results[name] = looks_section(pipeline, photos[:4], encoder)
            print(name, {k: v for k, v in results[name].items() if k != "rows"}, flush=True)
        style.NEAREST_LOOK_FACTOR = shipped
    out = ROOT / "benchmarks" / "results" / "style_requests.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
