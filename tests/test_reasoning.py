"""Reasoning text: measurements, generated problem / plan spans, the contradiction checker, instructions.

The corpus fixture pairs 2,000 random plans (paper Gaussians and wide uniform) with measurements of
small synthetic photos, half of them degraded by the inverse of their plan (so faults and fixes agree)
and half unrelated (so they often disagree). On it: no false alarms, planted contradictions caught,
and the most frequent sentence stays rare.
"""
from __future__ import annotations

import collections
import random
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from veraretouch.data.plans import sample_paper_plans, sample_uniform_plans
from veraretouch.errors import PlanError
from veraretouch.operators import render
from veraretouch.operators.colorspace import rgb_to_lab
from veraretouch.plan import Plan
from veraretouch.plan.files import read_plan
from veraretouch.plan.jsonplan import plan_from_json
from veraretouch.plan.parameters import HSL_BANDS, N_SLIDERS, SLIDERS
from veraretouch.reasoning.measure import band_key, measure
from veraretouch.reasoning.text import (
    SPAN_NAMES,
    TAGS,
    Claim,
    check,
    describe,
    describe_many,
    format_reasoning,
    look_adjectives,
    param_instruction,
    param_instruction_json,
    parse_claims,
    parse_tagged,
    state_supported,
    style_instructions,
)

CORPUS_SIZE = 2000
PLANTED_TEXTS = 600


def synthetic_photos(count: int, generator: torch.Generator, size: int = 24) -> torch.Tensor:
    """Smooth colour fields with random saturation, contrast, gamma and colour cast."""
    low = torch.rand(count, 3, 4, 4, generator=generator)
    image = F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    grey = image.mean(1, keepdim=True)
    image = grey + (image - grey) * torch.rand(count, 1, 1, 1, generator=generator) * 1.6
    low_end, high_end = image.amin((1, 2, 3), keepdim=True), image.amax((1, 2, 3), keepdim=True)
    image = (image - low_end) / (high_end - low_end + 1e-6)
    spread = torch.rand(count, 1, 1, 1, generator=generator) * 1.3 + 0.2
    gamma = torch.exp(torch.randn(count, 1, 1, 1, generator=generator) * 0.6)
    image = (0.5 + (image - 0.5) * spread).clamp(0, 1) ** gamma
    cast = 1 + torch.randn(count, 3, 1, 1, generator=generator) * 0.08
    return (image * cast).clamp(0, 1)


@pytest.fixture(scope="module")
def corpus():
    generator = torch.Generator().manual_seed(1)
    uniform = CORPUS_SIZE // 4
    params = torch.cat([sample_paper_plans(CORPUS_SIZE - uniform, generator), sample_uniform_plans(uniform, generator)])
    photos = synthetic_photos(CORPUS_SIZE, generator)
    half = CORPUS_SIZE // 2
    degrade = params[:half].clone()
    degrade[:, :N_SLIDERS] = -degrade[:, :N_SLIDERS]
    inputs = torch.cat([render(photos[:half], degrade), photos[half:]])
    measurements = measure(inputs)
    plans = [Plan.from_tensor(row) for row in params]
    texts = describe_many(measurements, plans, random.Random(0))
    return measurements, plans, texts


