"""Lightroom / Camera Raw XMP develop presets <-> `Plan`.

Reading (`plan_from_xmp`) uses defusedxml with DTDs forbidden, so a document that declares
entities (billion laughs, external entities) is refused with a `PlanError` instead of expanded.
Settings are the ``crs:`` properties of the ``rdf:Description`` elements directly under
``rdf:RDF``, in attribute form (``crs:Exposure2012="+0.30"``) or element form
(``<crs:Exposure2012>+0.30</crs:Exposure2012>``). Rules:

- the 38 sliders, ``ColorGrade*``, the B&W mixer (``GrayMixer*``), camera calibration, raw white
  balance (``Temperature`` / ``Tint``) and the finishing effects (vignette, grain, clarity,
  texture, dehaze, sharpening) become ``plan.values``; `FIELD_ALIASES` and signed temperatures
  (`TEMPERATURE_REFERENCE_K`) are normalised first; point curves
  (``ToneCurvePV2012`` and its Red/Green/Blue) are ``rdf:Seq`` lists of ``"x, y"`` items;
- ``Treatment="Monochrome"`` or the legacy ``ConvertToGrayscale="True"`` sets ``Monochrome`` to 1;
- legacy split toning (``SplitToningShadowHue/Saturation``, ``SplitToningHighlightHue/Saturation``,
  ``SplitToningBalance``) fills the matching ``ColorGrade*`` field when the file does not carry
  that ColorGrade field itself; when it does, the split-toning field is the mirror Lightroom writes
  for old readers and is ignored. Blending stays at its default: split toning had no such control;
- ``crs:Look`` holds the profile in a nested ``rdf:Description``; its fields never overwrite the
  preset's own, and its name is recorded as ``unmodelled["Look"]``;
- `BOOKKEEPING_FIELDS` (identity, compatibility and version stamps) are ignored silently;
- every other field is an edit we do not render and is kept as text in ``plan.unmodelled``,
  unless it is a no-op: at its `NEUTRAL_VALUES` value, or a detail of an effect whose amount is
  neutral (`DEPENDENT_FIELDS`: grain size when there is no grain, ...);
- controls at their default and identity curves are dropped: a plan lists what changes the picture;
- a value out of range is a `PlanError` naming the field, except hues, which are angles and are
  wrapped into 0..360 (`HUE_FIELDS`).

Writing (`plan_to_xmp`) produces a develop preset Lightroom imports, with numbers formatted as
Lightroom writes them (exposure ``"+0.30"``, sliders ``"-35"``, unsigned for 0-based ranges).
"""
from __future__ import annotations

import re
import uuid
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ..errors import PlanError
from . import Plan
from .parameters import CURVE_CHANNELS, SCALARS, SPECS
from .unchanged import is_identity_curve, without_defaults

CRS_NS = "http://ns.adobe.com/camera-raw-settings/1.0/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X_NS = "adobe:ns:meta/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_CRS = f"{{{CRS_NS}}}"
_RDF = f"{{{RDF_NS}}}"

PROCESS_VERSION = "15.4"

MODELLED_FIELDS = frozenset(spec.name for spec in SCALARS if spec.name != "Monochrome")
"""``crs:`` fields read straight into ``plan.values`` (Monochrome comes from ``Treatment``)."""

BOOKKEEPING_FIELDS = frozenset({
    "PresetType", "UUID", "ProcessVersion", "Version", "HasSettings", "Cluster",
    "RequiresRenditionBehavior", "CameraModelRestriction", "Copyright", "ContactInfo",
    "SortName", "ShortName", "ToneCurveName2012",
})
"""Fields that describe the preset file rather than the edit; ``Supports*`` fields are bookkeeping too."""

DEFAULT_PARAMETRIC_SPLITS = {"ParametricShadowSplit": 25.0, "ParametricMidtoneSplit": 50.0,
                             "ParametricHighlightSplit": 75.0}
"""Zone splits of the parametric curve: bookkeeping at these defaults, an unmodelled edit otherwise."""

LEGACY_SPLIT_TONING = {
    "SplitToningShadowHue": "ColorGradeShadowHue",
    "SplitToningShadowSaturation": "ColorGradeShadowSat",
    "SplitToningHighlightHue": "ColorGradeHighlightHue",
    "SplitToningHighlightSaturation": "ColorGradeHighlightSat",
    "SplitToningBalance": "ColorGradeBalance",
}

