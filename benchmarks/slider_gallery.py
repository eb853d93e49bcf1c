"""Render docs/images/sliders.jpg: every control at its minimum and maximum on one photo.

Run: ``.venv/bin/python benchmarks/slider_gallery.py``. The photo is scikit-image's public-domain
'astronaut' (NASA), so the figure can be committed. Each cell shows the control at its low end
(left), the untouched photo is the first cell, and the high end is on the right.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from skimage import data

from veraretouch.operators import render
from veraretouch.plan.parameters import SLIDERS, default_params, param_index

THUMB = 112
COLUMNS = 4
LABEL = 16
EXTREMES = {"Exposure2012": (-2.0, 2.0)}
EXTRA = [
    ("ColorGradeShadowSat", "ColorGradeShadowHue", 220.0),
    ("ColorGradeHighlightSat", "ColorGradeHighlightHue", 45.0),
]


def main() -> None:
    photo = Image.fromarray(data.astronaut()).resize((THUMB, THUMB), Image.LANCZOS)
    image = torch.from_numpy(np.asarray(photo).copy()).permute(2, 0, 1)[None].double() / 255
    cells: list[tuple[str, torch.Tensor, torch.Tensor]] = []
    rows = []
    for spec in SLIDERS:
        low, high = EXTREMES.get(spec.name, (spec.minimum, spec.maximum))
        params = default_params(2, torch.float64)
        params[0, param_index(spec.name)] = low
        params[1, param_index(spec.name)] = high
        rows.append((f"{spec.name} {low:g} | {high:g}", params))
    for strength, hue_name, hue in EXTRA:
        params = default_params(2, torch.float64)
        params[:, param_index(hue_name)] = hue
        params[1, param_index(strength)] = 100.0
        rows.append((f"{strength} 0 | 100 (hue {hue:g})", params))
    with torch.no_grad():
        for label, params in rows:
            out = render(image.expand(2, -1, -1, -1), params)
            cells.append((label, out[0], out[1]))
    cell_width, cell_height = 2 * THUMB, THUMB + LABEL
    rows_count = -(-(len(cells) + 1) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * cell_width, rows_count * cell_height), "white")
    draw = ImageDraw.Draw(sheet)

    def to_pil(tensor):
        return Image.fromarray((tensor.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))

    sheet.paste(photo, (0, LABEL))
    draw.text((2, 2), "original", fill="black")
    for i, (label, low, high) in enumerate(cells, start=1):
        x, y = (i % COLUMNS) * cell_width, (i // COLUMNS) * cell_height
        sheet.paste(to_pil(low), (x, y + LABEL))
        sheet.paste(to_pil(high), (x + THUMB, y + LABEL))
        draw.text((x + 2, y + 2), label, fill="black")
    out = Path(__file__).resolve().parents[1] / "docs" / "images" / "sliders.jpg"
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=85)
    print(out)


if __name__ == "__main__":
    main()
