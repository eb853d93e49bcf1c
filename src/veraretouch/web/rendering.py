"""What the web app renders: JPEG previews on the proxy, and the downloads at full resolution.

Every render goes through `Retouched`, the package's one Python API: a preview is the session's
edit on the proxy with a smaller LUT (33 points: a slider move renders in tens of milliseconds),
a download is the same edit on the full-resolution upload with the retoucher's LUT (65), written
by the `Retouched` savers into a temporary folder that is deleted before the response is sent.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

from ..api import Retouched
from ..io.arrays import to_8bit, to_pillow
from ..io.images import Photo, output_suffix
from .safety import safe_stem
from .sessions import Session

PREVIEW_SIDE = 1024
"""Long side of the proxy the previews render on."""
PREVIEW_LUT_SIZE = 33
PREVIEW_QUALITY = 85
MEDIA_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".tif": "image/tiff", ".xmp": "application/rdf+xml",
               ".cube": "text/plain; charset=utf-8", ".json": "application/json"}
DOWNLOADS = ("image", "xmp", "cube", "plan")


def jpeg_bytes(photo: Photo) -> bytes:
    """An 8-bit sRGB JPEG of the photo for the page (alpha left out: previews only)."""
    buffer = io.BytesIO()
    to_pillow(to_8bit(photo.pixels)).save(buffer, "JPEG", quality=PREVIEW_QUALITY)
    return buffer.getvalue()


def rendered(result: Retouched, photo: Photo, lut_size: int) -> Retouched:
    """``result``'s edit on another copy of its photo (the proxy, or the upload for a fresh render)."""
    return Retouched(photo, result.edit, result.mode, lut_size)


def preview_jpeg(session: Session) -> bytes:
    """The current edit on the proxy as a JPEG; the proxy itself before any edit."""
    if session.result is None:
        return session.original_jpeg
    return jpeg_bytes(rendered(session.result, session.proxy, PREVIEW_LUT_SIZE).image)


def download(session: Session, kind: str, temp_dir: Path | None = None) -> tuple[bytes, str, str]:
    """``(bytes, file name, media type)`` of one download: the full-resolution image (EXIF and ICC
    profile kept), the XMP preset, the .cube LUT or the plan JSON. Written to a temporary folder
    by the `Retouched` savers, read back, and the folder removed. The image is rendered afresh, so
    the full-resolution pixels are not kept in the session after the response."""
    stem, result = safe_stem(session.label), session.result
    name, save = {
        "image": (f"{stem}-retouched{output_suffix(session.photo, None)}",
                  rendered(result, session.photo, result.lut_size).save),
        "xmp": (f"{stem}.xmp", result.save_xmp),
        "cube": (f"{stem}.cube", result.save_cube),
        "plan": (f"{stem}-plan.json", result.save_xmp),
    }[kind]
    with tempfile.TemporaryDirectory(prefix="veraretouch-web-", dir=temp_dir) as folder:
        data = save(Path(folder) / name).read_bytes()
    return data, name, MEDIA_TYPES[Path(name).suffix]
