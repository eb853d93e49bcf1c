"""The Retouch Renderer (paper §Retouch Renderer): RGB -> RGB per pixel, conditioned on latents.

Each hidden layer is ``LayerNorm(ReLU(W h)) + V ReLU(z)`` as in the paper: the control latent
``z`` (three aspects, lighting / global colour / specific colour, concatenated) adds a bias to
every hidden layer. Two options go beyond the paper, both measured in docs/benchmarks.md:
``modulation="film"`` also scales each hidden layer by ``1 + U ReLU(z)`` (FiLM), and
``hue_harmonics=K`` feeds the MLP fixed pointwise features besides RGB (the first K hue
harmonics, faded to zero at the neutral axis, see `pixel_features`), because HSL edits are
functions of hue that a ReLU MLP on raw RGB approximates poorly. An aspect mask zeroes an
aspect's latent, which is how aspects are switched off.

Identity is exact by construction: the output is ``x + D(x, z) - D(x, 0)``, so zero latents (or
every aspect masked) return the input colour bit for bit, and the network only ever learns the
*change* an edit makes. ``D(x, 0)`` does not depend on the edit: a LUT of it is baked once.

Being pointwise, a rendered edit is a colour function: `bake_lut` turns latents into an N^3 LUT
for full-resolution rendering with the kernels in `veraretouch.lut`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..lut.bake import lattice_rgb
from ..operators.colorspace import chroma_and_hue
from ..plan.parameters import ASPECTS
from ..pretrained import PretrainedMixin


@dataclass
class RendererConfig:
    """Widths of the pixel MLP and the size of each aspect's latent (the paper: 128/256/512 and 896)."""

    hidden_widths: list[int] = field(default_factory=lambda: [128, 128, 128])
    aspect_dim: int = 64
    modulation: str = "bias"
    hue_harmonics: int = 0

    def __post_init__(self) -> None:
        if self.modulation not in ("bias", "film"):
            raise ValueError(f"modulation must be 'bias' or 'film', not {self.modulation!r}")
        if self.hue_harmonics < 0:
            raise ValueError("hue_harmonics must be >= 0")

    @property
    def input_dim(self) -> int:
        return 3 + 2 * self.hue_harmonics

    @property
    def latent_dim(self) -> int:
        return self.aspect_dim * len(ASPECTS)


HUE_FADE_CHROMA = 0.1
BAKE_CHUNK = 1 << 16
_OPPONENT = torch.tensor([[1.0, -1.0, 0.0], [1.0, 1.0, -2.0]]) / torch.tensor([[2.0 ** 0.5], [6.0 ** 0.5]])


def pixel_features(colors: torch.Tensor, hue_harmonics: int) -> torch.Tensor:
    """``(..., 3)`` sRGB colours -> ``(..., 3 + 2K)``: the colour, then hue harmonics
    ``w_k cos(k h), w_k sin(k h)``, k = 1..K, of the opponent axes ``(R - G) / sqrt 2`` and
    ``(R + G - 2B) / sqrt 6`` (chroma C, hue h), faded by ``w_k = (C / (C + 0.1))^k``.

    The fade makes each harmonic a smooth function of RGB everywhere (near the neutral axis it
    is a degree-k polynomial in the opponent axes), so an edit of these features still bakes into
    a 65^3 LUT within a fraction of a level; sharper features (OKLab hue, a C^2 fade) did not.
    """
    if hue_harmonics == 0:
        return colors
    opponent = colors @ _OPPONENT.to(colors).T
    o1, o2 = opponent[..., 0], opponent[..., 1]
    chroma, hue = chroma_and_hue(o1, o2)
    fade = chroma / (chroma + HUE_FADE_CHROMA)
    orders = torch.arange(1, hue_harmonics + 1, dtype=colors.dtype, device=colors.device)
    weights = fade[..., None] ** orders
    angles = hue[..., None] * orders
    return torch.cat([colors, weights * torch.cos(angles), weights * torch.sin(angles)], dim=-1)


