"""Decoding JPEG, PNG and TIFF bytes into pixels, alpha, ICC profile and EXIF, refusing bad files.

Each decoder picks the library that is exact and fast for the case: OpenCV for grey/colour JPEG
(the same libjpeg-turbo output as Pillow, without Pillow's costly repacking) and for 16-bit PNG
(Pillow drops it to 8 bits); Pillow for headers and metadata, 8-bit PNG and CMYK JPEG (for its ICC
conversion); tifffile for TIFF, with OpenCV's libtiff for compressions tifffile needs `imagecodecs`
for (LZW, JPEG). Before any pixel is decoded, the format is sniffed from the bytes, the header
size is checked against the decompression-bomb limit, and a JPEG or PNG that ends before its
end marker is refused as truncated, so a bad file gets a clear message rather than a codec's. A
JPEG whose data ends early but carries an end marker anyway decodes "successfully" with grey
blocks; libjpeg only says so on stderr, so the codecs' stderr is captured during every OpenCV
decode (never shown raw) and a libjpeg warning of lost data refuses the file.
"""
from __future__ import annotations

import io
import logging
import os
import struct
import sys
import tempfile
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import cv2
import numpy as np
import tifffile
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from ..errors import ImageReadError
from .arrays import split_samples
from .exif import exif_from_ifd0, orientation, with_exif_header
from .fileformats import PNG_SIGNATURE, SIGNATURES, TIFF_ICC_TAG
from .icc import load_profile

_PILLOW_CONVERSIONS = {"1": "L", "P": "RGB", "PA": "RGBA", "RGBX": "RGB", "RGBa": "RGBA", "La": "LA", "YCbCr": "RGB"}
_JPEG_STANDALONE_MARKERS = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})
_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
CODEC_MESSAGES = ("Corrupt JPEG data", "Premature end of JPEG file", "Warning: ", "Invalid SOS parameters",
                  "Inconsistent progression sequence", "libpng ", "TIFF")
"""How the warnings libjpeg, libpng and libtiff print to stderr begin: captured during an OpenCV
decode, never shown (a damaged file becomes our one-line error instead)."""
LIBJPEG_DATA_LOSS = ("premature end", "bad huffman code", "instead of rst")
"""Warnings (lower case) that mean image data is missing or garbled: the file is refused. Others,
such as "N extraneous bytes before marker" (padding some cameras write), are let through."""
_STDERR_LOCK = threading.Lock()
logging.getLogger("tifffile").addHandler(logging.NullHandler())  # its warnings about damaged files are
# printed by logging's last-resort handler when the application configured none; they become our errors


class Decoded(NamedTuple):
    """A file's samples as stored: in its own profile and orientation, not yet sRGB or upright."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    icc_profile: bytes | None
    exif: bytes | None
    orientation: int


def sniff_format(source: Path, data: bytes) -> str:
    """"JPEG", "PNG" or "TIFF" from the leading bytes; any other image format is named in the error."""
    for signature, name in SIGNATURES:
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


def decode_footprint(data: bytes) -> int:
    """About the most memory decoding ``data`` holds at once, from its header alone (0 when the
    header cannot be read): the decoder's interleaved samples and our pixel and alpha copies of
    them, twice the samples. A server makes room for it before decoding (benchmarks/web_load.py)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                samples = len(image.getbands()) + (image.mode == "P")
                deep = (data.startswith(PNG_SIGNATURE) and data[24:25] == b"\x10") or image.mode.startswith("I;16") \
                    or 16 in (image.tag_v2.get(258, ()) if hasattr(image, "tag_v2") else ())
    except Exception:  # not an image we can size: the decode will refuse it
        return 0
    return 2 * width * height * samples * (2 if deep else 1)


def check_pixel_count(source: Path, width: int, height: int, max_pixels: int) -> None:
    """Refuse an image over ``max_pixels`` (decompression-bomb guard) from its header size."""
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
        check_pixel_count(source, *image.size, max_pixels)
        yield image


def _decode_jpeg(source: Path, data: bytes, max_pixels: int) -> Decoded:
    """Grey/colour JPEGs are decoded by OpenCV straight into numpy (the same libjpeg-turbo output
    as Pillow without Pillow's 4-byte-pixel repacking, which costs as much as the decode); CMYK
    goes through Pillow for its ICC conversion, after an eighth-size OpenCV decode that only
    listens for libjpeg's warnings (Pillow silences them)."""
    components, complete = _jpeg_components_and_completeness(data)
    if not components:
        raise ValueError("no frame header")
    if not complete:
        raise ImageReadError(f"{source}: truncated JPEG (the file ends before its end-of-image marker)")
    with _pillow_image(source, data, max_pixels) as image:
        exif = with_exif_header(image.info.get("exif"))
        if components in (1, 3):
            colour = cv2.IMREAD_GRAYSCALE if components == 1 else cv2.IMREAD_COLOR_RGB
            samples = _complete_jpeg(source, data, colour | cv2.IMREAD_IGNORE_ORIENTATION)
            if samples.shape[:2] != image.size[::-1]:
                raise ValueError(f"decoded {samples.shape[1]}x{samples.shape[0]}, header says {image.size}")
            pixels, alpha = split_samples(samples, grey=components == 1, bgr=False)
            icc_profile = image.info.get("icc_profile") or None
        else:
            _complete_jpeg(source, data, cv2.IMREAD_REDUCED_GRAYSCALE_8)
            image.load()
            pixels, alpha, icc_profile = _pillow_pixels(image)
    return Decoded(pixels, alpha, icc_profile, exif, orientation(exif))


