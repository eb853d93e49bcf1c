"""The hostile corpus: hundreds of bad inputs, made at test time, and the promises users rely on.

Every case runs through the command line (in process) or the web app and checks the same
invariants (README "What happens with bad input"):

- the exit status is 0 (all done), 1 (some photos failed) or 2 (bad usage), as documented;
- each failure is reported on one line, and nothing else reaches stderr (no traceback, no raw
  codec warning);
- a failed photo has no output file, and no temporary file is ever left;
- every input file is byte-identical afterwards;
- the web app answers 4xx with a one-line error and its security headers, and still serves a
  normal request.

Cases: truncated and fake-terminated images in every format and depth, decompression bombs in
every format, non-images, special files, hostile JSON / XMP / .cube, name clashes, existing
outputs, interrupted writes, and the web abuse list. tests/test_bad_input.py pins the defects
this corpus found; the hypothesis tests at the end mutate real photos and presets byte-wise.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import signal
import socket
import struct
import tempfile
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from veraretouch.cli import main
from veraretouch.errors import PlanError
from veraretouch.formats import read_cube
from veraretouch.io.atomic import is_temporary

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PLAN = ("--set", "Exposure2012=0.3", "--lut-size", "17")
REPORT_LINE = re.compile(r"^(error: |  failed: |veraretouch: (error: |interrupted)|note: |\d+ done, \d+ failed)")
"""Every line a run may write to stderr (progress bars are off when stderr is not a terminal)."""
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


# ------------------------------------------------------------------------------ making inputs


def _rgb() -> np.ndarray:
    """A smooth 40x30 colour field (the hypothesis tests below use a real photo)."""
    rng = np.random.default_rng(7)
    return cv2.resize(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8), (40, 30), interpolation=cv2.INTER_CUBIC)


def _pillow(mode: str, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(_rgb()).convert(mode).save(buffer, format, **options)
    return buffer.getvalue()


def _opencv(samples: np.ndarray, suffix: str) -> bytes:
    ok, encoded = cv2.imencode(suffix, samples)
    assert ok
    return encoded.tobytes()


def _tiff(samples: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, samples, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_header(width: int, height: int, depth: int = 8, colour: int = 2, idat: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat or zlib.compress(b"\0" * 64))
            + _png_chunk(b"IEND", b""))


def _jpeg_with_size(width: int, height: int) -> bytes:
    """A real JPEG whose frame header claims ``width`` x ``height``."""
    data = bytearray(BASES["jpeg"]())
    frame = data.find(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _tiff_with_size(width: int, height: int) -> bytes:
    """An RGB TIFF whose directory claims ``width`` x ``height`` and whose one strip holds 64 bytes."""
    tags = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 2),
            (273, 4, 1, 8), (277, 3, 1, 3), (278, 4, 1, height), (279, 4, 1, 64)]
    directory = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *tag) for tag in tags) + bytes(4)
    return b"II*\x00" + struct.pack("<I", 72) + bytes(64) + directory


BASES = {
    "jpeg": lambda: _pillow("RGB", "JPEG", quality=90),
    "jpeg-grey": lambda: _pillow("L", "JPEG", quality=90),
    "jpeg-progressive": lambda: _pillow("RGB", "JPEG", quality=90, progressive=True),
    "jpeg-cmyk": lambda: _pillow("CMYK", "JPEG", quality=90),
    "png8": lambda: _pillow("RGB", "PNG"),
    "png8-rgba": lambda: _pillow("RGBA", "PNG"),
    "png8-palette": lambda: _pillow("P", "PNG"),
    "png16": lambda: _opencv(_rgb().astype(np.uint16) * 257, ".png"),
    "png16-grey": lambda: _opencv(_rgb()[..., 0].astype(np.uint16) * 257, ".png"),
    "tiff8": lambda: _pillow("RGB", "TIFF"),
    "tiff-lzw": lambda: _pillow("RGB", "TIFF", compression="tiff_lzw"),
    "tiff16-rgba": lambda: _tiff(np.dstack([_rgb(), _rgb()[..., :1]]).astype(np.uint16) * 257, photometric="rgb"),
}
SUFFIX = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif"}


def _kind(base: str) -> str:
    return base.split("-")[0].rstrip("0123456789")


def _fake_end(data: bytes, kind: str) -> bytes:
    return data + (b"\xff\xd9" if kind == "jpeg" else _png_chunk(b"IEND", b"") if kind == "png" else b"")


MUTATIONS = {
    # name: (mutate(data, kind) -> bytes, outcome: "fail", "ok" or "either")
    "intact": (lambda data, kind: data, "ok"),
    "cut-at-8th": (lambda data, kind: data[: len(data) // 8], "fail"),
    "cut-in-half": (lambda data, kind: data[: len(data) // 2], "fail"),
    "cut-last-byte": (lambda data, kind: data[:-1], "either"),
    "half-then-end-marker": (lambda data, kind: _fake_end(data[: len(data) // 2], kind), "fail"),
    "header-only": (lambda data, kind: data[:40], "fail"),
    "signature-then-garbage": (lambda data, kind: data[:8] + bytes(range(256)) * 4, "fail"),
    "second-half-zeroed": (lambda data, kind: data[: len(data) // 2] + bytes(len(data) - len(data) // 2), "either"),
    "byte-flipped-midway": (lambda data, kind: data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF])
                            + data[len(data) // 2 + 1 :], "either"),
    "trailing-junk": (lambda data, kind: data + b"junk" * 100, "either"),
}
IMAGE_CASES = {f"{base}-{name}": (base, name) for base in BASES for name in MUTATIONS}

OTHER_IMAGES = {
    # name: (file name, make bytes, outcome)
    "png-bomb-header": ("bomb.png", lambda: _png_header(100_000, 100_000), "fail"),
    "png16-bomb-header": ("bomb16.png", lambda: _png_header(20_000, 20_000, 16), "fail"),
    "png-zlib-bomb": ("zbomb.png", lambda: _png_header(4000, 4000, 8, 0, zlib.compress(bytes(4001 * 4000), 9)), "fail"),
    "jpeg-bomb-header": ("bomb.jpg", lambda: _jpeg_with_size(65_000, 65_000), "fail"),
    "tiff-bomb-header": ("bomb.tif", lambda: _tiff_with_size(100_000, 100_000), "fail"),
    "png-zero-size": ("zero.png", lambda: _png_header(0, 0), "fail"),
    "png-bad-crc": ("crc.png", lambda: BASES["png8"]()[:29] + b"\0\0\0\0" + BASES["png8"]()[33:], "either"),
    "gif-named-jpg": ("gif.jpg", lambda: _pillow("P", "GIF"), "fail"),
    "bmp-named-png": ("bmp.png", lambda: _pillow("RGB", "BMP"), "fail"),
    "webp-named-jpg": ("webp.jpg", lambda: _pillow("RGB", "WEBP"), "fail"),
    "png-named-jpg": ("actually-png.jpg", lambda: BASES["png8"](), "ok"),
    "jpeg-named-tif": ("actually-jpeg.tif", lambda: BASES["jpeg"](), "ok"),
    "empty": ("empty.jpg", lambda: b"", "fail"),
    "whitespace": ("blank.png", lambda: b" \n\t " * 10, "fail"),
    "one-byte": ("one.jpg", lambda: b"\xff", "fail"),
    "jpeg-signature-only": ("sig.jpg", lambda: b"\xff\xd8\xff", "fail"),
    "png-signature-only": ("sig.png", lambda: b"\x89PNG\r\n\x1a\n", "fail"),
    "tiff-signature-only": ("sig.tif", lambda: b"II*\x00", "fail"),
    "text": ("notes.jpg", lambda: b"these are my holiday notes\n" * 20, "fail"),
    "html": ("page.png", lambda: b"<!doctype html><script>alert(1)</script>", "fail"),
    "pdf": ("doc.tif", lambda: b"%PDF-1.7\n" + bytes(200), "fail"),
    "elf": ("prog.jpg", lambda: b"\x7fELF" + bytes(300), "fail"),
    "svg": ("vector.png", lambda: b'<svg xmlns="http://www.w3.org/2000/svg"/>', "fail"),
    "zeros": ("zeros.tif", lambda: bytes(4096), "fail"),
    "tiff-float": ("float.tif", lambda: _tiff(np.zeros((30, 40, 3), np.float32), photometric="rgb"), "fail"),
    "tiff-cmyk": ("cmyk.tif", lambda: _pillow("CMYK", "TIFF"), "fail"),
    "jpeg-two-frames": ("double.jpg", lambda: BASES["jpeg"]()[:-2] + BASES["jpeg"](), "either"),
    "unicode-name": ("фото 😀.jpg", lambda: BASES["jpeg"](), "ok"),
    "newline-name": ("two\nlines.png", lambda: BASES["png8"](), "ok"),
    "escape-name": ("\x1b[31mred.png", lambda: b"not a png", "fail"),
}


def snapshot(folder: Path) -> dict[str, str]:
    """File name -> SHA-256 of every regular file (type for anything else), symlinks unfollowed."""
    state = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            state[str(path)] = "link:" + os.readlink(path)
        elif path.is_file():
            state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[str(path)] = f"mode:{info.st_mode:o}"
    return state


def cli(capfd, *args) -> tuple[int, str, str]:
    capfd.readouterr()
    code = main([str(arg) for arg in args])
    out, err = capfd.readouterr()
    return code, out, err


def assert_clean_report(err: str, failures: int) -> None:
    """Only report lines on stderr, and each failure named once as it happens and once in the summary."""
    assert "Traceback" not in err, err
    stray = [line for line in err.splitlines() if line and not REPORT_LINE.match(line)]
    assert not stray, f"not a report line: {stray}"
    assert sum(line.startswith("error: ") for line in err.splitlines()) == failures, err
    assert sum(line.startswith("  failed: ") for line in err.splitlines()) == failures, err


def assert_no_temporaries(*folders: Path) -> None:
    for folder in folders:
        if folder.is_dir():
            left = [p.name for p in folder.iterdir() if is_temporary(p) or ".tmp" in p.name]
            assert not left, left


def run_photo_case(tmp: Path, capfd, name: str, data: bytes, outcome: str, extra=()) -> None:
    """``name`` (holding ``data``) and a good photo in one batch: the invariants, and the outcome."""
    folder, out = tmp / "in", tmp / "out"
    folder.mkdir()
    (folder / name).write_bytes(data)
    (folder / "good.png").write_bytes(BASES["png8"]())
    before = snapshot(folder)
    code, stdout, err = cli(capfd, "param", folder / name, folder / "good.png", *PLAN, *extra, "-o", out)
    assert snapshot(folder) == before, "an input changed"
    assert code in (0, 1), (code, err)
    if outcome != "either":
        assert code == (0 if outcome == "ok" else 1), err
    assert_clean_report(err, failures=code)
    assert_no_temporaries(out, folder)
    written = sorted(p.name for p in out.iterdir())
    assert {"good.png", "good.plan.json"} <= set(written)
    stem = Path(name).stem
    mine = [entry for entry in written if entry.startswith(stem + ".")]
    if code == 1:
        assert mine == [], "a failed photo left an output"
    else:
        assert f"{stem}.plan.json" in mine and len(mine) == 2, mine
        assert len([line for line in stdout.splitlines() if line]) == 2, "one line per photo done"


# ------------------------------------------------------------------------------ images on the CLI


@pytest.mark.parametrize("case", sorted(IMAGE_CASES))
def test_damaged_images_on_the_command_line(tmp_path, capfd, case):
    base, mutation = IMAGE_CASES[case]
    mutate, outcome = MUTATIONS[mutation]
    kind = _kind(base)
    run_photo_case(tmp_path, capfd, f"photo{SUFFIX[kind]}", mutate(BASES[base](), kind), outcome)


@pytest.mark.parametrize("case", sorted(OTHER_IMAGES))
def test_bombs_impostors_and_odd_names_on_the_command_line(tmp_path, capfd, case):
    name, make, outcome = OTHER_IMAGES[case]
    run_photo_case(tmp_path, capfd, name, make(), outcome, extra=("--max-pixels", "4000000"))


# ------------------------------------------------------------------------------ special files


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _device_link(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _null_link(path: Path) -> None:
    path.symlink_to("/dev/null")


def _folder(path: Path) -> None:
    path.mkdir()


def _dangling(path: Path) -> None:
    path.symlink_to(path.with_name("nowhere.jpg"))


def _socket(path: Path) -> None:
    if len(str(path)) > 100:
        pytest.skip("socket path too long for AF_UNIX")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()


SPECIAL_FILES = {"named-pipe": _fifo, "link-to-dev-zero": _device_link, "link-to-dev-null": _null_link,
                 "folder-named-like-a-photo": _folder, "dangling-link": _dangling, "socket": _socket}


@pytest.mark.parametrize("case", sorted(SPECIAL_FILES))
@pytest.mark.parametrize("role", ["photo", "plan"])
def test_special_files_are_refused_without_reading(tmp_path, capfd, case, role):
    folder = tmp_path / "in"
    folder.mkdir()
    good = folder / "good.png"
    good.write_bytes(BASES["png8"]())
    special = folder / ("special.jpg" if role == "photo" else "special.json")
    SPECIAL_FILES[case](special)
    before = snapshot(folder)
    started = time.perf_counter()
    if role == "photo":
        code, _, err = cli(capfd, "param", special, good, *PLAN, "-o", tmp_path / "out")
    else:
        code, _, err = cli(capfd, "param", good, "--params", special, "-o", tmp_path / "out")
    assert time.perf_counter() - started < 20
    assert snapshot(folder) == before
    if role == "plan" or case in ("dangling-link", "folder-named-like-a-photo"):  # bad usage, as documented
        assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("veraretouch: error: "), err
        assert not (tmp_path / "out").exists() or role == "photo"
    else:
        assert code == 1
        assert_clean_report(err, failures=1)
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.plan.json", "good.png"]


# ------------------------------------------------------------------------------ hostile plans


def _xmp(attributes: str = 'crs:Exposure2012="+0.30"', body: str = "", prolog: str = "") -> bytes:
    return (f'{prolog}<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" {attributes}>{body}'
            "</rdf:Description></rdf:RDF></x:xmpmeta>").encode()


def _ours(values: str = '{"Exposure2012": 0.3}', **fields: str) -> bytes:
    extra = "".join(f', "{key}": {value}' for key, value in fields.items())
    return f'{{"format": "veraretouch.plan", "version": 1, "values": {values}{extra}}}'.encode()


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>')

PLANS = {
    # name: (suffix, bytes, accepted?)
    "json-param-file": (".json", b'{"Exposure2012": {"value": 30}}', True),
    "json-ours": (".json", _ours(), True),
    "json-utf8-bom": (".json", b"\xef\xbb\xbf" + _ours(), True),
    "json-utf16": (".json", _ours().decode().encode("utf-16"), True),
    "json-utf16-be": (".json", _ours().decode().encode("utf-16-be"), True),
    "json-utf32": (".json", _ours().decode().encode("utf-32"), True),
    "json-empty-object": (".json", b"{}", True),
    "json-duplicate-keys": (".json", b'{"Exposure2012": {"value": 30}, "Exposure2012": {"value": 10}}', True),
    "json-unicode-name": (".json", _ours(name='"\\u0444\\u043e\\u0442\\u043e \\ud83d\\ude00"'), True),
    "json-negative-zero": (".json", _ours('{"Exposure2012": -0.0}'), True),
    "json-400-digits": (".json", b'{"Exposure2012": {"value": ' + b"9" * 400 + b"}}", False),
    "json-5000-digits": (".json", b'{"Exposure2012": {"value": ' + b"9" * 5000 + b"}}", False),
    "json-5000-digit-float": (".json", b'{"Exposure2012": {"value": 1' + b"0" * 5000 + b".5}}", False),
    "json-negative-digits": (".json", _ours('{"Exposure2012": -' + "1" * 40 + "}"), False),
    "json-1e999": (".json", _ours('{"Exposure2012": 1e999}'), False),
    "json-tiny-exponent": (".json", _ours('{"Exposure2012": 1e-999}'), True),
    "json-nan": (".json", _ours('{"Exposure2012": NaN}'), False),
    "json-infinity": (".json", _ours('{"Exposure2012": -Infinity}'), False),
    "json-deep-array": (".json", b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", False),
    "json-deep-objects": (".json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, False),
    "json-deep-in-curves": (".json", _ours(curves='{"ToneCurvePV2012": ' + "[" * 40 + "]" * 40 + "}"), False),
    "json-33-deep": (".json", b"[" * 33 + b"]" * 33, False),
    "json-brackets-in-strings": (".json", _ours(description='"' + "[{" * 5000 + '"'), True),
    "json-unterminated-escapes": (".json", b'"' + b'\\"' * 200_000, False),
    "json-top-level-list": (".json", b"[1, 2, 3]", False),
    "json-top-level-number": (".json", b"42", False),
    "json-null": (".json", b"null", False),
    "json-string": (".json", b'"Exposure2012"', False),
    "json-truncated": (".json", _ours()[:-5], False),
    "json-trailing-comma": (".json", b'{"Exposure2012": {"value": 30},}', False),
    "json-comments": (".json", b'// preset\n{"Exposure2012": {"value": 30}}', False),
    "json-latin1": (".json", '{"Exposure2012": {"value": 30}, "n\xe9": 1}'.encode("latin-1"), False),
    "json-invalid-utf8": (".json", b'{"Exposure2012": {"value": 30}}\xff\xfe\x00', False),
    "json-nul-bytes": (".json", b"\x00" * 64, False),
    "json-control-chars-in-key": (".json", b'{"Expo\\u0000sure2012": {"value": 30}}', False),
    "json-unknown-slider": (".json", b'{"Warmth": {"value": 30}}', False),
    "json-out-of-range": (".json", _ours('{"Contrast2012": 250}'), False),
    "json-value-as-string": (".json", b'{"Exposure2012": {"value": "30"}}', False),
    "json-value-bool": (".json", b'{"Exposure2012": {"value": true}}', False),
    "json-value-null": (".json", b'{"Exposure2012": {"value": null}}', False),
    "json-entry-not-object": (".json", b'{"Exposure2012": 30}', False),
    "json-version-true": (".json", b'{"format": "veraretouch.plan", "version": true}', False),
    "json-wrong-format": (".json", b'{"format": "lightroom", "version": 1}', False),
    "json-unknown-field": (".json", _ours(path='"/etc/passwd"'), False),
    "json-curve-not-pairs": (".json", _ours(curves='{"ToneCurvePV2012": [[0, 0, 0]]}'), False),
    "json-curve-strings": (".json", _ours(curves='{"ToneCurvePV2012": [["0", "0"], [255, 255]]}'), False),
    "json-unknown-curve": (".json", _ours(curves='{"Sky": [[0, 0], [255, 255]]}'), False),
    "json-unmodelled-number": (".json", _ours(unmodelled='{"Clarity2012": 10}'), False),
    "json-values-list": (".json", _ours("[1, 2]"), False),
    "json-huge-string": (".json", _ours(description='"' + "x" * 900_000 + '"'), True),
    "json-over-the-cap": (".json", _ours(description='"' + "x" * 1_100_000 + '"'), False),
    "json-whitespace": (".json", b"   \n\n  ", False),
    "json-empty-file": (".json", b"", False),
    "xmp-plain": (".xmp", _xmp(), True),
    "xmp-element-form": (".xmp", _xmp("", "<crs:Exposure2012>+0.30</crs:Exposure2012>"), True),
    "xmp-utf16": (".xmp", _xmp().decode().encode("utf-16"), True),
    "xmp-billion-laughs": (".xmp", _xmp('crs:Name="&d;"', prolog=LAUGHS), False),
    "xmp-external-entity": (
        ".xmp",
        _xmp('crs:Name="&x;"', prolog='<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
        False,
    ),
    "xmp-parameter-entity": (
        ".xmp",
        _xmp(prolog='<!DOCTYPE r [<!ENTITY % p SYSTEM "http://example.com/x">%p;]>'),
        False,
    ),
    "xmp-doctype-only": (".xmp", _xmp(prolog="<!DOCTYPE r>"), False),
    "xmp-deep-nesting": (".xmp", _xmp(body="<a>" * 100_000 + "</a>" * 100_000), True),
    "xmp-unclosed-deep": (".xmp", b"<a>" * 100_000, False),
    "xmp-no-rdf": (".xmp", b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>", False),
    "xmp-not-xml": (".xmp", b"<not xml", False),
    "xmp-nan": (".xmp", _xmp('crs:Exposure2012="nan"'), False),
    "xmp-huge-number": (".xmp", _xmp(f'crs:Exposure2012="{"9" * 5000}"'), False),
    "xmp-exponent": (".xmp", _xmp('crs:Exposure2012="1e3"'), False),
    "xmp-out-of-range": (".xmp", _xmp('crs:Contrast2012="+250"'), False),
    "xmp-empty-value": (".xmp", _xmp('crs:Exposure2012=""'), False),
    "xmp-hue-wraps": (".xmp", _xmp('crs:SplitToningShadowHue="-30" crs:SplitToningShadowSaturation="20"'), True),
    "xmp-bad-curve": (
        ".xmp",
        _xmp("", "<crs:ToneCurvePV2012><rdf:Seq><rdf:li>0, zero</rdf:li></rdf:Seq></crs:ToneCurvePV2012>"),
        False,
    ),
    "xmp-huge-attribute": (".xmp", _xmp(f'crs:Name="{"n" * 900_000}"'), True),
    "xmp-over-the-cap": (".xmp", _xmp(f'crs:Name="{"n" * 1_100_000}"'), False),
    "xmp-processing-instruction": (".xmp", b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>' + _xmp(), True),
    "xmp-invalid-utf8": (".xmp", _xmp('crs:Name="caf"').replace(b"caf", b"caf\xff"), False),
    "xmp-nul-bytes": (".xmp", b"\x00" * 100, False),
    "xmp-json-inside": (".xmp", b'{"Exposure2012": {"value": 30}}', False),
    "xmp-empty": (".xmp", b"", False),
}


@pytest.mark.parametrize("case", sorted(PLANS))
def test_hostile_plan_files_on_the_command_line(tmp_path, capfd, case):
    suffix, data, accepted = PLANS[case]
    folder = tmp_path / "in"
    folder.mkdir()
    plan = folder / f"plan{suffix}"
    plan.write_bytes(data)
    photo = folder / "good.png"
    photo.write_bytes(BASES["png8"]())
    before = snapshot(folder)
    started = time.perf_counter()
    code, _, err = cli(capfd, "param", photo, "--params", plan, "-o", tmp_path / "out")
    assert time.perf_counter() - started < 20
    assert snapshot(folder) == before
    assert_no_temporaries(tmp_path / "out")
    if accepted:
        assert code == 0, err
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.plan.json", "good.png"]
    else:
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"veraretouch: error: {plan}"), err
        assert not (tmp_path / "out").exists()


CUBES = {
    # name: (text or bytes, accepted?)
    "identity-2": ("LUT_3D_SIZE 2\n" + "".join(f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)), True),
    "comments-and-title": ('# made by hand\nTITLE "x"\nLUT_3D_SIZE 2\n' + "0.5 0.5 0.5\n" * 8, True),
    "crlf": ("LUT_3D_SIZE 2\r\n" + "0 0 0\r\n" * 8, True),
    "utf8-bom": ("\ufeffLUT_3D_SIZE 2\n" + "0 0 0\n" * 8, True),
    "two-values": ("LUT_3D_SIZE 2\n" + "0 0\n" * 8, False),
    "four-values": ("LUT_3D_SIZE 2\n" + "0 0 0 0\n" * 8, False),
    "one-short-line": ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7 + "0 0\n", False),
    "too-few-lines": ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7, False),
    "too-many-lines": ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 9, False),
    "words": ("LUT_3D_SIZE 2\n" + "red green blue\n" * 8, False),
    "nan": ("LUT_3D_SIZE 2\n" + "nan 0 0\n" * 8, False),
    "inf": ("LUT_3D_SIZE 2\n" + "1e999 0 0\n" * 8, False),
    "size-huge": ("LUT_3D_SIZE 100000\n0 0 0\n", False),
    "size-257": ("LUT_3D_SIZE 257\n0 0 0\n", False),
    "size-one": ("LUT_3D_SIZE 1\n0 0 0\n", False),
    "size-negative": ("LUT_3D_SIZE -2\n", False),
    "size-float": ("LUT_3D_SIZE 2.5\n", False),
    "size-digits": ("LUT_3D_SIZE " + "9" * 5000 + "\n", False),
    "no-size": ("0 0 0\n" * 8, False),
    "one-d": ("LUT_1D_SIZE 2\n0 0 0\n1 1 1\n", False),
    "domain": ("LUT_3D_SIZE 2\nDOMAIN_MAX 2 2 2\n" + "0 0 0\n" * 8, False),
    "domain-words": ("LUT_3D_SIZE 2\nDOMAIN_MIN a b c\n" + "0 0 0\n" * 8, False),
    "keyword-after-data": ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 4 + "TITLE late\n" + "0 0 0\n" * 4, False),
    "binary": (bytes(range(256)) * 4, False),
    "empty": ("", False),
    "latin1": ("TITLE \"caf\xe9\"\nLUT_3D_SIZE 2\n" + "0 0 0\n" * 8, False),
}


@pytest.mark.parametrize("case", sorted(CUBES))
def test_hostile_cube_files(tmp_path, case):
    content, accepted = CUBES[case]
    path = tmp_path / "look.cube"
    path.write_bytes(
        content if isinstance(content, bytes) else content.encode("latin-1" if case == "latin1" else "utf-8")
    )
    before = path.read_bytes()
    if accepted:
        lut = read_cube(path)
        assert lut.shape == (2, 2, 2, 3) and np.isfinite(lut).all()
    else:
        with pytest.raises(PlanError) as refused:
            read_cube(path)
        assert str(refused.value).startswith(str(path)) and "\n" not in str(refused.value)
    assert path.read_bytes() == before


# ------------------------------------------------------------------------------ clashes and existing outputs


def _photo(folder: Path, name: str, base: str = "png8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(BASES[base]())
    return path


CLASHES = {
    # name: (set up (tmp) -> argument list, expected exit status, words in stderr)
    "output-folder-is-the-input-folder": (lambda t: [_photo(t / "in", "a.png"), "-o", t / "in"], 2, "replace an input"),
    "output-differs-only-in-case": (lambda t: [_photo(t / "in", "E.PNG"), "-o", t / "in", "--overwrite"], 2,
                                    "replace an input"),
    "same-stem-two-folders": (lambda t: [_photo(t / "x", "s.png"), _photo(t / "y", "s.png"), "-o", t / "out"], 2,
                              "would both write"),
    "same-stem-two-formats": (lambda t: [_photo(t / "in", "s.png"), _photo(t / "in", "s.jpg", "jpeg"), "-o",
                                         t / "out"], 2, "would both write"),
    "stems-differ-in-case": (lambda t: [_photo(t / "x", "Shot.png"), _photo(t / "y", "shot.png"), "-o", t / "out"], 2,
                             "would both write"),
    "export-would-replace-an-input": (lambda t: [_photo(t / "in", "a.png"), _plain(t / "out", "a.cube"),
                                                 "--export", "cube", "-o", t / "out"], 2, "a.cube"),
    "output-folder-is-a-file": (lambda t: [_photo(t / "in", "a.png"), "-o", _plain(t, "file")], 1, "a.png"),
}


def _plain(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"precious")
    return folder / name


@pytest.mark.parametrize("case", sorted(CLASHES))
def test_name_clashes_never_replace_anything(tmp_path, capfd, case):
    setup, expected, words = CLASHES[case]
    arguments = setup(tmp_path)
    before = snapshot(tmp_path)
    code, _, err = cli(capfd, "param", *arguments, *PLAN)
    assert code == expected and words in err, err
    assert "Traceback" not in err and all(REPORT_LINE.match(line) for line in err.splitlines() if line), err
    assert snapshot(tmp_path) == before, "nothing written, nothing replaced"


@pytest.mark.parametrize("existing", ["photo.png", "photo.plan.json", "photo.cube", "photo.xmp"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_existing_outputs_refuse_the_photo_before_any_write(tmp_path, capfd, existing, overwrite):
    photo = _photo(tmp_path / "in", "photo.png")
    out = tmp_path / "out"
    _plain(out, existing)
    before = snapshot(tmp_path)
    code, _, err = cli(capfd, "param", photo, *PLAN, "--export", "cube,xmp", "-o", out,
                       *(["--overwrite"] if overwrite else []))
    assert_no_temporaries(out)
    if overwrite:
        assert code == 0 and len(list(out.iterdir())) == 4
        assert (tmp_path / "in" / "photo.png").read_bytes() == BASES["png8"]()
    else:
        assert code == 1 and f"{existing}: already exists" in err
        assert_clean_report(err, failures=1)
        assert snapshot(tmp_path) == before


def test_an_output_symlink_to_the_input_counts_as_the_input(tmp_path, capfd):
    photo = _photo(tmp_path / "in", "photo.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "photo.png").symlink_to(photo)
    code, _, err = cli(capfd, "param", photo, *PLAN, "-o", out, "--overwrite")
    assert code == 2 and "replace an input" in err
    assert photo.read_bytes() == BASES["png8"]() and (out / "photo.png").is_symlink()


# ------------------------------------------------------------------------------ interrupted runs


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("during", ["image", "cube", "plan.json"])
def test_a_signal_during_a_write_leaves_no_temporary_file(tmp_path, capfd, monkeypatch, signum, during):
    """The signal arrives while a writer thread is inside the write: the handler removes the
    temporary file, no rename follows, and the run exits 128 + the signal number."""
    from veraretouch.io import atomic

    original = atomic.atomic_write

    def interrupted_write(path, write, overwrite=False):
        def write_then_signal(tmp):
            write(tmp)
            if Path(path).name.endswith({"image": ".png"}.get(during, during)):
                os.kill(os.getpid(), signum)
                time.sleep(0.5)  # the handler runs on the main thread meanwhile
        return original(path, write_then_signal, overwrite)

    monkeypatch.setattr(atomic, "atomic_write", interrupted_write)
    import veraretouch.formats.cube as cube_module
    import veraretouch.io.images as images_module

    monkeypatch.setattr(images_module, "atomic_write", interrupted_write)
    monkeypatch.setattr(cube_module, "atomic_write_text",
                        lambda path, text, overwrite=False: interrupted_write(
                            path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite))
    photos = [_photo(tmp_path / "in", f"p{index}.png") for index in range(3)]
    before = snapshot(tmp_path / "in")
    code, _, err = cli(capfd, "param", *photos, *PLAN, "--export", "cube", "-o", tmp_path / "out")
    assert code == 128 + signum, err
    assert "interrupted" in err and "Traceback" not in err
    assert_no_temporaries(tmp_path / "out")
    assert snapshot(tmp_path / "in") == before
    assert signal.getsignal(signal.SIGTERM) is not atomic._on_signal, "the handler is removed afterwards"


# ------------------------------------------------------------------------------ the web app


@pytest.fixture(scope="module")
def web():
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from veraretouch.api import Retoucher
    from veraretouch.web import Limits, create_app

    limits = Limits(max_upload_bytes=4 * 1024 * 1024, max_pixels=4_000_000)
    with tempfile.TemporaryDirectory() as temp:
        app = create_app(Retoucher(max_pixels=limits.max_pixels), limits, temp_dir=Path(temp))
        yield TestClient(app, base_url="http://127.0.0.1:8765", raise_server_exceptions=False)


@pytest.fixture(scope="module")
def session(web) -> str:
    response = web.post("/api/photos", files={"photo": ("good.png", BASES["png8"]())})
    assert response.status_code == 200
    return response.json()["session"]


def assert_refused_cleanly(response, statuses=range(400, 500)) -> None:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert all(header in response.headers for header in SECURITY_HEADERS)
    error = response.json()["error"]
    assert error and "\n" not in error and "Traceback" not in error


def assert_still_serving(web) -> None:
    health = web.get("/api/health")
    assert health.status_code == 200 and all(header in health.headers for header in SECURITY_HEADERS)
    opened = web.post("/api/photos", files={"photo": ("again.jpg", BASES["jpeg"]())})
    assert opened.status_code == 200 and opened.json()["width"] == 40
    web.delete(f"/api/sessions/{opened.json()['session']}")


WEB_IMAGES = {**{case: (f"photo{SUFFIX[_kind(base)]}", lambda base=base, m=mutation: MUTATIONS[m][0](
    BASES[base](), _kind(base)), MUTATIONS[mutation][1]) for case, (base, mutation) in IMAGE_CASES.items()},
              **OTHER_IMAGES}


@pytest.mark.parametrize("case", sorted(WEB_IMAGES))
def test_damaged_and_hostile_uploads(web, case):
    name, make, outcome = WEB_IMAGES[case]
    response = web.post("/api/photos", files={"photo": (name, make())})
    if outcome == "ok" or (outcome == "either" and response.status_code == 200):
        assert response.status_code == 200 and all(header in response.headers for header in SECURITY_HEADERS)
        web.delete(f"/api/sessions/{response.json()['session']}")
    else:
        assert_refused_cleanly(response)
    assert_still_serving(web)


READ_BY_CONTENT = {"xmp-json-inside": True}
"""The web app reads a preset by its content, not its name: JSON in a .xmp is still JSON there."""


@pytest.mark.parametrize("case", sorted(PLANS))
def test_hostile_presets_on_the_web(web, session, case):
    _, data, accepted = PLANS[case]
    accepted = READ_BY_CONTENT.get(case, accepted)
    response = web.post(f"/api/sessions/{session}/preset", files={"preset": (f"preset-{case}", data)})
    if accepted:
        assert response.status_code == 200, response.text[:300]
    else:
        assert_refused_cleanly(response)
    assert_still_serving(web)


def _chunks(count: int, size: int):
    for _ in range(count):
        yield bytes(size)


WEB_REQUESTS = {
    # name: (method, path (``{s}`` is the session), keyword arguments for the client)
    "upload-declared-too-large": (
        "post",
        "/api/photos",
        {"content": b"x", "headers": {"content-length": str(1 << 40)}},
    ),
    "upload-streamed-too-large": (
        "post",
        "/api/photos",
        {"content": _chunks(10, 512 * 1024), "headers": {"content-type": "multipart/form-data; boundary=x"}},
    ),
    "upload-negative-length": ("post", "/api/photos", {"content": b"x", "headers": {"content-length": "-1"}}),
    "upload-no-file-field": ("post", "/api/photos", {"data": {"nothing": "here"}}),
    "upload-not-multipart": (
        "post",
        "/api/photos",
        {"content": BASES["jpeg"](), "headers": {"content-type": "image/jpeg"}},
    ),
    "upload-broken-multipart": (
        "post",
        "/api/photos",
        {"content": b"--x\r\nnonsense", "headers": {"content-type": "multipart/form-data; boundary=x"}},
    ),
    "upload-two-files": ("post", "/api/photos", {"files": [("photo", ("a.png", b"1")), ("photo", ("b.png", b"2"))]}),
    "upload-path-name": ("post", "/api/photos", {"files": {"photo": ("../../etc/passwd", b"root:x:0:0")}}),
    "sliders-deep-json": (
        "post",
        "/api/sessions/{s}/sliders",
        {"content": b"[" * 100_000, "headers": {"content-type": "application/json"}},
    ),
    "sliders-huge-number": (
        "post",
        "/api/sessions/{s}/sliders",
        {
            "content": b'{"values": {"Exposure2012": 1' + b"0" * 5000 + b"}}",
            "headers": {"content-type": "application/json"},
        },
    ),
    "sliders-nan": (
        "post",
        "/api/sessions/{s}/sliders",
        {"content": b'{"values": {"Exposure2012": NaN}}', "headers": {"content-type": "application/json"}},
    ),
    "sliders-infinity": (
        "post",
        "/api/sessions/{s}/sliders",
        {"content": b'{"values": {"Exposure2012": Infinity}}', "headers": {"content-type": "application/json"}},
    ),
    "sliders-too-many": ("post", "/api/sessions/{s}/sliders", {"json": {"values": {f"S{i}": 1 for i in range(500)}}}),
    "sliders-not-json": (
        "post",
        "/api/sessions/{s}/sliders",
        {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}},
    ),
    "style-huge-prompt": ("post", "/api/sessions/{s}/style", {"json": {"prompt": "x" * 100_000}}),
    "style-prompt-not-text": ("post", "/api/sessions/{s}/style", {"json": {"prompt": {"a": 1}}}),
    "auto-aspects-bogus": ("post", "/api/sessions/{s}/auto", {"json": {"aspects": ["sky"] * 3}}),
    "reference-no-after": ("post", "/api/sessions/{s}/reference", {"data": {"aspects": "lighting"}}),
    "reference-bomb": (
        "post",
        "/api/sessions/{s}/reference",
        {"files": {"after": ("a.png", _png_header(90_000, 90_000))}},
    ),
    "preset-over-limit": ("post", "/api/sessions/{s}/preset", {"files": {"preset": ("p.xmp", b" " * (2 << 20))}}),
    "download-unknown": ("get", "/api/sessions/{s}/download/passwd", {}),
    "download-traversal": ("get", "/api/sessions/..%2F..%2Fetc/download/image", {}),
    "session-guess": ("get", "/api/sessions/AAAAAAAAAAAAAAAAAAAAAA", {}),
    "session-too-long": ("get", "/api/sessions/" + "A" * 5000, {}),
    "other-host": ("get", "/api/health", {"headers": {"host": "evil.example"}}),
    "cross-site-post": ("post", "/api/sessions/{s}/auto", {"json": {}, "headers": {"origin": "http://evil.example"}}),
    "unknown-route": ("get", "/api/../../etc/passwd", {}),
    "wrong-method": ("put", "/api/photos", {"content": b"x"}),
}


@pytest.mark.parametrize("case", sorted(WEB_REQUESTS))
def test_the_web_abuse_list(web, session, case):
    method, path, options = WEB_REQUESTS[case]
    response = getattr(web, method)(path.format(s=session), **options)
    assert_refused_cleanly(response)
    assert "root:" not in response.text
    assert_still_serving(web)


# ------------------------------------------------------------------------------ byte-wise mutation (hypothesis)


def _real_photo() -> tuple[str, bytes]:
    """A real photo from ../shared, downsized to 96 px and re-encoded as a JPEG (the astronaut without it)."""
    sources = sorted((SHARED / "photos").glob("*.jpg"))[:1] if (SHARED / "photos").is_dir() else []
    if sources:
        image = Image.open(sources[0]).convert("RGB")
    else:
        from skimage import data

        image = Image.fromarray(data.astronaut())
    image.thumbnail((96, 96))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return "photo.jpg", buffer.getvalue()


def _real_preset() -> tuple[str, bytes]:
    presets = sorted((SHARED / "presets").rglob("*.xmp")) if (SHARED / "presets").is_dir() else []
    if presets:
        return "preset.xmp", presets[len(presets) // 2].read_bytes()
    return "preset.json", _ours('{"Exposure2012": 0.3, "Contrast2012": 20, "Vibrance": 15}')


PHOTO, PRESET = _real_photo(), _real_preset()


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """``data`` after one to four byte-wise edits: flip, overwrite, insert, delete, truncate, duplicate."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        edit = draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate", "duplicate"]))
        if edit == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "overwrite":
            data[at : at + 4] = draw(st.binary(min_size=1, max_size=4))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif edit == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


