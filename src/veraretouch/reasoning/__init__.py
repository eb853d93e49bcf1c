"""Reading photos and words: photo statistics (`measure`), the reasoning text engine and its claim
checker (`text`), diagnosis and explanations (`diagnosis`, `explanation`), style requests
(`requests`), named looks (`looks`), the antonym-aware instruction encoder (`encoder`) and the plan
they make (`style.understand_request`).

The planner uses all of it at run time; training data (`data`) uses it to write labels. Imports io,
formats, plan, operators, encoders; never planner, data, training or the front-ends.
"""
