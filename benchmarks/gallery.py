"""Render docs/gallery.md and its pictures: every mode of `veraretouch.Retoucher` on public photos.

Run: ``.venv/bin/python benchmarks/gallery.py``. The photos are scikit-image's bundled public-domain
and CC0 samples (coffee, astronaut, chelsea, rocket), so the pictures can be committed. Auto mode
is shown on copies spoilt by known edits, with the PSNR against the unspoilt photo measured here,
so the page shows what the shipped planner really does, good or bad.
"""
from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

from veraretouch import Photo, Retoucher
from veraretouch.evaluation.metrics import psnr
from veraretouch.io.images import proxy_photo

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images" / "gallery"
THUMB_HEIGHT = 220
LABEL = 18
SPOILERS = {
    "coffee": {"Exposure2012": -0.9, "IncrementalTemperature": -30},
    "astronaut": {"Exposure2012": 0.5, "Contrast2012": -45, "Saturation": -35},
    "chelsea": {"IncrementalTint": 35, "Blacks2012": 25},
    "rocket": {"Exposure2012": -0.5, "IncrementalTemperature": 35, "Vibrance": -40},
}
PROMPTS = ["warm and moody", "black and white, high contrast", "teal and orange", "faded film, soft contrast",
           "cooler and brighter", "more vivid greens"]


def sample(name: str) -> Photo:
    return Photo(np.ascontiguousarray(getattr(data, name)()), None, "JPEG", None, None)


def thumbnail(photo: Photo) -> Image.Image:
    small = proxy_photo(photo, 10_000)
    image = Image.fromarray(small.pixels if not small.grayscale else small.pixels[..., 0])
    width = round(image.width * THUMB_HEIGHT / image.height)
    return image.convert("RGB").resize((width, THUMB_HEIGHT), Image.LANCZOS)


def strip(cells: list[tuple[str, Photo]], path: Path) -> Path:
    """Thumbnails side by side, each under its label, saved as a JPEG."""
    thumbs = [(label, thumbnail(photo)) for label, photo in cells]
    sheet = Image.new("RGB", (sum(t.width for _, t in thumbs) + 4 * (len(thumbs) - 1), THUMB_HEIGHT + LABEL), "white")
    draw, x = ImageDraw.Draw(sheet), 0
    for label, thumb in thumbs:
        sheet.paste(thumb, (x, LABEL))
        draw.text((x + 3, 3), label, fill="black")
        x += thumb.width + 4
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=85, optimize=True)
    return path


def tensor_psnr(a: Photo, b: Photo) -> float:
    return float(psnr(a.to_tensor().double(), b.to_tensor().double()))


def main() -> None:
    started = time.perf_counter()
    retoucher = Retoucher()
    lines = ["# Gallery", "",
             "Made by `benchmarks/gallery.py` with the shipped models on scikit-image's public-domain and CC0 sample",
             "photos; rerun it to reproduce every picture and number on this page.", "", "## Auto", "",
             "Each photo was first spoilt by a known edit (left), then given to `veraretouch auto` (middle); the",
             "untouched photo is on the right. PSNR is against the untouched photo. The shipped compact planner",
             "is experimental (docs/model-card-planner.md): where it makes things worse, this page shows it.", "",
             "| photo | spoilt by | spoilt PSNR | auto PSNR |", "|---|---|---|---|"]
    pictures = []
    for name, spoiler in SPOILERS.items():
        original = sample(name)
        spoilt = retoucher.param(original, spoiler).image
        fixed = retoucher.auto(spoilt)
        before_db, after_db = tensor_psnr(spoilt, original), tensor_psnr(fixed.image, original)
        edits = ", ".join(f"{k} {v:+g}" for k, v in spoiler.items())
        lines.append(f"| {name} | {edits} | {before_db:.1f} dB | {after_db:.1f} dB |")
        path = strip([("spoilt", spoilt), ("auto", fixed.image), ("untouched", original)], IMAGES / f"auto-{name}.jpg")
        pictures.append(f"![{name}: spoilt, auto, untouched](images/gallery/{path.name})")
    lines += ["", *pictures, "", "## Style", "",
              "`veraretouch style` on one photo with different prompts.", ""]
    coffee = sample("coffee")
    cells = [("original", coffee)] + [(prompt, retoucher.style(coffee, prompt).image) for prompt in PROMPTS]
    for row, chunk in enumerate((cells[:4], cells[4:])):
        path = strip(chunk, IMAGES / f"style-{row}.jpg")
        lines.append(f"![style prompts](images/gallery/{path.name})")
    warm_film = resources.files("veraretouch") / "examples" / "warm-film.json"
    rocket = sample("rocket")
    lines += ["", "## Param", "", "`veraretouch param` with the bundled `warm-film.json` plan (sliders, colour grading",
              "and a tone curve), rendered through a 65^3 LUT.", ""]
    path = strip([("original", rocket), ("warm-film.json", retoucher.param(rocket, str(warm_film)).image)],
                 IMAGES / "param-rocket.jpg")
    lines.append(f"![param mode](images/gallery/{path.name})")
    before = sample("astronaut")
    example_edit = {"Exposure2012": 0.3, "Saturation": -60, "ColorGradeShadowHue": 210, "ColorGradeShadowSat": 40,
                    "Contrast2012": 25}
    after = retoucher.param(before, example_edit).image
    chelsea = sample("chelsea")
    like = retoucher.reference(chelsea, after=after, before=before)
    lines += [
        "",
        "## Reference",
        "",
        "`veraretouch reference`: the edit between an example pair (first two) transferred",
        "to another photo (last two). The example was made with the sliders below; the preset fitted to the",
        "transferred edit on the new photo's colours (`Retouched.plan`) is beside them (a different set of sliders "
        "can make a similar picture):",
        "",
        "| slider | example edit | fitted preset |",
        "|---|---|---|",
        *[f"| {k} | {v:g} | {like.plan.get(k):g} |" for k, v in example_edit.items()],
        "",
    ]
    path = strip(
        [("example before", before), ("example after", after), ("photo", chelsea), ("like the example", like.image)],
        IMAGES / "reference.jpg",
    )
    lines += [f"![reference mode](images/gallery/{path.name})", "",
              f"Made in {time.perf_counter() - started:.0f} s on a 2-core CPU.", ""]
    (ROOT / "docs" / "gallery.md").write_text("\n".join(lines))
    print(ROOT / "docs" / "gallery.md")


if __name__ == "__main__":
    main()
