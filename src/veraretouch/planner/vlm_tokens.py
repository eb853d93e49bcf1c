"""The VLM planner's vocabulary and prompts (paper §Planner): special tokens, the three task prompts,
and the answer a planner is trained to write.

Tokens added to the language model's tokenizer (as whole, non-special tokens, so decoding keeps them):

- three retouch tokens, one per aspect (the renderer's three latents), in `ASPECTS` order (lighting, global colour,
  specific colour); the last layer's hidden states at their first occurrence in the answer feed the
  retouch head;
- the six span tags of `reasoning.text.tags` (``<lighting_problem>`` ... ``</specific_color_plan>``),
  opening and closing, so a tag is one token that cannot be misspelt;
- one task token per mode, which opens the prompt.

An answer is the tagged reasoning (problem and plan spans), then the three retouch tokens.
"""
from __future__ import annotations

import json
import re

from ..plan import Plan
from ..plan.jsonplan import plan_from_json, plan_to_param_file
from ..reasoning.text.tags import SPAN_NAMES, TAGS
from .base import MODES

RETOUCH_TOKENS = ("<retouch_light>", "<retouch_color&temp>", "<retouch_colormixer>")
"""Lighting, global colour (incl. temperature), specific colour (the colour mixer): the renderer's three aspects."""
SPAN_TOKENS = tuple(tag for name in SPAN_NAMES for tag in TAGS[name])
TASK_TOKENS = {mode: f"<task_{mode}>" for mode in MODES}
PLANNER_TOKENS = RETOUCH_TOKENS + SPAN_TOKENS + tuple(TASK_TOKENS.values())
"""Every token the planner adds to the tokenizer (18)."""

PARAM_DECIMALS = 3

_AGENT = "You are a professional photo retouching agent."
_ANSWER_FORMAT = ("For each of the three aspects, lighting, global color and specific color, write the problem "
                  "inside its problem tags and the plan inside its plan tags, then end with the three retouch tokens.")
_PROMPTS = {
    "auto": "{task}{agent} Look at this photo and find what is wrong with it in three aspects: lighting, global "
            "color and specific color. Then give the solution. {answer}",
    "style": "{task}{agent} Retouch this photo as the user asks: \"{instruction}\" Plan the retouch. {answer}",
    "param": "{task}{agent} Retouch this photo with these Lightroom slider values, each divided by 100: "
             "{instruction} Explain the retouch. {answer}",
}


def param_values_text(plan: Plan) -> str:
    """The paper's param instruction: the plan's non-zero sliders as a param file (`plan_to_param_file`,
    exposure in hundredths of an EV) with every value divided by 100 and rounded to 3 decimals, e.g.
    ``{"Exposure2012": 0.3, "Contrast2012": -0.12}``. Grading, monochrome and curves are not carried."""
    document = plan_to_param_file(plan, allow_lossy=True)
    values = {name: round(entry["value"] / 100, PARAM_DECIMALS) for name, entry in document.items() if entry["value"]}
    return json.dumps(values)


def param_instruction_text(instruction: str) -> str:
    """A param-mode instruction as the prompt carries it: a JSON plan (a VeraRetouch param file or our
    plan format, checked by `plan_from_json`) becomes `param_values_text`; a sentence is kept as it is."""
    text = instruction.strip()
    if not text.startswith("{"):
        return text
    return param_values_text(plan_from_json(text))


def build_prompt(mode: str, instruction: str | None = None) -> str:
    """The user turn for ``mode``: the task token, the agent role, the request (none in auto mode;
    the instruction in style mode; the slider values in param mode) and the answer format."""
    if mode not in _PROMPTS:
        raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if mode != "auto" and not (instruction and instruction.strip()):
        raise ValueError(f"{mode} mode needs an instruction")
    request = param_instruction_text(instruction) if mode == "param" else (instruction or "").strip()
    return _PROMPTS[mode].format(task=TASK_TOKENS[mode], agent=_AGENT, answer=_ANSWER_FORMAT, instruction=request)


def build_answer(reasoning: str) -> str:
    """The assistant text a planner is trained to write: the tagged reasoning, then the retouch tokens."""
    return f"{reasoning.strip()}\n{''.join(RETOUCH_TOKENS)}"


_RETOUCH_PATTERN = re.compile("|".join(re.escape(token) for token in RETOUCH_TOKENS))


def reasoning_of(answer: str) -> str:
    """An answer without its retouch tokens (`reasoning.text.tags.parse_tagged` reads the rest)."""
    return _RETOUCH_PATTERN.sub("", answer).strip()
