"""JSON plans: our own format, and the VeraRetouch release's param file.

Our format keeps everything a `Plan` holds::

    {"format": "veraretouch.plan", "version": 1, "name": ..., "group": ..., "description": ...,
     "values": {"Exposure2012": 0.3, ...}, "curves": {"ToneCurvePV2012": [[0, 0], [255, 255]]},
     "unmodelled": {"Clarity2012": "+10"}}

The param file published with VeraRetouch carries only the 38 sliders, as integers::

    {"Exposure2012": {"value": 30}, "Contrast2012": {"value": -12}, ...}

The release's param prompt divides every value by 100. In Lightroom units that means:
``Exposure2012`` is in hundredths of an EV (30 -> +0.30 EV, Lightroom's two-decimal display),
and every other slider is in its own slider units (30 -> +30). Other keys of an entry are ignored.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Mapping

import numpy as np

from ..errors import PlanError
from . import Plan
from .parameters import CURVE_CHANNELS, SCALARS, SLIDERS, SPECS, param_index
from .unchanged import is_identity_curve, without_defaults

FORMAT = "veraretouch.plan"
VERSION = 1
DOCUMENT_FIELDS = ("format", "version", "name", "group", "description", "values", "curves", "unmodelled")
SLIDER_NAMES = tuple(spec.name for spec in SLIDERS)
PARAM_FILE_SCALE = {"Exposure2012": 100.0}
"""Param-file integer = Lightroom value x scale (1 for every slider not listed)."""

_PAIR = re.compile(r"\[\n\s+(\S+),\n\s+(\S+)\n\s+\]")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?')
"""A JSON string literal; the closing quote is optional so that an unterminated one is matched to
the end in one pass (a failed match restarting at every later quote would take quadratic time)."""
MAX_NESTING = 32
"""Deepest JSON nesting read: a plan is 3 levels deep; deeper documents are refused before parsing
(a 100,000-deep array otherwise ends in a RecursionError, tests/plan/test_plan_files.py)."""
MAX_INTEGER_DIGITS = 30
"""Longest integer literal read: Python would build a 5,000-digit int (and refuse past 4,300 digits)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _require_number(field: str, value: Any) -> float:
    try:
        number = float(value) if _is_number(value) else math.nan
    except OverflowError:  # an int beyond float range, from an object handed over already parsed
        number = math.inf
    if not math.isfinite(number):
        raise PlanError(f"{field}: expected a number, got {_short(value)}")
    return number


def _short(value: Any) -> str:
    if isinstance(value, int) and abs(value) >= 10 ** MAX_INTEGER_DIGITS:  # repr() refuses past 4,300 digits
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise PlanError(f"a number with {len(text.lstrip('-'))} digits; plan values are small numbers")
    return int(text)


def load_json(source: str | bytes) -> Any:
    """Parse JSON text (UTF-8, -16 or -32) with bounded nesting and integer length: every JSON plan
    is decoded here, so a hostile document is a `PlanError`, never a RecursionError or a huge int."""
    if isinstance(source, (bytes, bytearray)):
        try:
            source = bytes(source).decode(json.detect_encoding(source))
        except UnicodeDecodeError:
            raise PlanError("not valid JSON (the bytes are not UTF-8, -16 or -32 text)") from None
    depth = _nesting_depth(source)
    if depth > MAX_NESTING:
        raise PlanError(f"JSON nested {depth} deep; a plan is at most {MAX_NESTING} deep")
    try:
        return json.loads(source, parse_int=_bounded_int)
    except json.JSONDecodeError as error:
        raise PlanError(f"not valid JSON ({error})") from None


