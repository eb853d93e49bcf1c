"""Image I/O: lossless round trips, orientation, EXIF, ICC, bad input, atomic writes, Photo API."""
from __future__ import annotations

import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

from veraretouch.errors import ImageReadError, ImageWriteError
from veraretouch.io import arrays, decode, encode, shaper
from veraretouch.io.images import DEFAULT_MAX_PIXELS, Photo, output_suffix, read_image, write_image

SHARED_PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "photos"
ADOBE_RGB_ICC = Path("/usr/share/color/icc/compatibleWithAdobeRGB1998.icc")
D50 = (0.9642, 1.0, 0.8249)
ADOBE_RGB_COLORANTS = np.array(  # rXYZ, gXYZ, bXYZ (D50) as columns
    [[0.6097, 0.2053, 0.1492], [0.3111, 0.6257, 0.0632], [0.0195, 0.0609, 0.7446]]
)
ORIENTATION = 0x0112
PILLOW_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ----------------------------------------------------------------------------------- helpers


def random_levels(shape: tuple[int, ...], dtype=np.uint8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max + 1, shape).astype(dtype)


def smooth_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Photo-like 8-bit RGB: smooth gradients (JPEG-friendly, in sRGB gamut)."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    phase = np.random.default_rng(seed).uniform(0, 6, 3)
    channels = [0.5 + 0.4 * np.sin(3 * x + 2 * y + p) for p in phase]
    return np.round(np.stack(channels, axis=-1) * 255).astype(np.uint8)