# ------------------------------------------------------------------------------------------ measurements
def test_measurements_of_synthetic_images():
    grey = torch.full((1, 3, 16, 16), 0.5)
    dark = torch.full((1, 3, 16, 16), 0.08)
    blue = grey.clone()
    blue[:, 2] += 0.12
    blue[:, 0] -= 0.04
    half_red = grey.clone()
    half_red[:, :, :8] = torch.tensor([0.85, 0.1, 0.1]).reshape(1, 3, 1, 1)
    white, black = torch.ones(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)
    m_grey, m_dark, m_blue, m_red = measure(torch.cat([grey, dark, blue, half_red]))
    m_white, m_black = measure(torch.cat([white, black]))

    assert m_dark["mean_lightness"] < 0.1 and m_dark["median_lightness"] < 0.1
    assert m_grey["median_lightness"] == pytest.approx(0.534, abs=0.01)
    assert state_supported("exposure", "low", m_dark) and not state_supported("exposure", "low", m_grey)
    assert m_blue["cast_b"] < -5 and state_supported("temperature", "low", m_blue)
    assert abs(m_grey["cast_a"]) < 0.5 and abs(m_grey["cast_b"]) < 0.5
    assert m_grey["mean_chroma"] < 1 and m_grey["neutral_share"] == 1.0 and m_grey["contrast"] < 1e-6
    assert all(m_grey[band_key(band, "share")] == 0 for band in HSL_BANDS)
    assert m_red["red_share"] == pytest.approx(0.5) and m_red["red_chroma"] > 50
    assert m_red["contrast"] > 0.02
    assert m_white["highlight_clipping"] == 1.0 and m_white["shadow_clipping"] == 0.0
    assert m_black["shadow_clipping"] == 1.0 and m_black["highlight_clipping"] == 0.0


def test_measurements_are_batched_and_match_numpy_percentiles():
    image = torch.rand(3, 3, 20, 20, generator=torch.Generator().manual_seed(3))
    together = measure(image)
    alone = [measure(image[i:i + 1])[0] for i in range(3)]
    for m_batch, m_single in zip(together, alone):
        assert m_batch == pytest.approx(m_single, abs=1e-9)
    lightness = rgb_to_lab(image.double())[0, 0].flatten().numpy() / 100
    expected = np.percentile(lightness, [5, 50, 95])
    got = [together[0][key] for key in ("lightness_p05", "median_lightness", "lightness_p95")]
    assert got == pytest.approx(expected, abs=1e-9)
    assert all(isinstance(value, float) for value in together[0].values())


# ------------------------------------------------------------------------------------------ generated text
def test_describe_is_deterministic_per_seed(corpus):
    measurements, plans, texts = corpus
    first = describe(measurements[5], plans[5], random.Random(42))
    again = describe(measurements[5], plans[5], random.Random(42))
    other = describe(measurements[5], plans[5], random.Random(43))
    assert first == again and first.text != other.text
    assert describe_many(measurements[:20], plans[:20], random.Random(0)) == texts[:20]


def test_tags_are_well_formed(corpus):
    _, _, texts = corpus
    for reasoning in texts[:300]:
        spans, errors = parse_tagged(reasoning.text)
        assert errors == [] and list(spans) == list(SPAN_NAMES)
        assert format_reasoning(reasoning.spans) == reasoning.text
        assert [name for name in re.findall(r"<([a-z_]+)>", reasoning.text)] == list(SPAN_NAMES)
        for aspect, (problem, plan_text) in reasoning.spans.items():
            assert problem and plan_text and spans[f"{aspect}_problem"] == problem


def test_an_aspect_with_nothing_to_fix_says_so():
    m = measure(torch.full((1, 3, 8, 8), 0.5))[0]
    reasoning = describe(m, Plan(values={"Exposure2012": 0.6}), random.Random(1))
    assert Claim("global_color", "plan", "all", "none") in reasoning.claims
    assert Claim("specific_color", "problem", "all", "none") in reasoning.claims
    assert reasoning.spans["global_color"][1] and check(reasoning.text, m, Plan(values={"Exposure2012": 0.6})) == []


def test_faults_are_stated_only_when_image_and_plan_agree():
    dark = measure(torch.full((1, 3, 8, 8), 0.12))[0]
    bright = measure(torch.full((1, 3, 8, 8), 0.85))[0]
    brighten = Plan(values={"Exposure2012": 1.0})
    for seed in range(10):
        agreeing = describe(dark, brighten, random.Random(seed))
        assert any(c.span == "problem" and c.attribute == "exposure" and c.direction == "low" for c in agreeing.claims)
        disagreeing = describe(bright, brighten, random.Random(seed))
        assert not any(c.span == "problem" and c.direction in ("low", "high") for c in disagreeing.claims
                       if c.aspect == "lighting")
        assert check(agreeing.text, dark, brighten) == [] and check(disagreeing.text, bright, brighten) == []


