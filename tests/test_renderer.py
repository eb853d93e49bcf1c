"""The Retouch Renderer and SliderEncoder: identity, decoupling by construction, LUT parity, save/load."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from veraretouch.encoders import SliderEncoder, group_features
from veraretouch.lut import apply_lut
from veraretouch.parameters import GROUPS, default_params, param_index, restrict_to_groups
from veraretouch.plan import Plan
from veraretouch.renderer import RendererConfig, RetouchRenderer

torch.manual_seed(0)
SMALL = RendererConfig(hidden_widths=[32, 32], group_dim=8)


def random_latents(batch: int = 2, config: RendererConfig = SMALL) -> torch.Tensor:
    return torch.randn(batch, config.latent_dim)


def test_zero_latents_or_all_groups_masked_are_the_exact_identity():
    renderer = RetouchRenderer(SMALL)
    image = torch.rand(2, 3, 16, 16)
    assert (renderer(image, torch.zeros(2, SMALL.latent_dim)) - image).abs().max() < 1e-6
    assert (renderer(image, random_latents(), torch.zeros(3)) - image).abs().max() < 1e-6


def test_masking_a_group_equals_zeroing_its_latent():
    renderer = RetouchRenderer(SMALL)
    image, latents = torch.rand(2, 3, 8, 8), random_latents()
    mask = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    zeroed = latents.clone().reshape(2, 3, -1)
    zeroed[0, 1] = 0
    zeroed[1, 0] = 0
    assert torch.allclose(renderer(image, latents, mask), renderer(image, zeroed.reshape(2, -1)), atol=1e-6)


def test_renderer_is_pointwise_and_differentiable():
    renderer = RetouchRenderer(SMALL)
    image = torch.rand(1, 3, 8, 8)
    latents = random_latents(1).requires_grad_(True)
    out = renderer(image, latents)
    order = torch.randperm(64)
    shuffled = renderer(image.reshape(1, 3, -1)[:, :, order].reshape(1, 3, 8, 8), latents)
    assert torch.allclose(out.reshape(1, 3, -1)[:, :, order], shuffled.reshape(1, 3, -1), atol=1e-6)
    out.mean().backward()
    assert torch.isfinite(latents.grad).all() and latents.grad.abs().sum() > 0


def test_baked_lut_matches_the_direct_mlp(sample_rgb):
    renderer = RetouchRenderer(SMALL)
    latents = random_latents(1) * 0.5
    lut = renderer.bake_lut(latents, size=65)
    fast = apply_lut(sample_rgb.copy(), lut).astype(np.float64)
    image = torch.from_numpy(sample_rgb.copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        direct = renderer(image, latents)[0].permute(1, 2, 0).numpy() * 255
    error = np.abs(fast - np.round(direct))
    assert error.max() <= 2 and error.mean() <= 0.25, (error.max(), error.mean())


def test_save_and_load_round_trip(tmp_path):
    renderer, encoder = RetouchRenderer(SMALL), SliderEncoder()
    renderer.save_pretrained(tmp_path / "renderer")
    encoder.save_pretrained(tmp_path / "encoder")
    loaded, loaded_encoder = RetouchRenderer.from_pretrained(tmp_path / "renderer"), SliderEncoder.from_pretrained(tmp_path / "encoder")
    assert loaded.config == renderer.config
    image, latents = torch.rand(1, 3, 4, 4), random_latents(1)
    assert torch.equal(loaded(image, latents), renderer.eval()(image, latents))
    params = Plan({"Exposure2012": 1.0}).to_tensor()[None]
    assert torch.equal(loaded_encoder(params), encoder(params))
    assert (tmp_path / "renderer" / "model.safetensors").exists()


def test_loading_the_wrong_folder_is_a_clear_error(tmp_path):
    from veraretouch.errors import VeraRetouchError

    with pytest.raises(VeraRetouchError, match="not a saved RetouchRenderer"):
        RetouchRenderer.from_pretrained(tmp_path)
    SliderEncoder().save_pretrained(tmp_path / "encoder")
    with pytest.raises(VeraRetouchError, match="different model"):
        RetouchRenderer.from_pretrained(tmp_path / "encoder")


def test_identity_plan_encodes_to_zero_latents():
    assert SliderEncoder()(default_params(3)).abs().max() == 0


def test_each_latent_group_sees_only_its_own_controls():
    encoder = SliderEncoder()
    base = Plan({"Exposure2012": 0.5, "Vibrance": 20, "HueAdjustmentBlue": 30}).to_tensor()[None]
    moves = {"lighting": "Contrast2012", "global_color": "IncrementalTemperature", "specific_color": "SaturationAdjustmentRed"}
    reference = encoder(base).reshape(3, -1)
    for group, name in moves.items():
        changed = base.clone()
        changed[0, param_index(name)] = 40.0
        delta = (encoder(changed).reshape(3, -1) - reference).abs().sum(1)
        for index, other in enumerate(GROUPS):
            assert (delta[index] > 0) == (other == group), (name, other)


def test_group_features_are_zero_for_the_identity_and_restriction_resets_other_groups():
    assert all(f.abs().max() == 0 for f in group_features(default_params(1)).values())
    params = Plan({"Exposure2012": 1.0, "Saturation": 30, "HueAdjustmentRed": 10},
                  curves={"ToneCurvePV2012Red": ((0, 10), (255, 255))}).to_tensor()[None]
    only_colour = restrict_to_groups(params, torch.tensor([0.0, 1.0, 0.0]))
    plan = Plan.from_tensor(only_colour[0])
    assert plan.values == {"Saturation": 30.0} and set(plan.curves) == {"ToneCurvePV2012Red"}


def test_shipped_weights_load_and_follow_the_operators(sample_rgb):
    """The weights inside the package reproduce a moderate plan closely on a photo (see the model card)."""
    from veraretouch.evaluation import psnr
    from veraretouch.operators import render
    from veraretouch.weights import load_renderer, load_slider_encoder

    renderer, encoder = load_renderer(), load_slider_encoder()
    image = torch.from_numpy(sample_rgb.copy()).permute(2, 0, 1)[None].float() / 255
    plan = Plan({"Exposure2012": 0.5, "Contrast2012": 20, "Highlights2012": -30, "IncrementalTemperature": 15,
                 "Vibrance": 10, "HueAdjustmentOrange": -10, "SaturationAdjustmentBlue": 20}).to_tensor()[None]
    with torch.no_grad():
        predicted = renderer(image, encoder(plan))
        identity = renderer(image, encoder(default_params(1)))
    assert psnr(predicted, render(image, plan)).item() > 40.0
    assert (identity - image).abs().max() < 1e-6