def exif_bytes(orientation: int = 1, maker_note: bytes | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS R5"
    exif[0x0132] = "2024:05:06 07:08:09"
    exif[ORIENTATION] = orientation
    sub_ifd = exif.get_ifd(0x8769)
    sub_ifd[0x829A] = 1 / 250  # ExposureTime
    sub_ifd[0x8827] = 400  # ISO
    if maker_note is not None:
        sub_ifd[0x927C] = maker_note
    return exif.tobytes()


def assert_camera_exif(path: Path, orientation: int = 1) -> None:
    with Image.open(path) as image:
        exif = image.getexif()
        assert exif.get(0x010F) == "Canon" and exif.get(0x0110) == "EOS R5"
        assert exif.get(0x0132) == "2024:05:06 07:08:09"
        assert exif.get(ORIENTATION) == orientation
        sub_ifd = exif.get_ifd(0x8769)
        assert float(sub_ifd[0x829A]) == pytest.approx(1 / 250) and sub_ifd[0x8827] == 400


def icc_profile(colorants: np.ndarray | None, gamma: float, extra_tags: tuple = ()) -> bytes:
    """A minimal ICC v2 display profile: RGB matrix/TRC, or grey (kTRC) when colorants is None."""

    def s15(values) -> bytes:
        return b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    def xyz(values) -> bytes:
        return b"XYZ \0\0\0\0" + s15(values)

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    name = b"veraretouch test profile\0"
    description = b"desc\0\0\0\0" + struct.pack(">I", len(name)) + name + b"\0" * 8 + b"\0" * 70
    tags = [(b"desc", description), (b"wtpt", xyz(D50)), (b"cprt", b"text\0\0\0\0none\0")]
    if colorants is None:
        tags.append((b"kTRC", curve))
    else:
        tags += [(b"rXYZ", xyz(colorants[:, 0])), (b"gXYZ", xyz(colorants[:, 1])), (b"bXYZ", xyz(colorants[:, 2]))]
        tags += [(b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    tags += list(extra_tags)
    table_size = 4 + 12 * len(tags)
    entries, body = b"", b""
    for signature, data in tags:
        entries += struct.pack(">4sII", signature, 128 + table_size + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    colour_space = b"GRAY" if colorants is None else b"RGB "
    size = 128 + table_size + len(body)
    header = struct.pack(">I4sI4s4s4s", size, b"none", 0x02100000, b"mntr", colour_space, b"XYZ ")
    header += b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + s15(D50) + b"\0" * 48
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + entries + body


def lut_a2b0(colorants: np.ndarray) -> tuple[bytes, bytes]:
    """An 'mft2' A2B0 tag (2-point CLUT RGB -> XYZ): makes a profile LUT-based."""
    corners = np.stack(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij"), axis=-1).reshape(-1, 3)
    clut = np.clip(np.round(corners @ colorants.T * 32768), 0, 65535).astype(">u2")
    identity = np.array([1, 0, 0, 0, 1, 0, 0, 0, 1]) * 65536
    tables = np.tile(np.array([0, 65535], ">u2"), 3).tobytes()
    data = b"mft2\0\0\0\0" + bytes([3, 3, 2, 0]) + struct.pack(">9i", *identity) + struct.pack(">HH", 2, 2)
    return b"A2B0", data + tables + clut.tobytes() + tables


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def lcms_convert(levels: np.ndarray, source: bytes, target: bytes, out_mode: str = "RGB") -> np.ndarray:
    """Reference conversion by LittleCMS (8-bit)."""
    image = Image.fromarray(levels.squeeze(-1) if levels.shape[-1] == 1 else levels)
    converted = ImageCms.profileToProfile(
        image,
        ImageCms.ImageCmsProfile(io.BytesIO(source)),
        ImageCms.ImageCmsProfile(io.BytesIO(target)),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        outputMode=out_mode,
    )
    return np.asarray(converted)


def save_png16(path: Path, samples: np.ndarray) -> None:
    """Independent 16-bit PNG encoder (OpenCV, BGR order)."""
    if samples.ndim == 3 and samples.shape[2] >= 3:
        samples = samples[..., [2, 1, 0, 3][: samples.shape[2]]]
    assert cv2.imwrite(str(path), samples)


def photo(pixels: np.ndarray, alpha=None, fmt="PNG", exif=None, icc=None) -> Photo:
    return Photo(pixels, alpha, fmt, exif, icc)


LAYOUTS = {"grey": (1, False), "grey+alpha": (1, True), "rgb": (3, False), "rgba": (3, True)}


def layout_photo(layout: str, dtype, height=13, width=17, seed=0) -> Photo:
    channels, has_alpha = LAYOUTS[layout]
    pixels = random_levels((height, width, channels), dtype, seed)
    alpha = random_levels((height, width), dtype, seed + 1) if has_alpha else None
    return photo(pixels, alpha)


# ------------------------------------------------------------------------- lossless round trips


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_lossless_round_trip_is_bit_exact(tmp_path, monkeypatch, layout, dtype, fmt):
    monkeypatch.setattr(encode, "_BAND_BYTES", 200)  # many PNG bands and TIFF strips, even here
    monkeypatch.setattr(encode, "_TIFF_STRIP_BYTES", 300)
    original = layout_photo(layout, dtype)
    path = write_image(original, tmp_path / f"out{output_suffix(original, fmt)}", format=fmt)
    back = read_image(path)
    assert back.format == fmt.upper()
    assert back.pixels.dtype == dtype and back.bit_depth == original.bit_depth
    np.testing.assert_array_equal(back.pixels, original.pixels)
    if original.alpha is None:
        assert back.alpha is None
    else:
        np.testing.assert_array_equal(back.alpha, original.alpha)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_written_files_decode_identically_in_other_libraries(tmp_path, layout, dtype):
    original = layout_photo(layout, dtype, seed=3)
    samples = arrays.join_samples(original.pixels, original.alpha)
    tiff = write_image(original, tmp_path / "out.tif", format="tiff")
    np.testing.assert_array_equal(tifffile.imread(tiff).reshape(samples.shape), samples)
    png = write_image(original, tmp_path / "out.png")
    decoded = cv2.imread(str(png), cv2.IMREAD_UNCHANGED).reshape(*samples.shape[:2], -1)
    if samples.shape[2] >= 3:
        decoded = decoded[..., [2, 1, 0, 3][: samples.shape[2]]]
    elif samples.shape[2] == 2:  # OpenCV expands grey+alpha to BGRA
        decoded = decoded[..., [0, 3]]
    np.testing.assert_array_equal(decoded, samples)


@FAST
@given(
    samples=st.integers(1, 4).flatmap(
        lambda channels: hnp.arrays(
            st.sampled_from([np.uint8, np.uint16]),
            st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(channels)),
        )
    )
)
def test_png_encoder_matches_pillow_decoder_for_any_8bit_layout(tmp_path, samples):
    pixels = samples[..., : 1 if samples.shape[2] <= 2 else 3]
    alpha = samples[..., -1] if samples.shape[2] in (2, 4) else None
    path = write_image(photo(pixels, alpha), tmp_path / "h.png", overwrite=True)
    if samples.dtype == np.uint8:
        np.testing.assert_array_equal(np.asarray(Image.open(path)).reshape(samples.shape), samples)
    back = read_image(path)
    np.testing.assert_array_equal(arrays.join_samples(back.pixels, back.alpha), samples)


@pytest.mark.parametrize("layout", ["rgb", "rgba", "grey"])
def test_reads_16bit_files_from_other_encoders_bit_exact(tmp_path, layout):
    channels, has_alpha = LAYOUTS[layout]
    samples = random_levels((9, 11, channels + has_alpha), np.uint16, seed=5)
    save_png16(tmp_path / "cv.png", samples.squeeze(-1) if samples.shape[2] == 1 else samples)
    tifffile.imwrite(tmp_path / "contig.tif", samples, photometric="minisblack" if channels == 1 else "rgb",
                     extrasamples=["unassalpha"] if has_alpha else None)
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(samples, 2, 0),
                     planarconfig="separate" if samples.shape[2] > 1 else None,
                     photometric="minisblack" if channels == 1 else "rgb",
                     extrasamples=["unassalpha"] if has_alpha else None)
    ok, lzw = cv2.imencode(".tif", samples[..., [2, 1, 0, 3][: samples.shape[2]]] if channels == 3 else samples)
    (tmp_path / "lzw.tif").write_bytes(lzw.tobytes())  # LZW: tifffile needs imagecodecs, libtiff fallback
    for name in ["cv.png", "contig.tif", "planar.tif", "lzw.tif"]:
        back = read_image(tmp_path / name)
        np.testing.assert_array_equal(arrays.join_samples(back.pixels, back.alpha), samples, err_msg=name)


def test_pillow_written_8bit_files_read_exactly(tmp_path):
    rgba = random_levels((10, 12, 4), seed=2)
    for mode, samples in [("L", rgba[..., 0]), ("LA", rgba[..., :2]), ("RGB", rgba[..., :3]), ("RGBA", rgba)]:
        for suffix in (".png", ".tif"):
            path = tmp_path / f"{mode}{suffix}"
            Image.fromarray(samples, mode).save(path)
            back = read_image(path)
            np.testing.assert_array_equal(arrays.join_samples(back.pixels, back.alpha).reshape(samples.shape), samples)


def test_jpeg_write_matches_bare_pillow_with_444_at_high_quality(tmp_path):
    pixels = smooth_rgb(64, 80)
    Image.fromarray(pixels).save(tmp_path / "in.jpg", quality=95)
    source = read_image(tmp_path / "in.jpg")
    out = write_image(source, tmp_path / "out.jpg")
    Image.fromarray(source.pixels).save(tmp_path / "bare.jpg", quality=95, subsampling=0)
    assert out.read_bytes() == (tmp_path / "bare.jpg").read_bytes()
    with Image.open(out) as written:
        assert JpegImagePlugin.get_sampling(written) == 0
    low = write_image(source, tmp_path / "low.jpg", quality=75)
    with Image.open(low) as written:
        assert JpegImagePlugin.get_sampling(written) == 2
    assert low.stat().st_size < out.stat().st_size


def test_16bit_to_jpeg_rounds_to_nearest_8bit_level(tmp_path):
    every_level = np.arange(65536, dtype=np.uint16)
    expected = np.round(every_level.astype(np.float64) * 255 / 65535).astype(np.uint8)
    np.testing.assert_array_equal(arrays.to_8bit(every_level), expected)
    flat = np.full((16, 16, 3), 257 * 100 + 129, np.uint16)  # 100.50... -> 101, truncation gives 100
    out = write_image(photo(flat, fmt="PNG"), tmp_path / "flat.jpg", format="jpeg", quality=100)
    assert np.abs(np.asarray(Image.open(out)).astype(int) - 101).max() <= 1
    assert read_image(out).bit_depth == 8


# ----------------------------------------------------------------------------------- orientation


def asymmetric_rgb(height=6, width=10) -> np.ndarray:
    """Every pixel different and no symmetry: any flip or rotation changes the array."""
    values = np.arange(height * width * 3, dtype=np.int64).reshape(height, width, 3)
    return (values * 37 % 251).astype(np.uint8)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_orientation_applied_like_pillow_exif_transpose_and_reset(tmp_path, orientation, fmt):
    path = tmp_path / f"o{orientation}.{fmt.lower()}"
    Image.fromarray(asymmetric_rgb()).save(path, fmt, exif=exif_bytes(orientation))
    loaded = read_image(path)
    with Image.open(path) as image:
        expected = np.asarray(ImageOps.exif_transpose(image))
    np.testing.assert_array_equal(loaded.pixels, expected)
    assert loaded.size == (expected.shape[1], expected.shape[0])
    out = write_image(loaded, tmp_path / f"out.{fmt.lower()}")
    assert_camera_exif(out, orientation=1)
    with Image.open(out) as written:
        assert written.size == loaded.size


def test_orientation_6_is_a_clockwise_quarter_turn(tmp_path):
    stored = asymmetric_rgb(4, 7)
    Image.fromarray(stored).save(tmp_path / "six.png", exif=exif_bytes(6))
    upright = read_image(tmp_path / "six.png").pixels
    assert upright.shape == (7, 4, 3)
    np.testing.assert_array_equal(upright[0, 0], stored[-1, 0])  # bottom-left comes to the top-left
    np.testing.assert_array_equal(upright[0, -1], stored[0, 0])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_applied_to_16bit_and_alpha(tmp_path, orientation):
    samples = random_levels((5, 9, 4), np.uint16, seed=orientation)
    tifffile.imwrite(tmp_path / "o.tif", samples, photometric="rgb", extrasamples=["unassalpha"],
                     extratags=[(ORIENTATION, "H", 1, orientation, True)])
    write_image(photo(samples[..., :3], samples[..., 3], exif=exif_bytes(orientation)), tmp_path / "o.png")
    transpose = PILLOW_TRANSPOSE.get(orientation)
    planes = [Image.fromarray(samples[..., c]) for c in range(4)]  # I;16 planes: Pillow is the oracle
    expected = np.stack([np.asarray(p if transpose is None else p.transpose(transpose)) for p in planes], axis=-1)
    for name in ["o.tif", "o.png"]:
        loaded = read_image(tmp_path / name)
        np.testing.assert_array_equal(arrays.join_samples(loaded.pixels, loaded.alpha), expected, err_msg=name)
        rewritten = read_image(write_image(loaded, tmp_path / f"re-{name}"))
        np.testing.assert_array_equal(rewritten.pixels, loaded.pixels)  # not rotated a second time


# ------------------------------------------------------------------------------------------ EXIF


@pytest.mark.parametrize("source_format", ["JPEG", "PNG", "TIFF"])
@pytest.mark.parametrize("target_format", ["jpeg", "png", "tiff"])
def test_exif_tags_survive_any_format_pair(tmp_path, source_format, target_format):
    source = tmp_path / f"in.{source_format.lower()}"
    Image.fromarray(smooth_rgb(12, 16)).save(source, source_format, exif=exif_bytes(3))
    out = write_image(read_image(source), tmp_path / f"out.{target_format}", format=target_format)
    assert_camera_exif(out, orientation=1)


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_exif_survives_16bit_writers(tmp_path, fmt):
    loaded = photo(random_levels((6, 8, 3), np.uint16), exif=exif_bytes(1))
    out = write_image(loaded, tmp_path / f"out.{fmt}", format=fmt)
    assert_camera_exif(out)
    assert_camera_exif(write_image(read_image(out), tmp_path / "again.jpg", format="jpeg"))


def test_exif_bytes_kept_verbatim_except_orientation(tmp_path):
    maker_note = bytes(range(256)) * 2  # opaque vendor data with internal offsets: must not move
    raw = exif_bytes(8, maker_note=maker_note)
    Image.fromarray(asymmetric_rgb()).save(tmp_path / "in.jpg", exif=raw)
    loaded = read_image(tmp_path / "in.jpg")
    changed = [i for i, (a, b) in enumerate(zip(raw, loaded.exif)) if a != b]
    assert len(loaded.exif) == len(raw) and len(changed) == 1
    assert Image.open(tmp_path / "in.jpg").getexif().get(ORIENTATION) == 8
    out = write_image(loaded, tmp_path / "out.jpg")
    with Image.open(out) as written:
        assert written.info["exif"] == loaded.exif
        assert written.getexif().get_ifd(0x8769)[0x927C] == maker_note


# ------------------------------------------------------------------------------------------- ICC


def encoded_in_profile(srgb_levels: np.ndarray, icc: bytes) -> np.ndarray:
    """sRGB colours expressed in ``icc`` (so they are inside both gamuts), by LittleCMS."""
    return lcms_convert(srgb_levels, srgb_icc(), icc)


def test_srgb_profile_keeps_pixels_and_bytes(tmp_path):
    pixels = smooth_rgb(20, 24)
    Image.fromarray(pixels).save(tmp_path / "srgb.png", icc_profile=srgb_icc())
    loaded = read_image(tmp_path / "srgb.png")
    np.testing.assert_array_equal(loaded.pixels, pixels)
    out = write_image(loaded, tmp_path / "out.png")
    assert Image.open(out).info["icc_profile"] == srgb_icc()
    np.testing.assert_array_equal(np.asarray(Image.open(out)), pixels)


def wide_gamut_profiles() -> list:
    profiles = [pytest.param(icc_profile(ADOBE_RGB_COLORANTS, 2.2), id="synthetic-adobe")]
    marks = pytest.mark.skipif(not ADOBE_RGB_ICC.exists(), reason="icc-profiles-free is not installed")
    data = ADOBE_RGB_ICC.read_bytes() if ADOBE_RGB_ICC.exists() else b""
    return profiles + [pytest.param(data, id="icc-profiles-free-adobe", marks=marks)]


@pytest.mark.parametrize("icc", wide_gamut_profiles())
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF"])
def test_wide_gamut_8bit_converted_to_srgb_and_back(tmp_path, icc, fmt):
    srgb = smooth_rgb(24, 32, seed=1)
    in_profile = encoded_in_profile(srgb, icc)
    source = tmp_path / f"in.{fmt.lower()}"
    Image.fromarray(in_profile).save(source, fmt, icc_profile=icc, **({"quality": 100} if fmt == "JPEG" else {}))
    file_levels = np.asarray(Image.open(source)).astype(int)
    loaded = read_image(source)
    assert loaded.icc_profile == icc
    np.testing.assert_array_equal(loaded.pixels, lcms_convert(file_levels.astype(np.uint8), icc, srgb_icc()))
    assert np.abs(loaded.pixels.astype(int) - file_levels).max() > 10  # really converted
    out = write_image(loaded, tmp_path / "out.png", format="png")
    with Image.open(out) as written:
        assert written.info["icc_profile"] == icc
        assert np.abs(np.asarray(written).astype(int) - file_levels).max() <= 2


@pytest.mark.parametrize("icc", wide_gamut_profiles())
@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_wide_gamut_16bit_matrix_conversion_agrees_with_littlecms(tmp_path, monkeypatch, icc, fmt):
    monkeypatch.setattr(shaper, "_BAND_BYTES", 1000)  # convert in several bands
    monkeypatch.setattr(encode, "_BAND_BYTES", 1000)
    srgb = smooth_rgb(24, 32, seed=2)
    in_profile16 = encoded_in_profile(srgb, icc).astype(np.uint16) * 257
    source = tmp_path / f"in.{fmt}"
    encode.ENCODERS[fmt.upper()](source, in_profile16, None, icc, None, 95)  # levels as they are + profile
    loaded = read_image(source)
    reference = lcms_convert((in_profile16 // 257).astype(np.uint8), icc, srgb_icc())
    assert np.abs(loaded.pixels / 257.0 - reference).max() <= 1.0
    assert np.abs(loaded.pixels / 257.0 - srgb).max() <= 1.5
    out = write_image(loaded, tmp_path / f"out.{fmt}")
    written = read_image(out)  # converts again: compare the raw file levels instead
    raw = tifffile.imread(out) if fmt == "tiff" else cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert np.abs(raw.astype(int) - in_profile16).max() <= 3
    assert np.abs(written.pixels.astype(int) - loaded.pixels).max() <= 3
    assert written.icc_profile == icc


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def test_grey_profile_converted_both_ways(tmp_path):
    grey_icc = icc_profile(None, 1.8)
    gamma = round(1.8 * 256) / 256  # as stored in the profile (u8Fixed8)
    levels = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
    Image.fromarray(levels).save(tmp_path / "grey.png", icc_profile=grey_icc)
    loaded = read_image(tmp_path / "grey.png")
    assert loaded.grayscale and loaded.icc_profile == grey_icc
    reference = lcms_convert(levels[..., None], grey_icc, srgb_icc())[..., 1]
    np.testing.assert_array_equal(loaded.pixels[..., 0], reference)
    assert loaded.pixels[0, 128, 0] > 140  # gamma 1.8 mid grey is lighter in sRGB
    out = write_image(loaded, tmp_path / "out.png")
    assert np.abs(np.asarray(Image.open(out)).astype(int) - levels).max() <= 2
    grey16 = levels.astype(np.uint16)[..., None] * 257
    encode.ENCODERS["TIFF"](tmp_path / "grey16.tif", grey16, None, grey_icc, None, 95)
    loaded16 = read_image(tmp_path / "grey16.tif")
    exact = srgb_encode((grey16[..., 0] / 65535.0) ** gamma) * 65535
    assert np.abs(loaded16.pixels[..., 0] - exact).max() <= 2  # LittleCMS 8-bit is ~1.5 levels off near black
    write_image(loaded16, tmp_path / "out16.tif")
    assert np.abs(tifffile.imread(tmp_path / "out16.tif").astype(int) - grey16[..., 0]).max() <= 3


def test_colourful_edit_of_grey_profiled_image_is_written_as_untagged_srgb(tmp_path):
    grey_icc = icc_profile(None, 1.8)
    Image.fromarray(np.full((4, 4), 100, np.uint8)).save(tmp_path / "grey.png", icc_profile=grey_icc)
    loaded = read_image(tmp_path / "grey.png")
    tinted = loaded.to_tensor() * torch.tensor([1.0, 0.9, 0.8]).view(1, 3, 1, 1)
    edited = loaded.with_tensor(tinted)
    assert not edited.grayscale
    out = write_image(edited, tmp_path / "out.png")
    assert "icc_profile" not in Image.open(out).info
    np.testing.assert_array_equal(np.asarray(Image.open(out)), edited.pixels)


def test_16bit_lut_profile_is_refused_but_8bit_works(tmp_path):
    lut_icc = icc_profile(ADOBE_RGB_COLORANTS, 2.2, extra_tags=(lut_a2b0(ADOBE_RGB_COLORANTS),))
    encode.ENCODERS["PNG"](tmp_path / "lut16.png", random_levels((4, 4, 3), np.uint16), None, lut_icc, None, 95)
    with pytest.raises(ImageReadError, match=r"lut16\.png: 16-bit .*LUT-based ICC profile"):
        read_image(tmp_path / "lut16.png")
    Image.fromarray(random_levels((4, 4, 3))).save(tmp_path / "lut8.png", icc_profile=lut_icc)
    assert read_image(tmp_path / "lut8.png").icc_profile == lut_icc


@pytest.mark.parametrize("bad_icc", [b"not a profile at all" * 10, srgb_icc()[:100]], ids=["garbage", "truncated-srgb"])
def test_unreadable_profile_is_ignored(tmp_path, bad_icc):
    pixels = random_levels((5, 5, 3))
    Image.fromarray(pixels).save(tmp_path / "bad.png", icc_profile=bad_icc)
    loaded = read_image(tmp_path / "bad.png")
    np.testing.assert_array_equal(loaded.pixels, pixels)
    assert loaded.icc_profile is None


def test_cmyk_jpeg_becomes_srgb(tmp_path):
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=100)
    loaded = read_image(tmp_path / "cmyk.jpg")
    assert loaded.pixels.shape == (6, 8, 3) and loaded.icc_profile is None
    red = loaded.pixels.reshape(-1, 3).mean(axis=0)
    assert red[0] > 240 and red[1] < 15 and red[2] < 15
    assert write_image(loaded, tmp_path / "out.jpg").exists()


def test_palette_and_bilevel_pngs_become_rgb_rgba_and_grey(tmp_path):
    palette = Image.fromarray(random_levels((6, 7, 3))).quantize(8)
    palette.save(tmp_path / "p.png")
    loaded = read_image(tmp_path / "p.png")
    np.testing.assert_array_equal(loaded.pixels, np.asarray(palette.convert("RGB")))
    palette.save(tmp_path / "pt.png", transparency=0)
    transparent = read_image(tmp_path / "pt.png")
    assert transparent.alpha is not None and set(np.unique(transparent.alpha)) <= {0, 255}
    assert (transparent.alpha == 0).any()
    Image.fromarray(random_levels((5, 9)) > 127).save(tmp_path / "bits.png")
    assert read_image(tmp_path / "bits.png").grayscale


def test_jpeg_compressed_ycbcr_tiff_is_read(tmp_path):
    pixels = smooth_rgb(32, 48)
    Image.fromarray(pixels).save(tmp_path / "jpeg.tif", compression="jpeg", quality=95)
    loaded = read_image(tmp_path / "jpeg.tif")
    assert np.abs(loaded.pixels.astype(int) - pixels).mean() < 2


# ------------------------------------------------------------------------------------- bad input


def read_error(path: Path, **kwargs) -> str:
    """The ImageReadError message for ``path``, checked to be one line naming the file."""
    with pytest.raises(ImageReadError) as caught:
        read_image(path, **kwargs)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return message


def truncated(tmp_path: Path, name: str, writer, keep: float) -> Path:
    full = tmp_path / f"full-{name}"
    writer(full)
    data = full.read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: int(len(data) * keep)] if keep < 1 else data[:-1])
    return path


BAD_FILES = {
    "missing": (lambda p: None, "no such file"),
    "directory": (lambda p: p.mkdir(), "directory"),
    "empty": (lambda p: p.write_bytes(b""), "empty"),
    "text": (lambda p: p.write_text("hello, not an image\n"), "not a JPEG, PNG or TIFF"),
    "gif": (lambda p: Image.new("RGB", (4, 4)).save(p, "GIF"), "GIF images are not supported"),
    "garbage-after-jpeg-magic": (lambda p: p.write_bytes(b"\xff\xd8\xff" + bytes(100)), "cannot decode this JPEG"),
    "header-only-png": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n"), "cannot decode this PNG"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_give_one_line_error_naming_the_file(tmp_path, case, capfd):
    make, expected = BAD_FILES[case]
    path = tmp_path / f"bad-{case}"
    make(path)
    assert expected in read_error(path)
    assert capfd.readouterr().err == ""


TRUNCATIONS = {
    "jpeg-half": ("t.jpg", lambda p: Image.fromarray(smooth_rgb(64, 64)).save(p), 0.5),
    "jpeg-no-eoi": ("t.jpg", lambda p: Image.fromarray(smooth_rgb(64, 64)).save(p), 1.0),
    "png8-half": ("t.png", lambda p: Image.fromarray(random_levels((64, 64, 3))).save(p), 0.5),
    "png8-no-iend": ("t.png", lambda p: Image.fromarray(random_levels((64, 64, 3))).save(p), 1.0),
    "png16-half": ("t.png", lambda p: save_png16(p, random_levels((64, 64, 3), np.uint16)), 0.5),
    "tiff16-half": ("t.tif", lambda p: tifffile.imwrite(p, random_levels((64, 64, 3), np.uint16)), 0.6),
    "tiff8-half": ("t.tif", lambda p: Image.fromarray(random_levels((64, 64, 3))).save(p), 0.6),
}


@pytest.mark.parametrize("case", TRUNCATIONS)
def test_truncated_files_are_refused(tmp_path, case, capfd):
    name, writer, keep = TRUNCATIONS[case]
    path = truncated(tmp_path, name, writer, keep)
    message = read_error(path)
    assert "truncated" in message or "cannot decode" in message
    assert capfd.readouterr().err == ""


def test_corrupt_png_data_is_refused(tmp_path):
    save_png16(tmp_path / "c.png", random_levels((32, 32, 3), np.uint16))
    data = bytearray((tmp_path / "c.png").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "c.png").write_bytes(bytes(data))
    assert "cannot decode" in read_error(tmp_path / "c.png")


@pytest.mark.parametrize("name", ["big.png", "big.jpg", "big.tif", "big16.png"])
def test_decompression_bomb_refused_from_header_before_decoding(tmp_path, monkeypatch, name):
    if name == "big16.png":
        save_png16(tmp_path / name, np.zeros((40, 50, 3), np.uint16))
    else:
        Image.new("RGB", (50, 40)).save(tmp_path / name)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded before the size check")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    monkeypatch.setattr(tifffile.TiffPage, "asarray", no_decoding)
    message = read_error(tmp_path / name, max_pixels=1999)
    assert "50x40 = 2,000 pixels" in message and "--max-pixels" in message
    monkeypatch.undo()
    assert read_image(tmp_path / name, max_pixels=2000).size == (50, 40)


def test_pillow_bomb_guard_becomes_our_error(tmp_path, monkeypatch, recwarn):
    Image.new("RGB", (50, 40)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert "--max-pixels" in read_error(tmp_path / "big.png", max_pixels=10)
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_default_pixel_limit_is_honoured_by_pillow():
    assert DEFAULT_MAX_PIXELS == 150_000_000
    decode.check_pixel_count(Path("x"), 15_000, 10_000, DEFAULT_MAX_PIXELS)
    with pytest.raises(ImageReadError, match="--max-pixels"):
        decode.check_pixel_count(Path("x"), 15_001, 10_000, DEFAULT_MAX_PIXELS)


# ---------------------------------------------------------------------------------------- writing


def test_format_selection_and_suffixes(tmp_path):
    loaded = photo(random_levels((4, 5, 3)), fmt="TIFF")
    assert output_suffix(loaded, None) == ".tif"
    assert [output_suffix(loaded, f) for f in ("JPG", "jpeg", "Png", "tif", "TIFF")] == [
        ".jpg", ".jpg", ".png", ".tif", ".tif"
    ]
    with pytest.raises(ImageWriteError, match="unknown image format 'bmp' .*jpeg, png or tiff"):
        write_image(loaded, tmp_path / "x.bmp", format="bmp")
    assert read_image(write_image(loaded, tmp_path / "plain")).format == "TIFF"
    with pytest.raises(ImageWriteError, match=r"x\.png: the name says PNG but the output is TIFF"):
        write_image(loaded, tmp_path / "x.png")
    assert read_image(write_image(loaded, tmp_path / "as.jpg", format="JPG")).format == "JPEG"


@pytest.mark.parametrize("quality", [0, 101, 9.5, True])
def test_quality_out_of_range_refused(tmp_path, quality):
    with pytest.raises(ImageWriteError, match="quality"):
        write_image(photo(random_levels((4, 4, 3))), tmp_path / "q.jpg", format="jpeg", quality=quality)


def test_alpha_to_jpeg_refused_with_advice(tmp_path):
    with_alpha = layout_photo("rgba", np.uint8)
    with pytest.raises(ImageWriteError, match=r"a\.jpg: .*--format png or --format tiff"):
        write_image(with_alpha, tmp_path / "a.jpg", format="jpeg")
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_unless_asked(tmp_path):
    target = tmp_path / "o.png"
    target.write_bytes(b"keep me")
    loaded = photo(random_levels((4, 4, 3)))
    with pytest.raises(ImageWriteError, match="already exists"):
        write_image(loaded, target)
    assert target.read_bytes() == b"keep me"
    write_image(loaded, target, overwrite=True)
    np.testing.assert_array_equal(read_image(target).pixels, loaded.pixels)


def failing_pillow_save(self, fp, *args, **kwargs):
    Path(fp).write_bytes(b"\xff\xd8\xff partial")
    raise OSError("encoder exploded\nwith a second line")


class FailingCompressor:
    def compress(self, data):
        raise MemoryError("out of memory")


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_failing_encoder_leaves_no_file_and_no_temporary(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(Image.Image, "save", failing_pillow_save)
    monkeypatch.setattr(encode.zlib, "compressobj", lambda level: FailingCompressor())
    target = tmp_path / f"out.{fmt}"
    with pytest.raises(ImageWriteError) as caught:
        write_image(photo(random_levels((8, 8, 3))), target, format=fmt)
    assert str(target) in str(caught.value) and "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(ImageWriteError, match="cannot write"):
        write_image(photo(random_levels((4, 4, 3))), blocker / "sub" / "x.png")


# -------------------------------------------------------------------------------------- Photo API


@pytest.mark.parametrize("layout", ["grey", "rgb"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_to_tensor_scales_and_replicates_grey(layout, dtype):
    loaded = layout_photo(layout, dtype)
    tensor = loaded.to_tensor()
    assert tensor.shape == (1, 3, 13, 17) and tensor.dtype == torch.float32 and tensor.is_contiguous()
    maximum = np.iinfo(dtype).max
    expected = loaded.pixels.astype(np.float64) / maximum
    np.testing.assert_allclose(tensor[0].permute(1, 2, 0).numpy(), np.broadcast_to(expected, (13, 17, 3)), atol=1e-6)


@FAST
@given(
    pixels=hnp.arrays(
        st.sampled_from([np.uint8, np.uint16]),
        st.tuples(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3])),
    )
)
def test_with_tensor_of_to_tensor_is_identity(pixels):
    loaded = photo(pixels, alpha=np.zeros(pixels.shape[:2], pixels.dtype), exif=b"Exif\0\0x", icc=b"icc")
    again = loaded.with_tensor(loaded.to_tensor())
    np.testing.assert_array_equal(again.pixels, pixels)
    assert again.alpha is loaded.alpha and again.exif == loaded.exif and again.icc_profile == loaded.icc_profile


def test_with_tensor_rounds_and_clamps():
    loaded = photo(np.zeros((1, 4, 3), np.uint8))
    levels = torch.tensor([100.4, 100.6, -30.0, 300.0]) / 255
    result = loaded.with_tensor(levels.view(1, 1, 1, 4).expand(1, 3, 1, 4))
    np.testing.assert_array_equal(result.pixels[0, :, 0], [100, 101, 0, 255])


def test_grey_stays_grey_only_when_neutral_within_half_an_8bit_level():
    grey = photo(np.full((2, 2, 1), 1000, np.uint16))
    base = grey.to_tensor()
    nearly = base + torch.tensor([0.0, 0.2, -0.2]).view(1, 3, 1, 1) / 255  # 103 16-bit levels apart
    kept = grey.with_tensor(nearly)
    assert kept.grayscale and kept.pixels.shape == (2, 2, 1) and (kept.pixels == 1000).all()
    tinted = grey.with_tensor(base + torch.tensor([0.0, 0.0, 0.6]).view(1, 3, 1, 1) / 255)
    assert not tinted.grayscale and tinted.pixels[0, 0].tolist() == [1000, 1000, 1154]
    colour = photo(np.full((2, 2, 3), 7, np.uint8))
    assert not colour.with_tensor(colour.to_tensor()).grayscale


def test_with_pixels_checks_and_collapses_neutral_grey():
    grey = photo(np.full((3, 4, 1), 9, np.uint8), alpha=np.ones((3, 4), np.uint8))
    assert grey.with_pixels(np.full((3, 4, 3), 12, np.uint8)).pixels.shape == (3, 4, 1)
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[0, 0, 2] = 1
    assert grey.with_pixels(rgb).pixels.shape == (3, 4, 3)
    with pytest.raises(ValueError):
        grey.with_pixels(rgb.astype(np.uint16))
    with pytest.raises(ValueError):
        grey.with_pixels(np.zeros((5, 4, 3), np.uint8))


def test_properties():
    loaded = layout_photo("grey+alpha", np.uint16, height=3, width=8)
    assert (loaded.bit_depth, loaded.grayscale, loaded.size) == (16, True, (8, 3))
    assert layout_photo("rgb", np.uint8).bit_depth == 8


# ---------------------------------------------------------------------------------- real photos


@pytest.mark.skipif(not SHARED_PHOTOS.is_dir(), reason="shared photos are absent")
def test_real_photo_round_trip(tmp_path):
    source = sorted(SHARED_PHOTOS.glob("*.jpg"))[0]
    loaded = read_image(source)
    assert loaded.format == "JPEG" and loaded.pixels.ndim == 3
    with Image.open(source) as image:
        np.testing.assert_array_equal(loaded.pixels, np.asarray(ImageOps.exif_transpose(image).convert("RGB")))
    back = read_image(write_image(loaded, tmp_path / "out.png", format="png"))
    np.testing.assert_array_equal(back.pixels, loaded.pixels)
