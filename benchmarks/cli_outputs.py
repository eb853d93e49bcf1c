"""Digests of the CLI's outputs on fixed inputs: the byte-identity check for refactors (issue 16).

Run: ``.venv/bin/python benchmarks/cli_outputs.py [--check benchmarks/results/cli_outputs.json]``.
Runs ``python -m veraretouch`` (the tree this file sits in) for `param`, `auto`, `style`,
`reference` and `fit` (and `param` again with `FINISHING_PLAN`, the finishing kernel's every
effect) on scikit-image's coffee photo, a small synthetic PNG made here and two
photos from /work/shared/photos-more (skipped, and said so, when absent), with the bundled
warm-film plan. Writes a manifest of sha256 digests of every output file and of each command's
stdout. Three things change from run to run and are blanked before hashing: timings (``timings_s`` in
``*.plan.json``, durations in stdout), the run folder's path (``<work>``) and the random preset
UUID of ``.xmp`` files (``crs:UUID``). ``--check`` compares with a
recorded manifest and exits 1 on any difference, listing the files that differ.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED_PHOTOS = ROOT.parent / "shared" / "photos-more"
SHARED_CHOICES = ("gcompris-erase-alpaca.jpg", "gcompris-erase-heron.jpg")
PLAN = ROOT / "src" / "veraretouch" / "examples" / "warm-film.json"
TIMING_KEYS = {"timings_s"}
FINISHING_PLAN = {"format": "veraretouch.plan", "version": 1, "name": "every finishing effect", "values": {
    "Exposure2012": 0.2, "Clarity2012": 35, "Texture": -25, "Dehaze": 30, "Sharpness": 60, "SharpenRadius": 1.4,
    "SharpenDetail": 40, "SharpenEdgeMasking": 30, "PostCropVignetteAmount": -30, "PostCropVignetteMidpoint": 40,
    "PostCropVignetteStyle": 1, "PostCropVignetteHighlightContrast": 40, "GrainAmount": 30, "GrainSize": 40,
    "GrainFrequency": 60}}
"""Every effect of the finishing kernel (`veraretouch.lut.finishing_kernel`) at once: the warm-film plan has none."""


def synthetic_photo(path: Path) -> Path:
    """A 96x128 PNG with smooth ramps and a saturated patch: deterministic, no randomness."""
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    rgb = np.stack([x / 127, y / 95, 1 - (x + y) / 222], axis=-1)
    rgb[30:60, 40:80] = (0.85, 0.35, 0.2)
    Image.fromarray((rgb * 255).round().astype(np.uint8)).save(path)
    return path


def prepare_inputs(folder: Path) -> tuple[list[Path], list[str]]:
    """The photos every command runs on, and the notes on what was skipped."""
    folder.mkdir(parents=True)
    from skimage import data

    coffee = folder / "coffee.jpg"
    Image.fromarray(data.coffee()).save(coffee, quality=95)
    photos, notes = [coffee, synthetic_photo(folder / "ramps.png")], []
    for name in SHARED_CHOICES:
        source = SHARED_PHOTOS / name
        if source.is_file():
            image = Image.open(source).convert("RGB")
            image.thumbnail((320, 320))
            image.save(folder / name, quality=95)
            photos.append(folder / name)
        else:
            notes.append(f"skipped {source} (absent)")
    return photos, notes


def strip_timings(value):
    """The JSON value without timing fields (they differ from run to run)."""
    if isinstance(value, dict):
        return {k: strip_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    return value


def stable_text(text: str, work: Path) -> str:
    """Command output without the temporary folder's name and without durations."""
    text = text.replace(str(work), "<work>")
    return re.sub(r"\d+(\.\d+)? ?(ms|s)\b", "<time>", text)


def digest(path: Path, work: Path) -> str:
    """sha256 of the file's bytes; of a .plan.json, without timings and with the run folder named <work>;
    of an .xmp, with the preset's random crs:UUID blanked."""
    if path.name.endswith(".plan.json"):
        record = json.loads(path.read_text().replace(str(work), "<work>"))
        payload = json.dumps(strip_timings(record), sort_keys=True).encode()
    elif path.suffix == ".xmp":
        payload = re.sub(rb'crs:UUID="[0-9A-F]+"', b'crs:UUID="<uuid>"', path.read_bytes())
    else:
        payload = path.read_bytes()
    return hashlib.sha256(payload).hexdigest()


def commands(photos: list[Path], work: Path) -> dict[str, list[str]]:
    paths = [str(p) for p in photos]
    coffee = str(photos[0])
    plan = work / "inputs" / PLAN.name
    plan.write_bytes(PLAN.read_bytes())
    finishing = work / "inputs" / "finishing.json"
    finishing.write_text(json.dumps(FINISHING_PLAN))
    graded = work / "param" / "coffee.jpg"
    return {
        "param": ["param", *paths, "--params", str(plan), "-o", str(work / "param"), "--export", "cube,xmp"],
        "auto": ["auto", *paths, "-o", str(work / "auto"), "--explain", "--export", "cube,xmp"],
        "style": ["style", *paths, "--prompt", "warmer and brighter, with less saturated greens",
                  "-o", str(work / "style"), "--explain", "--export", "xmp"],
        "reference": ["reference", *paths[1:], "--before", coffee, "--after", str(graded),
                      "-o", str(work / "reference"), "--export", "cube"],
        "fit": ["fit", "--before", coffee, "--after", str(graded), "-o", str(work / "fit" / "look.xmp"),
                "--steps", "40"],
        "finish": ["param", *paths, "--params", str(finishing), "-o", str(work / "finish")],
    }


def run_all(work: Path) -> dict:
    photos, notes = prepare_inputs(work / "inputs")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    (work / "fit").mkdir()
    manifest: dict = {"notes": notes, "inputs": {p.name: digest(p, work) for p in photos}, "commands": {}}
    for name, argv in commands(photos, work).items():
        done = subprocess.run([sys.executable, "-m", "veraretouch", *argv], env=env, cwd=work,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        folder = work / name
        manifest["commands"][name] = {
            "stdout": hashlib.sha256(stable_text(done.stdout, work).encode()).hexdigest(),
            "files": {str(p.relative_to(folder)): digest(p, work) for p in sorted(folder.rglob("*")) if p.is_file()},
        }
    return manifest


def differences(old: dict, new: dict) -> list[str]:
    lines = []
    for name in sorted(set(old["commands"]) | set(new["commands"])):
        a, b = old["commands"].get(name, {}), new["commands"].get(name, {})
        if a.get("stdout") != b.get("stdout"):
            lines.append(f"{name}: stdout differs")
        files_a, files_b = a.get("files", {}), b.get("files", {})
        for file in sorted(set(files_a) | set(files_b)):
            if files_a.get(file) != files_b.get(file):
                lines.append(f"{name}: {file} differs")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "cli_outputs.json")
    parser.add_argument("--check", type=Path, help="a recorded manifest to compare with (writes nothing)")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this (new) folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = args.keep or Path(temp) / "run"
        manifest = run_all(work)
    for note in manifest["notes"]:
        print(note)
    if args.check:
        diff = differences(json.loads(args.check.read_text()), manifest)
        print("\n".join(diff) if diff else f"byte-identical to {args.check}")
        return 1 if diff else 0
    args.output.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
