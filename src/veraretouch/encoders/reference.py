"""ReferenceEncoder: a before/after example (or a single target image) -> the three control latents.

The renderer is pointwise, so everything an example says about an edit is in how colours move,
not where they are. Three backbones turn an example into a difference ``d`` (what the edit
did) and a context ``c`` (what the photo looks like); all are compared in docs/benchmarks.md:

- ``soft_lut`` (default, fixed statistics): pair mode reads the edit as a soft LUT, the mean
  colour change ``after - before`` near each node of a 5^3 RGB lattice (Gaussian kernel
  regression), damped where few pixels support it; target mode (no aligned before) compares
  soft colour histograms and OKLab moments of the two images. ``c``: the before image's soft
  histogram and moments.
- ``pixels`` (learned set encoder): a per-pixel MLP sees each pixel's before and after colour;
  ``d = mean phi(b, a) - mean phi(b, b)``, ``c = mean psi(b)``; target ``d = mean psi(a) - mean psi(b)``.
- ``efficientnet_lite0``: frozen ImageNet features of each whole image, ``d = f(a) - f(b)``,
  ``c = f(b)`` (needs the optional ``backbone`` extra).

A head per mode maps ``[d, c]`` to latents as ``H([d, c]) - H([0, c])``, so an unchanged pair,
or a target that looks like the photo, encodes to exactly zero latents: the identity edit.

Images are ``(B, 3, H, W)`` sRGB in [0, 1] of any size: they are area-resized to
``sample_side`` squared pixels first (32 x 32 = 1,024 colours by default; 224 for the
EfficientNet backbone). Pair mode needs the same framing (`check_pair_framing`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import VeraRetouchError
from ..operators.colorspace import srgb_to_oklab
from ..plan.parameters import ASPECTS
from ..pretrained import PretrainedMixin
from ..renderer.model import pixel_features

MODES = ("pair", "target")
BACKBONES = ("soft_lut", "pixels", "efficientnet_lite0")


@dataclass
class ReferenceEncoderConfig:
    aspect_dim: int = 64
    backbone: str = "soft_lut"
    anchors_per_axis: int = 5
    hue_harmonics: int = 6
    pixel_widths: list[int] = field(default_factory=lambda: [128, 128])
    head_hidden: int = 256
    sample_side: int = 32

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, not {self.backbone!r}")


def _mlp(widths: list[int], final_activation: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        if final_activation or index < len(widths) - 2:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


def anchor_weights(colors: torch.Tensor, anchors_per_axis: int) -> torch.Tensor:
    """Gaussian weights ``(B, N, K)`` of colours ``(B, N, 3)`` to the K = n^3 nodes of an RGB
    lattice, with sigma = 0.6 node spacings (neighbouring nodes overlap, far ones do not)."""
    axis = torch.linspace(0.0, 1.0, anchors_per_axis, dtype=colors.dtype, device=colors.device)
    anchors = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1).reshape(-1, 3)
    sigma = 0.6 / (anchors_per_axis - 1)
    return torch.exp(-torch.cdist(colors, anchors[None].expand(colors.shape[0], -1, -1)).square() / (2 * sigma ** 2))


def colour_moments(colors: torch.Tensor) -> torch.Tensor:
    """Mean and standard deviation of OKLab L, a, b over ``(B, N, 3)`` sRGB colours: ``(B, 6)``."""
    lab = srgb_to_oklab(colors.transpose(1, 2))
    return torch.cat([lab.mean(dim=2), lab.std(dim=2)], dim=1)


def thumbnail_pixels(image: torch.Tensor, side: int) -> torch.Tensor:
    """``(B, 3, H, W)`` -> ``(B, side * side, 3)`` colours of an area-resized thumbnail."""
    if image.shape[-2:] != (side, side):
        image = F.interpolate(image, size=(side, side), mode="area")
    return image.flatten(2).transpose(1, 2)


class ReferenceEncoder(nn.Module, PretrainedMixin):
    config_class = ReferenceEncoderConfig

    def __init__(self, config: ReferenceEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or ReferenceEncoderConfig()
        cfg = self.config
        anchors = cfg.anchors_per_axis ** 3
        if cfg.backbone == "soft_lut":
            inputs = {"pair": 3 * anchors + anchors + 6, "target": 2 * (anchors + 6)}
        elif cfg.backbone == "pixels":
            features = 3 + 2 * cfg.hue_harmonics
            self.pair_pixels = _mlp([2 * features + 3, *cfg.pixel_widths], final_activation=True)
            self.look_pixels = _mlp([features, *cfg.pixel_widths], final_activation=True)
            inputs = dict.fromkeys(MODES, 2 * cfg.pixel_widths[-1])
        else:
            from .efficientnet_lite import load_efficientnet_lite0

            self.backbone = load_efficientnet_lite0(pretrained=True).eval().requires_grad_(False)
            inputs = dict.fromkeys(MODES, 2 * 1280)
        latent_dim = cfg.aspect_dim * len(ASPECTS)
        self.heads = nn.ModuleDict({mode: _mlp([inputs[mode], cfg.head_hidden, cfg.head_hidden, latent_dim], False)
                                    for mode in MODES})

    # ------------------------------------------------------------------ embeddings
    def _pair_embedding(
        self, before_features: torch.Tensor, after_features: torch.Tensor, change: torch.Tensor
    ) -> torch.Tensor:
        """``mean phi(b, a)`` over aligned pixels, from their features and colour change ``(B, N, .)``."""
        return self.pair_pixels(torch.cat([before_features, after_features, change], dim=-1)).mean(dim=1)

    def _backbone_embedding(self, image: torch.Tensor) -> torch.Tensor:
        from .efficientnet_lite import imagenet_normalize

        resized = F.interpolate(image, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
        return self.backbone.forward_features(imagenet_normalize(resized))

    def difference_and_context(
        self, before: torch.Tensor, after: torch.Tensor, mode: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(d, c)`` for images ``(B, 3, H, W)``: what the edit changed and what the photo looks like."""
        if self.config.backbone == "efficientnet_lite0":
            context = self._backbone_embedding(before)
            return self._backbone_embedding(after) - context, context
        side, harmonics = self.config.sample_side, self.config.hue_harmonics
        before_colors, after_colors = thumbnail_pixels(before, side), thumbnail_pixels(after, side)
        if self.config.backbone == "soft_lut":
            return self._soft_lut_difference_and_context(before_colors, after_colors, mode)
        before_features, after_features = (
            pixel_features(before_colors, harmonics),
            pixel_features(after_colors, harmonics),
        )
        context = self.look_pixels(before_features).mean(dim=1)
        if mode == "pair":
            difference = (self._pair_embedding(before_features, after_features, after_colors - before_colors)
                          - self._pair_embedding(before_features, before_features, torch.zeros_like(before_colors)))
        else:
            difference = self.look_pixels(after_features).mean(dim=1) - context
        return difference, context

    def _soft_lut_difference_and_context(self, before: torch.Tensor, after: torch.Tensor,
                                         mode: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Fixed statistics of pointwise edits. Pair: the mean colour change near each lattice node
        (kernel regression of after - before on before), a soft LUT of the edit, damped where
        few pixels support it. Target: the difference of the two soft colour histograms and
        OKLab moments. Context: the before image's histogram and moments."""
        weights = anchor_weights(before, self.config.anchors_per_axis)
        support = weights.mean(dim=1)
        context = torch.cat([support, colour_moments(before)], dim=1)
        if mode == "pair":
            change = torch.einsum("bnk,bnc->bkc", weights, after - before) / (weights.sum(dim=1)[..., None] + 1e-3)
            confidence = support / (support + 0.01)
            return (change * confidence[..., None]).flatten(1), context
        after_support = anchor_weights(after, self.config.anchors_per_axis).mean(dim=1)
        return torch.cat([after_support - support, colour_moments(after) - colour_moments(before)], dim=1), context

    # ------------------------------------------------------------------ public
    def forward(self, before: torch.Tensor, after: torch.Tensor, mode: str = "pair") -> torch.Tensor:
        """Latents ``(B, 3 * aspect_dim)``. ``mode="pair"``: ``after`` is ``before`` edited (same
        framing, any size, resized together); ``mode="target"``: ``after`` is any photo with the
        wanted look and ``before`` the photo to edit."""
        if mode not in MODES:
            raise VeraRetouchError(f"reference mode must be one of {MODES}, not {mode!r}")
        if before.ndim != 4 or after.ndim != 4 or before.shape[1] != 3 or after.shape[1] != 3:
            raise VeraRetouchError(
                f"reference images must be (B, 3, H, W); got {tuple(before.shape)} and {tuple(after.shape)}"
            )
        if before.shape[0] != after.shape[0]:
            raise VeraRetouchError(f"before and after batches differ: {before.shape[0]} vs {after.shape[0]}")
        if mode == "pair":
            check_pair_framing(before.shape[-2:], after.shape[-2:])
        difference, context = self.difference_and_context(before, after, mode)
        head = self.heads[mode]
        return head(torch.cat([difference, context], dim=1)) - head(
            torch.cat([torch.zeros_like(difference), context], dim=1)
        )


def check_pair_framing(before_size: tuple[int, int], after_size: tuple[int, int], tolerance: float = 0.02) -> None:
    """A before/after pair must be the same photo: same aspect ratio (sizes may differ, e.g. an
    export at a smaller size). Raise a `VeraRetouchError` that says what to do otherwise."""
    before_aspect = before_size[1] / before_size[0]
    after_aspect = after_size[1] / after_size[0]
    if abs(before_aspect / after_aspect - 1) > tolerance:
        raise VeraRetouchError(
            f"the before ({before_size[1]}x{before_size[0]}) and after ({after_size[1]}x{after_size[0]}) images have "
            "different aspect ratios, so they are not the same photo; crop them alike, or leave out the before image "
            "to use the after image as a target look")
