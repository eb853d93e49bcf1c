"""From a style request to a plan, saying what was understood.

`understand_request` reads the request (`requests.parse_request`), finds a named look
(`looks.LookLibrary`), and where the parser read nothing, asks the instruction encoder which
direction or look the words are nearest to. The plan is the look at the request's strength with
each direction intent on top; an intent always moves the photo its way (a look that cools is not
allowed to cancel "warmer"). Requests with nothing the toolkit can do raise `OutOfScopeRequest`;
requests with nothing it can read raise `RequestNotUnderstood`: never a random edit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from ..errors import VeraRetouchError
from ..plan.parameters import SPECS, default_params, param_index
from .looks import LOOK_STRENGTHS, LookLibrary, LookMatch, distinctive_words, scaled_plan
from .requests import Intent, check_in_scope, intent_moves, strength_of

ENCODER_MIN_SIMILARITY = 0.5
"""Below this cosine (instruction encoder) to every direction prototype and every look, words the
parser could not read are reported as not understood (benchmarks/style_requests.py)."""
NEAREST_LOOK_FACTOR = 0.5
"""How far a look found by meaning (not named) is applied: half way. On held-out presets asked for in
words, ΔE00 to the preset over the input's 0.977 at 1, 0.894 at 0.5 (benchmarks/style_requests.py)."""
PROTOTYPE_INTENTS = {
    "brighter": ("brightness", +1, None), "darker": ("brightness", -1, None),
    "more contrast": ("contrast", +1, None), "less contrast": ("contrast", -1, None),
    "more saturated": ("saturation", +1, None), "less saturated": ("saturation", -1, None),
    "warmer": ("warmth", +1, None), "cooler": ("warmth", -1, None), "black and white": ("monochrome", +1, None),
    "faded": ("fade", +1, None), "denser blacks": ("fade", -1, None),
    "brighter shadows": ("brightness", +1, "shadows"), "darker highlights": ("brightness", -1, "highlights"),
    "magenta tint": ("tint", +1, None), "green tint": ("tint", -1, None),
}
"""The direction each prototype of `training.instruction_encoder.PROTOTYPES` stands for."""
PROTOTYPE_TEXTS = {
    "brighter": "make it brighter",
    "darker": "make it darker",
    "more contrast": "make it more contrasty",
    "less contrast": "make it flatter",
    "more saturated": "make it more saturated",
    "less saturated": "make it less saturated",
    "warmer": "make it warmer",
    "cooler": "make it cooler",
    "black and white": "black and white",
    "faded": "faded",
    "denser blacks": "make it denser",
    "brighter shadows": "make it brighter in the shadows",
    "darker highlights": "make it calmer in the highlights",
    "magenta tint": "make it pinker",
    "green tint": "make it greener overall",
}


class RequestNotUnderstood(VeraRetouchError):
    """No edit could be read from a style request."""