MUTATION_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@MUTATION_SETTINGS
@given(data=mutated(PHOTO[1]))
def test_mutated_real_photos_keep_every_promise(capfd, data):
    with tempfile.TemporaryDirectory() as temp:
        run_photo_case(Path(temp), capfd, PHOTO[0], data, "either")


@MUTATION_SETTINGS
@given(data=mutated(PRESET[1]))
def test_mutated_real_presets_keep_every_promise(capfd, data):
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "in"
        folder.mkdir()
        plan = folder / PRESET[0]
        plan.write_bytes(data)
        photo = folder / "good.png"
        photo.write_bytes(BASES["png8"]())
        before = snapshot(folder)
        code, _, err = cli(capfd, "param", photo, "--params", plan, "-o", Path(temp) / "out")
        assert snapshot(folder) == before
        assert code in (0, 2), err
        if code == 2:
            assert len(err.strip().splitlines()) == 1 and err.startswith("veraretouch: error: "), err
            assert not (Path(temp) / "out").exists()
        else:
            assert all(REPORT_LINE.match(line) for line in err.splitlines() if line), err
            assert_no_temporaries(Path(temp) / "out")


def test_the_corpus_is_large_enough():
    cases = (len(IMAGE_CASES) + len(OTHER_IMAGES) + 2 * len(SPECIAL_FILES) + len(PLANS) + len(CUBES) + len(CLASHES)
             + 8 + 1 + 6 + len(WEB_IMAGES) + len(PLANS) + len(WEB_REQUESTS))
    assert cases >= 250, cases
