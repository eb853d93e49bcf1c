"""Batch speed as a user sees it: whole `veraretouch` processes on 8 x 24 MP JPEGs against Pillow and ffmpeg.

Run: ``.venv/bin/python benchmarks/batch_speed.py [--repeats 5] [--photos 8] [--megapixels 24]``.
Makes the test photos at run time from ../shared/photos (different photos, resized to 24 MP, q95;
exits with a message when that folder is absent), then times, as whole processes, interleaved:

- Pillow: one ``python -c`` process decoding and re-encoding (q95, 4:4:4) the photos back to back;
- ``veraretouch param`` on the folder (the example warm-film plan), with the batch pipeline and
  with it switched off (``VERARETOUCH_PHOTOS_IN_FLIGHT=1``: each photo decoded, rendered and
  encoded before the next starts, as before the pipeline);
- ``ffmpeg -vf lut3d`` with the plan's exported ``.cube`` on the photos one after another (-q:v 2);
- ``veraretouch auto`` on the folder;
- ``veraretouch param --ray --ray-workers 2`` on the folder (a fresh local Ray each time: its
  start-up is part of the overhead), whose images must be the bytes of the local run;
- ``veraretouch param`` on a 1 MP photo with the plan's LUT stored (as from the second use of a
  preset on) and not stored (VERARETOUCH_LUT_CACHE=off: torch imported to bake it), and the peak
  memory (max RSS) of param on one 24 MP photo and of the whole batch.

Each process's CPU time (user + system, its children included) is recorded beside its wall time:
on a loaded machine the wall time says more about the other jobs than about ours, the CPU time
much less. Writes benchmarks/results/batch_speed.json and prints Markdown tables. The machine is
shared: quote the medians and ratios of one run, with the load average it reports.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"
PLAN = Path(str(resources.files("veraretouch") / "examples" / "warm-film.json"))
VERARETOUCH = [sys.executable, "-m", "veraretouch"]


def make_photos(folder: Path, count: int, megapixels: float) -> list[Path]:
    """``count`` different shared photos resized to ``megapixels`` (3:2), saved as q95 JPEGs."""
    sources = sorted(PHOTOS.glob("*.jpg"))[:count]
    if len(sources) < count:
        sys.exit(f"{PHOTOS}: needs {count} JPEGs to make the test photos ({len(sources)} found)")
    width = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for index, source in enumerate(sources):
        path = folder / f"photo{index}.jpg"
        if not path.exists():
            with Image.open(source) as image:
                image.convert("RGB").resize((width, round(width / 1.5)), Image.LANCZOS).save(path, quality=95)
        made.append(path)
    return made


def run_process(command: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak memory (max RSS, MB) of one process, which must succeed."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({status}): {stderr[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--megapixels", type=float, default=24.0)
    parser.add_argument("--keep", type=Path, help="make (or reuse) the test photos in this folder")
    args = parser.parse_args()
    if not PHOTOS.is_dir():
        sys.exit(f"{PHOTOS} is absent: no test photos to make; nothing measured")
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg not found (make test-deps installs it)")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["VERARETOUCH_LUT_CACHE"] = str(work / "luts")  # the LUT store starts empty
        folder = args.keep or work / "photos"
        photos = make_photos(folder, args.photos, args.megapixels)
        small = work / "small" / "photo.jpg"
        small.parent.mkdir()
        with Image.open(photos[0]) as image:
            image.resize((1224, 816), Image.LANCZOS).save(small, quality=95)
        single = work / "single"
        single.mkdir()
        os.link(photos[0], single / photos[0].name)
        cube = work / "cube" / "look.cube"
        subprocess.run([*VERARETOUCH, "param", str(small), "--params", str(PLAN), "-o", str(cube.parent),
                        "--export", "cube"], check=True, capture_output=True)
        (cube.parent / "photo.cube").rename(cube)
        out = work / "out"

        pillow = [sys.executable, "-c",
                  "import sys\nfrom PIL import Image\nfor i, p in enumerate(sys.argv[1:]):\n"
                  f"    Image.open(p).save({str(out / 'pillow')!r} + str(i) + '.jpg', quality=95, subsampling=0)",
                  *map(str, photos)]
        param = [*VERARETOUCH, "param", str(folder), "--params", str(PLAN), "-o", str(out / "param"), "--overwrite"]
        ffmpeg_script = "\n".join(
            f"ffmpeg -nostdin -loglevel error -y -i {p} -vf lut3d={cube} -q:v 2 {out / 'ffmpeg'}{i}.jpg"
            for i, p in enumerate(photos))
        cases = {
            "pillow decode+encode, one process": (pillow, None),
            "veraretouch param (pipeline)": (param, None),
            "veraretouch param (one photo at a time)": (param, {"VERARETOUCH_PHOTOS_IN_FLIGHT": "1"}),
            "ffmpeg -vf lut3d, one file after another": (["sh", "-c", ffmpeg_script], None),
            "veraretouch auto": ([*VERARETOUCH, "auto", str(folder), "-o", str(out / "auto"), "--overwrite"], None),
            "veraretouch param --ray, 2 local workers": (
                [*param[:-2], str(out / "ray"), "--overwrite", "--ray", "--ray-workers", "2"], None),
            "veraretouch param, one 1 MP photo": (
                [*VERARETOUCH, "param", str(small), "--params", str(PLAN), "-o", str(out / "small"), "--overwrite"],
                None),
            "veraretouch param, one 1 MP photo, LUT not stored": (
                [*VERARETOUCH, "param", str(small), "--params", str(PLAN), "-o", str(out / "small"), "--overwrite"],
                {"VERARETOUCH_LUT_CACHE": "off"}),
            "veraretouch param, one 24 MP photo": (
                [*VERARETOUCH, "param", str(single), "--params", str(PLAN), "-o", str(out / "single"), "--overwrite"],
                None),
        }
        out.mkdir()
        run_process(param)  # warm-up: numba cache, page cache, the plan's LUT stored
        seconds: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        memory: dict[str, list[int]] = {name: [] for name in cases}
        loads = [os.getloadavg()[0]]
        for _ in range(args.repeats):
            for name, (command, env) in cases.items():
                elapsed, used, peak = run_process(command, env)
                seconds[name].append(elapsed)
                cpu[name].append(used)
                memory[name].append(peak)
            loads.append(os.getloadavg()[0])
        width, height = Image.open(photos[0]).size
        same_bytes = all((out / "ray" / p.name).read_bytes() == (out / "param" / p.name).read_bytes()
                         for p in photos)

    medians = {name: statistics.median(values) for name, values in seconds.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}

    def ratios_of(times: dict[str, float]) -> dict[str, float]:
        param_s = times["veraretouch param (pipeline)"]
        return {
            "param / pillow (target <= 1.5)": param_s / times["pillow decode+encode, one process"],
            "param / ffmpeg lut3d (target <= 0.35)": param_s / times["ffmpeg -vf lut3d, one file after another"],
            "auto / param (target <= 2)": times["veraretouch auto"] / param_s,
            "one photo at a time / pipeline": times["veraretouch param (one photo at a time)"] / param_s,
        }

    result = {
        "photos": f"{len(photos)} x {width}x{height} JPEG q95 made from {PHOTOS.name}/ (first {len(photos)} by name)",
        "plan": "src/veraretouch/examples/warm-film.json", "repeats": args.repeats,
        "medians_s": medians, "cpu_medians_s": cpu_medians,
        "ratios": ratios_of(medians), "cpu_ratios": ratios_of(cpu_medians),
        "ray_images_identical_to_local": same_bytes,
        "peak_memory_mb": {name: max(values) for name, values in memory.items()},
        "samples_s": seconds, "cpu_samples_s": cpu, "load_average_1min": loads,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "batch_speed.json").write_text(json.dumps(result, indent=2) + "\n")

    print(f"\n{result['photos']}, {args.repeats} interleaved repeats, medians; 1-min load average "
          f"{min(loads):.1f}-{max(loads):.1f}\n")
    print("| whole process | wall s | CPU s | peak memory MB |\n|---|---|---|---|")
    for name, value in medians.items():
        print(f"| {name} | {value:.2f} | {cpu_medians[name]:.2f} | {result['peak_memory_mb'][name]} |")
    print("\n| ratio | wall | CPU |\n|---|---|---|")
    for name, value in result["ratios"].items():
        print(f"| {name} | {value:.2f} | {result['cpu_ratios'][name]:.2f} |")
    print(f"\nRay images byte-identical to the local run: {same_bytes}")


if __name__ == "__main__":
    main()