NEUTRAL_VALUES = {
    name: 0.0 for name in ("VignetteAmount", "LuminanceSmoothing", "DefringePurpleAmount", "DefringeGreenAmount")
} | {"Amount": 1.0}
"""Unmodelled fields whose value here is a no-op in Lightroom (``Amount`` is the preset strength)."""

HUE_FIELDS = frozenset(spec.name for spec in SCALARS if spec.unit == "degrees")
"""Hues are angles: a value outside 0..360 (one real preset has ``-30``) is wrapped, not refused."""

DEPENDENT_FIELDS = {
    "DefringePurple": "DefringePurpleAmount",
    "DefringeGreen": "DefringeGreenAmount",
}
"""Field-name prefix -> the amount that switches the effect on; details of a neutral effect are no-ops."""

FIELD_ALIASES = {
    "SharpnessRadius": "SharpenRadius", "SharpnessDetail": "SharpenDetail",
    "SharpnessMasking": "SharpenEdgeMasking", "SharpnessEdgeMasking": "SharpenEdgeMasking",
    "GrainRoughness": "GrainFrequency",
}
"""Names some preset tools write for Lightroom's sharpening details and grain roughness (56 of the
shared presets);
Lightroom itself ignores them, but their author meant the ``Sharpen*`` fields, so they are read
as those (a file's own ``Sharpen*`` field wins). They are written back under Lightroom's names."""

TEMPERATURE_REFERENCE_K = 5500.0
"""A signed ``Temperature`` (``"+400"``, in 38 shared presets) cannot be Lightroom's own writing,
which is an unsigned Kelvin value from 2000 to 50000: it is read as a shift from daylight
(5500 K, the `Temperature` default), so ``"+400"`` is 5900 K and ``"-500"`` 5000 K."""

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

RawValue = str | list[str]


# ---------------------------------------------------------------------------------------- reading
def plan_from_xmp(source: str | bytes) -> Plan:
    """Parse an XMP develop preset (or sidecar) into a `Plan`; `PlanError` names the bad field."""
    fields, look = _crs_fields(_parse_xml(source))
    values: dict[str, float] = {}
    curves: dict[str, list[tuple[float, float]]] = {}
    meta: dict[str, str | None] = {"Name": None, "Group": None, "Description": None}
    unmodelled: dict[str, str] = {}
    for alias, name in FIELD_ALIASES.items():
        if alias in fields:
            fields.setdefault(name, fields.pop(alias))
    if isinstance(fields.get("Temperature"), str) and fields["Temperature"][:1] in "+-":
        fields["Temperature"] = repr(TEMPERATURE_REFERENCE_K + _number("Temperature", fields["Temperature"]))
    for name, raw in fields.items():
        if name in HUE_FIELDS:
            values[name] = _hue(name, raw)
        elif name in MODELLED_FIELDS:
            values[name] = _number(name, raw)
        elif name in CURVE_CHANNELS:
            curves[name] = _curve(name, raw)
        elif name in meta:
            meta[name] = _text(name, raw) or None
        elif name in ("Treatment", "ConvertToGrayscale") or name in LEGACY_SPLIT_TONING:
            continue
        elif not _is_bookkeeping(name, raw):
            unmodelled[name] = raw if isinstance(raw, str) else "; ".join(raw)
    for legacy, modern in LEGACY_SPLIT_TONING.items():
        if legacy in fields and modern not in fields:
            values[modern] = (_hue if modern in HUE_FIELDS else _number)(legacy, fields[legacy])
    if _is_monochrome(fields):
        values["Monochrome"] = 1.0
    if look is not None:
        unmodelled["Look"] = look
    return Plan(
        values=without_defaults(values),
        curves={name: points for name, points in curves.items() if not is_identity_curve(points)},
        name=meta["Name"], group=meta["Group"], description=meta["Description"],
        unmodelled=_edits_only(unmodelled),
    )


def _parse_xml(source: str | bytes) -> Element:
    try:
        root = fromstring(source, forbid_dtd=True)
    except DefusedXmlException as error:
        raise PlanError(f"refused: the XMP declares a DTD or entities, which presets never need ({error})") from None
    except ParseError as error:
        raise PlanError(f"not an XML document ({error})") from None
    return root


