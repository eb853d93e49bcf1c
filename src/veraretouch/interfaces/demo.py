"""`make demo`: retouch a public-domain sample photo and say where everything went.

The sample is scikit-image's bundled "coffee" photo (Rachel Michetti, CC0), so nothing is
downloaded and no photo is committed to this repository.
"""
from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from .cli import main as cli_main

OUTPUT = Path("demo-output")


def write_sample(path: Path) -> Path:
    from PIL import Image
    from skimage import data

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.coffee()).save(path, quality=95)
    return path


def main() -> int:
    sample = write_sample(OUTPUT / "input" / "coffee.jpg")
    plan_file = resources.files("veraretouch") / "examples" / "warm-film.json"
    with resources.as_file(plan_file) as plan_path:
        code = cli_main(["param", str(sample), "--params", str(plan_path), "-o", str(OUTPUT),
                         "--export", "cube,xmp", "--overwrite"])
    if code == 0:
        print(f"\ninput:   {sample}\nresult:  {OUTPUT / 'coffee.jpg'}\nplan:    {OUTPUT / 'coffee.plan.json'}"
              f"\nexports: {OUTPUT / 'coffee.cube'} (3D LUT), {OUTPUT / 'coffee.xmp'} (Lightroom preset)")
    return code


if __name__ == "__main__":
    sys.exit(main())
