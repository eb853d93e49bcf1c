"""Named looks: a compact library of preset looks ("Kodak Portra 400", "Matte Fade", "Moody PNW"),
found by the words of a request and applied at the strength it asks for.

`build_look_library` reads a folder of Lightroom presets (the layout of peva3/Lightroom-Presets,
MIT: ``Presets/<Category>/*.xmp`` and ``docs/<category>.md`` tables that describe each preset)
into `Look`s: name, category, a one-line description and the plan. The library that ships
(``weights/looks/looks.json``, rebuilt by ``benchmarks/build_looks.py``) holds the 451 presets of
that repository that parse, with its licence text.

`LookLibrary.match` scores looks by the request's distinctive words found in a look's name (IDF
weighted: "portra" counts, "film" does not) and, where an encoder is given, by sentence similarity
to the look's text; `scaled_plan` moves a look's plan part way from the identity ("a touch of
Portra").
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import VeraRetouchError
from ..plan import Plan
from ..plan.parameters import GRADING, MONOCHROME_INDEX, default_params, param_index

LIBRARY_FORMAT = "veraretouch.looks"
LOOK_STRENGTHS = {"small": 0.5, "medium": 1.0, "large": 1.25, "very large": 1.5}
"""How far a look goes from the identity for each request strength (1 = the preset as published)."""
NAME_MATCH_MIN = 0.5
"""A look is named by a request when its distinctive name words found in the request carry at least this
share of the name's IDF weight ("portra" in "Kodak Portra 400"; benchmarks/style_requests.py)."""
GENERIC_WORDS = frozenset(
    "a an the and of in on with for to it its this that my look looks style styled feel vibe vibes film films preset "
    "presets photo photograph picture image edit please make give me like some want would could can you i color "
    "colors tone tones grade graded grading effect filter shot version classic new old tuned pro plus mode".split())
_HUES = {spec.name for spec in GRADING if spec.name.endswith("Hue")}


@dataclass
class Look:
    name: str
    category: str
    description: str
    plan: Plan
    file: str

    @property
    def text(self) -> str:
        """What the encoder compares a request with: name, category and description."""
        return f"{self.name}. {self.category.replace('-', ' ')} look. {self.description}".strip()

    def to_record(self) -> dict:
        return {"name": self.name, "category": self.category, "description": self.description,
                "file": self.file, "plan": json.loads(self.plan.to_json())}


def display_name(name: str) -> str:
    """"07 Kodak-Portra-400 [BW]" -> "Kodak Portra 400": numbering, tags and hyphens removed."""
    text = re.sub(r"^\s*[\d.]+\s+", "", name.replace("_", " "))
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)", "", text)
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)
    return re.sub(r"\s+", " ", text).strip(" -")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", display_name(name).lower())


def _descriptions(docs: Path) -> dict[str, str]:
    """Preset key -> the "Character / Source" cell of the category tables in ``docs/*.md``."""
    found: dict[str, str] = {}
    for path in sorted(docs.glob("*.md")) if docs.is_dir() else ():
        for line in path.read_text(errors="replace").splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) >= 3 and cells[1].startswith("**"):
                text = re.sub(r"\*\*|`", "", cells[2])
                text = re.sub(r"^Type:\s*", "", text)
                found.setdefault(_key(cells[1].strip("*")), text[:200])
    return found


def build_look_library(folder: str | Path, exclude: set[str] | None = None) -> list[Look]:
    """Looks from a presets folder (``Presets/<Category>/*.xmp`` or ``<Category>/*.xmp``, with
    ``docs/*.md`` descriptions where present); files in ``exclude`` (names) and files that do not
    parse are left out."""
    from ..errors import PlanError

    folder = Path(folder)
    root = folder / "Presets" if (folder / "Presets").is_dir() else folder
    descriptions = _descriptions(folder / "docs")
    looks = []
    for path in sorted(root.rglob("*.xmp")):
        if exclude and path.name in exclude:
            continue
        try:
            plan = Plan.from_file(path)
        except PlanError:
            continue
        name = display_name(plan.name or path.stem)
        description = descriptions.get(_key(plan.name or path.stem)) or descriptions.get(_key(path.stem), "")
        looks.append(Look(name, path.parent.name, description, Plan(plan.values, plan.curves),
                          str(path.relative_to(folder))))
    if not looks:
        raise VeraRetouchError(f"{folder}: no Lightroom presets (.xmp) found")
    return looks


def save_look_library(looks: list[Look], path: str | Path, source: str, licence: str) -> Path:
    """Write looks as JSON with where they came from and the licence they are used under."""
    from ..io.atomic import atomic_write_text

    document = {"format": LIBRARY_FORMAT, "version": 1, "source": source, "licence": licence,
                "looks": [look.to_record() for look in looks]}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(document, separators=(",", ":")) + "\n", overwrite=True)
    return path


def load_look_library(path: str | Path) -> list[Look]:
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise VeraRetouchError(f"{path}: not a look library ({error})") from None
    if document.get("format") != LIBRARY_FORMAT:
        raise VeraRetouchError(f"{path}: not a look library (format {document.get('format')!r})")
    return [Look(r["name"], r["category"], r["description"], Plan.from_json(r["plan"]), r["file"])
            for r in document["looks"]]


def _embeddings_path(library: Path) -> Path:
    return library.with_name("embeddings.safetensors")


def save_look_embeddings(looks: list[Look], encoder, library: str | Path) -> Path:
    """Store the looks' text embeddings beside the library, tagged with the encoder's fingerprint."""
    from safetensors.torch import save_file

    path = _embeddings_path(Path(library))
    save_file({"embeddings": encoder([look.text for look in looks]).half().contiguous()}, str(path),
              metadata={"encoder": encoder.fingerprint})
    return path


