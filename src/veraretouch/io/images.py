"""Image I/O that loses nothing: JPEG, PNG and TIFF at 8 and 16 bits, grey or RGB, with alpha.

A `Photo` holds sRGB-encoded pixels with the EXIF orientation already applied, plus what is needed
to write the file back faithfully: the alpha channel (never touched), the original ICC profile
(pixels are converted back into it on write) and the raw EXIF (Orientation reset to 1).

Decoders: Pillow for metadata, 8-bit PNG and CMYK JPEG; OpenCV for other JPEGs (speed) and for
16-bit PNG (Pillow drops to 8 bits); tifffile for TIFF, with OpenCV as fallback for compressions
tifffile needs `imagecodecs` for (LZW, JPEG). Encoders: Pillow for JPEG; small numpy+zlib writers
for PNG and TIFF, because Pillow cannot write 16-bit RGB and tifffile cannot write an EXIF sub-IFD.

Decisions: a CMYK JPEG is converted to sRGB (through its ICC profile when it has one) and is
written back as RGB; palette images become RGB(A); a profile that is unreadable or does not match
the pixels (e.g. an RGB profile on a grey image) is ignored, as browsers do, and not written back.
Colours outside sRGB are clipped when a wide-gamut file is converted for processing.
"""
from __future__ import annotations

import io
import struct
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import cv2
import numpy as np
import tifffile
import torch
from PIL import Image, ImageCms, ImageFile, TiffImagePlugin, UnidentifiedImageError

from ..errors import ImageReadError, ImageWriteError, VeraRetouchError
from .atomic import atomic_write

DEFAULT_MAX_PIXELS = 150_000_000
"""Decompression-bomb guard: larger images are refused unless the caller raises the limit."""

_FORMAT_NAMES = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "tiff": "TIFF", "tif": "TIFF"}
_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif"}
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)

_ORIENTATION = 0x0112
_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005
_ICC_TAG = 34675
_EXIF_HEADER = b"Exif\x00\x00"
_DESCRIPTIVE_IFD0_TAGS = frozenset(
    {
        0x010E,  # ImageDescription
        0x010F,  # Make
        0x0110,  # Model
        _ORIENTATION,
        0x011A,  # XResolution
        0x011B,  # YResolution
        0x0128,  # ResolutionUnit
        0x0131,  # Software
        0x0132,  # DateTime
        0x013B,  # Artist
        0x8298,  # Copyright
        _EXIF_IFD,
        _GPS_IFD,
    }
)
"""IFD0 tags that describe the photo rather than the pixel layout: what a TIFF shares with EXIF."""

_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}
"""EXIF Orientation -> the view that displays the stored pixels upright (as Pillow's exif_transpose)."""

_PILLOW_CONVERSIONS = {"1": "L", "P": "RGB", "PA": "RGBA", "RGBX": "RGB", "RGBa": "RGBA", "La": "LA", "YCbCr": "RGB"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}
"""Samples per pixel -> PNG colour type (grey, grey+alpha, RGB, RGBA)."""
_PNG_UP_FILTER = 2
_PNG_ZLIB_LEVELS = {1: 4, 2: 2}
"""zlib level by bytes per sample. With the Up filter, level 4 compresses 8-bit photos within ~3 %
of Pillow's PNG at a fourth of its time; noisy 16-bit low bytes gain nothing above level 2."""
_BAND_BYTES = 1 << 22
"""Rows are encoded/converted in bands of about this many bytes to bound memory on large images."""
_TIFF_STRIP_BYTES = 1 << 20


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
        levels = torch.from_numpy(np.require(self.pixels, requirements=["C", "W"]))
        channels_first = levels.permute(2, 0, 1).expand(3, -1, -1)
        image = channels_first.to(torch.float32, memory_format=torch.contiguous_format)
        return image.mul_(1.0 / self._max_level).unsqueeze(0)

    def with_tensor(self, image: torch.Tensor) -> Photo:
        """New photo from a (1, 3, H, W) tensor in [0, 1], rounded to this photo's depth.

        A grey photo stays grey when the result is neutral (channels within half a level); the grey
        level is then the rounded channel mean.
        """
        if image.ndim != 4 or tuple(image.shape[:2]) != (1, 3):
            raise ValueError(f"expected a (1, 3, H, W) tensor, got {tuple(image.shape)}")
        channels = image[0].detach()
        if self.grayscale and float((channels.amax(0) - channels.amin(0)).max()) * self._max_level <= 0.5:
            channels = channels.mean(0, keepdim=True)
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
    """File suffix (".jpg", ".png", ".tif") of the format ``write_photo`` would write."""
    return _SUFFIXES[_format_name(format or photo.format, photo.path or "output")]


