"""Reading style requests: edit intents (`requests`), named looks (`looks`), the antonym-aware
instruction encoder (`encoder`) and the plan they make (`style.understand_request`).

Sits beside `data` in the layering: imports io, formats, plan, operators, encoders; never planner,
training or the front-ends.
"""
