"""Train the antonym-aware instruction encoder (`reasoning.encoder.DirectionHead`) contrastively.

Data: generated requests for 20 edit directions (`DIRECTION_WORDS` in `TRAIN_TEMPLATES`), each with
a paraphrase of the same direction as its positive and the same template with the opposite words
as its hard negative ("make it warmer" against "make it cooler"); and requests for named presets
(`reasoning.text.style_instructions`) with the preset's look text as the positive, so look retrieval is
trained too. Loss: InfoNCE over the batch (every other positive and every hard negative are
negatives), temperature `TEMPERATURE`. MiniLM stays frozen, so its embeddings are computed once
and the head trains in seconds on a CPU.

`HELD_OUT_PHRASINGS` are written in other words and templates than the training data and are
used only to measure (``benchmarks/instruction_encoder.py``).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from ..reasoning.encoder import DirectionHead, DirectionHeadConfig
from ..reasoning.style import PROTOTYPE_TEXTS

TEMPERATURE = 0.05

DIRECTION_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # label: (adjectives / comparatives, noun phrases with "more")
    "brighter": (("brighter", "lighter", "more luminous", "sunnier"), ("light", "brightness", "exposure")),
    "darker": (("darker", "dimmer", "more shadowy", "gloomier"), ("darkness", "shadow", "gloom")),
    "more contrast": (("more contrasty", "punchier", "harder", "bolder in tone"), ("contrast", "punch", "tonal range")),
    "less contrast": (
        ("flatter", "softer", "gentler in tone", "lower in contrast"),
        ("softness", "flatness", "mellowness"),
    ),
    "more saturated": (
        ("more saturated", "more vivid", "more colourful", "richer in colour"),
        ("saturation", "colour", "vividness"),
    ),
    "less saturated": (("less saturated", "more muted", "duller", "paler"), ("muted colour", "desaturation", "pallor")),
    "warmer": (("warmer", "more golden", "more amber", "toastier"), ("warmth", "gold", "amber")),
    "cooler": (("cooler", "colder", "bluer", "icier"), ("coolness", "blue", "chill")),
    "black and white": (
        ("black and white", "monochrome", "greyscale", "colourless"),
        ("monochrome", "greyscale", "black and white"),
    ),
    "faded": (("more faded", "more matte", "washed", "milkier in the blacks"), ("fade", "matte", "haze in the blacks")),
    "denser blacks": (
        ("denser", "inkier", "deeper in the blacks", "crisper in the blacks"),
        ("black density", "depth in the blacks", "ink"),
    ),
    "brighter shadows": (
        ("brighter in the shadows", "more open in the shadows", "lighter in the shadows", "airier in the dark areas"),
        ("shadow detail", "light in the shadows", "fill light"),
    ),
    "darker highlights": (
        ("calmer in the highlights", "darker in the highlights", "less blown out", "softer in the bright areas"),
        ("highlight detail", "highlight recovery", "detail in the sky"),
    ),
    "magenta tint": (("pinker", "more magenta", "rosier", "more purple-pink"), ("magenta", "pink", "rose")),
    "green tint": (
        ("greener overall", "more green-tinted", "more olive", "more minty"),
        ("green tint", "olive", "mint"),
    ),
}
OPPOSITES = {"brighter": "darker", "more contrast": "less contrast", "more saturated": "less saturated",
             "warmer": "cooler", "faded": "denser blacks", "magenta tint": "green tint",
             "brighter shadows": "darker highlights", "black and white": "more saturated"}
OPPOSITES.update({b: a for a, b in list(OPPOSITES.items()) if b not in OPPOSITES})

TRAIN_TEMPLATES = ("make it {a}", "{a}, please", "can you make the photo {a}?", "I want it {a}", "go {a}",
                   "a {a} look", "make the picture {a}", "slightly {a}", "much {a}", "{a} overall",
                   "more {n}", "add {n}", "give it more {n}", "increase the {n}", "I'd like more {n}",
                   "a touch more {n}", "lots more {n}")
NEGATED_TEMPLATES = ("it's too {a}", "too {a}", "less {n}", "not so {a}", "reduce the {n}", "it looks too {a}",
                     "a bit less {n}", "take away some {n}")
"""Templates filled with the OPPOSITE direction's words: "too cold" asks for warmer."""
PROTOTYPES = PROTOTYPE_TEXTS
"""One plain request per direction: held-out phrasings are classified by their nearest prototype."""

HELD_OUT_PHRASINGS: tuple[tuple[str, str], ...] = (
    ("it needs more light", "brighter"), ("this is way too dim", "brighter"), ("lift the whole exposure", "brighter"),
    ("could you brighten things", "brighter"), ("the picture is murky, clear it up", "brighter"),
    ("it's too bright, bring it down", "darker"), ("take the exposure down", "darker"),
    ("I'd prefer a dimmer mood", "darker"), ("a more low-key rendering", "darker"), ("darken the scene", "darker"),
    ("more punch in the tones", "more contrast"), ("it looks flat, fix that", "more contrast"),
    ("stronger blacks-to-whites separation", "more contrast"), ("crank the contrast", "more contrast"),
    ("the contrast is too harsh", "less contrast"), ("flatten the tones", "less contrast"),
    ("a gentler tonal curve", "less contrast"), ("soften the contrast", "less contrast"),
    ("turn the colours up", "more saturated"), ("colours should be more intense", "more saturated"),
    ("juicier colour", "more saturated"), ("make the colours sing", "more saturated"),
    ("the colours are too strong", "less saturated"), ("tone down the colours", "less saturated"),
    ("a subdued palette", "less saturated"), ("drain some of the colour", "less saturated"),
    ("warm the tones", "warmer"), ("it feels too cold", "warmer"), ("give it a sunset glow", "warmer"),
    ("add some yellow to the white balance", "warmer"), ("a cosy, honeyed feel", "warmer"),
    ("chill the tones", "cooler"), ("less yellow please", "cooler"), ("it feels too warm", "cooler"),
    ("a wintry blue cast", "cooler"), ("shift the balance to blue", "cooler"),
    ("strip it to grey tones", "black and white"), ("a mono conversion", "black and white"),
    ("no colour at all", "black and white"), ("silver gelatin print feel", "black and white"),
    ("lift the black point for a faded finish", "faded"), ("a milky, matte finish", "faded"),
    ("make the blacks richer and inkier", "denser blacks"), ("remove the fade", "denser blacks"),
    ("recover the shadow detail", "brighter shadows"), ("open up the dark areas", "brighter shadows"),
    ("pull back the blown sky", "darker highlights"), ("tame the bright areas", "darker highlights"),
    ("a pink cast", "magenta tint"), ("push the tint to magenta", "magenta tint"),
    ("a green cast", "green tint"), ("push the tint to green", "green tint"),
)


