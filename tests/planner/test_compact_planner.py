"""The compact planner network, its instruction embedder, pruning and aspect confidence.
(The `auto` / `style` commands are in test_cli_planner.py.)"""
from __future__ import annotations

import pytest
import torch
from support import small_models

from veraretouch.encoders.slider import params_from_features
from veraretouch.plan import Plan
from veraretouch.plan.parameters import CURVES_SLICE, default_params, param_index
from veraretouch.planner import MODES, CompactPlanner, CompactPlannerConfig
from veraretouch.planner.compact import PLAN_FEATURES
from veraretouch.planner.features import FEATURE_SIZE, image_features
from veraretouch.planner.text import TEXT_DIM


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

def test_instruction_embeddings_are_unit_cached_and_meaningful(embedder):
    texts = ["make it warmer", "a warmer look please", "convert to black and white", "make it warmer"]
    vectors = embedder(texts)
    assert vectors.shape == (4, 384) and torch.allclose(vectors.norm(dim=1), torch.ones(4), atol=1e-4)
    assert torch.equal(vectors[0], vectors[3]) and len(embedder._cache) >= 3
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
    assert embedder([]).shape == (0, 384)

def test_imperceptible_moves_are_pruned_and_visible_ones_kept():
    from veraretouch.plan.parameters import default_params
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
