"""3D LUTs: baking layout, the compiled full-resolution kernel and the differentiable torch lookup."""
from __future__ import annotations

import numba
import numpy as np
import pytest
import torch

from veraretouch.lut import (
    METHODS,
    apply_lut,
    apply_lut_tensor,
    bake_lut,
    bake_lut_tensor,
    identity_lut,
    kernel,
    lattice_rgb,
)

RNG_SEED = 1234


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).unsqueeze(0)


def to_pixels(image: torch.Tensor) -> np.ndarray:
    return image[0].permute(1, 2, 0).detach().numpy()


def reversed_affine(image: torch.Tensor) -> torch.Tensor:
    """0.8 * (b, g, r) + 0.1: affine, so trilinear and tetrahedral interpolation reproduce it exactly."""
    return 0.8 * image.flip(1) + 0.1


def smooth_edit(image: torch.Tensor) -> torch.Tensor:
    """A gamma lift, a channel mix and a soft S-curve: a typical smooth colour edit, stays in [0, 1]."""
    lifted = image.clamp(0, 1) ** 0.8
    mix = torch.tensor([[0.80, 0.15, 0.05], [0.10, 0.80, 0.10], [0.05, 0.15, 0.80]], dtype=image.dtype)
    mixed = torch.einsum("oc,bchw->bohw", mix, lifted)
    return mixed + 0.3 * (mixed * mixed * (3 - 2 * mixed) - mixed)