def direction_examples(rng: random.Random, count: int, negations: bool = True) -> list[tuple[str, str, str, str]]:
    """``count`` (anchor, positive, hard negative, label) examples: a request, a paraphrase of the
    same direction, and the anchor's template with the opposite direction's words; with
    ``negations`` also "too X" / "less X" requests (`NEGATED_TEMPLATES`)."""
    labels = list(DIRECTION_WORDS)
    triples = []
    for _ in range(count):
        label = rng.choice(labels)
        template = rng.choice(TRAIN_TEMPLATES + NEGATED_TEMPLATES) if negations else rng.choice(TRAIN_TEMPLATES)
        anchor = _fill(template, label, rng)
        positive = _fill(rng.choice(TRAIN_TEMPLATES), label, rng) if rng.random() < 0.7 else PROTOTYPES[label]
        negative = _fill(template, OPPOSITES[label], rng)
        triples.append((anchor, positive, negative, label))
    return triples


def _fill(template: str, label: str, rng: random.Random) -> str:
    if template in NEGATED_TEMPLATES:
        label = OPPOSITES[label]
    adjectives, nouns = DIRECTION_WORDS[label]
    return template.format(a=rng.choice(adjectives), n=rng.choice(nouns))


@dataclass
class HeadTrainingConfig:
    direction_examples: int = 20000
    negations: bool = True
    look_examples_per_preset: int = 8
    steps: int = 1500
    batch: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    hidden: int = 768
    seed: int = 0


def train_direction_head(
    encode, looks: list[tuple[list[str], str]], config: HeadTrainingConfig
) -> tuple[DirectionHead, list[float]]:
    """Train a `DirectionHead` on frozen embeddings from ``encode`` (texts -> (N, 384) unit vectors).
    ``looks`` are (requests, look text) pairs. Returns the head and the loss per step."""
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    triples = direction_examples(rng, config.direction_examples, config.negations)
    pairs = [(request, text) for requests, text in looks for request in requests]
    texts = list(dict.fromkeys([t for triple in triples for t in triple[:3]] + [t for pair in pairs for t in pair]))
    index = {text: i for i, text in enumerate(texts)}
    embeddings = encode(texts)
    head = DirectionHead(DirectionHeadConfig(hidden=config.hidden))
    optimiser = torch.optim.AdamW(head.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    losses = []
    look_share = len(pairs) / (len(pairs) + len(triples)) if pairs else 0.0
    for _ in range(config.steps):
        direction_count = round(config.batch * (1 - look_share))
        chosen = [triples[rng.randrange(len(triples))] for _ in range(direction_count)]
        chosen += [(a, p, None, p) for a, p in (pairs[rng.randrange(len(pairs))]
                                                for _ in range(config.batch - direction_count))]
        anchors = head(embeddings[[index[a] for a, _, _, _ in chosen]])
        positives = head(embeddings[[index[p] for _, p, _, _ in chosen]])
        with_negative = [example for example in chosen if example[2] is not None]
        negatives = head(embeddings[[index[n] for _, _, n, _ in with_negative]])
        logits = anchors @ torch.cat([positives, negatives]).T / TEMPERATURE
        labels = [example[3] for example in chosen]
        negative_labels = [OPPOSITES[example[3]] for example in with_negative]
        false = torch.tensor([[a == b for b in labels + negative_labels] for a in labels])  # same direction or look
        false[:, :len(chosen)] &= ~torch.eye(len(chosen), dtype=torch.bool)
        loss = torch.nn.functional.cross_entropy(logits.masked_fill(false, float("-inf")), torch.arange(len(chosen)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    return head.eval(), losses


def direction_accuracy(encode, phrasings=HELD_OUT_PHRASINGS) -> dict:
    """Share of ``phrasings`` whose nearest `PROTOTYPES` entry is their direction, and the mean cosine
    margin between their own prototype and the opposite direction's."""
    labels = list(PROTOTYPES)
    prototypes = encode([PROTOTYPES[label] for label in labels])
    queries = encode([text for text, _ in phrasings])
    similarity = queries @ prototypes.T
    correct, margins = 0, []
    for row, (_, label) in enumerate(phrasings):
        correct += labels[int(similarity[row].argmax())] == label
        margins.append(float(similarity[row, labels.index(label)] - similarity[row, labels.index(OPPOSITES[label])]))
    return {"accuracy": round(correct / len(phrasings), 4), "mean_margin": round(sum(margins) / len(margins), 4),
            "phrasings": len(phrasings)}