class RetouchRenderer(nn.Module, PretrainedMixin):
    config_class = RendererConfig

    def __init__(self, config: RendererConfig | None = None) -> None:
        super().__init__()
        self.config = config or RendererConfig()
        widths = [self.config.input_dim, *self.config.hidden_widths]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(nn.LayerNorm(width) for width in widths[1:])
        self.latent_biases = nn.ModuleList(nn.Linear(self.config.latent_dim, width, bias=False) for width in widths[1:])
        if self.config.modulation == "film":
            self.latent_scales = nn.ModuleList(
                nn.Linear(self.config.latent_dim, width, bias=False) for width in widths[1:]
            )
        self.head = nn.Linear(widths[-1], 3)

    def mask_latents(self, latents: torch.Tensor, aspect_mask: torch.Tensor | None) -> torch.Tensor:
        """Multiply each aspect's part of ``(B, 3d)`` latents by its ``(B, 3)`` (or ``(3,)``) mask entry."""
        if aspect_mask is None:
            return latents
        mask = aspect_mask.to(latents.dtype).reshape(-1, len(ASPECTS), 1)
        return (latents.reshape(latents.shape[0], len(ASPECTS), -1) * mask).reshape(latents.shape)

    def raw(self, colors: torch.Tensor, latents: torch.Tensor | None) -> torch.Tensor:
        """``D(x, z)`` for colours ``(B, N, 3)`` and latents ``(B, 3d)``; ``None`` means z = 0."""
        hidden = pixel_features(colors, self.config.hue_harmonics)
        active = None if latents is None else torch.relu(latents)
        for index, (layer, norm) in enumerate(zip(self.layers, self.norms)):
            hidden = norm(torch.relu(layer(hidden)))
            if active is not None:
                if self.config.modulation == "film":
                    hidden = hidden * (1 + self.latent_scales[index](active).unsqueeze(1))
                hidden = hidden + self.latent_biases[index](active).unsqueeze(1)
        return self.head(hidden)

    def render_colors(self, colors: torch.Tensor, latents: torch.Tensor, aspect_mask: torch.Tensor | None = None,
                      base: torch.Tensor | None = None) -> torch.Tensor:
        """Edited colours ``(B, N, 3)``. ``base`` may pass a precomputed ``D(x, 0)`` (shared colours)."""
        latents = self.mask_latents(latents, aspect_mask)
        if base is None:
            base = self.raw(colors, None)
        return (colors + self.raw(colors, latents) - base).clamp(0.0, 1.0)

    def forward(
        self, image: torch.Tensor, latents: torch.Tensor, aspect_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Render ``(B, 3, H, W)`` images directly through the MLP (exact, differentiable, slow at full size)."""
        batch, _, height, width = image.shape
        colors = image.permute(0, 2, 3, 1).reshape(batch, -1, 3)
        out = self.render_colors(colors, latents.expand(batch, -1), aspect_mask)
        return out.reshape(batch, height, width, 3).permute(0, 3, 1, 2)

    def bake_lut(self, latents: torch.Tensor, aspect_mask: torch.Tensor | None = None, size: int = 65,
                 chunk: int = BAKE_CHUNK) -> np.ndarray:
        """The edit as an ``(N, N, N, 3)`` float32 LUT ``lut[r, g, b]`` for `veraretouch.lut.apply_lut`.

        ``D(x, 0)`` on the lattice does not depend on the edit, so it is computed once per size
        (and per state of the weights) and reused: a bake costs one MLP pass over N^3 colours,
        in chunks of ``chunk`` colours to bound memory, through ONNX Runtime when the weights came
        with ``edit.onnx`` (`renderer.onnx`), else PyTorch.
        """
        colors = lattice_rgb(size).reshape(3, -1).T
        with torch.inference_mode():
            latents = self.mask_latents(latents.reshape(1, -1).float(), aspect_mask)
            base = self._lattice_base(size, chunk)
            edited = torch.cat([self._raw_fast(part, latents) for part in colors.split(chunk)])
            out = (colors + edited - base).clamp_(0.0, 1.0)
        return np.ascontiguousarray(out.reshape(size, size, size, 3).numpy())

    def _raw_fast(self, colors: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """``D(x, z)`` of ``(N, 3)`` colours for ``(1, 3d)`` latents, by ONNX Runtime when attached."""
        onnx = self.__dict__.get("_onnx")
        if onnx is not None and onnx[1] == self._weights_version():
            return torch.from_numpy(onnx[0].raw(colors.numpy(), latents.numpy()))
        return self.raw(colors[None], latents)[0]

    def _weights_version(self) -> tuple[int, ...]:
        return tuple(parameter._version for parameter in self.parameters())

    def attach_onnx(self, edit) -> None:
        """Bake through an `OnnxEdit` of these weights (ignored once the weights change)."""
        self.__dict__["_onnx"] = (edit, self._weights_version())

    def _lattice_base(self, size: int, chunk: int) -> torch.Tensor:
        key = (size, self._weights_version())
        cache = self.__dict__.setdefault("_base_cache", {})
        if key not in cache:
            cache.clear()
            colors = lattice_rgb(size).reshape(3, -1).T
            zeros = torch.zeros(1, self.config.latent_dim)
            with torch.inference_mode():
                cache[key] = torch.cat([self._raw_fast(part, zeros) for part in colors.split(chunk)])
        return cache[key]

    def save_pretrained(self, folder):
        """Config, safetensors, and ``edit.onnx`` for fast bakes (when the onnx exporter is installed)."""
        from .onnx import ONNX_FILE, export_edit_onnx

        folder = PretrainedMixin.save_pretrained(self, folder)
        export_edit_onnx(self, folder / ONNX_FILE)
        return folder

    @classmethod
    def from_pretrained(cls, folder):
        from .onnx import OnnxEdit

        model = super().from_pretrained(folder)
        edit = OnnxEdit.load(folder)
        if edit is not None:
            model.attach_onnx(edit)
        return model
