"""Training data: plan samplers (paper distributions, wide uniform, real presets) and colour pools."""
