"""Image I/O that loses nothing: JPEG, PNG and TIFF at 8 and 16 bits, grey or RGB, with alpha.

This is the package's public face: `read_image`, `write_image`, `output_suffix` and the `Photo`
they pass around. A `Photo` holds sRGB-encoded pixels with the EXIF orientation already applied,
plus what is needed to write the file back faithfully: the alpha channel (never touched), the
original ICC profile (pixels are converted back into it on write) and the raw EXIF (Orientation
reset to 1). Decisions: a CMYK JPEG is converted to sRGB (through its ICC profile when it has one)
and is written back as RGB; palette images become RGB(A); a profile that is unreadable or does not
match the pixels is ignored and not written back; colours outside sRGB are clipped when a
wide-gamut file is converted for processing. The work is done by `decode`, `encode`, `exif` and
`icc` (with `shaper` for 16-bit colour); every failure reaches the caller as a one-line
`ImageReadError` or `ImageWriteError` naming the file.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ImageReadError, ImageWriteError, VeraRetouchError
from .atomic import atomic_write
from .decode import DECODERS, sniff_format
from .encode import ENCODERS
from .exif import UPRIGHT_VIEWS, exif_without_orientation
from .fileformats import FORMAT_NAMES, SUFFIXES
from .files import read_user_file
from .icc import usable_profile

if TYPE_CHECKING:
    import torch

DEFAULT_MAX_PIXELS = 150_000_000
"""Decompression-bomb guard: larger images are refused unless the caller raises the limit."""
NEUTRAL_SPREAD = 0.5 / 255
"""A grey photo's edit stays grey when its channels differ by at most this (half an 8-bit level,
invisible). Measured in [0, 1], not in levels: float32 round-off alone is over a 16-bit level, which
turned 16-bit grey photos into RGB after a plain exposure change (tests/io/test_images.py)."""


@dataclass
class Photo:
    """Decoded pixels (sRGB, upright) and everything needed to write the file back without loss."""

    pixels: np.ndarray
    """(H, W, 3) or (H, W, 1) uint8/uint16, sRGB-encoded, EXIF orientation applied."""
    alpha: np.ndarray | None
    """(H, W), same dtype as ``pixels``; carried through untouched."""
    format: str
    """One of "JPEG", "PNG", "TIFF": the format written when none is asked for."""
    exif: bytes | None
    """Raw EXIF (``Exif\\0\\0`` + TIFF structure) to write back; Orientation is 1 as it was applied."""
    icc_profile: bytes | None
    """The original embedded profile, kept even when it is sRGB so it is written back; pixels are
    converted back into it on write. None when the file had none or it cannot apply to the pixels."""
    path: Path | None = None

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def grayscale(self) -> bool:
        return self.pixels.shape[2] == 1

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.pixels.shape[:2]
        return width, height

    @property
    def _max_level(self) -> int:
        return (1 << self.bit_depth) - 1

    def to_tensor(self) -> torch.Tensor:
        """(1, 3, H, W) float32 in [0, 1] = level / (2**depth - 1); grey is replicated to 3 channels."""
        return self._tensor_of(self.pixels)

    def preview_tensor(self, max_side: int = 512) -> torch.Tensor:
        """Every k-th pixel in both directions (k = ceil(long side / max_side)) as `to_tensor`
        does: a cheap, unbiased sample of the photo's colours for encoders and fitting."""
        step = max(1, -(-max(self.pixels.shape[:2]) // max_side))
        return self._tensor_of(self.pixels[::step, ::step])

    def _tensor_of(self, pixels: np.ndarray) -> torch.Tensor:
        import torch  # here, not with the module: reading and writing photos needs no torch

        levels = torch.from_numpy(np.require(pixels, requirements=["C", "W"]))
        channels_first = levels.permute(2, 0, 1).expand(3, -1, -1)
        image = channels_first.to(torch.float32, memory_format=torch.contiguous_format)
        return image.mul_(1.0 / self._max_level).unsqueeze(0)

    def with_tensor(self, image: torch.Tensor) -> Photo:
        """New photo from a (1, 3, H, W) tensor in [0, 1], rounded to this photo's depth.

        A grey photo stays grey when the result is neutral (channels within `NEUTRAL_SPREAD`); the
        grey level is then the rounded channel mean.
        """
        if image.ndim != 4 or tuple(image.shape[:2]) != (1, 3):
            raise ValueError(f"expected a (1, 3, H, W) tensor, got {tuple(image.shape)}")
        channels = image[0].detach()
        if self.grayscale and float((channels.amax(0) - channels.amin(0)).max()) <= NEUTRAL_SPREAD:
            channels = channels.mean(0, keepdim=True)
        import torch

        dtype = torch.uint16 if self.bit_depth == 16 else torch.uint8
        levels = torch.empty((*channels.shape[1:], channels.shape[0]), dtype=dtype)
        for index, plane in enumerate(channels):  # one plane at a time: no full-size float copies
            levels[..., index].copy_(plane.float().mul(self._max_level).clamp_(0, self._max_level).round_())
        return self.with_pixels(levels.numpy())

    def with_pixels(self, pixels: np.ndarray) -> Photo:
        """New photo from (H, W, 3) (or (H, W, 1)) levels of this photo's dtype, metadata kept.

        A grey photo stays grey when all three channels are equal.
        """
        if pixels.dtype != self.pixels.dtype or pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
            raise ValueError(f"expected (H, W, 3) {self.pixels.dtype} pixels, got {pixels.shape} {pixels.dtype}")
        if self.alpha is not None and pixels.shape[:2] != self.alpha.shape:
            raise ValueError(f"pixels {pixels.shape[:2]} do not match the alpha channel {self.alpha.shape}")
        if self.grayscale and pixels.shape[2] == 3 and _is_neutral(pixels):
            pixels = np.ascontiguousarray(pixels[..., :1])
        return replace(self, pixels=pixels)


def _is_neutral(pixels: np.ndarray) -> bool:
    return bool(np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2]))



