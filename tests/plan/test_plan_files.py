"""Plan formats: our JSON, the VeraRetouch param file, Lightroom XMP, and read_plan / write_plan."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veraretouch.errors import ImageWriteError, PlanError
from veraretouch.plan import Plan
from veraretouch.plan.files import read_plan, write_plan
from veraretouch.plan.jsonplan import plan_from_json, plan_from_param_file, plan_to_json, plan_to_param_file
from veraretouch.plan.parameters import CURVE_CHANNELS, SCALARS, SLIDERS, SPECS
from veraretouch.plan.xmp import format_value, plan_from_xmp, plan_to_xmp

PRESETS = Path(__file__).resolve().parents[2].parent / "shared" / "presets"
CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
needs_presets = pytest.mark.skipif(not PRESETS.is_dir(), reason="shared/presets is not available")


def xmp(attributes: str = "", elements: str = "") -> str:
    """A minimal XMP document with the given crs: attributes and child elements."""
    return (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">'
        f'<rdf:Description rdf:about="" xmlns:crs="{CRS}" {attributes}>{elements}</rdf:Description>'
        "</rdf:RDF></x:xmpmeta>"
    )


def seq(name: str, *items: str) -> str:
    lis = "".join(f"<rdf:li>{item}</rdf:li>" for item in items)
    return f"<crs:{name}><rdf:Seq>{lis}</rdf:Seq></crs:{name}>"


def alt(name: str, text: str) -> str:
    return f'<crs:{name}><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></crs:{name}>'


# ------------------------------------------------------------------------------ random plans
def _value(spec) -> st.SearchStrategy[float]:
    if spec.name == "Monochrome":
        return st.sampled_from([0.0, 1.0])
    return st.floats(spec.minimum, spec.maximum, allow_nan=False).map(lambda v: round(v, 2))


@st.composite
def curves(draw) -> list[tuple[float, float]]:
    count = draw(st.integers(2, 8))
    xs = sorted(draw(st.lists(st.integers(0, 25500), min_size=count, max_size=count, unique=True)))
    ys = sorted(draw(st.lists(st.integers(0, 25500), min_size=count, max_size=count)))
    return [(x / 100, y / 100) for x, y in zip(xs, ys)]


names = st.none() | st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn")), min_size=1, max_size=24
).filter(lambda text: text == text.strip())


@st.composite
def plans(draw) -> Plan:
    chosen = draw(st.lists(st.sampled_from(SCALARS), unique_by=lambda spec: spec.name, max_size=14))
    return Plan(
        values={spec.name: draw(_value(spec)) for spec in chosen},
        curves=draw(st.dictionaries(st.sampled_from(CURVE_CHANNELS), curves(), max_size=4)),
        name=draw(names), group=draw(names), description=draw(names),
    )


def visible(plan: Plan) -> tuple:
    """What an XMP round trip must keep: non-default values, non-identity curves, name, group, description."""
    values = {k: v for k, v in plan.values.items() if v != SPECS[k].default}
    kept_curves = {k: v for k, v in plan.curves.items()
                   if not (v[0] == (0.0, 0.0) and v[-1] == (255.0, 255.0) and all(x == y for x, y in v))}
    return values, kept_curves, plan.group, plan.description


# ------------------------------------------------------------------------------ our JSON
@settings(max_examples=150, deadline=None)
@given(plans())
def test_json_round_trip_is_exact(plan):
    assert plan_from_json(plan_to_json(plan)) == plan


@settings(max_examples=50, deadline=None)
@given(plans())
def test_record_round_trip_keeps_the_rendering_content(plan):
    record = json.loads(json.dumps(plan.to_record()))
    assert Plan.from_record(record).to_tensor().equal(plan.to_tensor())


def test_json_document_layout():
    plan = Plan(values={"Contrast2012": -12, "Exposure2012": 0.3},
                curves={"ToneCurvePV2012": [(0, 10), (255, 250)]}, name="Warm")
    text = plan_to_json(plan)
    document = json.loads(text)
    assert document["format"] == "veraretouch.plan" and document["version"] == 1
    assert list(document["values"]) == ["Exposure2012", "Contrast2012"]
    assert document["values"]["Contrast2012"] == -12 and isinstance(document["values"]["Contrast2012"], int)
    assert document["curves"] == {"ToneCurvePV2012": [[0, 10], [255, 250]]}
    assert "[0, 10]" in text and "[255, 250]" in text


def test_json_accepts_a_parsed_mapping_and_bytes():
    document = {"format": "veraretouch.plan", "version": 1, "values": {"Vibrance": 20}}
    assert plan_from_json(document).values == {"Vibrance": 20.0}
    assert plan_from_json(json.dumps(document).encode()).values == {"Vibrance": 20.0}


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    (b"\xff\xfe\x00", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"format": "other", "version": 1}', "format: expected 'veraretouch.plan'"),
    ('{"format": "veraretouch.plan", "version": 2}', "version: expected 1"),
    ('{"format": "veraretouch.plan", "version": true}', "version: expected 1"),
    ('{"format": "veraretouch.plan", "version": 1, "value": {}}', "unknown field 'value'"),
    ('{"format": "veraretouch.plan", "version": 1, "values": {"Contrast2012": "high"}}', "values.Contrast2012"),
    ('{"format": "veraretouch.plan", "version": 1, "values": {"Contrast2012": true}}', "values.Contrast2012"),
    ('{"format": "veraretouch.plan", "version": 1, "values": {"Contrast2012": 140}}', "Contrast2012=140"),
    ('{"format": "veraretouch.plan", "version": 1, "values": {"Contrast": 10}}', "Did you mean Contrast2012"),
    ('{"format": "veraretouch.plan", "version": 1, "values": []}', "values: expected a JSON object"),
    ('{"format": "veraretouch.plan", "version": 1, "curves": {"ToneCurvePV2012": [[0, "a"]]}}',
     "curves.ToneCurvePV2012"),
    ('{"format": "veraretouch.plan", "version": 1, "curves": {"ToneCurvePV2012": [[9, 0], [3, 9]]}}',
     "strictly increasing"),
    ('{"format": "veraretouch.plan", "version": 1, "curves": {"Red": [[0, 0]]}}', "unknown curve 'Red'"),
    ('{"format": "veraretouch.plan", "version": 1, "name": 5}', "name: expected a string"),
    ('{"format": "veraretouch.plan", "version": 1, "unmodelled": {"Clarity2012": 5}}', "unmodelled.Clarity2012"),
    ('{"version": 1, "values": {"Contrast2012": 5}}', "format: missing"),
])
def test_json_errors_name_the_field(text, message):
    with pytest.raises(PlanError, match=re.escape(message)) as caught:
        plan_from_json(text)
    assert "\n" not in str(caught.value)


def test_unknown_slider_lists_the_valid_names():
    with pytest.raises(PlanError, match="Valid names: Exposure2012, Contrast2012"):
        plan_from_json({"format": "veraretouch.plan", "version": 1, "values": {"Brightness": 5}})


# ------------------------------------------------------------------------------ VeraRetouch param file
def test_param_file_units():
    plan = plan_from_param_file({"Exposure2012": {"value": 30}, "Contrast2012": {"value": -12},
                                 "Vibrance": {"value": 0}, "Saturation": {"value": 45, "note": "ignored"}})
    assert plan.values == {"Exposure2012": 0.3, "Contrast2012": -12.0, "Saturation": 45.0}


def test_param_file_is_detected_by_plan_from_json():
    assert plan_from_json('{"Exposure2012": {"value": -150}}').values == {"Exposure2012": -1.5}


@pytest.mark.parametrize("document, message", [
    ({"ColorGradeShadowHue": {"value": 30}}, "only the 38 sliders"),
    ({"Exposur2012": {"value": 30}}, "Valid names:"),
    ({"Contrast2012": 12}, 'Contrast2012: expected {"value": <number>}'),
    ({"Contrast2012": {"value": "12"}}, "Contrast2012.value: expected a number"),
    ({"Contrast2012": {"value": None}}, "Contrast2012.value: expected a number"),
    ({"Exposure2012": {"value": 600}}, "Exposure2012=6 is out of range"),
    ({"Shadows2012": {"value": -101}}, "Shadows2012=-101 is out of range"),
])
def test_param_file_errors(document, message):
    with pytest.raises(PlanError, match=re.escape(message)):
        plan_from_param_file(document)


def test_plan_to_param_file_has_every_slider_as_integers():
    document = plan_to_param_file(Plan(values={"Exposure2012": 0.3, "HueAdjustmentAqua": -7}))
    assert list(document) == [spec.name for spec in SLIDERS]
    assert document["Exposure2012"] == {"value": 30}
    assert document["HueAdjustmentAqua"] == {"value": -7}
    assert document["Contrast2012"] == {"value": 0}
    assert all(type(entry["value"]) is int for entry in document.values())


def test_plan_to_param_file_refuses_what_it_cannot_carry():
    plan = Plan(values={"Contrast2012": 12.5, "ColorGradeShadowSat": 20, "ColorGradeBlending": 50},
                curves={"ToneCurvePV2012": [(0, 20), (255, 255)], "ToneCurvePV2012Red": [(0, 0), (255, 255)]})
    with pytest.raises(PlanError) as caught:
        plan_to_param_file(plan)
    message = str(caught.value)
    assert "ColorGradeShadowSat" in message and "ToneCurvePV2012" in message and "Contrast2012=12.5" in message
    assert "ColorGradeBlending" not in message and "ToneCurvePV2012Red" not in message
    lossy = plan_to_param_file(plan, allow_lossy=True)
    assert lossy["Contrast2012"]["value"] in (12, 13) and "ColorGradeShadowSat" not in lossy


@settings(max_examples=100, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    spec.name: st.integers(int(spec.minimum * (100 if spec.unit == "EV" else 1)),
                           int(spec.maximum * (100 if spec.unit == "EV" else 1))) for spec in SLIDERS}))
def test_param_file_round_trip(integers):
    document = {name: {"value": value} for name, value in integers.items()}
    back = plan_to_param_file(plan_from_param_file(document))
    assert {name: entry["value"] for name, entry in back.items() if entry["value"]} == \
        {name: value for name, value in integers.items() if value}


# ------------------------------------------------------------------------------ XMP reading
def test_xmp_attribute_and_element_forms():
    plan = plan_from_xmp(xmp(
        'crs:Exposure2012="+0.30" crs:Contrast2012="-35" crs:Vibrance="5" crs:Name="Attr name"',
        "<crs:Shadows2012>+12</crs:Shadows2012><crs:ColorGradeHighlightHue> 45 </crs:ColorGradeHighlightHue>"
        + alt("Group", "Film") + alt("Description", "Warm &amp; soft")
        + seq("ToneCurvePV2012", "0, 20", "128, 140", "255, 235") + seq("ToneCurvePV2012Blue", "0,0", "255,250"),
    ))
    assert plan.values == {"Exposure2012": 0.3, "Contrast2012": -35.0, "Vibrance": 5.0, "Shadows2012": 12.0,
                           "ColorGradeHighlightHue": 45.0}
    assert plan.curves == {"ToneCurvePV2012": ((0.0, 20.0), (128.0, 140.0), (255.0, 235.0)),
                           "ToneCurvePV2012Blue": ((0.0, 0.0), (255.0, 250.0))}
    assert (plan.name, plan.group, plan.description) == ("Attr name", "Film", "Warm & soft")
    assert plan.unmodelled == {}


def test_xmp_drops_defaults_and_identity_curves():
    plan = plan_from_xmp(xmp('crs:Exposure2012="0" crs:ColorGradeBlending="50" crs:Treatment="Color"',
                             seq("ToneCurvePV2012", "0, 0", "128, 128", "255, 255")))
    assert plan.values == {} and plan.curves == {}


@pytest.mark.parametrize("attributes, monochrome", [
    ('crs:Treatment="Monochrome"', True),
    ('crs:Treatment="Color"', False),
    ('crs:ConvertToGrayscale="True"', True),
    ('crs:ConvertToGrayscale="False"', False),
    ('crs:Treatment="Color" crs:ConvertToGrayscale="True"', True),
    ('crs:Treatment="Monochrome" crs:ConvertToGrayscale="False"', True),
])
def test_xmp_monochrome(attributes, monochrome):
    plan = plan_from_xmp(xmp(attributes))
    assert plan.monochrome is monochrome
    assert plan.values == ({"Monochrome": 1.0} if monochrome else {})


def test_xmp_legacy_split_toning_fills_absent_color_grade():
    legacy = ('crs:SplitToningShadowHue="220" crs:SplitToningShadowSaturation="25" '
              'crs:SplitToningHighlightHue="45" crs:SplitToningHighlightSaturation="15" crs:SplitToningBalance="-20"')
    assert plan_from_xmp(xmp(legacy)).values == {
        "ColorGradeShadowHue": 220.0, "ColorGradeShadowSat": 25.0, "ColorGradeHighlightHue": 45.0,
        "ColorGradeHighlightSat": 15.0, "ColorGradeBalance": -20.0}
    modern = plan_from_xmp(xmp(legacy + ' crs:ColorGradeShadowHue="30" crs:ColorGradeBalance="0"'))
    assert modern.values["ColorGradeShadowHue"] == 30.0 and "ColorGradeBalance" not in modern.values
    assert modern.values["ColorGradeHighlightHue"] == 45.0 and modern.unmodelled == {}


def test_xmp_look_does_not_overwrite_top_level_values():
    look = (f'<crs:Look><rdf:Description crs:Name="Adobe Vivid" crs:Amount="0.5" crs:Exposure2012="+2.00">'
            f'{alt("Group", "Profiles")}</rdf:Description></crs:Look>')
    plan = plan_from_xmp(xmp('crs:Exposure2012="-0.50" crs:Name="Mine"', alt("Group", "Mine group") + look))
    assert plan.values == {"Exposure2012": -0.5}
    assert (plan.name, plan.group) == ("Mine", "Mine group")
    assert plan.unmodelled == {"Look": "Adobe Vivid"}


def test_xmp_unmodelled_edits_and_ignored_bookkeeping():
    plan = plan_from_xmp(xmp(
        'crs:PresetType="Normal" crs:UUID="ABC" crs:SupportsAmount="True" crs:ProcessVersion="15.4" '
        'crs:Version="15.4" crs:HasSettings="True" crs:Cluster="" crs:RequiresRenditionBehavior="True" '
        'crs:CameraModelRestriction="" crs:Copyright="" crs:ContactInfo="" crs:ToneCurveName2012="Custom" '
        'crs:ParametricShadowSplit="25" crs:ParametricMidtoneSplit="50" crs:ParametricHighlightSplit="80" '
        'crs:Clarity2012="+10" crs:Texture="0" crs:Dehaze="0" crs:Amount="1.000000" crs:Temperature="5600" '
        'crs:Tint="+5" crs:Sharpness="40" crs:GrayMixerRed="-2.5" crs:GrainAmount="0" crs:GrainSize="25" '
        'crs:PostCropVignetteAmount="-20" crs:PostCropVignetteMidpoint="40"',
        alt("ShortName", "") + alt("SortName", "") + seq("ToneCurve", "0, 0", "255, 255")
        + '<crs:GradientBasedCorrections><rdf:Seq><rdf:li><rdf:Description crs:What="Correction"/></rdf:li>'
        '<rdf:li><rdf:Description crs:What="Correction"/></rdf:li></rdf:Seq></crs:GradientBasedCorrections>',
    ))
    assert plan.unmodelled == {
        "ParametricHighlightSplit": "80", "ToneCurve": "0, 0; 255, 255",
        "GradientBasedCorrections": "(2 structured entries)",
    }
    assert plan.values == {
        "Clarity2012": 10.0, "Temperature": 5600.0, "Tint": 5.0, "Sharpness": 40.0, "GrayMixerRed": -2.5,
        "PostCropVignetteAmount": -20.0, "PostCropVignetteMidpoint": 40.0,
    }


def test_xmp_wraps_hues_but_refuses_other_out_of_range_values():
    assert plan_from_xmp(xmp('crs:ColorGradeShadowHue="-30"')).values == {"ColorGradeShadowHue": 330.0}
    with pytest.raises(PlanError, match="Exposure2012=7 is out of range"):
        plan_from_xmp(xmp('crs:Exposure2012="+7.00"'))
    with pytest.raises(PlanError, match="ColorGradeShadowSat=-5 is out of range"):
        plan_from_xmp(xmp('crs:ColorGradeShadowSat="-5"'))


@pytest.mark.parametrize("document, message", [
    (xmp('crs:Contrast2012="lots"'), "crs:Contrast2012: expected a number, got 'lots'"),
    (xmp('crs:Exposure2012="1e3"'), "crs:Exposure2012: expected a number"),
    (xmp('crs:Exposure2012="nan"'), "crs:Exposure2012: expected a number"),
    (xmp('crs:Exposure2012=""'), "crs:Exposure2012: expected a number"),
    (xmp('crs:Treatment="Sepia"'), "crs:Treatment: expected Color or Monochrome"),
    (xmp('crs:ConvertToGrayscale="yes"'), "crs:ConvertToGrayscale: expected True or False"),
    (xmp("", seq("ToneCurvePV2012", "0, 0", "128")), "crs:ToneCurvePV2012: expected a point"),
    (xmp("", seq("ToneCurvePV2012", "0, 0", "a, b")), "crs:ToneCurvePV2012: expected a point"),
    (xmp("", seq("ToneCurvePV2012", "0, 0", "300, 10")), "ToneCurvePV2012: curve points must lie in 0..255"),
    (xmp('crs:ToneCurvePV2012="0, 0"'), "crs:ToneCurvePV2012: expected an rdf:Seq"),
    (xmp("", seq("Name", "a", "b")), "crs:Name: expected text"),
    ("this is not xml", "not an XML document"),
    ("<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed></x:xmpmeta>", "not an XML document"),
    ("<html><body>hello</body></html>", "not an XMP document"),
    (f'<rdf:RDF xmlns:rdf="{RDF}"><rdf:Description rdf:about=""/></rdf:RDF>', "no Camera Raw (crs:) settings"),
])
def test_xmp_errors(document, message):
    with pytest.raises(PlanError, match=re.escape(message)) as caught:
        plan_from_xmp(document)
    assert "\n" not in str(caught.value)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" crs:Name="&lol4;"/>
</rdf:RDF></x:xmpmeta>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"><crs:Name>&secret;</crs:Name>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, BILLION_LAUGHS.encode()])
def test_xmp_entities_are_refused(document):
    with pytest.raises(PlanError, match="refused: the XMP declares a DTD or entities"):
        plan_from_xmp(document)


# ------------------------------------------------------------------------------ XMP writing
@pytest.mark.parametrize("name, value, text", [
    ("Exposure2012", 0.3, "+0.30"), ("Exposure2012", -1.256, "-1.26"), ("Exposure2012", 0.0, "0.00"),
    ("Exposure2012", 2, "+2.00"), ("Contrast2012", -35, "-35"), ("Contrast2012", 12, "+12"),
    ("Contrast2012", 0, "0"), ("Contrast2012", 2.5, "+2.50"), ("Contrast2012", -0.001, "0"),
    ("ColorGradeShadowHue", 220, "220"), ("ColorGradeShadowSat", 7.25, "7.25"), ("ColorGradeBlending", 75, "75"),
])
def test_format_value_like_lightroom(name, value, text):
    assert format_value(name, value) == text


def test_plan_to_xmp_is_a_lightroom_develop_preset():
    plan = Plan(values={"Exposure2012": 0.3, "Saturation": -20, "Monochrome": 1.0},
                curves={"ToneCurvePV2012Red": [(0, 0), (128.5, 140), (255, 255)]}, name="B&W <1>", group="Mine")
    text = plan_to_xmp(plan)
    root = ElementTree.fromstring(text)
    assert root.tag == "{adobe:ns:meta/}xmpmeta"
    description = root.find(f"{{{RDF}}}RDF/{{{RDF}}}Description")
    attributes = {key.removeprefix(f"{{{CRS}}}"): value for key, value in description.attrib.items()}
    for flag in ("Amount", "Color", "Monochrome", "HighDynamicRange", "NormalDynamicRange", "SceneReferred",
                 "OutputReferred"):
        assert attributes[f"Supports{flag}"] == "True"
    assert attributes["PresetType"] == "Normal" and attributes["ProcessVersion"] == "15.4"
    assert attributes["HasSettings"] == "True" and attributes["Treatment"] == "Monochrome"
    assert attributes["Exposure2012"] == "+0.30" and attributes["Saturation"] == "-20"
    assert attributes["ToneCurveName2012"] == "Custom" and "Version" in attributes
    assert re.fullmatch(r"[0-9A-F]{32}", attributes["UUID"])
    assert attributes["UUID"] != re.search(r'crs:UUID="(\w+)"', plan_to_xmp(plan)).group(1)
    items = description.findall(f"{{{CRS}}}ToneCurvePV2012Red/{{{RDF}}}Seq/{{{RDF}}}li")
    assert [item.text for item in items] == ["0, 0", "128.50, 140", "255, 255"]
    assert description.find(f"{{{CRS}}}Name/{{{RDF}}}Alt/{{{RDF}}}li").text == "B&W <1>"


def test_plan_to_xmp_without_curves_or_name():
    text = plan_to_xmp(Plan(values={"Contrast2012": 10}), fallback_name="from file")
    assert "ToneCurveName2012" not in text and 'crs:Treatment="Color"' in text
    assert plan_from_xmp(text).name == "from file"


def test_plan_to_xmp_refuses_what_xmp_cannot_hold():
    with pytest.raises(PlanError, match="closer than 0.01"):
        plan_to_xmp(Plan(curves={"ToneCurvePV2012": [(0, 0), (10.001, 5), (10.004, 6), (255, 255)]}))
    with pytest.raises(PlanError, match="control characters"):
        plan_to_xmp(Plan(name="bell\x07"))


@settings(max_examples=150, deadline=None)
@given(plans())
def test_xmp_round_trip(plan):
    back = plan_from_xmp(plan_to_xmp(plan))
    assert visible(back) == visible(plan)
    assert back.name == (plan.name or "Untitled")
    assert back.monochrome == plan.monochrome


# ------------------------------------------------------------------------------ the real presets
@pytest.fixture(scope="module")
def preset_results() -> dict[Path, Plan | PlanError]:
    results: dict[Path, Plan | PlanError] = {}
    for path in sorted(PRESETS.rglob("*.xmp")):
        try:
            results[path] = read_plan(path)
        except PlanError as error:
            results[path] = error
    return results


@needs_presets
def test_every_preset_parses(preset_results):
    assert len(preset_results) == 467
    failures = {path: error for path, error in preset_results.items() if isinstance(error, PlanError)}
    stubs = {path for path in preset_results if path.read_bytes().strip() in (b"", b"404: Not Found")}
    assert set(failures) == stubs, {str(path): str(error) for path, error in failures.items()}
    assert len(stubs) <= 5
    assert all(re.fullmatch(re.escape(str(path)) + r": (empty file|not an XML document \(.*\))", str(error))
               for path, error in failures.items())


@needs_presets
def test_every_preset_round_trips_through_xmp(preset_results):
    mismatched = []
    for path, plan in preset_results.items():
        if isinstance(plan, Plan):
            back = plan_from_xmp(plan_to_xmp(plan))
            if visible(back) != visible(plan) or back.name != plan.name or back.monochrome != plan.monochrome:
                mismatched.append(path.name)
    assert mismatched == []


@needs_presets
def test_preset_contents(preset_results):
    zen = preset_results[PRESETS / "Presets" / "Geographic" / "Wabi-Sabi Zen.xmp"]
    assert (zen.name, zen.group) == ("Wabi-Sabi Zen", "Geographic")
    assert zen.values["Exposure2012"] == 0.15 and zen.values["Shadows2012"] == 35.0
    assert zen.values["ColorGradeBlending"] == 75.0 and "ColorGradeGlobalHue" not in zen.values
    assert zen.curves["ToneCurvePV2012"] == ((0, 20), (64, 55), (128, 128), (192, 196), (255, 235))
    assert zen.unmodelled == {"Look": "Adobe Color"}
    assert (zen.values["Sharpness"], zen.values["Clarity2012"], zen.values["Dehaze"]) == (10.0, -15.0, -10.0)

    delta = preset_results[PRESETS / "Presets" / "Black-White" / "Ilford Delta 3200 +2.xmp"]
    assert delta.monochrome and delta.values["Blacks2012"] == 7.3
    assert delta.values["GrayMixerAqua"] == -2.5 and delta.values["GrainFrequency"] == 86.3
    assert "Amount" not in delta.unmodelled and delta.unmodelled["Look"] == "Adobe Monochrome"

    cyanotype = preset_results[PRESETS / "Presets" / "Alternative-Process" / "01 Cyanotype Classic.xmp"]
    assert cyanotype.monochrome and cyanotype.values["ColorGradeShadowHue"] == 220.0

    expired = preset_results[PRESETS / "Presets" / "Black-White" / "Kodak Tri-X 400 Expired.xmp"]
    assert expired.values["ColorGradeShadowHue"] == 330.0

    gold = preset_results[PRESETS / "research" / "OpenFilmStocks" / "2.1.3_Kodak_Gold_200.xmp"]
    assert (gold.name, gold.group, gold.description) == ("2.1.3 Kodak Gold 200", "OpenFilmStocks", None)
    assert gold.values["Contrast2012"] == 60.0 and len(gold.curves) == 4
    assert gold.unmodelled == {}
    assert {name: gold.values[name] for name in ("RedHue", "RedSaturation", "GreenHue", "GreenSaturation",
                                                 "BlueHue", "BlueSaturation")} == {
        "RedHue": 30.0, "RedSaturation": 40.0, "GreenHue": 60.0, "GreenSaturation": 5.0,
        "BlueHue": -5.0, "BlueSaturation": -10.0}


# ------------------------------------------------------------------------------ read_plan / write_plan
@pytest.mark.parametrize("suffix", [".json", ".xmp", ".XMP"])
def test_write_then_read(tmp_path, suffix):
    plan = Plan(values={"Exposure2012": -0.45, "Whites2012": 12, "ColorGradeMidtoneHue": 200},
                curves={"ToneCurvePV2012": [(0, 12), (255, 240)]}, name="Dusk", group="Mine")
    path = write_plan(plan, tmp_path / f"dusk{suffix}")
    assert path == tmp_path / f"dusk{suffix}"
    assert visible(read_plan(path)) == visible(plan) and read_plan(path).name == "Dusk"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_write_plan_refuses_existing_files(tmp_path):
    path = write_plan(Plan(values={"Contrast2012": 5}), tmp_path / "plan.json")
    with pytest.raises(ImageWriteError, match="already exists"):
        write_plan(Plan(values={"Contrast2012": 9}), path)
    assert read_plan(path).values == {"Contrast2012": 5.0}
    write_plan(Plan(values={"Contrast2012": 9}), path, overwrite=True)
    assert read_plan(path).values == {"Contrast2012": 9.0}


def test_write_plan_names_an_unnamed_xmp_after_the_file(tmp_path):
    assert read_plan(write_plan(Plan(), tmp_path / "Soft Light.xmp")).name == "Soft Light"


def test_plan_methods_use_the_formats(tmp_path):
    plan = Plan(values={"Vibrance": 15}, name="v")
    assert Plan.from_file(plan.save(tmp_path / "v.json")) == plan
    assert Plan.from_xmp(plan.to_xmp()).values == plan.values
    assert Plan.from_json(plan.to_json()) == plan


def test_read_plan_reads_param_files(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{"Exposure2012": {"value": 30}, "Contrast2012": {"value": -12}}')
    assert read_plan(path).values == {"Exposure2012": 0.3, "Contrast2012": -12.0}


@pytest.mark.parametrize("name, content, message", [
    ("missing.json", None, "no such file"),
    ("plan.yaml", "a: 1", "unknown plan format '.yaml'"),
    ("plan", "{}", "unknown plan format '(no suffix)'"),
    ("broken.json", '{"format": ', "not valid JSON"),
    ("broken.xmp", "404: Not Found", "not an XML document"),
    ("empty.xmp", " \n", "empty file"),
    ("bad.xmp", xmp('crs:Highlights2012="-140"'), "Highlights2012=-140 is out of range"),
])
def test_read_plan_errors_name_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(PlanError, match=re.escape(message)) as caught:
        read_plan(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_read_plan_refuses_a_directory(tmp_path):
    (tmp_path / "plan.json").mkdir()
    with pytest.raises(PlanError, match="is a directory"):
        read_plan(tmp_path / "plan.json")


def test_write_plan_refuses_unknown_suffix(tmp_path):
    with pytest.raises(PlanError, match="unknown plan format"):
        write_plan(Plan(), tmp_path / "plan.txt")
    assert list(tmp_path.iterdir()) == []
