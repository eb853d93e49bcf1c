"""`make demo`: retouch a public-domain sample photo in auto mode, print the explanation, and show
param mode with a bundled plan; say where everything went.

The sample is scikit-image's bundled "coffee" photo (Rachel Michetti, CC0), so nothing is
downloaded and no photo is committed to this repository.
"""
from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from ..errors import VeraRetouchError
from .cli import main as cli_main

OUTPUT = Path("demo-output")


def _coffee():
    try:
        from skimage import data
    except ImportError:
        raise VeraRetouchError("the sample photo comes from scikit-image: pip install scikit-image") from None
    return data.coffee()


def sample_photo():
    """scikit-image's "coffee" photo (400x600, CC0) as a `Photo`: for examples and tests."""
    from ..io.images import Photo

    return Photo(_coffee(), None, "JPEG", None, None)


def write_sample(path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_coffee()).save(path, quality=95)
    return path


def main() -> int:
    sample = write_sample(OUTPUT / "input" / "coffee.jpg")
    auto_dir, param_dir = OUTPUT / "auto", OUTPUT / "param"
    print("auto mode: what is wrong with the photo, the plan, the fix", flush=True)
    code = cli_main(["auto", str(sample), "-o", str(auto_dir), "--explain", "--export", "cube,xmp", "--overwrite"])
    if code != 0:
        return code
    plan_file = resources.files("veraretouch") / "examples" / "warm-film.json"
    print("\nparam mode: a bundled plan (warm film look)", flush=True)
    with resources.as_file(plan_file) as plan_path:
        code = cli_main(["param", str(sample), "--params", str(plan_path), "-o", str(param_dir),
                         "--export", "cube,xmp", "--overwrite"])
    if code == 0:
        print(f"\ninput:   {sample}\nauto:    {auto_dir / 'coffee.jpg'} (plan, explanation: {auto_dir / 'coffee.plan.json'};"
              f" exports: coffee.cube, coffee.xmp)\nparam:   {param_dir / 'coffee.jpg'} (exports: "
              f"{param_dir / 'coffee.cube'} 3D LUT, {param_dir / 'coffee.xmp'} Lightroom preset)")
        print("\nnext: `make serve` opens the web app (your own photos, every mode, sliders to nudge); "
              "docs/api.md for Python")
    return code


if __name__ == "__main__":
    sys.exit(main())
