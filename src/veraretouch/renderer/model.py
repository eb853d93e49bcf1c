"""The Retouch Renderer (paper §Retouch Renderer): RGB -> RGB per pixel, conditioned on latents.

Each hidden layer is ``LayerNorm(ReLU(W h)) + V ReLU(z)``: the control latent ``z`` (three groups,
lighting / global colour / specific colour, concatenated) adds a bias to every hidden layer. A
group mask zeroes groups, which is how aspects are switched off.

Identity is exact by construction: the output is ``x + D(x, z) - D(x, 0)``, so zero latents (or
every group masked) return the input colour bit for bit, and the network only ever learns the
*change* an edit makes. ``D(x, 0)`` does not depend on the edit: a LUT of it is baked once.

Being pointwise, a rendered edit is a colour function: `bake_lut` turns latents into an N^3 LUT
for full-resolution rendering with the kernels in `veraretouch.lut`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..lut.bake import bake_lut_tensor
from ..parameters import GROUPS
from ..pretrained import PretrainedMixin


@dataclass
class RendererConfig:
    """Widths of the pixel MLP and the size of each latent group (the paper: 128/256/512 and 896)."""

    hidden_widths: list[int] = field(default_factory=lambda: [128, 128, 128])
    group_dim: int = 64

    @property
    def latent_dim(self) -> int:
        return self.group_dim * len(GROUPS)


class RetouchRenderer(nn.Module, PretrainedMixin):
    config_class = RendererConfig

    def __init__(self, config: RendererConfig | None = None) -> None:
        super().__init__()
        self.config = config or RendererConfig()
        widths = [3, *self.config.hidden_widths]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(nn.LayerNorm(width) for width in widths[1:])
        self.latent_biases = nn.ModuleList(nn.Linear(self.config.latent_dim, width, bias=False) for width in widths[1:])
        self.head = nn.Linear(widths[-1], 3)

    def mask_latents(self, latents: torch.Tensor, group_mask: torch.Tensor | None) -> torch.Tensor:
        """Multiply each group of ``(B, 3d)`` latents by its ``(B, 3)`` (or ``(3,)``) mask entry."""
        if group_mask is None:
            return latents
        mask = group_mask.to(latents.dtype).reshape(-1, len(GROUPS), 1)
        return (latents.reshape(latents.shape[0], len(GROUPS), -1) * mask).reshape(latents.shape)

    def raw(self, colors: torch.Tensor, latents: torch.Tensor | None) -> torch.Tensor:
        """``D(x, z)`` for colours ``(B, N, 3)`` and latents ``(B, 3d)``; ``None`` means z = 0."""
        hidden = colors
        for layer, norm, latent_bias in zip(self.layers, self.norms, self.latent_biases):
            hidden = norm(torch.relu(layer(hidden)))
            if latents is not None:
                hidden = hidden + latent_bias(torch.relu(latents)).unsqueeze(1)
        return self.head(hidden)

    def render_colors(self, colors: torch.Tensor, latents: torch.Tensor, group_mask: torch.Tensor | None = None,
                      base: torch.Tensor | None = None) -> torch.Tensor:
        """Edited colours ``(B, N, 3)``. ``base`` may pass a precomputed ``D(x, 0)`` (shared colours)."""
        latents = self.mask_latents(latents, group_mask)
        if base is None:
            base = self.raw(colors, None)
        return (colors + self.raw(colors, latents) - base).clamp(0.0, 1.0)

    def forward(self, image: torch.Tensor, latents: torch.Tensor, group_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Render ``(B, 3, H, W)`` images directly through the MLP (exact, differentiable, slow at full size)."""
        batch, _, height, width = image.shape
        colors = image.permute(0, 2, 3, 1).reshape(batch, -1, 3)
        out = self.render_colors(colors, latents.expand(batch, -1), group_mask)
        return out.reshape(batch, height, width, 3).permute(0, 3, 1, 2)

    def bake_lut(self, latents: torch.Tensor, group_mask: torch.Tensor | None = None, size: int = 65) -> np.ndarray:
        """The edit as an ``(N, N, N, 3)`` float32 LUT ``lut[r, g, b]`` for `veraretouch.lut.apply_lut`."""
        with torch.no_grad():
            lut = bake_lut_tensor(lambda lattice: self(lattice, latents.reshape(1, -1), group_mask), size)
        return lut.float().numpy()
