"""What every planner returns, and the modes it serves.

A planner looks at a small copy of a photo (``(B, 3, h, w)`` sRGB in [0, 1], long side about
`PLANNER_SIDE`), optionally reads an instruction, and emits the renderer's three control latents.
The compact planner also gives the approximate plan (sliders) it rendered; the VLM planner gives
the reasoning text it generated. Both end in the same renderer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

MODES = ("auto", "style", "param")
PLANNER_SIDE = 256
"""Long side (pixels) of the copy a planner looks at; the renderer always runs at full resolution."""


@dataclass
class PlannerOutput:
    """``latents`` ``(B, 3 * aspect_dim)`` for the renderer; ``params`` ``(B, P)`` the plan the latents
    encode, where the planner works through sliders; ``texts`` the tagged reasoning it wrote, if any."""

    latents: torch.Tensor
    params: torch.Tensor | None = None
    texts: list[str] | None = None
    extras: dict = field(default_factory=dict)


def check_mode(mode: str, instructions: list[str] | None, batch: int) -> None:
    """Auto takes no instruction (one given is an error, not silently ignored); style and param need one per image."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if mode == "auto":
        if instructions is not None and any(text.strip() for text in instructions):
            raise ValueError("auto mode takes no instruction; use style mode to ask for a look")
        return
    if instructions is None or len(instructions) != batch or not all(text.strip() for text in instructions):
        raise ValueError(f"{mode} mode needs one non-empty instruction per image")