def _crs_fields(root: Element) -> tuple[dict[str, RawValue], str | None]:
    """Raw ``crs:`` fields of the top-level descriptions, and the name of the ``crs:Look`` profile."""
    rdf = root if root.tag == f"{_RDF}RDF" else next(root.iter(f"{_RDF}RDF"), None)
    if rdf is None:
        raise PlanError("not an XMP document: no rdf:RDF element")
    fields: dict[str, RawValue] = {}
    look: str | None = None
    for description in rdf.findall(f"{_RDF}Description"):
        for key, text in description.attrib.items():
            if key.startswith(_CRS):
                fields[key[len(_CRS):]] = text.strip()
        for child in description:
            if not child.tag.startswith(_CRS):
                continue
            name = child.tag[len(_CRS):]
            if name == "Look":
                look = _look_name(child)
            else:
                fields[name] = _element_value(child)
    if not fields and look is None:
        raise PlanError("not a develop preset: no Camera Raw (crs:) settings found")
    return fields, look


def _element_value(element: Element) -> RawValue:
    """Text of a simple element, the default-language entry of an rdf:Alt, or the items of an rdf:Seq/Bag."""
    alt = element.find(f"{_RDF}Alt")
    if alt is not None:
        return _alt_text(alt)
    array = element.find(f"{_RDF}Seq")
    if array is None:
        array = element.find(f"{_RDF}Bag")
    if array is not None:
        items = array.findall(f"{_RDF}li")
        if any(len(item) for item in items):
            return f"({len(items)} structured entries)"
        return [(item.text or "").strip() for item in items]
    if len(element):
        return "(structured value)"
    return (element.text or "").strip()


def _alt_text(alt: Element) -> str:
    items = alt.findall(f"{_RDF}li")
    chosen = next((item for item in items if item.get(XML_LANG) == "x-default"), items[0] if items else None)
    return "" if chosen is None else (chosen.text or "").strip()


def _look_name(look: Element) -> str:
    holder = look.find(f"{_RDF}Description")
    if holder is None:
        holder = look
    name = holder.get(f"{_CRS}Name")
    if name is None:
        element = holder.find(f"{_CRS}Name")
        name = "" if element is None else str(_element_value(element))
    return name.strip() or "(unnamed profile)"


def _text(name: str, raw: RawValue) -> str:
    if not isinstance(raw, str):
        raise PlanError(f"crs:{name}: expected text, got a list")
    return raw


def _number(name: str, raw: RawValue) -> float:
    text = _text(name, raw)
    if not _NUMBER.fullmatch(text):
        raise PlanError(f"crs:{name}: expected a number, got {text!r}")
    return float(text)


def _hue(name: str, raw: RawValue) -> float:
    """A hue in degrees, wrapped into 0..360 when it lies outside (-30 is 330)."""
    degrees = _number(name, raw)
    return degrees if 0.0 <= degrees <= 360.0 else degrees % 360.0


def _curve(name: str, raw: RawValue) -> list[tuple[float, float]]:
    if isinstance(raw, str):
        raise PlanError(f"crs:{name}: expected an rdf:Seq of \"x, y\" points, got {raw!r}")
    points = []
    for item in raw:
        parts = [part.strip() for part in item.split(",")]
        if len(parts) != 2 or not all(_NUMBER.fullmatch(part) for part in parts):
            raise PlanError(f"crs:{name}: expected a point \"x, y\", got {item!r}")
        points.append((float(parts[0]), float(parts[1])))
    return points


def _is_monochrome(fields: dict[str, RawValue]) -> bool:
    """Either flag asks for black and white (two cyanotype presets say Treatment=Color but ConvertToGrayscale=True)."""
    treatment = _text("Treatment", fields.get("Treatment", "Color"))
    if treatment not in ("Color", "Monochrome"):
        raise PlanError(f"crs:Treatment: expected Color or Monochrome, got {treatment!r}")
    grayscale = _text("ConvertToGrayscale", fields.get("ConvertToGrayscale", "False"))
    if grayscale.lower() not in ("true", "false"):
        raise PlanError(f"crs:ConvertToGrayscale: expected True or False, got {grayscale!r}")
    return treatment == "Monochrome" or grayscale.lower() == "true"


def _is_bookkeeping(name: str, raw: RawValue) -> bool:
    if name in BOOKKEEPING_FIELDS or name.startswith("Supports"):
        return True
    if name in DEFAULT_PARAMETRIC_SPLITS and isinstance(raw, str) and _NUMBER.fullmatch(raw):
        return float(raw) == DEFAULT_PARAMETRIC_SPLITS[name]
    return False


def _is_neutral(name: str, unmodelled: dict[str, str]) -> bool:
    text = unmodelled.get(name)
    return text is None or (name in NEUTRAL_VALUES and bool(_NUMBER.fullmatch(text))
                            and float(text) == NEUTRAL_VALUES[name])