def _format_name(name: str, subject: object) -> str:
    try:
        return _FORMAT_NAMES[name.lower().lstrip(".")]
    except KeyError:
        raise ImageWriteError(f"{subject}: unknown image format {name!r} (choose jpeg, png or tiff)") from None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


# --------------------------------------------------------------------------------------- reading


class _Decoded(NamedTuple):
    pixels: np.ndarray
    alpha: np.ndarray | None
    icc_profile: bytes | None
    exif: bytes | None
    orientation: int


def read_photo(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Photo:
    """Decode ``path`` into an upright sRGB `Photo`; any failure is a one-line `ImageReadError`."""
    source = Path(path)
    data = _file_bytes(source)
    file_format = _sniff_format(source, data)
    try:
        decoded = _DECODERS[file_format](source, data, max_pixels)
        pixels, icc_profile = _pixels_to_srgb(source, decoded.pixels, decoded.icc_profile)
    except VeraRetouchError:
        raise
    except Exception as error:  # any decoder failure: corrupt data, unsupported codec, ...
        raise ImageReadError(f"{source}: cannot decode this {file_format} file ({_one_line(error)})") from None
    orient = _ORIENT.get(decoded.orientation)
    alpha = decoded.alpha
    if orient is not None:
        pixels = orient(pixels)
        alpha = None if alpha is None else np.ascontiguousarray(orient(alpha))
    exif = decoded.exif if orient is None else _exif_without_orientation(decoded.exif)
    return Photo(np.ascontiguousarray(pixels), alpha, file_format, exif, icc_profile, source)


def _file_bytes(source: Path) -> bytes:
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{source}: is a directory, not an image file") from None
    except OSError as error:
        raise ImageReadError(f"{source}: cannot read the file ({error.strerror or _one_line(error)})") from None
    if not data:
        raise ImageReadError(f"{source}: empty file")
    return data


def _sniff_format(source: Path, data: bytes) -> str:
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    try:
        with Image.open(io.BytesIO(data)) as image:
            other = image.format
    except Exception:
        other = None
    if other:
        raise ImageReadError(f"{source}: {other} images are not supported (use JPEG, PNG or TIFF)")
    raise ImageReadError(f"{source}: not a JPEG, PNG or TIFF image")


def _check_pixel_count(source: Path, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise _too_large(source, f"{width}x{height} = {width * height:,} pixels", max_pixels)


def _too_large(source: Path, size: str, max_pixels: int) -> ImageReadError:
    return ImageReadError(
        f"{source}: {size} is over the limit of {max_pixels:,} pixels "
        "(a possible decompression bomb); if you trust this file, raise the limit with --max-pixels"
    )


@contextmanager
def _pillow_image(source: Path, data: bytes, max_pixels: int) -> Iterator[Image.Image]:
    """Open lazily (header only) with truncated data refused and Pillow's bomb guard made ours.

    Pillow's own limit is raised to ``max_pixels`` when lower, so it only ever fires for images
    over our limit; its warning is turned into our error rather than printed.
    """
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(source, "the image", max_pixels) from None
    except UnidentifiedImageError:
        raise ValueError("corrupt header") from None
    with image:
        _check_pixel_count(source, *image.size, max_pixels)
        yield image


def _decode_jpeg(source: Path, data: bytes, max_pixels: int) -> _Decoded:
    """Grey/colour JPEGs are decoded by OpenCV straight into numpy (the same libjpeg-turbo output
    as Pillow without Pillow's 4-byte-pixel repacking, which costs as much as the decode); CMYK
    goes through Pillow for its ICC conversion."""
    components, complete = _jpeg_components_and_completeness(data)
    if not components:
        raise ValueError("no frame header")
    if not complete:
        raise ImageReadError(f"{source}: truncated JPEG (the file ends before its end-of-image marker)")
    with _pillow_image(source, data, max_pixels) as image:
        exif = _with_exif_header(image.info.get("exif"))
        if components in (1, 3):
            colour = cv2.IMREAD_GRAYSCALE if components == 1 else cv2.IMREAD_COLOR_RGB
            samples = _opencv_decode(data, colour | cv2.IMREAD_IGNORE_ORIENTATION)
            if samples.shape[:2] != image.size[::-1]:
                raise ValueError(f"decoded {samples.shape[1]}x{samples.shape[0]}, header says {image.size}")
            pixels, alpha = _split_samples(samples, grey=components == 1, bgr=False)
            icc_profile = image.info.get("icc_profile") or None
        else:
            image.load()
            pixels, alpha, icc_profile = _pillow_pixels(image)
    return _Decoded(pixels, alpha, icc_profile, exif, _orientation(exif))


_JPEG_STANDALONE_MARKERS = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})
_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_components_and_completeness(data: bytes) -> tuple[int, bool]:
    """Walk the marker segments to the first scan: the frame's component count, and whether an
    end-of-image marker follows (entropy-coded data never contains FF D9, so a search finds it)."""
    position, components = 2, 0
    while position + 4 <= len(data):
        if data[position] != 0xFF or data[position + 1] == 0xFF:  # fill or stray bytes: skip
            position = data.find(b"\xff", position + 1)
            if position < 0:
                break
            continue
        marker = data[position + 1]
        if marker in _JPEG_STANDALONE_MARKERS:
            position += 2
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        if marker in _JPEG_FRAME_MARKERS and position + 9 < len(data):
            components = data[position + 9]
        if marker == 0xDA:
            return components, data.find(b"\xff\xd9", position + 2 + length) >= 0
        position += 2 + length
    return components, False


