"""ReferenceEncoder: a before/after example (or a single target image) -> the three control latents.

The renderer is pointwise, so everything an example says about an edit is in how colours move,
not where they are. The default backbone is therefore a set encoder over pixels (trained from
scratch), not a CNN:

- *pair* mode (``before`` and ``after`` are the same photo, aligned): a per-pixel MLP ``phi`` sees
  each pixel's before and after colour together; ``d = mean phi(b, a) - mean phi(b, b)`` is what
  the edit did, ``c = mean psi(b)`` says what the photo looks like.
- *target* mode (only a finished look; ``before`` is the photo to edit, not aligned with it):
  ``d = mean psi(a) - mean psi(b)`` compares the two colour distributions, ``c = mean psi(b)``.

A head per mode maps ``[d, c]`` to latents as ``H([d, c]) - H([0, c])``, so an unchanged pair,
or a target that looks like the photo, encodes to exactly zero latents: the identity edit.

``backbone="efficientnet_lite0"`` swaps ``phi``/``psi`` for frozen ImageNet features of each
whole image (``d = f(a) - f(b)``, ``c = f(b)``, both modes); it exists for the measured
comparison in docs/benchmarks.md (it loses) and needs the optional ``backbone`` extra.

Images are ``(B, 3, H, W)`` sRGB in [0, 1] of any size: they are area-resized to
``sample_side`` squared pixels first (32 x 32 = 1,024 colours by default; 224 for the
EfficientNet backbone).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import VeraRetouchError
from ..parameters import GROUPS
from ..pretrained import PretrainedMixin
from ..renderer.model import pixel_features

MODES = ("pair", "target")
BACKBONES = ("pixels", "efficientnet_lite0")


@dataclass
class ReferenceEncoderConfig:
    group_dim: int = 64
    backbone: str = "pixels"
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
        if cfg.backbone == "pixels":
            features = 3 + 2 * cfg.hue_harmonics
            self.pair_pixels = _mlp([2 * features + 3, *cfg.pixel_widths], final_activation=True)
            self.look_pixels = _mlp([features, *cfg.pixel_widths], final_activation=True)
            embedding = cfg.pixel_widths[-1]
        else:
            from .efficientnet_lite import load_efficientnet_lite0

            self.backbone = load_efficientnet_lite0(pretrained=True).eval().requires_grad_(False)
            embedding = 1280
        latent_dim = cfg.group_dim * len(GROUPS)
        self.heads = nn.ModuleDict({mode: _mlp([2 * embedding, cfg.head_hidden, cfg.head_hidden, latent_dim], False)
                                    for mode in MODES})

    # ------------------------------------------------------------------ embeddings
    def _pair_embedding(self, before_features: torch.Tensor, after_features: torch.Tensor, change: torch.Tensor) -> torch.Tensor:
        """``mean phi(b, a)`` over aligned pixels, from their features and colour change ``(B, N, .)``."""
        return self.pair_pixels(torch.cat([before_features, after_features, change], dim=-1)).mean(dim=1)

    def _backbone_embedding(self, image: torch.Tensor) -> torch.Tensor:
        from .efficientnet_lite import imagenet_normalize

        resized = F.interpolate(image, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
        return self.backbone.forward_features(imagenet_normalize(resized))

    def difference_and_context(self, before: torch.Tensor, after: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(d, c)`` for images ``(B, 3, H, W)``: what the edit changed and what the photo looks like."""
        if self.config.backbone != "pixels":
            context = self._backbone_embedding(before)
            return self._backbone_embedding(after) - context, context
        side, harmonics = self.config.sample_side, self.config.hue_harmonics
        before_colors, after_colors = thumbnail_pixels(before, side), thumbnail_pixels(after, side)
        before_features, after_features = pixel_features(before_colors, harmonics), pixel_features(after_colors, harmonics)
        context = self.look_pixels(before_features).mean(dim=1)
        if mode == "pair":
            difference = (self._pair_embedding(before_features, after_features, after_colors - before_colors)
                          - self._pair_embedding(before_features, before_features, torch.zeros_like(before_colors)))
        else:
            difference = self.look_pixels(after_features).mean(dim=1) - context
        return difference, context

    # ------------------------------------------------------------------ public
    def forward(self, before: torch.Tensor, after: torch.Tensor, mode: str = "pair") -> torch.Tensor:
        """Latents ``(B, 3 * group_dim)``. ``mode="pair"``: ``after`` is ``before`` edited (same
        framing, any size, resized together); ``mode="target"``: ``after`` is any photo with the
        wanted look and ``before`` the photo to edit."""
        if mode not in MODES:
            raise VeraRetouchError(f"reference mode must be one of {MODES}, not {mode!r}")
        if before.ndim != 4 or after.ndim != 4 or before.shape[1] != 3 or after.shape[1] != 3:
            raise VeraRetouchError(f"reference images must be (B, 3, H, W); got {tuple(before.shape)} and {tuple(after.shape)}")
        if before.shape[0] != after.shape[0]:
            raise VeraRetouchError(f"before and after batches differ: {before.shape[0]} vs {after.shape[0]}")
        if mode == "pair":
            check_pair_framing(before.shape[-2:], after.shape[-2:])
        difference, context = self.difference_and_context(before, after, mode)
        head = self.heads[mode]
        return head(torch.cat([difference, context], dim=1)) - head(torch.cat([torch.zeros_like(difference), context], dim=1))


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
