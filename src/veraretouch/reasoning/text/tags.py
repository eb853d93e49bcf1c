"""The six tagged spans of a reasoning text: names, tags, writing them and reading them back."""
from __future__ import annotations

import re

from ...plan.parameters import ASPECTS

SPAN_KINDS = ("problem", "plan")
SPAN_NAMES = tuple(f"{aspect}_{kind}" for aspect in ASPECTS for kind in SPAN_KINDS)
"""The six spans in the order a reasoning text holds them."""
TAGS = {name: (f"<{name}>", f"</{name}>") for name in SPAN_NAMES}
"""Span name -> (opening tag, closing tag):
``TAGS["lighting_problem"] == ("<lighting_problem>", "</lighting_problem>")``."""
(LIGHTING_PROBLEM, LIGHTING_PLAN, GLOBAL_COLOR_PROBLEM, GLOBAL_COLOR_PLAN,
 SPECIFIC_COLOR_PROBLEM, SPECIFIC_COLOR_PLAN) = SPAN_NAMES


def span_name(aspect: str, kind: str) -> str:
    """``span_name("lighting", "plan") == "lighting_plan"``."""
    if aspect not in ASPECTS or kind not in SPAN_KINDS:
        raise ValueError(f"unknown span {aspect!r} / {kind!r}")
    return f"{aspect}_{kind}"


def format_reasoning(spans: dict[str, tuple[str, str]]) -> str:
    """The tagged text of ``aspect -> (problem, plan)``: six spans, one per line, in `SPAN_NAMES` order."""
    lines = []
    for aspect in ASPECTS:
        for kind, content in zip(SPAN_KINDS, spans[aspect]):
            opening, closing = TAGS[span_name(aspect, kind)]
            lines.append(f"{opening}{content}{closing}")
    return "\n".join(lines)


_TAG_PATTERN = re.compile(r"<(/?)([a-z_]+)>")


def parse_tagged(text: str) -> tuple[dict[str, str], list[str]]:
    """The six span contents of a reasoning text, and what is wrong with its tags.

    Problems reported: unknown tags, spans missing, repeated, nested, unclosed or empty, and spans out
    of `SPAN_NAMES` order. Text outside the spans (e.g. the edit that follows) is allowed. A span that
    is opened and closed once is returned even when other spans are broken.
    """
    errors: list[str] = []
    spans: dict[str, str] = {}
    order: list[str] = []
    open_name, open_end = None, 0
    for match in _TAG_PATTERN.finditer(text):
        closing, name = match.group(1) == "/", match.group(2)
        if name not in TAGS:
            errors.append(f"unknown tag {match.group(0)}")
            continue
        if not closing:
            if open_name is not None:
                errors.append(f"<{name}> opens inside <{open_name}>, which is not closed")
            open_name, open_end = name, match.end()
            continue
        if open_name != name:
            errors.append(f"</{name}> closes a span that is not open")
            continue
        content = text[open_end:match.start()].strip()
        if name in spans:
            errors.append(f"<{name}> appears more than once")
        elif not content:
            errors.append(f"<{name}> is empty")
        else:
            spans[name] = content
        order.append(name)
        open_name = None
    if open_name is not None:
        errors.append(f"<{open_name}> is never closed")
    errors.extend(f"<{name}> is missing" for name in SPAN_NAMES if name not in order)
    seen = [name for name in SPAN_NAMES if name in order]
    firsts = list(dict.fromkeys(order))
    if firsts != seen:
        errors.append(f"spans out of order: {', '.join(firsts)} (expected {', '.join(seen)})")
    return spans, errors
