"""A public-domain sample photo for examples, tests and `make demo`: scikit-image's bundled
"coffee" photo (Rachel Michetti, CC0), so nothing is downloaded and no photo is committed here."""
from __future__ import annotations

from pathlib import Path

from ..errors import VeraRetouchError
from .images import Photo


def _coffee():
    try:
        from skimage import data
    except ImportError:
        raise VeraRetouchError("the sample photo comes from scikit-image: pip install scikit-image") from None
    return data.coffee()


def sample_photo() -> Photo:
    """scikit-image's "coffee" photo (400x600, CC0) as a `Photo`: for examples and tests."""
    return Photo(_coffee(), None, "JPEG", None, None)


def write_sample(path: Path) -> Path:
    """The sample photo as a JPEG (quality 95) at ``path``."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_coffee()).save(path, quality=95)
    return path