@dataclass
class Understanding:
    """What a request was read as, and the ``(P,)`` plan it makes."""

    request: str
    intents: list[Intent]
    look: LookMatch | None
    strength: str
    params: torch.Tensor
    skipped: list[tuple[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    by_encoder: bool = False

    def summary(self) -> str:
        """"I read 'cool it down a touch' as: white balance cooler, small." and what was skipped."""
        parts = [intent.describe() for intent in self.intents]
        if self.look is not None:
            how = "named" if self.look.named else f"nearest look by meaning, similarity {self.look.score:.2f}"
            parts.insert(0, f"the look '{self.look.look.name}' ({self.look.look.category}, {how}), {self.strength}")
        text = f"I read '{self.request}' as: " + "; ".join(parts)
        if self.by_encoder:
            text += " (by meaning: no edit words I know)"
        if self.kept:
            text += "; kept: " + ", ".join(self.kept)
        if self.skipped:
            text += "; skipped (not supported): " + ", ".join(f"'{words}' ({what})" for words, what in self.skipped)
        if self.unread and not self.by_encoder and self.look is None:
            text += "; not understood: " + ", ".join(f"'{words}'" for words in self.unread)
        return text + "."

    def to_record(self) -> dict:
        record = {"summary": self.summary(),
                  "intents": [{"attribute": i.attribute, "direction": i.direction, "strength": i.strength,
                               "zone": i.zone, "bands": list(i.bands), "hue": i.hue, "words": i.words,
                               "as": i.describe()} for i in self.intents],
                  "skipped": [{"words": words, "unsupported": what} for words, what in self.skipped],
                  "kept": self.kept, "by_encoder": self.by_encoder}
        if self.look is not None:
            look = self.look.look
            record["look"] = {"name": look.name, "category": look.category, "file": look.file,
                              "named": self.look.named, "similarity": round(self.look.score, 3),
                              "strength": self.strength, "source": "peva3/Lightroom-Presets (MIT)"}
        return record


def understand_request(request: str, library: LookLibrary) -> Understanding:
    """Read ``request`` into intents and a look (see the module docstring) and build the plan."""
    parsed = check_in_scope(request)
    intents = list(parsed.intents)
    unread = ", ".join(parsed.unread)
    named = library.named(unread, unread, count=1)  # words an intent used ("more light") name no look
    look = named[0] if named else None
    by_encoder = False
    if look is None and parsed.unread and library.encoder is not None:
        words = ", ".join(parsed.unread)
        best_look = library.nearest(words, count=1)[0]
        label, similarity = nearest_direction(library.encoder, words)
        if not intents and similarity >= max(ENCODER_MIN_SIMILARITY, best_look.score):
            attribute, direction, zone = PROTOTYPE_INTENTS[label]
            intents = [Intent(attribute, direction, parsed.strength, zone, words=words)]
            by_encoder = True
        elif best_look.score >= ENCODER_MIN_SIMILARITY:
            look = best_look
    if not intents and look is None:
        raise RequestNotUnderstood(
            f"could not read an edit in {request!r}: say what to change (warmer, brighter, more contrast, less "
            "saturated greens, black and white) or name a look ('Kodak Portra', 'matte fade', 'teal and orange')")
    if look is not None and look.named:  # words of the look's name are the look, not an edit of their own
        name = distinctive_words(look.look.name)
        clauses = [i.words for i in intents if name & set(re.findall(r"[a-z0-9]+", i.words))] + parsed.unread
        intents = [i for i in intents if i.words not in clauses]
        strength = (strength_of(", ".join(clauses)) or "medium") if intents else parsed.strength
    else:
        strength = (strength_of(", ".join(parsed.unread)) or "medium") if intents else parsed.strength
    factor = LOOK_STRENGTHS[strength] * (1.0 if look is None or look.named else NEAREST_LOOK_FACTOR)
    params = scaled_plan(look.look.plan, factor) if look else default_params()
    for intent in intents:
        params = apply_intent(params, intent)
    return Understanding(request, intents, look, strength, params, parsed.skipped, parsed.kept,
                         parsed.unread, by_encoder)


def apply_intent(params: torch.Tensor, intent: Intent) -> torch.Tensor:
    """``(P,)`` parameters with one intent's moves on top: set outright (monochrome, toning) or added,
    and an added move never ends on the wrong side of the identity (the intent's direction holds)."""
    params = params.clone()
    moves, absolute = intent_moves(intent)
    for name, move in moves.items():
        index, spec = param_index(name), SPECS[name]
        if absolute:
            value = move
        else:
            value = float(params[index]) + move
            if (value - spec.default) * move <= 0:
                value = spec.default + move
        params[index] = min(max(value, spec.minimum), spec.maximum)
    return params


def nearest_direction(encoder, text: str) -> tuple[str, float]:
    """The direction prototype nearest to ``text`` by the instruction encoder, and its cosine."""
    labels = list(PROTOTYPE_TEXTS)
    similarity = (encoder([text]) @ encoder([PROTOTYPE_TEXTS[label] for label in labels]).T)[0]
    best = int(similarity.argmax())
    return labels[best], float(similarity[best])