def output_suffix(photo: Photo, format: str | None) -> str:
    """File suffix (".jpg", ".png", ".tif") of the format ``write_image`` would write."""
    return SUFFIXES[_format_name(format or photo.format, photo.path or "output")]


def _format_name(name: str, subject: object) -> str:
    try:
        return FORMAT_NAMES[name.lower().lstrip(".")]
    except KeyError:
        raise ImageWriteError(f"{subject}: unknown image format {name!r} (choose jpeg, png or tiff)") from None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


# --------------------------------------------------------------------------------------- reading


def read_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Photo:
    """Decode ``path`` into an upright sRGB `Photo`; any failure is a one-line `ImageReadError`."""
    source = Path(path)
    return read_image_bytes(read_user_file(source, ImageReadError, "an image file"), source, max_pixels)


def read_image_bytes(data: bytes, name: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Photo:
    """Decode a file's bytes (an upload, say) as `read_image` does; ``name`` only labels errors and
    becomes ``Photo.path``: the format is sniffed from the bytes, never taken from the name."""
    source = Path(name)
    file_format = sniff_format(source, data)
    try:
        with warnings.catch_warnings():  # codecs' complaints (Pillow on damaged EXIF) would print raw
            warnings.simplefilter("ignore")  # lines: the file is judged by what decodes
            decoded = DECODERS[file_format](source, data, max_pixels)
        pixels, icc_profile = _pixels_to_srgb(source, decoded.pixels, decoded.icc_profile)
    except VeraRetouchError:
        raise
    except Exception as error:  # any decoder failure: corrupt data, unsupported codec, ...
        raise ImageReadError(f"{source}: cannot decode this {file_format} file ({_one_line(error)})") from None
    orient = UPRIGHT_VIEWS.get(decoded.orientation)
    alpha = decoded.alpha
    if orient is not None:
        pixels = orient(pixels)
        alpha = None if alpha is None else orient(alpha)
    if alpha is not None:  # a copy: the view would keep the decoder's whole interleaved buffer alive
        alpha = alpha.copy()  # (4 times the alpha's size for RGBA; tests/web/test_web_api.py)
    exif = decoded.exif if orient is None else exif_without_orientation(decoded.exif)
    return Photo(np.ascontiguousarray(pixels), alpha, file_format, exif, icc_profile, source)


def _pixels_to_srgb(source: Path, pixels: np.ndarray, icc_profile: bytes | None) -> tuple[np.ndarray, bytes | None]:
    """sRGB pixels and the profile to keep; an unusable profile is ignored and dropped."""
    profile = usable_profile(icc_profile, grey=pixels.shape[2] == 1)
    if profile is None:
        return pixels, None
    reason = profile.unsupported_reason(pixels)
    if reason:
        raise ImageReadError(f"{source}: {reason}")
    return (pixels if profile.is_srgb else profile.to_srgb(pixels)), icc_profile


# --------------------------------------------------------------------------------------- writing


def write_image(
    photo: Photo, path: str | Path, format: str | None = None, quality: int = 95, overwrite: bool = False
) -> Path:
    """Write ``photo`` atomically to ``path`` in ``format`` (default: the format it was read from).

    A ``path`` whose suffix names another image format is refused rather than mislabelled.

    Pixels are converted back into the original ICC profile, which is embedded with the EXIF.
    JPEG: 16-bit is rounded to 8-bit, chroma is not subsampled at quality >= 90, alpha is refused.
    """
    target = Path(path)
    output_format = _format_name(format or photo.format, target)
    suffix_format = FORMAT_NAMES.get(target.suffix.lower().lstrip("."))
    if suffix_format not in (None, output_format):
        raise ImageWriteError(
            f"{target}: the name says {suffix_format} but the output is {output_format}; "
            f"use a {SUFFIXES[output_format]} name or --format {suffix_format.lower()}"
        )
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ImageWriteError(f"{target}: JPEG quality must be an integer from 1 to 100, got {quality!r}")
    if output_format == "JPEG" and photo.alpha is not None:
        raise ImageWriteError(
            f"{target}: JPEG cannot store the alpha channel; choose --format png or --format tiff"
        )
    encode = ENCODERS[output_format]

    def write(temporary: Path) -> None:
        try:
            pixels, icc_profile = _pixels_for_output(photo)
            encode(temporary, pixels, photo.alpha, icc_profile, photo.exif, quality)
        except VeraRetouchError:
            raise
        except Exception as error:  # any encoder failure; atomic_write removes the partial file
            raise ImageWriteError(f"{target}: cannot write {output_format} ({_one_line(error)})") from None

    try:
        return atomic_write(target, write, overwrite=overwrite)
    except OSError as error:
        raise ImageWriteError(f"{target}: cannot write ({error.strerror or _one_line(error)})") from None


def _pixels_for_output(photo: Photo) -> tuple[np.ndarray, bytes | None]:
    """Pixels in the photo's original profile and that profile; untagged sRGB when it cannot apply."""
    profile = usable_profile(photo.icc_profile, photo.grayscale)
    if profile is None:
        return photo.pixels, None
    reason = profile.unsupported_reason(photo.pixels)
    if reason:
        raise ImageWriteError(f"{photo.path or 'output'}: {reason}")
    return (photo.pixels if profile.is_srgb else profile.from_srgb(photo.pixels)), photo.icc_profile


def proxy_photo(photo: Photo, max_side: int) -> Photo:
    """An area-averaged copy whose long side is at most ``max_side`` (the photo itself when it fits):
    the stand-in for fast previews, since every edit is a colour function and looks the same on it."""
    import cv2

    width, height = photo.size
    scale = max_side / max(width, height)
    if scale >= 1:
        return photo
    size = (max(1, round(width * scale)), max(1, round(height * scale)))

    def shrink(plane: np.ndarray) -> np.ndarray:
        resized = cv2.resize(plane, size, interpolation=cv2.INTER_AREA)
        return resized if resized.ndim == plane.ndim else resized[..., None]

    alpha = None if photo.alpha is None else shrink(photo.alpha)
    return Photo(np.ascontiguousarray(shrink(photo.pixels)), alpha, photo.format, photo.exif, photo.icc_profile,
                 photo.path)
