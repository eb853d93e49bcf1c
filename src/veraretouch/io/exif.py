"""EXIF: the orientation a photo is displayed in, and the metadata carried from file to file.

A `Photo` is upright, so the EXIF Orientation is applied on read and then reset to 1 in the EXIF
that is written back; the reset patches the one tag in place so that every other byte (maker
notes, thumbnail) survives. TIFF keeps its descriptive tags in IFD0 rather than in an EXIF block,
so those tags are gathered into EXIF bytes on read and spread back into IFD0 on write.
"""
from __future__ import annotations

import struct
from typing import Callable

import numpy as np
from PIL import Image

EXIF_HEADER = b"Exif\x00\x00"
"""What raw EXIF starts with in JPEG APP1 (and in a `Photo`); PNG's eXIf chunk stores it without."""

_ORIENTATION = 0x0112
_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005
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

UPRIGHT_VIEWS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}
"""EXIF Orientation -> the view that displays the stored pixels upright (as Pillow's exif_transpose)."""


def with_exif_header(exif: bytes | None) -> bytes | None:
    """Raw EXIF with its ``Exif\\0\\0`` header (added when missing, as in PNG); None when empty."""
    if not exif:
        return None
    return exif if exif.startswith(EXIF_HEADER) else EXIF_HEADER + exif


def orientation(exif: bytes | None) -> int:
    """The IFD0 Orientation (1 to 8); 1 when there is no EXIF or it cannot be parsed."""
    if not exif:
        return 1
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        return int(parsed.get(_ORIENTATION, 1))
    except Exception:  # unparsable EXIF: nothing to orient by
        return 1


def exif_without_orientation(exif: bytes | None) -> bytes | None:
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


def descriptive_tags(exif: Image.Exif) -> dict[int, object]:
    """The descriptive IFD0 tags of ``exif`` (a TIFF's IFD0 or an EXIF block), sub-IFDs as dicts."""
    return {
        tag: _sub_ifd(exif, tag) if tag in (_EXIF_IFD, _GPS_IFD) else exif[tag]
        for tag in _DESCRIPTIVE_IFD0_TAGS.intersection(exif)
    }


def exif_from_ifd0(ifd0: Image.Exif) -> bytes | None:
    """EXIF bytes holding a TIFF's descriptive IFD0 tags and its EXIF/GPS sub-IFDs."""
    exif = Image.Exif()
    for tag, value in descriptive_tags(ifd0).items():
        exif[tag] = value
    return exif.tobytes() if len(exif) else None
