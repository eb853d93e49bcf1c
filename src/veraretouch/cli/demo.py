"""`make demo`: retouch a public-domain sample photo (`io.sample`) in auto mode, print the
explanation, and show param mode with a bundled plan; say where everything went.
"""
from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from ..io.sample import write_sample
from . import main as cli_main

OUTPUT = Path("demo-output")


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
        print(
            f"\ninput:   {sample}\nauto:    {auto_dir / 'coffee.jpg'} "
            f"(plan, explanation: {auto_dir / 'coffee.plan.json'};"
            f" exports: coffee.cube, coffee.xmp)\nparam:   {param_dir / 'coffee.jpg'} (exports: "
            f"{param_dir / 'coffee.cube'} 3D LUT, {param_dir / 'coffee.xmp'} Lightroom preset)"
        )
        print("\nnext: `make serve` opens the web app (your own photos, every mode, sliders to nudge); "
              "docs/api.md for Python")
    return code


if __name__ == "__main__":
    sys.exit(main())