def test_no_false_alarms_on_generated_text(corpus):
    measurements, plans, texts = corpus
    alarms = [(i, found) for i, (m, plan, reasoning) in enumerate(zip(measurements, plans, texts))
              if (found := check(reasoning.text, m, plan))]
    assert alarms == [], alarms[:3]


def test_no_false_alarms_on_real_presets(shared_presets):
    """Presets add what random plans lack: monochrome, colour grading, point curves."""
    plans = []
    for path in shared_presets[::6]:
        try:
            plans.append(Plan.from_file(path))
        except PlanError:
            continue
    measurements = measure(synthetic_photos(len(plans), torch.Generator().manual_seed(2)))
    texts = describe_many(measurements, plans, random.Random(2))
    assert [found for m, plan, r in zip(measurements, plans, texts) if (found := check(r.text, m, plan))] == []
    monochrome = [r for plan, r in zip(plans, texts) if plan.monochrome]
    assert monochrome and all(Claim("global_color", "plan", "monochrome", "up") in r.claims for r in monochrome)


def test_checker_reads_back_what_was_written(corpus):
    _, _, texts = corpus
    recovered = total = 0
    for reasoning in texts[:500]:
        parsed = collections.Counter((c.aspect, c.span, c.attribute, c.direction, c.band)
                                     for c in (p.claim for p in parse_claims(reasoning.text)))
        for claim in reasoning.claims:
            if claim.direction in ("up", "down"):
                total += 1
                key = (claim.aspect, claim.span, claim.attribute, claim.direction, claim.band)
                recovered += parsed[key] > 0
    assert recovered / total > 0.99


def test_most_frequent_sentence_is_rare(corpus):
    _, _, texts = corpus
    sentences = collections.Counter(
        sentence for reasoning in texts for span in reasoning.spans.values() for part in span
        for sentence in re.split(r"(?<=[.!?])\s+", part))
    share = sentences.most_common(1)[0][1] / sum(sentences.values())
    print(f"most frequent sentence: {share:.2%} of {sum(sentences.values())}")
    assert share < 0.02


# ------------------------------------------------------------------------------------------ planted errors
def _flips(pairs: str) -> dict[str, str]:
    """``"a>b c>d"`` -> ``{"a": "b", "c": "d"}``; an underscore stands for a space."""
    table = {}
    for pair in pairs.split():
        old, new = pair.split(">")
        table[old.replace("_", " ")] = new.replace("_", " ")
    return table


_VERB_FLIPS = ("raise>lower raises>lowers raising>lowering lower>raise lowers>raises lowering>raising "
               "reduce>increase reduces>increases reducing>increasing increase>reduce increases>reduces "
               "increasing>reducing ")