def _complete_jpeg(source: Path, data: bytes, flags: int) -> np.ndarray:
    """OpenCV's decode, refused when libjpeg warns that image data is missing or damaged."""
    warned: list[str] = []
    samples = _opencv_decode(data, flags, warned)
    lost = next((line for line in warned if any(key in line.lower() for key in LIBJPEG_DATA_LOSS)), None)
    if lost is not None:
        raise ImageReadError(f"{source}: corrupt JPEG, image data is missing or damaged (the decoder "
                             f"says: {lost.strip()[:120]})")
    return samples


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


def _decode_png(source: Path, data: bytes, max_pixels: int) -> Decoded:
    bit_depth, colour_type = data[24], data[25]
    exif_chunk, complete = _png_exif_and_completeness(data)
    if not complete:
        raise ImageReadError(f"{source}: truncated PNG (the file ends before its IEND chunk)")
    exif = with_exif_header(exif_chunk)
    with _pillow_image(source, data, max_pixels) as image:
        if bit_depth == 16:
            icc_profile = image.info.get("icc_profile") or None
            pixels, alpha = split_samples(_opencv_decode(data), grey=colour_type in (0, 4))
        else:
            image.load()
            pixels, alpha, icc_profile = _pillow_pixels(image)
    return Decoded(pixels, alpha, icc_profile, exif, orientation(exif))


def _png_exif_and_completeness(data: bytes) -> tuple[bytes | None, bool]:
    """Walk the chunk list: the eXIf payload (wherever it is) and whether IEND is reached."""
    position, exif = len(PNG_SIGNATURE), None
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


def _decode_tiff(source: Path, data: bytes, max_pixels: int) -> Decoded:
    ifd0 = Image.Exif()
    ifd0.load(data)
    check_pixel_count(source, ifd0.get(256, 0), ifd0.get(257, 0), max_pixels)
    pixels, alpha = _tiff_samples(source, data)
    exif = exif_from_ifd0(ifd0)
    return Decoded(pixels, alpha, ifd0.get(TIFF_ICC_TAG) or None, exif, orientation(exif))


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
            return split_samples(samples, grey)
    if "S" in page.axes:
        samples = np.moveaxis(samples, page.axes.index("S"), -1)
    return split_samples(samples.reshape(page.imagelength, page.imagewidth, -1), grey, bgr=False)


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


@contextmanager
def _codec_messages() -> Iterator[list[str]]:
    """Collect the codec warnings (`CODEC_MESSAGES`) written to stderr (file descriptor 2) while the
    block runs: OpenCV has no other way to report them. The descriptor is process-wide, so captures are
    serialised and any other text written meanwhile is passed on to stderr afterwards.
    """
    warned: list[str] = []
    with _STDERR_LOCK, tempfile.TemporaryFile() as capture:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no stderr to capture: decode anyway
            saved = None
        if saved is None:
            yield warned
            return
        os.dup2(capture.fileno(), 2)
        try:
            yield warned
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            other = []
            for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True):
                (warned if line.startswith(CODEC_MESSAGES) else other).append(line)
            if other:
                os.write(2, "".join(other).encode("utf-8", "replace"))


def _opencv_decode(data: bytes, flags: int = cv2.IMREAD_UNCHANGED, warned: list[str] | None = None) -> np.ndarray:
    """Decode with OpenCV; IMREAD_UNCHANGED keeps full depth, BGR(A) order, and leaves EXIF
    orientation to us. The codecs' stderr warnings are withheld (and added to ``warned``)."""
    with _quiet_opencv(), _codec_messages() as messages:
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if warned is not None:
        warned.extend(messages)
    if decoded is None:
        raise ValueError("corrupt or truncated data")
    return decoded


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
    pixels, alpha = split_samples(np.asarray(image), grey=image.mode in ("L", "LA"), bgr=False)
    return pixels, alpha, icc_profile


def _cmyk_to_srgb(image: Image.Image, icc_profile: bytes | None) -> np.ndarray:
    """CMYK -> sRGB through the embedded CMYK profile, or Pillow's naive conversion without one."""
    profile = load_profile(icc_profile) if icc_profile else None
    if profile is not None and profile.colour_space == "CMYK":
        return np.asarray(ImageCms.applyTransform(image, profile.to_srgb_transform))
    return np.asarray(image.convert("RGB"))


DECODERS: dict[str, Callable[[Path, bytes, int], Decoded]] = {
    "JPEG": _decode_jpeg,
    "PNG": _decode_png,
    "TIFF": _decode_tiff,
}
"""Format name -> decoder of (path for messages, file bytes, pixel limit)."""