def _edits_only(unmodelled: dict[str, str]) -> dict[str, str]:
    """Drop unmodelled fields that change nothing: neutral values and details of neutral effects."""
    kept = {}
    for name, text in unmodelled.items():
        if _is_neutral(name, unmodelled):
            continue
        master = next((amount for prefix, amount in DEPENDENT_FIELDS.items() if name.startswith(prefix)), None)
        if master is not None and master != name and _is_neutral(master, unmodelled):
            continue
        kept[name] = text
    return kept


# ---------------------------------------------------------------------------------------- writing
def format_value(name: str, value: float) -> str:
    """A slider value as Lightroom writes it: exposure ``+0.30``, integers ``-35``, else two decimals.

    Ranges with negative values carry an explicit ``+``; hue, saturation and blending (0-based) do not.
    Lightroom stores two decimals, so finer values are rounded.
    """
    spec = SPECS[name]
    rounded = round(value, 2) + 0.0
    sign = "+" if spec.minimum < 0 else ""
    if spec.unit == "EV":
        return "0.00" if rounded == 0 else f"{rounded:{sign}.2f}"
    if rounded == 0:
        return "0"
    if rounded.is_integer():
        return f"{int(rounded):{sign}d}"
    return f"{rounded:{sign}.2f}"


def _coordinate(value: float) -> str:
    rounded = round(value, 2) + 0.0
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:.2f}"


def _alt_element(name: str, text: str) -> list[str]:
    if _NOT_XML.search(text):
        raise PlanError(f"{name.lower()}: contains control characters that XML cannot hold: {text!r}")
    return [
        f"   <crs:{name}>",
        "    <rdf:Alt>",
        f'     <rdf:li xml:lang="x-default">{escape(text)}</rdf:li>',
        "    </rdf:Alt>",
        f"   </crs:{name}>",
    ]


def _seq_element(name: str, points: tuple[tuple[float, float], ...]) -> list[str]:
    xs = [round(x, 2) for x, _ in points]
    if any(b <= a for a, b in zip(xs, xs[1:])):
        raise PlanError(f"{name}: control points closer than 0.01 in x cannot be written with two decimals")
    items = [f"     <rdf:li>{_coordinate(x)}, {_coordinate(y)}</rdf:li>" for x, y in points]
    return [f"   <crs:{name}>", "    <rdf:Seq>", *items, "    </rdf:Seq>", f"   </crs:{name}>"]


def plan_to_xmp(plan: Plan, fallback_name: str = "Untitled") -> str:
    """A Lightroom develop preset holding exactly what veraretouch renders for ``plan``.

    Only the plan's set values and curves are written (a preset leaves other settings untouched);
    ``plan.unmodelled`` is not written back. Lightroom needs a preset name: ``fallback_name`` is
    used when the plan has none. ``Monochrome`` becomes ``Treatment`` (a fraction is rounded).
    """
    attributes = [
        ("PresetType", "Normal"),
        ("UUID", uuid.uuid4().hex.upper()),
        *((f"Supports{what}", "True") for what in (
            "Amount", "Color", "Monochrome", "HighDynamicRange", "NormalDynamicRange", "SceneReferred",
            "OutputReferred")),
        ("ProcessVersion", PROCESS_VERSION),
        ("Version", PROCESS_VERSION),
        ("Treatment", "Monochrome" if plan.monochrome else "Color"),
        *((spec.name, format_value(spec.name, plan.values[spec.name]))
          for spec in SCALARS if spec.name in plan.values and spec.name != "Monochrome"),
    ]
    if plan.curves:
        attributes.append(("ToneCurveName2012", "Custom"))
    attributes.append(("HasSettings", "True"))
    body = [f"   crs:{name}={quoteattr(text)}" for name, text in attributes]
    body[-1] += ">"
    elements = _alt_element("Name", plan.name or fallback_name)
    if plan.group:
        elements += _alt_element("Group", plan.group)
    if plan.description:
        elements += _alt_element("Description", plan.description)
    for channel in CURVE_CHANNELS:
        if channel in plan.curves:
            elements += _seq_element(channel, plan.curves[channel])
    lines = [
        f'<x:xmpmeta xmlns:x="{X_NS}" x:xmptk="veraretouch">',
        f' <rdf:RDF xmlns:rdf="{RDF_NS}">',
        '  <rdf:Description rdf:about=""',
        f'    xmlns:crs="{CRS_NS}"',
        *body,
        *elements,
        "  </rdf:Description>",
        " </rdf:RDF>",
        "</x:xmpmeta>",
    ]
    return "\n".join(lines) + "\n"
