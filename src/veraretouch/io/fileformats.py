"""The three file formats this package reads and writes, and how each is named and recognised.

JPEG, PNG and TIFF are the only formats supported; this module holds the facts about them that
reading, writing and naming outputs share: the names a user may give, the suffix written, the
magic bytes a file starts with (the format is sniffed from the bytes, never trusted from the
suffix) and the TIFF tag an ICC profile lives in.
"""
from __future__ import annotations

FORMAT_NAMES = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "tiff": "TIFF", "tif": "TIFF"}
"""Lower-case name or suffix (without the dot) -> canonical format name."""
SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif"}
"""Canonical format name -> the suffix given to files written in it."""
IMAGE_SUFFIXES = tuple(f".{name}" for name in FORMAT_NAMES)
"""The suffixes (lower case, with the dot) of files taken as photos when a folder is listed."""

JPEG_SIGNATURE = b"\xff\xd8\xff"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIFF_LITTLE_ENDIAN = b"II*\x00"
TIFF_BIG_ENDIAN = b"MM\x00*"
SIGNATURES = (
    (JPEG_SIGNATURE, "JPEG"),
    (PNG_SIGNATURE, "PNG"),
    (TIFF_LITTLE_ENDIAN, "TIFF"),
    (TIFF_BIG_ENDIAN, "TIFF"),
)
"""The bytes each format's files start with, in the order they are tried."""

TIFF_ICC_TAG = 34675
"""The TIFF tag (InterColorProfile) that holds an embedded ICC profile."""