DIRECTION_FLIPS = {
    "lighting": _flips(_VERB_FLIPS + "lift>lower lifts>lowers lifting>lowering brighten>darken brightens>darkens "
                       "brightening>darkening darken>brighten darkens>brightens darkening>brightening deepen>lift "
                       "deepens>lifts deepening>lifting boost>reduce boosts>reduces boosting>reducing add>remove "
                       "adds>removes adding>removing up>down down>up more>less less>more recover>brighten "
                       "recovers>brightens recovering>brightening tame>brighten tames>brightens taming>brightening "
                       "soften>increase softens>increases softening>increasing flatten>increase flattens>increases "
                       "flattening>increasing drop>raise drops>raises dropping>raising brighter>darker darker>brighter "
                       "extra>less"),
    "global_color": _flips(_VERB_FLIPS + "boost>reduce boosts>reduces boosting>reducing add>remove adds>removes "
                           "adding>removing up>down down>up more>less less>more desaturate>saturate "
                           "desaturates>saturates desaturating>saturating magenta>green green>magenta"),
    "specific_color": _flips(_VERB_FLIPS + "lift>lower lifts>lowers lifting>lowering brighten>darken "
                             "brightens>darkens brightening>darkening lighten>darken lightens>darkens "
                             "lightening>darkening darken>brighten darkens>brightens darkening>brightening "
                             "lighter>darker darker>lighter boost>mute boosts>mutes boosting>muting "
                             "saturate>desaturate saturates>desaturates saturating>desaturating desaturate>saturate "
                             "desaturates>saturates desaturating>saturating mute>saturate mutes>saturates "
                             "muting>saturating intensify>desaturate intensifies>desaturates intensifying>desaturating "
                             "enrich>desaturate enriches>desaturates enriching>desaturating richer>less_saturated "
                             "more>less"),
}
WARM_COOL = _flips("warm>cool cool>warm warms>cools cools>warms warming>cooling cooling>warming warmer>cooler "
                   "cooler>warmer warmth>coolness yellowish>bluish bluish>yellowish yellow>blue blue>yellow")
STATE_FLIPS = {
    "lighting": _flips("underexposed>overexposed overexposed>underexposed dark>bright bright>dark dim>bright "
                       "flat>harsh harsh>flat contrasty>flat blown>dull burnt>dull clipped>dull dull>blown grey>blown "
                       "crushed>milky blocked>milky milky>crushed low>high high>low lack>have_too_much"),
    "global_color": _flips("muted>garish drab>garish dull>garish undersaturated>oversaturated "
                           "oversaturated>undersaturated garish>muted overcooked>muted saturated>muted warm>cool "
                           "cool>warm yellowish>bluish bluish>yellowish yellow>blue blue>yellow greenish>pinkish "
                           "pinkish>greenish green>magenta magenta>green"),
    "specific_color": _flips("muted>garish dull>garish garish>muted oversaturated>muted loud>muted dark>light "
                             "heavy>light light>dark bright>dark lack>have_too_much"),
}
_PARTICLE_VERBS = {"open", "opens", "opening", "ends", "tone", "tones", "toning", "warm", "warms", "warming",
                   "cool", "cools", "cooling"}


def plant_candidates(text: str, tables: dict[str, dict[str, str] | None], kinds: tuple[str, ...]) -> list[tuple]:
    """Places where one word can be swapped for its opposite: (start, end, replacement)."""
    spans, _ = parse_tagged(text)
    found = []
    for name in SPAN_NAMES:
        aspect, kind = name.rsplit("_", 1)
        table = tables.get(aspect)
        if kind not in kinds or not table:
            continue
        start, end = text.index(TAGS[name][0]) + len(TAGS[name][0]), text.index(TAGS[name][1])
        recent: list[str] = []
        for match in re.finditer(r"[A-Za-z]+", text[start:end]):
            word = match.group(0).lower()
            window, recent = recent[-3:], recent + [word]
            if word in ("up", "down") and _PARTICLE_VERBS.intersection(window):
                continue
            if word in table:
                found.append((start + match.start(), start + match.end(), table[word]))
    return found


def plant(text: str, candidate: tuple) -> str:
    start, end, replacement = candidate
    if text[start].isupper():
        replacement = replacement[0].upper() + replacement[1:]
    return text[:start] + replacement + text[end:]


