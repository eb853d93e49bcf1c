"""Training loops (renderer + slider encoder first; planner and RL later)."""