def random_pixels(dtype: np.dtype, shape=(48, 40)) -> np.ndarray:
    rng = np.random.default_rng(RNG_SEED)
    if dtype == np.float32:
        pixels = rng.random((*shape, 3), dtype=np.float32)
        pixels[0, :3] = [[0, 0, 0], [1, 1, 1], [0, 0.5, 1]]
        return pixels
    top = np.iinfo(dtype).max
    pixels = rng.integers(0, top + 1, (*shape, 3), dtype=dtype)
    pixels[0, :3] = [[0, 0, 0], [top, top, top], [0, top // 2, top]]
    return pixels


def as_unit(pixels: np.ndarray) -> np.ndarray:
    """Pixels as float64 in [0, 1]."""
    if pixels.dtype.kind == "f":
        return pixels.astype(np.float64)
    return pixels / np.iinfo(pixels.dtype).max


def direct(fn, pixels: np.ndarray) -> np.ndarray:
    """``fn`` evaluated exactly (float64) on every pixel, in [0, 1]."""
    return to_pixels(fn(to_tensor(as_unit(pixels)))).clip(0, 1)


# ----------------------------------------------------------------------------- baking


def test_lattice_layout_row_is_r_times_n_plus_g_and_column_is_b():
    size = 5
    lattice = lattice_rgb(size)
    assert lattice.shape == (1, 3, size * size, size)
    r, g, b = 3, 1, 4
    assert lattice[0, :, r * size + g, b].tolist() == pytest.approx([r / 4, g / 4, b / 4])


def test_bake_identity_gives_identity_lut_indexed_r_g_b():
    lut = bake_lut(lambda image: image, size=9)
    assert lut.dtype == np.float32 and lut.shape == (9, 9, 9, 3) and lut.flags.c_contiguous
    np.testing.assert_allclose(lut, identity_lut(9), atol=1e-7)
    assert lut[8, 2, 0].tolist() == pytest.approx([1.0, 0.25, 0.0])


def test_bake_in_small_chunks_matches_one_call_and_clips():
    calls = []

    def brighten(image):
        calls.append(image.shape[2] * image.shape[3])
        return image * 1.5 - 0.1

    chunked = bake_lut(brighten, size=17, chunk=100)
    assert len(calls) > 1 and max(calls) <= 100
    whole = bake_lut(brighten, size=17)
    np.testing.assert_array_equal(chunked, whole)
    assert whole.min() == 0.0 and whole.max() == 1.0


def test_bake_rejects_shape_changes_and_non_finite_output():
    with pytest.raises(ValueError, match="same shape"):
        bake_lut(lambda image: image[:, :1], size=5)
    with pytest.raises(ValueError, match="non-finite"):
        bake_lut(lambda image: image / 0.0, size=5)
    with pytest.raises(ValueError, match="size"):
        bake_lut(lambda image: image, size=1)


def test_bake_lut_tensor_single_and_batched():
    gains = torch.tensor([0.5, 1.0]).reshape(2, 1, 1, 1)
    single = bake_lut_tensor(lambda image: image * 0.5, size=5)
    batched = bake_lut_tensor(lambda image: image * gains, size=5, batch_size=2)
    assert single.shape == (5, 5, 5, 3) and batched.shape == (2, 5, 5, 5, 3)
    torch.testing.assert_close(batched[0], single)
    torch.testing.assert_close(batched[1], torch.from_numpy(identity_lut(5)))


def test_gradients_flow_through_a_baked_lut_to_parameters_and_image():
    gain = torch.tensor([1.2, 0.9, 1.1], requires_grad=True)
    lift = torch.tensor(0.05, requires_grad=True)

    def learnable(image):
        return image * gain.reshape(1, 3, 1, 1) + lift * image * (1 - image)

    lut = bake_lut_tensor(learnable, size=9)
    image = torch.rand(2, 3, 6, 5, generator=torch.Generator().manual_seed(RNG_SEED)).requires_grad_()
    out = apply_lut_tensor(image, lut)
    ((out - 0.5) ** 2).sum().backward()
    for grad in (gain.grad, lift.grad, image.grad):
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


# ----------------------------------------------------------------------------- torch lookup


def test_apply_lut_tensor_identity_and_channel_swap():
    image = torch.rand(2, 3, 7, 4, generator=torch.Generator().manual_seed(RNG_SEED))
    identity = torch.from_numpy(identity_lut(9))
    torch.testing.assert_close(apply_lut_tensor(image, identity), image, atol=1e-6, rtol=0)
    swapped = identity.flip(-1)  # lut[r, g, b] = (b, g, r)
    torch.testing.assert_close(apply_lut_tensor(image, swapped), image.flip(1), atol=1e-6, rtol=0)


def test_apply_lut_tensor_per_image_luts():
    image = torch.rand(2, 3, 3, 3, generator=torch.Generator().manual_seed(RNG_SEED))
    luts = torch.stack([torch.from_numpy(identity_lut(5)), torch.from_numpy(identity_lut(5)).flip(-1)])
    out = apply_lut_tensor(image, luts)
    torch.testing.assert_close(out[0], image[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(out[1], image[1].flip(0), atol=1e-6, rtol=0)


def test_apply_lut_tensor_rejects_bad_shapes():
    lut = torch.from_numpy(identity_lut(5))
    with pytest.raises(ValueError, match="image"):
        apply_lut_tensor(torch.rand(3, 4, 4), lut)
    with pytest.raises(ValueError, match="lut must"):
        apply_lut_tensor(torch.rand(1, 3, 4, 4), lut[..., :2])
    with pytest.raises(ValueError, match="batch"):
        apply_lut_tensor(torch.rand(2, 3, 4, 4), lut.expand(3, -1, -1, -1, -1))


# ----------------------------------------------------------------------------- compiled kernel


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_identity_lut_leaves_pixels_unchanged(dtype, method):
    pixels = random_pixels(dtype)
    out = apply_lut(pixels, identity_lut(33), method=method)
    assert out.dtype == pixels.dtype and out.shape == pixels.shape
    if dtype == np.float32:
        np.testing.assert_allclose(out, pixels, atol=1e-6, rtol=0)
    else:
        np.testing.assert_array_equal(out, pixels)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_affine_map_is_reproduced(dtype, method):
    pixels = random_pixels(dtype)
    out = apply_lut(pixels, bake_lut(reversed_affine, size=17), method=method)
    exact = direct(reversed_affine, pixels)
    if dtype == np.float32:
        np.testing.assert_allclose(out, exact, atol=1e-5, rtol=0)
    else:
        top = np.iinfo(dtype).max
        assert np.abs(out - exact * top).max() <= 0.5 + 1e-6 * top  # ties round either way; float32 round-off


@pytest.mark.parametrize("method", METHODS)
def test_smooth_edit_error_at_65_is_within_one_level(method):
    """Required: at most 2 levels and 0.25 mean; measured at N=65: 1 level max, ~0.012 mean."""
    pixels = random_pixels(np.uint8, shape=(96, 96))
    lut = bake_lut(smooth_edit, size=65)
    rendered = apply_lut(pixels, lut, method=method).astype(np.float64)
    reference = np.rint(direct(smooth_edit, pixels) * 255)  # the direct 8-bit render
    error = np.abs(rendered - reference)
    assert error.max() <= 1 and error.mean() <= 0.05
    unit = as_unit(random_pixels(np.float32, shape=(96, 96)))
    interpolated = apply_lut(unit.astype(np.float32), lut, method=method)
    float_error = np.abs(interpolated - direct(smooth_edit, unit)) * 255  # interpolation alone, in 8-bit levels
    assert float_error.max() <= 1 and float_error.mean() <= 0.05


def test_coarse_lut_fails_the_accuracy_bounds():
    """The bounds above are tight enough to catch a too-coarse lattice."""
    pixels = random_pixels(np.float32, shape=(96, 96))
    error = np.abs(apply_lut(pixels, bake_lut(smooth_edit, size=9)) - direct(smooth_edit, pixels)) * 255
    assert error.max() > 1 and error.mean() > 0.05


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_swapping_lut_swaps_red_and_blue(dtype, method):
    pixels = random_pixels(dtype)
    swap = np.ascontiguousarray(identity_lut(17)[..., ::-1])  # lut[r, g, b] = (b, g, r)
    swapped = apply_lut(pixels, swap, method=method)
    if dtype == np.float32:
        np.testing.assert_allclose(swapped, pixels[..., ::-1], atol=1e-6, rtol=0)
    else:
        np.testing.assert_array_equal(swapped, pixels[..., ::-1])
    red_only = bake_lut(lambda image: image * torch.tensor([1.0, 0.0, 0.0]).reshape(1, 3, 1, 1), size=5)
    out = apply_lut(pixels, red_only, method=method)
    assert (out[..., 1:] == 0).all()
    assert np.abs(out[..., 0].astype(np.float64) - pixels[..., 0]).max() <= (1e-5 if dtype == np.float32 else 0)


def test_numba_trilinear_matches_torch_lookup_on_a_random_lut():
    rng = np.random.default_rng(RNG_SEED)
    lut = rng.random((9, 9, 9, 3), dtype=np.float32)
    pixels = random_pixels(np.float32)
    pixels[1, :9] = np.linspace(0, 1, 9, dtype=np.float32)[:, None]  # exactly on nodes
    numba_out = apply_lut(pixels, lut, method="trilinear")
    torch_out = to_pixels(apply_lut_tensor(to_tensor(pixels), torch.from_numpy(lut)))
    np.testing.assert_allclose(numba_out, torch_out, atol=1e-5, rtol=0)
    assert np.abs(apply_lut(pixels, lut, method="tetrahedral") - numba_out).max() > 1e-3


def test_tetrahedral_keeps_greys_on_the_grey_axis():
    """A grey input only reads the LUT's diagonal nodes, whatever the off-diagonal nodes hold."""
    size = 9
    lut = np.random.default_rng(RNG_SEED).random((size, size, size, 3), dtype=np.float32)
    levels = np.linspace(0, 1, 101, dtype=np.float32)
    greys = np.repeat(levels[None, :, None], 3, axis=2)
    diagonal = lut[np.arange(size), np.arange(size), np.arange(size)]
    expected = np.stack([np.interp(levels, np.linspace(0, 1, size), diagonal[:, c]) for c in range(3)], -1)
    np.testing.assert_allclose(apply_lut(greys, lut)[0], expected, atol=1e-5)


def test_float_pixels_outside_the_unit_cube_clamp_and_nan_reads_zero():
    pixels = np.array([[[-0.5, 2.0, np.nan], [1e30, -np.inf, 0.25]]], dtype=np.float32)
    out = apply_lut(pixels, identity_lut(5))
    np.testing.assert_allclose(out, [[[0.0, 1.0, 0.0], [1.0, 0.0, 0.25]]], atol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_lut_values_outside_unit_range_are_clipped_at_the_nodes(dtype):
    lut = identity_lut(5) * 3 - 1
    pixels = random_pixels(dtype)
    out = apply_lut(pixels, lut)
    np.testing.assert_array_equal(out, apply_lut(pixels, np.clip(lut, 0, 1)))
    assert out.min() == 0 and out.max() == (1 if dtype == np.float32 else 255)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_odd_shapes_and_views(dtype):
    lut = bake_lut(smooth_edit, size=17)
    pixels = random_pixels(dtype, shape=(31, 29))
    full = apply_lut(pixels, lut)
    single = pixels[5:6, 7:8]
    np.testing.assert_array_equal(apply_lut(single, lut), full[5:6, 7:8])
    strided = pixels[1::3, ::2]
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(apply_lut(strided, lut), full[1::3, ::2])
    readonly = pixels.copy()
    readonly.flags.writeable = False
    np.testing.assert_array_equal(apply_lut(readonly, lut), full)
    assert apply_lut(pixels[:0], lut).shape == (0, 29, 3)


def test_out_argument_and_in_place():
    lut = bake_lut(smooth_edit, size=17)
    pixels = random_pixels(np.uint8)
    expected = apply_lut(pixels, lut)
    out = np.empty_like(pixels)
    assert apply_lut(pixels, lut, out=out) is out
    np.testing.assert_array_equal(out, expected)
    in_place = pixels.copy()
    apply_lut(in_place, lut, out=in_place)
    np.testing.assert_array_equal(in_place, expected)


def test_thread_settings_are_respected_and_restored():
    lut = bake_lut(smooth_edit, size=17)
    pixels = random_pixels(np.uint8, shape=(64, 16))
    expected = apply_lut(pixels, lut)
    numba_before, torch_before = numba.get_num_threads(), torch.get_num_threads()
    try:
        numba.set_num_threads(1)
        np.testing.assert_array_equal(apply_lut(pixels, lut), expected)
        assert numba.get_num_threads() == 1
        numba.set_num_threads(numba_before)
        torch.set_num_threads(1)
        assert kernel._thread_count() == 1
        np.testing.assert_array_equal(apply_lut(pixels, lut), expected)
        assert numba.get_num_threads() == numba_before
    finally:
        numba.set_num_threads(numba_before)
        torch.set_num_threads(torch_before)


@pytest.mark.parametrize(
    ("pixels", "lut", "kwargs", "message"),
    [
        (np.zeros((4, 4), np.uint8), identity_lut(5), {}, r"shape \(H, W, 3\)"),
        (np.zeros((4, 4, 4), np.uint8), identity_lut(5), {}, r"shape \(H, W, 3\)"),
        (np.zeros((4, 4, 3), np.int32), identity_lut(5), {}, "uint8, uint16 or float32"),
        (np.zeros((4, 4, 3), np.float64), identity_lut(5), {}, "uint8, uint16 or float32"),
        ([[[0, 0, 0]]], identity_lut(5), {}, "numpy array"),
        (np.zeros((4, 4, 3), np.uint8), identity_lut(5)[..., :2], {}, r"\(N, N, N, 3\)"),
        (np.zeros((4, 4, 3), np.uint8), identity_lut(5)[:, :4], {}, r"\(N, N, N, 3\)"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((1, 1, 1, 3), np.float32), {}, r"\(N, N, N, 3\)"),
        (np.zeros((4, 4, 3), np.uint8), np.full((3, 3, 3, 3), np.nan, np.float32), {}, "finite"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((3, 3, 3, 3), np.int64), {}, "finite floats"),
        (np.zeros((4, 4, 3), np.uint8), identity_lut(5), {"method": "cubic"}, "method"),
        (np.zeros((4, 4, 3), np.uint8), identity_lut(5), {"out": np.zeros((4, 4, 3), np.uint16)}, "out must"),
        (np.zeros((4, 4, 3), np.uint8), identity_lut(5), {"out": np.zeros((4, 3, 3), np.uint8)}, "out must"),
        (np.zeros((4, 4, 3), np.uint8), identity_lut(5), {"out": np.zeros((4, 8, 3), np.uint8)[:, ::2]}, "contiguous"),
    ],
)
def test_bad_inputs_raise_value_error(pixels, lut, kwargs, message):
    with pytest.raises(ValueError, match=message):
        apply_lut(pixels, lut, **kwargs)


def test_partially_overlapping_out_is_refused():
    buffer = np.zeros((5, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="overlaps"):
        apply_lut(buffer[:4], identity_lut(5), out=buffer[1:])


def test_the_lut_store_fingerprints_files_that_exist():
    """Stored LUTs are keyed by a hash of the baking code: a moved module must be renamed there too."""
    from veraretouch.lut.store import BAKING_SOURCES, PACKAGE, code_fingerprint

    assert all((PACKAGE / name).exists() for name in BAKING_SOURCES)
    assert len(code_fingerprint()) == 64
