"""Instruction features of the compact planner: all-MiniLM-L6-v2 sentence embeddings, from the
offline PyPI package (``reasoning.encoder.SentenceEncoder``: unit length, 384-d, cached per text).
One MiniLM per process serves the planner and the style-request reader."""
from __future__ import annotations

from ..reasoning.encoder import TEXT_DIM, SentenceEncoder, default_sentence_encoder

InstructionEmbedder = SentenceEncoder
default_embedder = default_sentence_encoder

__all__ = ["TEXT_DIM", "InstructionEmbedder", "default_embedder"]