def _decode_png(source: Path, data: bytes, max_pixels: int) -> _Decoded:
    bit_depth, colour_type = data[24], data[25]
    exif_chunk, complete = _png_exif_and_completeness(data)
    if not complete:
        raise ImageReadError(f"{source}: truncated PNG (the file ends before its IEND chunk)")
    exif = _with_exif_header(exif_chunk)
    with _pillow_image(source, data, max_pixels) as image:
        if bit_depth == 16:
            icc_profile = image.info.get("icc_profile") or None
            pixels, alpha = _split_samples(_opencv_decode(data), grey=colour_type in (0, 4))
        else:
            image.load()
            pixels, alpha, icc_profile = _pillow_pixels(image)
    return _Decoded(pixels, alpha, icc_profile, exif, _orientation(exif))


def _png_exif_and_completeness(data: bytes) -> tuple[bytes | None, bool]:
    """Walk the chunk list: the eXIf payload (wherever it is) and whether IEND is reached."""
    position, exif = len(_PNG_SIGNATURE), None
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        if end > len(data):
            return exif, False
        if kind == b"eXIf":
            exif = data[position + 8 : position + 8 + length]
        elif kind == b"IEND":
            return exif, True
        position = end
    return exif, False


def _decode_tiff(source: Path, data: bytes, max_pixels: int) -> _Decoded:
    ifd0 = Image.Exif()
    ifd0.load(data)
    _check_pixel_count(source, ifd0.get(256, 0), ifd0.get(257, 0), max_pixels)
    pixels, alpha = _tiff_samples(source, data)
    exif = _exif_from_ifd0(ifd0)
    return _Decoded(pixels, alpha, ifd0.get(_ICC_TAG) or None, exif, _orientation(exif))


