"""Planners: photo (+ instruction) -> the renderer's control latents, with a plan and an explanation.

- `compact`: the shipped CPU planner (colour statistics + sentence embedding -> plan -> latents).
- `vlm`: the paper's VLM planner on Hugging Face transformers, for any local checkpoint.
- `pipeline`: `PlanningPipeline` (planner + renderer + SliderEncoder) and `retouch_function`.
- `explain`: checked explanations; `features` / `text`: what the compact planner reads.
"""
from .base import MODES, PLANNER_SIDE, PlannerOutput
from .compact import CompactPlanner, CompactPlannerConfig
from .explain import Explanation, explain
from .pipeline import PlannedEdit, PlanningPipeline, retouch_function

__all__ = ["MODES", "PLANNER_SIDE", "CompactPlanner", "CompactPlannerConfig", "Explanation", "PlannedEdit",
           "PlannerOutput", "PlanningPipeline", "explain", "retouch_function"]
