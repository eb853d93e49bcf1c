"""Plan features <-> plans: the SliderEncoder's flat features, their projection onto valid plans."""
from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from support import small_models

from veraretouch.encoders.slider import FEATURE_SIZES, GRADE_ZONES, flat_features, params_from_features
from veraretouch.plan import Plan
from veraretouch.plan.parameters import (
    CURVE_CHANNELS,
    CURVE_SAMPLES,
    CURVES_SLICE,
    N_SLIDERS,
    SCALARS,
    SLIDERS,
    default_params,
    param_index,
)
from veraretouch.planner.compact import PLAN_FEATURES


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