def test_planted_contradictions_are_caught(corpus):
    measurements, plans, texts = corpus
    rng = random.Random(5)
    planted = collections.Counter()
    caught = collections.Counter()
    for m, plan, reasoning in list(zip(measurements, plans, texts))[:PLANTED_TEXTS]:
        options = {
            "flip a direction": plant_candidates(reasoning.text, DIRECTION_FLIPS, ("plan",)),
            "swap warm/cool": plant_candidates(reasoning.text, {"global_color": WARM_COOL}, ("problem", "plan")),
            "flip a fault": plant_candidates(reasoning.text, STATE_FLIPS, ("problem",)),
        }
        options = {kind: places for kind, places in options.items() if places}
        if not options:
            continue
        kind = rng.choice(sorted(options))
        text = plant(reasoning.text, rng.choice(options[kind]))
        planted[kind] += 1
        caught[kind] += bool(check(text, m, plan))
    rates = {kind: caught[kind] / planted[kind] for kind in planted}
    total = sum(caught.values()) / sum(planted.values())
    print(f"planted contradictions caught: {total:.1%} of {sum(planted.values())}", rates)
    assert total >= 0.95 and min(rates.values()) >= 0.9


# ------------------------------------------------------------------------------------------ checker
def _tagged(**contents: str) -> str:
    spans = {aspect: (contents.get(f"{aspect}_problem", "Notes follow."), contents.get(f"{aspect}_plan", "See above."))
             for aspect in ("lighting", "global_color", "specific_color")}
    return format_reasoning(spans)


@pytest.fixture(scope="module")
def tones():
    dark, bright = measure(torch.cat([torch.full((1, 3, 8, 8), 0.1), torch.full((1, 3, 8, 8), 0.8)]))
    warm = measure(torch.tensor([0.6, 0.5, 0.35]).reshape(1, 3, 1, 1).expand(1, 3, 8, 8))[0]
    return dark, bright, warm


def test_checker_accepts_true_free_text(tones):
    dark, _, warm = tones
    plan = Plan(values={"Exposure2012": 1.0, "Shadows2012": 30, "IncrementalTemperature": -25,
                        "SaturationAdjustmentBlue": 20})
    text = _tagged(lighting_problem="The photo is underexposed and murky.",
                   lighting_plan="Raise exposure by about a stop (+1.00 EV) and open up the shadows a lot.",
                   global_color_problem="There is a warm, yellowish cast.",
                   global_color_plan="Cool the white balance moderately to neutralise the yellow cast.",
                   specific_color_plan="Give the blues a bit more saturation.")
    assert check(text, dark, plan) == []


@pytest.mark.parametrize("field, words, plan_values, why", [
    ("lighting_problem", "The image is too dark.", {"Exposure2012": -0.5}, "median lightness"),
    ("lighting_plan", "Brighten the photo.", {"Exposure2012": -1.0}, "L*/100"),
    ("lighting_plan", "Raise the exposure slightly.", {"Exposure2012": 2.0}, "'slight'"),
    ("lighting_plan", "Lift the shadows (+50).", {"Shadows2012": 10}, "states +50"),
    ("lighting_plan", "Add about two stops of exposure.", {"Exposure2012": 0.3}, "stop"),
    ("global_color_plan", "Warm it up a bit.", {"IncrementalTemperature": -20}, "IncrementalTemperature is -20"),
    ("global_color_plan", "Leave the white balance and saturation as they are.", {"IncrementalTemperature": 40},
     "nothing needs changing"),
    ("global_color_problem", "There is a cool blue cast.", {"IncrementalTemperature": -20}, "b*"),
    ("specific_color_plan", "Shift the reds towards orange.", {"HueAdjustmentRed": -30}, "HueAdjustmentRed is -30"),
])
def test_checker_flags_contradictions(tones, field, words, plan_values, why):
    _, bright, warm = tones
    m = warm if field.startswith("global") else bright
    found = check(_tagged(**{field: words}), m, Plan(values=plan_values))
    assert found and all(c.span == field for c in found)
    assert any(why in c.reason for c in found), found
    assert any(c.phrase for c in found)


def test_checker_flags_a_fault_the_plan_makes_worse(tones):
    dark, _, _ = tones
    found = check(_tagged(lighting_problem="The image is underexposed."), dark, Plan(values={"Exposure2012": -1.0}))
    assert [c.span for c in found] == ["lighting_problem"] and "moves its median" in found[0].reason


