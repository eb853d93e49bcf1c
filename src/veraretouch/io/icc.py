"""Embedded ICC profiles: which apply to the pixels, and conversion to and from sRGB.

Editing happens in sRGB, so pixels in another profile are converted to sRGB on read and back into
the original profile on write (colours outside sRGB are clipped). LittleCMS, through Pillow's
ImageCms, parses profiles and converts 8-bit pixels; it cannot convert 16-bit ones, which go
through the numpy matrix/TRC engine in `shaper`. Both use the same sRGB profile so 8- and 16-bit
results agree. A profile that LittleCMS cannot read, or that does not match the pixels (an RGB
profile on a grey image), is ignored, as browsers do.
"""
from __future__ import annotations

import io
import struct
from functools import cached_property, lru_cache

import numpy as np
from PIL import ImageCms

from .arrays import to_pillow
from .shaper import MatrixShaper, convert_16bit


class Profile:
    """An embedded ICC profile: colour space, whether it is sRGB in all but name, conversions."""

    def __init__(self, icc: bytes):
        self.cms = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        self.colour_space = self.cms.profile.xcolor_space.strip()
        self.description = (self.cms.profile.profile_description or "").strip()
        self.shaper = MatrixShaper.parse(icc, self.colour_space)
        self._pillow_mode = {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}.get(self.colour_space)
        self.is_srgb = self.colour_space in ("RGB", "GRAY") and self._matches_srgb()

    @cached_property
    def to_srgb_transform(self) -> ImageCms.ImageCmsTransform:
        return ImageCms.buildTransform(
            self.cms, _srgb_profile(), self._pillow_mode, "RGB", ImageCms.Intent.RELATIVE_COLORIMETRIC
        )

    @cached_property
    def _from_srgb_transform(self) -> ImageCms.ImageCmsTransform:
        return ImageCms.buildTransform(
            _srgb_profile(), self.cms, "RGB", self._pillow_mode, ImageCms.Intent.RELATIVE_COLORIMETRIC
        )

    def unsupported_reason(self, pixels: np.ndarray) -> str | None:
        """Why these pixels cannot be converted with this profile, or None when they can."""
        if pixels.dtype == np.uint16 and not self.is_srgb and self.shaper is None:
            return (
                f"16-bit images with a LUT-based ICC profile ({self.description or 'unnamed'}) are not "
                "supported; convert the file to sRGB or a matrix profile such as Adobe RGB first"
            )
        return None

    def to_srgb(self, pixels: np.ndarray) -> np.ndarray:
        """Profile-encoded levels -> sRGB levels (grey stays one channel: the green of the result)."""
        if pixels.dtype == np.uint16:
            return convert_16bit(pixels, self.shaper, _srgb_shaper())
        srgb = np.asarray(ImageCms.applyTransform(to_pillow(pixels), self.to_srgb_transform))
        return srgb[..., 1:2] if pixels.shape[2] == 1 else srgb

    def from_srgb(self, pixels: np.ndarray) -> np.ndarray:
        """sRGB levels -> profile-encoded levels."""
        if pixels.dtype == np.uint16:
            return convert_16bit(pixels, _srgb_shaper(), self.shaper)
        rgb = np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels
        converted = np.asarray(ImageCms.applyTransform(to_pillow(rgb), self._from_srgb_transform))
        return converted.reshape(*pixels.shape[:2], -1)

    def _matches_srgb(self) -> bool:
        """True when converting a grid of colours to sRGB moves none by more than one 8-bit level."""
        if self.colour_space == "GRAY":
            probe = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
        else:
            levels = np.linspace(0, 255, 9).round().astype(np.uint8)
            probe = np.stack(np.meshgrid(levels, levels, levels), axis=-1).reshape(27, 27, 3)
        return int(np.abs(self.to_srgb(probe).astype(np.int16) - probe).max()) <= 1


@lru_cache(maxsize=16)
def load_profile(icc: bytes) -> Profile | None:
    """Parsed profile (cached by its bytes), or None when LittleCMS cannot read it."""
    try:
        return Profile(icc)
    except (OSError, ImageCms.PyCMSError, ValueError, struct.error):
        return None


@lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    """LittleCMS's sRGB, re-read from its serialised form so 8-bit (LittleCMS) and 16-bit (numpy)
    conversions use the same fixed-point colorants and curves."""
    built_in = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return ImageCms.ImageCmsProfile(io.BytesIO(built_in.tobytes()))


@lru_cache(maxsize=1)
def _srgb_shaper() -> MatrixShaper:
    shaper = MatrixShaper.parse(_srgb_profile().tobytes(), "RGB")
    assert shaper is not None, "LittleCMS's built-in sRGB is a matrix/TRC profile"
    return shaper


def usable_profile(icc_profile: bytes | None, grey: bool) -> Profile | None:
    """The profile if it can describe these pixels (grey <-> GRAY, colour <-> RGB), else None."""
    if not icc_profile:
        return None
    profile = load_profile(icc_profile)
    if profile is None or profile.colour_space != ("GRAY" if grey else "RGB"):
        return None
    return profile
