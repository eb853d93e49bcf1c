"""`veraretouch.Retoucher`: every mode through one object, as a Python user calls it."""
from __future__ import annotations

import doctest
import json

import numpy as np
import pytest

from veraretouch import Photo, Plan, Retoucher, VeraRetouchError, apply_plan, sample_photo
from veraretouch import api as api_module
from veraretouch.formats.cube import read_cube
from veraretouch.io.images import proxy_photo

BRIGHT_WARM = {"Exposure2012": 0.6, "IncrementalTemperature": 25, "Vibrance": 15}


@pytest.fixture(scope="module")
def retoucher() -> Retoucher:
    return Retoucher()


@pytest.fixture(scope="module")
def photo() -> Photo:
    return sample_photo()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


def test_module_examples_run():
    failures, tried = doctest.testmod(api_module)
    assert tried > 0 and failures == 0


def test_param_renders_like_apply_plan_and_leaves_the_input_alone(retoucher, photo):
    before = photo.pixels.copy()
    result = retoucher.param(photo, BRIGHT_WARM)
    np.testing.assert_array_equal(result.image.pixels, apply_plan(photo, Plan(BRIGHT_WARM)).pixels)
    np.testing.assert_array_equal(photo.pixels, before)
    assert result.image.pixels.mean() > photo.pixels.mean() + 5
    assert result.plan.values == Plan(BRIGHT_WARM).values and result.explanation is None


def test_plan_files_and_arrays_are_accepted(retoucher, photo, tmp_path):
    plan_file = Plan(BRIGHT_WARM).save(tmp_path / "look.xmp")
    from_file = retoucher.param(photo.pixels, plan_file)
    np.testing.assert_array_equal(from_file.image.pixels, retoucher.param(photo, BRIGHT_WARM).image.pixels)
    grey = retoucher.param(photo.pixels[..., 0], {"Exposure2012": 0.3})
    assert grey.image.grayscale and grey.image.size == photo.size


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 4, 3), np.float32), "uint8/uint16"),
    (np.zeros((4, 4, 4), np.uint8), "(H, W, 3)"),
    (42, "not int"),
])
def test_bad_photos_are_refused_clearly(retoucher, bad, message):
    with pytest.raises(VeraRetouchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        retoucher.param(bad, BRIGHT_WARM)


def test_bad_plans_prompts_and_aspects_are_refused_clearly(retoucher, photo):
    with pytest.raises(VeraRetouchError, match="dict of slider values"):
        retoucher.param(photo, [("Exposure2012", 1.0)])
    with pytest.raises(VeraRetouchError, match="prompt is empty"):
        retoucher.style(photo, "   ")
    with pytest.raises(VeraRetouchError, match="unknown aspect 'colour'"):
        retoucher.auto(photo, aspects=["colour"])
    with pytest.raises(VeraRetouchError, match="lut_size"):
        Retoucher(lut_size=1)


def test_auto_explains_and_its_plan_is_what_the_record_holds(retoucher, photo):
    result = retoucher.auto(photo)
    assert result.image.size == photo.size and result.mode == "auto"
    assert set(result.explanation.to_record()["aspects"]) == {"lighting", "global_color", "specific_color"}
    record = json.loads(json.dumps(result.record()))
    assert record["mode"] == "auto" and record["plan"]["values"] == result.plan.values
    assert record["image"] == {"width": 600, "height": 400, "bit_depth": 8, "format": "JPEG", "icc_profile": False}


def test_auto_with_one_aspect_plans_only_that_aspect(retoucher, photo):
    from veraretouch.plan.parameters import SCALARS

    aspect_of_slider = {spec.name: spec.aspect for spec in SCALARS}
    result = retoucher.auto(photo, aspects=["lighting"])
    assert {aspect_of_slider[name] for name in result.plan.values} <= {"lighting"}


def test_style_follows_the_prompt_direction(retoucher, photo):
    warm = retoucher.style(photo, "much warmer, golden").preview(256).to_tensor()
    cool = retoucher.style(photo, "much cooler, icy blue").preview(256).to_tensor()
    assert (warm[0, 0] - warm[0, 2]).mean() > (cool[0, 0] - cool[0, 2]).mean()


def test_reference_pair_transfers_the_edit(retoucher, photo):
    after = retoucher.param(photo, BRIGHT_WARM).image
    result = retoucher.reference(photo, after=after, before=photo)
    assert psnr(result.image.pixels, after.pixels) > psnr(photo.pixels, after.pixels) + 5
    assert result.plan.values.get("Exposure2012", 0) > 0.2
    with pytest.raises(VeraRetouchError):
        retoucher.reference(photo, after=after, before=Photo(photo.pixels[:200], None, "PNG", None, None))


def test_preview_is_small_and_keeps_alpha(retoucher):
    rng = np.random.default_rng(0)
    photo = Photo(rng.integers(0, 256, (300, 500, 3), dtype=np.uint8), rng.integers(0, 256, (300, 500), dtype=np.uint8),
                  "PNG", None, None)
    preview = retoucher.param(photo, BRIGHT_WARM).preview(100)
    assert preview.size == (100, 60) and preview.alpha.shape == (60, 100)
    assert proxy_photo(photo, 1000) is photo


def test_save_and_exports_round_trip(retoucher, photo, tmp_path):
    result = retoucher.param(photo, BRIGHT_WARM)
    path = result.save(tmp_path / "out.jpg")
    with pytest.raises(VeraRetouchError, match="already exists"):
        result.save(path)
    assert Plan.from_file(result.save_xmp(tmp_path / "look.xmp")).values == Plan(BRIGHT_WARM).values
    np.testing.assert_allclose(read_cube(result.save_cube(tmp_path / "look.cube")), result.lut(), atol=1e-5)