def _nesting_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting outside string literals."""
    brackets = np.frombuffer(_STRING.sub("", text).encode("utf-8", "replace"), np.uint8)
    steps = np.isin(brackets, _OPENING).astype(np.int64) - np.isin(brackets, _CLOSING)
    return int(np.cumsum(steps).max(initial=0))


_OPENING, _CLOSING = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def _require_text(field: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise PlanError(f"{field}: expected a string or null, got {value!r}")
    return value


def _require_object(field: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise PlanError(f"{field}: expected a JSON object, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------- our format
def plan_to_json(plan: Plan) -> str:
    """Our JSON document for ``plan``: values in tensor order, one curve point per line."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "name": plan.name,
        "group": plan.group,
        "description": plan.description,
        "values": {spec.name: _json_number(plan.values[spec.name]) for spec in SCALARS if spec.name in plan.values},
        "curves": {
            channel: [[_json_number(x), _json_number(y)] for x, y in plan.curves[channel]]
            for channel in CURVE_CHANNELS if channel in plan.curves
        },
        "unmodelled": dict(plan.unmodelled),
    }
    return _PAIR.sub(r"[\1, \2]", json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


def plan_from_json(source: str | bytes | Mapping) -> Plan:
    """A plan from JSON text or a parsed object, in our format or the VeraRetouch param file.

    A document with a ``"format"`` field is ours; one without our fields is read as a param file.
    """
    document = load_json(source) if isinstance(source, (str, bytes, bytearray)) else source
    document = _require_object("document", document)
    if "format" in document:
        return _plan_from_document(document)
    ours = [field for field in ("version", "values", "curves") if field in document]
    if ours:
        raise PlanError(f'format: missing; a veraretouch plan starts with "format": "{FORMAT}" '
                        f"(found {', '.join(ours)})")
    return plan_from_param_file(document)


def _plan_from_document(document: Mapping) -> Plan:
    if document["format"] != FORMAT:
        raise PlanError(f"format: expected {FORMAT!r}, got {document['format']!r}")
    if document.get("version") != VERSION or isinstance(document.get("version"), bool):
        raise PlanError(f"version: expected {VERSION}, got {document.get('version')!r}")
    unknown = [key for key in document if key not in DOCUMENT_FIELDS]
    if unknown:
        raise PlanError(f"unknown field {unknown[0]!r}; a plan has {', '.join(DOCUMENT_FIELDS)}")
    values = {
        name: _require_number(f"values.{name}", value)
        for name, value in _require_object("values", document.get("values", {})).items()
    }
    curves = {}
    for channel, points in _require_object("curves", document.get("curves", {})).items():
        if not isinstance(points, list) or not all(
            isinstance(point, list) and len(point) == 2 and all(map(_is_number, point)) for point in points
        ):
            raise PlanError(f"curves.{channel}: expected a list of [x, y] number pairs")
        curves[channel] = points
    unmodelled = _require_object("unmodelled", document.get("unmodelled", {}))
    bad = next((key for key, text in unmodelled.items() if not isinstance(text, str)), None)
    if bad is not None:
        raise PlanError(f"unmodelled.{bad}: expected a string, got {unmodelled[bad]!r}")
    return Plan(
        values=values,
        curves=curves,
        name=_require_text("name", document.get("name")),
        group=_require_text("group", document.get("group")),
        description=_require_text("description", document.get("description")),
        unmodelled=dict(unmodelled),
    )


# ---------------------------------------------------------------------------------------- param file
def plan_from_param_file(mapping: Mapping) -> Plan:
    """A plan from the VeraRetouch param file ``{"Exposure2012": {"value": 30}, ...}`` (see module doc)."""
    values = {}
    for name, entry in _require_object("document", mapping).items():
        param_index(name)
        if name not in SLIDER_NAMES:
            raise PlanError(f"{name}: a param file carries only the 38 sliders; use a veraretouch plan for {name}")
        if not isinstance(entry, Mapping) or "value" not in entry:
            raise PlanError(f'{name}: expected {{"value": <number>}}, got {entry!r}')
        values[name] = _require_number(f"{name}.value", entry["value"]) / PARAM_FILE_SCALE.get(name, 1.0)
    return Plan(values=without_defaults(values))


def plan_to_param_file(plan: Plan, allow_lossy: bool = False) -> dict[str, dict[str, int]]:
    """The param file for ``plan``: all 38 sliders as integers (exposure in hundredths of an EV).

    Colour grading, monochrome, non-identity curves and values that are not whole in param-file
    units cannot be carried: `PlanError` lists them, unless ``allow_lossy`` (then they are dropped
    or rounded).
    """
    document = {}
    lost = [name for name, value in plan.values.items() if name not in SLIDER_NAMES and value != SPECS[name].default]
    lost += [channel for channel, points in plan.curves.items() if not is_identity_curve(points)]
    for name in SLIDER_NAMES:
        scaled = plan.get(name) * PARAM_FILE_SCALE.get(name, 1.0)
        whole = round(scaled)
        if abs(scaled - whole) > 1e-6:
            lost.append(f"{name}={plan.get(name):g} (not whole in param-file units)")
        document[name] = {"value": int(whole)}
    if lost and not allow_lossy:
        raise PlanError(f"the param file cannot carry {', '.join(lost)}; pass allow_lossy=True to drop or round them")
    return document