def load_look_embeddings(library: str | Path, encoder, count: int) -> torch.Tensor | None:
    """The stored embeddings when ``encoder`` made them (same fingerprint and count), else None."""
    from safetensors import safe_open

    path = _embeddings_path(Path(library))
    if encoder is None or not path.exists():
        return None
    with safe_open(str(path), framework="pt") as stored:
        if stored.metadata().get("encoder") != encoder.fingerprint:
            return None
        embeddings = stored.get_tensor("embeddings").float()
    return torch.nn.functional.normalize(embeddings, dim=-1) if len(embeddings) == count else None


def shipped_library_path() -> Path:
    return Path(__file__).resolve().parents[1] / "weights" / "looks" / "looks.json"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("colour", "color"))


def distinctive_words(text: str) -> set[str]:
    """The words of a look name that can name it: "Kodak Portra 400 Film" -> {kodak, portra, 400}."""
    return {w for w in _words(text) if w not in GENERIC_WORDS}


def _stem(word: str) -> str:
    """"moodier" -> "moody", "pastels" -> "pastel": enough to find a request's word in look names."""
    for suffix, replacement in (("ier", "y"), ("iest", "y"), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 3:
            return word[: -len(suffix)] + replacement
    return word


@dataclass
class LookMatch:
    look: Look
    score: float
    """The name share (0..1) of a named look, else the encoder's cosine similarity."""
    named: bool
    """True when the request names the look (its distinctive name words), not only resembles it."""


class LookLibrary:
    """Looks with the IDF of their name words, and their text embeddings when an encoder is given."""

    def __init__(self, looks: list[Look], encoder=None, embeddings: torch.Tensor | None = None) -> None:
        self.looks = looks
        self.encoder = encoder
        counts: dict[str, int] = {}
        self.name_words = []
        for look in looks:
            words = distinctive_words(look.name)
            self.name_words.append(words)
            for word in words:
                counts[word] = counts.get(word, 0) + 1
        self.idf = {word: math.log(1 + len(looks) / count) for word, count in counts.items()}
        self._embeddings = embeddings

    @classmethod
    def shipped(cls, encoder=None) -> "LookLibrary":
        """The shipped looks, with their shipped text embeddings when they were made by ``encoder``
        (embedding 451 descriptions takes tens of seconds on a busy CPU)."""
        looks = load_look_library(shipped_library_path())
        return cls(looks, encoder, load_look_embeddings(shipped_library_path(), encoder, len(looks)))

    def embeddings(self) -> torch.Tensor:
        if self._embeddings is None:
            self._embeddings = self.encoder([look.text for look in self.looks])
        return self._embeddings

    def name_scores(self, request: str, unread: str = "") -> torch.Tensor:
        """Per look, the IDF share of its distinctive name words that ``request`` holds, or where
        larger, the IDF share of the distinctive words of ``unread`` that its name holds ("moody"
        names every Moody look; "Scala 200" does not name "Kodachrome 200": "scala", a word no
        name has, weighs most). A name matched by numbers alone is not named (0..1)."""
        words = set(_words(request))
        wanted = {_stem(w) for w in _words(unread) if w not in GENERIC_WORDS}
        rare = math.log(1 + len(self.looks))
        scores = []
        for names in self.name_words:
            total = sum(self.idf[w] for w in names)
            found = names & words
            share = sum(self.idf[w] for w in found) / total if total else 0.0
            if wanted:
                found_wanted = wanted & names
                coverage = sum(self.idf[w] for w in found_wanted) / sum(self.idf.get(w, rare) for w in wanted)
                if coverage > share:
                    share, found = coverage, found_wanted
            scores.append(share if any(not w.isdigit() for w in found) else 0.0)
        return torch.tensor(scores)

    def named(self, request: str, unread: str = "", count: int = 3) -> list[LookMatch]:
        """Looks the request names (`name_scores` >= `NAME_MATCH_MIN`), best first: by name share,
        then by the share of their name the request holds, then shorter names first."""
        names = self.name_scores(request, unread)
        named = torch.nonzero(names >= NAME_MATCH_MIN).flatten().tolist()
        full = self.name_scores(request)
        named.sort(key=lambda i: (-float(names[i]), -float(full[i]), len(self.name_words[i]), i))
        return [LookMatch(self.looks[i], float(names[i]), True) for i in named[:count]]

    def nearest(self, text: str, count: int = 3) -> list[LookMatch]:
        """The ``count`` looks most similar to ``text`` by the encoder (none without one)."""
        if self.encoder is None:
            return []
        similarity = (self.encoder([text]) @ self.embeddings().T)[0]
        order = torch.argsort(similarity, descending=True)[:count].tolist()
        return [LookMatch(self.looks[i], float(similarity[i]), False) for i in order]


def scaled_plan(plan: Plan, factor: float) -> torch.Tensor:
    """``(P,)`` parameters a fraction ``factor`` of the way from the identity to ``plan`` (clamped to
    the ranges); grading hues and the monochrome switch are kept as the look sets them."""
    from ..plan.parameters import SCALARS

    identity = default_params()
    target = plan.to_tensor()
    params = identity + factor * (target - identity)
    for name in _HUES:
        params[param_index(name)] = target[param_index(name)]
    params[MONOCHROME_INDEX] = target[MONOCHROME_INDEX]
    for index, spec in enumerate(SCALARS):
        params[index] = params[index].clamp(spec.minimum, spec.maximum)
    return params