@pytest.mark.parametrize("mangle", [
    lambda t: t.replace("<lighting_plan>", "").replace("</lighting_plan>", ""),
    lambda t: t.replace("</global_color_problem>", ""),
    lambda t: t.replace("Notes follow.", "", 1),
    lambda t: t + "\n<lighting_problem>Again.</lighting_problem>",
    lambda t: t.split("\n", 2)[2] + "\n" + "\n".join(t.split("\n", 2)[:2]),
    lambda t: t.replace("<lighting_problem>", "<lighting_problems>"),
])
def test_checker_flags_malformed_tags(tones, mangle):
    dark, _, _ = tones
    text = _tagged()
    assert check(text, dark, Plan()) == []
    found = check(mangle(text), dark, Plan())
    assert found and all(c.span == "tags" for c in found)


# ------------------------------------------------------------------------------------------ instructions
def _slider_plans(count: int, seed: int) -> list[Plan]:
    params = sample_paper_plans(count, torch.Generator().manual_seed(seed))
    plans = []
    for row in params:
        values = {spec.name: round(float(row[i]), 2 if spec.name == "Exposure2012" else 0)
                  for i, spec in enumerate(SLIDERS)}
        plans.append(Plan(values={k: v for k, v in values.items() if v != 0}))
    return plans


def test_param_instruction_json_round_trips_through_the_param_file_reader(tmp_path):
    for index, plan in enumerate(_slider_plans(30, 7)):
        document = param_instruction_json(plan)
        assert plan_from_json(document).values == pytest.approx(plan.values)
        path = tmp_path / f"params_{index}.json"
        path.write_text(param_instruction_json(plan, include_defaults=True))
        assert read_plan(path).values == pytest.approx(plan.values)
    assert param_instruction_json(Plan(values={"Exposure2012": 0.5})) == '{"Exposure2012": {"value": 50}}'


def test_param_instruction_describes_each_move_truly():
    rng = random.Random(3)
    request = param_instruction(Plan(values={"Exposure2012": 0.5, "IncrementalTemperature": -12}), rng)
    assert "exposure" in request.lower() and re.search(r"cool|blue|temperature", request.lower())
    for plan in _slider_plans(60, 8):
        for aspect in ("lighting", "global_color", "specific_color"):
            part = plan.restricted_to([aspect])
            text = _tagged(**{f"{aspect}_plan": param_instruction(part, rng)})
            assert check(text, measure(torch.full((1, 3, 4, 4), 0.5))[0], part) == []


def test_style_instructions_from_names_and_descriptions():
    rng = random.Random(0)
    requests = style_instructions("2.1.5_Kodak_Portra_400", "Color-Negative",
                                  "Warm, flattering, pastel, creamy, open. Greens: NOT teal.", rng, 8)
    assert len(requests) == 8 == len(set(requests))
    requests = style_instructions("2.1.5_Kodak_Portra_400", "Color-Negative", None, rng, 30)
    assert any("Portra 400" in r for r in requests) and any(re.search(r"\bPortra\b(?! 400)", r) for r in requests)
    assert all("2.1.5" not in r and "_" not in r for r in requests)
    assert look_adjectives("Warm, flattering, pastel, creamy, open. Greens: NOT teal.") == ["warm", "pastel", "creamy"]
    assert any(re.search(r"warmer|more pastel|creamier", r) for r in style_instructions(
        "Kodak Portra 400", "Color-Negative", "Warm, pastel and creamy.", rng, 12))
    mono = style_instructions("2.1.8_[BW]_Kodak_T-MAX_3200", None, None, rng, 20)
    assert any(re.search(r"black and white|monochrome", r) for r in mono)
    assert all("[BW]" not in r and "_" not in r for r in mono)
    moody = style_instructions("Fjord Moody", "Geographic", "Cold, moody, dark fjord light.", rng, 20)
    assert any("Fjord Moody" in r for r in moody) and any(re.search(r"cooler|moodier|darker", r) for r in moody)
    assert not any("colder" in r and "cooler" in r for r in moody)