def _tiff_samples(source: Path, data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        page = tiff.pages[0]
        photometric = tifffile.PHOTOMETRIC(page.photometric)
        grey = photometric == tifffile.PHOTOMETRIC.MINISBLACK
        colour_ok = grey or photometric in (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.YCBCR)
        if not colour_ok or page.dtype not in (np.uint8, np.uint16) or page.samplesperpixel > (2 if grey else 4):
            raise ImageReadError(
                f"{source}: {photometric.name} TIFF with {page.samplesperpixel} x {page.dtype} samples "
                "is not supported (use 8- or 16-bit RGB or greyscale, optionally with alpha)"
            )
        if photometric != tifffile.PHOTOMETRIC.YCBCR and page.compression in tifffile.TIFF.DECOMPRESSORS:
            samples = page.asarray()
        else:  # YCbCr, or a compression tifffile needs imagecodecs for (LZW, JPEG): libtiff via OpenCV
            samples = _opencv_decode(data)
            expected = (page.imagelength, page.imagewidth, page.samplesperpixel)
            if samples.dtype != page.dtype or samples.reshape(*samples.shape[:2], -1).shape != expected:
                raise ImageReadError(
                    f"{source}: cannot decode {page.compression.name} compression (install imagecodecs)"
                ) from None
            return _split_samples(samples, grey)
    if "S" in page.axes:
        samples = np.moveaxis(samples, page.axes.index("S"), -1)
    return _split_samples(samples.reshape(page.imagelength, page.imagewidth, -1), grey, bgr=False)


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's stderr log (libpng/libtiff complaints): failures surface as our errors."""
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(level)


def _opencv_decode(data: bytes, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Decode with OpenCV; IMREAD_UNCHANGED keeps full depth, BGR(A) order, and leaves EXIF
    orientation to us."""
    with _quiet_opencv():
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if decoded is None:
        raise ValueError("corrupt or truncated data")
    return decoded


def _split_samples(samples: np.ndarray, grey: bool, bgr: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W[, S]) samples -> (H, W, 1|3) pixels and the alpha plane when there is one."""
    if samples.ndim == 2:
        samples = samples[..., None]
    alpha = samples[..., -1] if samples.shape[2] in (2, 4) else None
    if grey:
        return samples[..., :1], alpha
    return (samples[..., 2::-1] if bgr else samples[..., :3]), alpha


def _pillow_pixels(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """Pixels, alpha and ICC profile of a loaded 8-bit Pillow image; CMYK is converted to sRGB."""
    icc_profile = image.info.get("icc_profile") or None
    if image.mode == "CMYK":
        return _cmyk_to_srgb(image, icc_profile), None, None
    if "transparency" in image.info and image.mode in ("L", "RGB", "P"):
        image = image.convert("LA" if image.mode == "L" else "RGBA")
    elif image.mode in _PILLOW_CONVERSIONS:
        image = image.convert(_PILLOW_CONVERSIONS[image.mode])
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        raise ValueError(f"unsupported colour mode {image.mode}")
    pixels, alpha = _split_samples(np.asarray(image), grey=image.mode in ("L", "LA"), bgr=False)
    return pixels, alpha, icc_profile


def _cmyk_to_srgb(image: Image.Image, icc_profile: bytes | None) -> np.ndarray:
    profile = _profile(icc_profile) if icc_profile else None
    if profile is not None and profile.colour_space == "CMYK":
        return np.asarray(ImageCms.applyTransform(image, profile.to_srgb_transform))
    return np.asarray(image.convert("RGB"))


# ------------------------------------------------------------------------------------------ EXIF


def _with_exif_header(exif: bytes | None) -> bytes | None:
    if not exif:
        return None
    return exif if exif.startswith(_EXIF_HEADER) else _EXIF_HEADER + exif


def _orientation(exif: bytes | None) -> int:
    if not exif:
        return 1
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        return int(parsed.get(_ORIENTATION, 1))
    except Exception:  # unparsable EXIF: nothing to orient by
        return 1


def _exif_without_orientation(exif: bytes | None) -> bytes | None:
    """Set IFD0 Orientation to 1 in place, so every other byte (maker notes, thumbnail) is kept.

    Falls back to re-serialising with Pillow if the tag is not a plain SHORT/LONG entry.
    """
    if not exif:
        return exif
    try:
        order = {b"II": "<", b"MM": ">"}[exif[6:8]]
        ifd0 = 6 + struct.unpack_from(order + "I", exif, 10)[0]
        (count,) = struct.unpack_from(order + "H", exif, ifd0)
        for entry in range(ifd0 + 2, ifd0 + 2 + 12 * count, 12):
            tag, kind, values = struct.unpack_from(order + "HHI", exif, entry)
            if tag == _ORIENTATION and kind in (3, 4) and values == 1:
                patched = bytearray(exif)
                struct.pack_into(order + ("H" if kind == 3 else "I"), patched, entry + 8, 1)
                return bytes(patched)
    except (KeyError, struct.error):
        pass
    parsed = Image.Exif()
    parsed.load(exif)
    parsed[_ORIENTATION] = 1
    return parsed.tobytes()


def _sub_ifd(exif: Image.Exif, tag: int) -> dict:
    """A sub-IFD as a dict; the Interop pointer is dropped (its offset would dangle once moved)."""
    return {key: value for key, value in exif.get_ifd(tag).items() if key != _INTEROP_IFD}


def _descriptive_tags(exif: Image.Exif) -> dict[int, object]:
    return {
        tag: _sub_ifd(exif, tag) if tag in (_EXIF_IFD, _GPS_IFD) else exif[tag]
        for tag in _DESCRIPTIVE_IFD0_TAGS.intersection(exif)
    }


def _exif_from_ifd0(ifd0: Image.Exif) -> bytes | None:
    """EXIF bytes holding a TIFF's descriptive IFD0 tags and its EXIF/GPS sub-IFDs."""
    exif = Image.Exif()
    for tag, value in _descriptive_tags(ifd0).items():
        exif[tag] = value
    return exif.tobytes() if len(exif) else None


# ------------------------------------------------------------------------------------------- ICC


class _MatrixShaper:
    """A matrix/TRC ICC profile: tone curves to linear light, then a 3x3 matrix to XYZ (D50)."""

    def __init__(self, linear_levels: np.ndarray, rgb_to_xyz: np.ndarray | None):
        self.linear_levels = linear_levels
        """(65536, channels) float32: linear light of each 16-bit code, non-decreasing."""
        self.rgb_to_xyz = rgb_to_xyz
        """(3, 3) with the rXYZ, gXYZ, bXYZ colorants as columns; None for a grey (kTRC) profile."""

    @cached_property
    def code_of_root_linear(self) -> np.ndarray:
        """(channels, _ROOT_STEPS + 1) uint16: the code whose linear light is (i / _ROOT_STEPS)**2.

        Sampling sqrt(linear) evenly keeps the table fine near black, where codes are steep.
        """
        linear = (np.arange(_ROOT_STEPS + 1) / _ROOT_STEPS) ** 2
        columns = self.linear_levels.T.astype(np.float64)
        return np.stack([np.rint(np.interp(linear, column, _CODES_16BIT)) for column in columns]).astype(np.uint16)

    def encode(self, linear: np.ndarray, channel: int) -> np.ndarray:
        """Linear light in [0, 1] -> nearest 16-bit code (within ~0.4 code)."""
        index = np.rint(np.sqrt(linear) * _ROOT_STEPS).astype(np.int32)
        return np.take(self.code_of_root_linear[channel], index)

    @classmethod
    def parse(cls, icc: bytes, colour_space: str) -> _MatrixShaper | None:
        """The shaper of a matrix/TRC profile with an XYZ connection space, else None."""
        tags = _icc_tags(icc)
        if icc[20:24] != b"XYZ " or tags.keys() & {b"A2B0", b"A2B1", b"B2A0", b"B2A1"}:
            return None
        curves = {"RGB": (b"rTRC", b"gTRC", b"bTRC"), "GRAY": (b"kTRC",)}.get(colour_space)
        if curves is None:
            return None
        codes = np.arange(65536) / 65535.0
        try:
            linear = np.stack([_tone_curve(tags[name], codes) for name in curves], axis=1)
            matrix = None
            if colour_space == "RGB":
                matrix = np.stack([_xyz(tags[name]) for name in (b"rXYZ", b"gXYZ", b"bXYZ")], axis=1)
        except (KeyError, ValueError, struct.error):
            return None
        return cls(np.maximum.accumulate(linear, axis=0).astype(np.float32), matrix)


def _icc_tags(icc: bytes) -> dict[bytes, bytes]:
    (count,) = struct.unpack_from(">I", icc, 128)
    tags = {}
    for entry in range(132, 132 + 12 * count, 12):
        signature, offset, size = struct.unpack_from(">4sII", icc, entry)
        tags[signature] = icc[offset : offset + size]
    return tags


def _xyz(tag: bytes) -> np.ndarray:
    if tag[:4] != b"XYZ ":
        raise ValueError("not an XYZ tag")
    return np.array(struct.unpack_from(">3i", tag, 8)) / 65536.0


def _tone_curve(tag: bytes, x: np.ndarray) -> np.ndarray:
    """Evaluate an ICC 'curv' (identity, gamma or table) or 'para' (functions 0-4) curve at x."""
    if tag[:4] == b"curv":
        (count,) = struct.unpack_from(">I", tag, 8)
        if count == 0:
            return x
        if count == 1:
            return x ** (struct.unpack_from(">H", tag, 12)[0] / 256.0)
        table = np.frombuffer(tag, ">u2", count, 12) / 65535.0
        return np.interp(x, np.linspace(0.0, 1.0, count), table)
    if tag[:4] == b"para":
        (function,) = struct.unpack_from(">H", tag, 8)
        count = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[function]
        p = np.array(struct.unpack_from(f">{count}i", tag, 12)) / 65536.0
        # Y = (aX + b)^g + e for X >= d, else cX + f: every ICC parametric curve in one form.
        g, a, b, c, d, e, f = {
            0: lambda: (p[0], 1.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            1: lambda: (p[0], p[1], p[2], 0.0, -p[2] / p[1], 0.0, 0.0),
            2: lambda: (p[0], p[1], p[2], 0.0, -p[2] / p[1], p[3], p[3]),
            3: lambda: (*p, 0.0, 0.0),
            4: lambda: tuple(p),
        }[function]()
        curve = np.where(x >= d, np.maximum(a * x + b, 0.0) ** g + e, c * x + f)
        return np.clip(curve, 0.0, 1.0)
    raise ValueError(f"unsupported curve type {tag[:4]!r}")


_CODES_16BIT = np.arange(65536, dtype=np.float64)
_ROOT_STEPS = 1 << 18


def _convert_16bit(pixels: np.ndarray, source: _MatrixShaper, target: _MatrixShaper) -> np.ndarray:
    """codes -> linear (source curves) -> XYZ -> linear target (clipped to gamut) -> codes.

    Grey on either side skips the matrix: a neutral's linear light is the same in every profile.
    Works plane by plane on bands of rows (a 3x3 matmul over interleaved pixels is much slower).
    """
    matrix = None
    if source.rgb_to_xyz is not None and target.rgb_to_xyz is not None:
        matrix = (np.linalg.inv(target.rgb_to_xyz) @ source.rgb_to_xyz).astype(np.float32)
    height, width, channels = pixels.shape
    converted = np.empty_like(pixels)
    rows = max(1, _BAND_BYTES // (width * 4))
    for start in range(0, height, rows):
        band = pixels[start : start + rows]
        linear = [np.take(source.linear_levels[:, c], band[..., c]) for c in range(channels)]
        if matrix is not None:
            linear = [np.clip(m[0] * linear[0] + m[1] * linear[1] + m[2] * linear[2], 0.0, 1.0) for m in matrix]
        for channel, plane in enumerate(linear):
            converted[start : start + rows, :, channel] = target.encode(plane, channel)
    return converted


class _Profile:
    """An embedded ICC profile: colour space, whether it is sRGB in all but name, conversions."""

    def __init__(self, icc: bytes):
        self.cms = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        self.colour_space = self.cms.profile.xcolor_space.strip()
        self.description = (self.cms.profile.profile_description or "").strip()
        self.shaper = _MatrixShaper.parse(icc, self.colour_space)
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
        if pixels.dtype == np.uint16 and not self.is_srgb and self.shaper is None:
            return (
                f"16-bit images with a LUT-based ICC profile ({self.description or 'unnamed'}) are not "
                "supported; convert the file to sRGB or a matrix profile such as Adobe RGB first"
            )
        return None

    def to_srgb(self, pixels: np.ndarray) -> np.ndarray:
        """Profile-encoded levels -> sRGB levels (grey stays one channel: the green of the result)."""
        if pixels.dtype == np.uint16:
            return _convert_16bit(pixels, self.shaper, _srgb_shaper())
        srgb = np.asarray(ImageCms.applyTransform(_pillow_layout(pixels), self.to_srgb_transform))
        return srgb[..., 1:2] if pixels.shape[2] == 1 else srgb

    def from_srgb(self, pixels: np.ndarray) -> np.ndarray:
        """sRGB levels -> profile-encoded levels."""
        if pixels.dtype == np.uint16:
            return _convert_16bit(pixels, _srgb_shaper(), self.shaper)
        rgb = np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels
        converted = np.asarray(ImageCms.applyTransform(_pillow_layout(rgb), self._from_srgb_transform))
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
def _profile(icc: bytes) -> _Profile | None:
    """Parsed profile (cached by its bytes), or None when LittleCMS cannot read it."""
    try:
        return _Profile(icc)
    except (OSError, ImageCms.PyCMSError, ValueError, struct.error):
        return None


@lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    """LittleCMS's sRGB, re-read from its serialised form so 8-bit (LittleCMS) and 16-bit (numpy)
    conversions use the same fixed-point colorants and curves."""
    built_in = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return ImageCms.ImageCmsProfile(io.BytesIO(built_in.tobytes()))


@lru_cache(maxsize=1)
def _srgb_shaper() -> _MatrixShaper:
    shaper = _MatrixShaper.parse(_srgb_profile().tobytes(), "RGB")
    assert shaper is not None, "LittleCMS's built-in sRGB is a matrix/TRC profile"
    return shaper


def _usable_profile(icc_profile: bytes | None, grey: bool) -> _Profile | None:
    """The profile if it can describe these pixels (grey <-> GRAY, colour <-> RGB), else None."""
    if not icc_profile:
        return None
    profile = _profile(icc_profile)
    if profile is None or profile.colour_space != ("GRAY" if grey else "RGB"):
        return None
    return profile


def _pixels_to_srgb(source: Path, pixels: np.ndarray, icc_profile: bytes | None) -> tuple[np.ndarray, bytes | None]:
    """sRGB pixels and the profile to keep; an unusable profile is ignored and dropped."""
    profile = _usable_profile(icc_profile, grey=pixels.shape[2] == 1)
    if profile is None:
        return pixels, None
    reason = profile.unsupported_reason(pixels)
    if reason:
        raise ImageReadError(f"{source}: {reason}")
    return (pixels if profile.is_srgb else profile.to_srgb(pixels)), icc_profile


def _pillow_layout(pixels: np.ndarray) -> Image.Image:
    """(H, W, 1|3) uint8 -> Pillow L/RGB image (frombytes: twice as fast as fromarray for RGB)."""
    height, width, channels = pixels.shape
    return Image.frombytes("L" if channels == 1 else "RGB", (width, height), np.ascontiguousarray(pixels))


# --------------------------------------------------------------------------------------- writing


def write_photo(
    photo: Photo, path: str | Path, format: str | None = None, quality: int = 95, overwrite: bool = False
) -> Path:
    """Write ``photo`` atomically to ``path`` in ``format`` (default: the format it was read from).

    A ``path`` whose suffix names another image format is refused rather than mislabelled.

    Pixels are converted back into the original ICC profile, which is embedded with the EXIF.
    JPEG: 16-bit is rounded to 8-bit, chroma is not subsampled at quality >= 90, alpha is refused.
    """
    target = Path(path)
    output_format = _format_name(format or photo.format, target)
    suffix_format = _FORMAT_NAMES.get(target.suffix.lower().lstrip("."))
    if suffix_format not in (None, output_format):
        raise ImageWriteError(
            f"{target}: the name says {suffix_format} but the output is {output_format}; "
            f"use a {_SUFFIXES[output_format]} name or --format {suffix_format.lower()}"
        )
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ImageWriteError(f"{target}: JPEG quality must be an integer from 1 to 100, got {quality!r}")
    if output_format == "JPEG" and photo.alpha is not None:
        raise ImageWriteError(
            f"{target}: JPEG cannot store the alpha channel; choose --format png or --format tiff"
        )
    encode = _ENCODERS[output_format]

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
    profile = _usable_profile(photo.icc_profile, photo.grayscale)
    if profile is None:
        return photo.pixels, None
    reason = profile.unsupported_reason(photo.pixels)
    if reason:
        raise ImageWriteError(f"{photo.path or 'output'}: {reason}")
    return (photo.pixels if profile.is_srgb else profile.from_srgb(photo.pixels)), photo.icc_profile


def _to_8bit(pixels: np.ndarray) -> np.ndarray:
    """Round 16-bit levels to 8-bit: round(v * 255 / 65535) in exact integer arithmetic."""
    if pixels.dtype == np.uint8:
        return pixels
    return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _encode_jpeg(
    path: Path, pixels: np.ndarray, alpha: np.ndarray | None, icc: bytes | None, exif: bytes | None, quality: int
) -> None:
    options = {"subsampling": 0} if quality >= 90 else {}
    image = _pillow_layout(_to_8bit(pixels))
    image.save(path, "JPEG", quality=quality, icc_profile=icc or None, exif=exif or b"", **options)


def _samples(pixels: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    return pixels if alpha is None else np.concatenate([pixels, alpha[..., None]], axis=2)


def _sample_bands(pixels: np.ndarray, alpha: np.ndarray | None, byte_order: str) -> Iterator[np.ndarray]:
    """Interleaved samples as bytes, (rows, W * samples * itemsize), in bands of about _BAND_BYTES."""
    height, width, channels = pixels.shape
    samples = channels + (alpha is not None)
    rows = max(1, _BAND_BYTES // (width * samples * pixels.itemsize))
    dtype = np.dtype(pixels.dtype).newbyteorder(byte_order)
    for start in range(0, height, rows):
        band_alpha = None if alpha is None else alpha[start : start + rows]
        band = _samples(pixels[start : start + rows], band_alpha).astype(dtype, copy=False)
        yield np.ascontiguousarray(band).view(np.uint8).reshape(band.shape[0], -1)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _encode_png(
    path: Path, pixels: np.ndarray, alpha: np.ndarray | None, icc: bytes | None, exif: bytes | None, quality: int
) -> None:
    """PNG at 8 or 16 bits (grey, grey+alpha, RGB, RGBA) with iCCP and eXIf; Up filter, zlib."""
    height, width, channels = pixels.shape
    colour_type = _PNG_COLOUR_TYPES[channels + (alpha is not None)]
    compressor = zlib.compressobj(_PNG_ZLIB_LEVELS[pixels.itemsize])
    with open(path, "wb") as file:
        file.write(_PNG_SIGNATURE)
        header = struct.pack(">IIBBBBB", width, height, 8 * pixels.itemsize, colour_type, 0, 0, 0)
        file.write(_png_chunk(b"IHDR", header))
        if icc:
            file.write(_png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc)))
        if exif:
            file.write(_png_chunk(b"eXIf", exif.removeprefix(_EXIF_HEADER)))
        previous_row = None
        for rows in _sample_bands(pixels, alpha, ">"):
            filtered = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
            filtered[:, 0] = _PNG_UP_FILTER
            filtered[:, 1:] = rows
            filtered[1:, 1:] -= rows[:-1]
            if previous_row is not None:
                filtered[0, 1:] -= previous_row
            previous_row = rows[-1].copy()
            compressed = compressor.compress(filtered)
            if compressed:
                file.write(_png_chunk(b"IDAT", compressed))
        file.write(_png_chunk(b"IDAT", compressor.flush()))
        file.write(_png_chunk(b"IEND", b""))


def _encode_tiff(
    path: Path, pixels: np.ndarray, alpha: np.ndarray | None, icc: bytes | None, exif: bytes | None, quality: int
) -> None:
    """Uncompressed little-endian TIFF, 8 or 16 bits, unassociated alpha, ICC and EXIF sub-IFDs.

    The IFD is serialised by Pillow, which places strip offsets after the IFD and its data.
    """
    height, width, channels = pixels.shape
    samples = channels + (alpha is not None)
    row_bytes = width * samples * pixels.itemsize
    rows_per_strip = max(1, _TIFF_STRIP_BYTES // row_bytes)
    strip_starts = range(0, height, rows_per_strip)
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if exif:
        parsed = Image.Exif()
        parsed.load(exif)
        for tag, value in _descriptive_tags(parsed).items():
            ifd[tag] = value
    ifd[TiffImagePlugin.IMAGEWIDTH] = width
    ifd[TiffImagePlugin.IMAGELENGTH] = height
    ifd[TiffImagePlugin.BITSPERSAMPLE] = (8 * pixels.itemsize,) * samples
    ifd[TiffImagePlugin.COMPRESSION] = 1
    ifd[TiffImagePlugin.PHOTOMETRIC_INTERPRETATION] = 1 if channels == 1 else 2
    ifd[TiffImagePlugin.STRIPOFFSETS] = tuple(start * row_bytes for start in strip_starts)
    ifd[TiffImagePlugin.SAMPLESPERPIXEL] = samples
    ifd[TiffImagePlugin.ROWSPERSTRIP] = rows_per_strip
    strip_rows = (min(rows_per_strip, height - start) for start in strip_starts)
    ifd[TiffImagePlugin.STRIPBYTECOUNTS] = tuple(rows * row_bytes for rows in strip_rows)
    ifd[TiffImagePlugin.PLANAR_CONFIGURATION] = 1
    if alpha is not None:
        ifd[TiffImagePlugin.EXTRASAMPLES] = (2,)
    if icc:
        ifd[_ICC_TAG] = icc
    with open(path, "wb") as file:
        file.write(b"II*\x00" + struct.pack("<I", 8))
        file.write(ifd.tobytes(8))
        for rows in _sample_bands(pixels, alpha, "<"):
            file.write(rows)


_DECODERS: dict[str, Callable[[Path, bytes, int], _Decoded]] = {
    "JPEG": _decode_jpeg,
    "PNG": _decode_png,
    "TIFF": _decode_tiff,
}
_ENCODERS = {"JPEG": _encode_jpeg, "PNG": _encode_png, "TIFF": _encode_tiff}
