"""The exported graphs: thin wrappers that give each model the inputs and outputs a runtime needs
(`Graph`: the module, example and check inputs, and the manifest's description of each tensor),
one builder per model, and `GRAPHS`, the builders by model name."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..errors import VeraRetouchError
from ..onnx_support import OPSET

LUT_SIZES = (33, 65)
SRGB = [0.0, 1.0]


def _io(name: str, shape: list, dtype: str, meaning: str, value_range: list | None = None) -> dict:
    entry = {"name": name, "shape": shape, "dtype": dtype, "meaning": meaning}
    if value_range is not None:
        entry["range"] = value_range
    return entry


@dataclass
class Graph:
    """One ONNX file to write: the module, what its inputs and outputs mean, and inputs to trace and check."""

    name: str
    module: nn.Module
    inputs: list[dict]
    outputs: list[dict]
    example: tuple[torch.Tensor, ...]
    check: tuple[torch.Tensor, ...]
    parameters: int
    description: str
    preprocessing: str | None = None
    extra: dict = dataclasses.field(default_factory=dict)
    no_fp16: str | None = None
    """Why the graph gets no fp16 file, where it gets none."""


def _latents_io(latent_dim: int, name: str = "latents") -> dict:
    return _io(name, ["batch", latent_dim], "float32",
               f"control latents: lighting | global_color | specific_color, {latent_dim // 3} each "
               "(from slider_encoder, reference_encoder_*, or the planner's params through slider_encoder)")


_MASK_IO = _io("group_mask", ["batch", 3], "float32",
               "per latent group (lighting, global_color, specific_color): 1 keeps it, 0 switches it off exactly; "
               "ones for the whole edit", [0.0, 1.0])


class PixelRenderer(nn.Module):
    """``(B, N, 3)`` colours, ``(B, 3d)`` latents, ``(B, 3)`` group mask -> edited ``(B, N, 3)``:
    `RetouchRenderer.render_colors`, ``clamp(x + D(x, z) - D(x, 0), 0, 1)``."""

    def __init__(self, renderer: nn.Module) -> None:
        super().__init__()
        self.renderer = renderer
        self.eval()

    def forward(self, colors: torch.Tensor, latents: torch.Tensor, aspect_mask: torch.Tensor) -> torch.Tensor:
        return self.renderer.render_colors(colors, latents, aspect_mask)


class LutBaker(nn.Module):
    """``(B, 3d)`` latents, ``(B, 3)`` group mask -> ``(B, N, N, N, 3)`` LUTs ``lut[., r, g, b]``, as
    `RetouchRenderer.bake_lut`; the lattice and its ``D(x, 0)`` are constants of the graph."""

    def __init__(self, renderer: nn.Module, size: int) -> None:
        super().__init__()
        from ..lut.bake import lattice_rgb

        self.renderer, self.size = renderer, size
        colors = lattice_rgb(size).reshape(3, -1).T.contiguous()
        with torch.no_grad():
            self.register_buffer("colors", colors)
            self.register_buffer("base", renderer.raw(colors[None], None)[0])
        self.eval()

    def forward(self, latents: torch.Tensor, aspect_mask: torch.Tensor) -> torch.Tensor:
        latents = self.renderer.mask_latents(latents, aspect_mask)
        edited = self.renderer.raw(self.colors.expand(latents.shape[0], -1, -1), latents)
        lut = (self.colors + edited - self.base).clamp(0.0, 1.0)
        return lut.reshape(-1, self.size, self.size, self.size, 3)


class ReferenceMode(nn.Module):
    """``(B, 3, S, S)`` before and after thumbnails -> ``(B, 3d)`` latents, for one reference mode."""

    def __init__(self, encoder: nn.Module, mode: str) -> None:
        super().__init__()
        self.encoder, self.mode = encoder, mode
        self.eval()

    def forward(self, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        return self.encoder(before, after, self.mode)


class PlannerPlan(nn.Module):
    """Image features, instruction embeddings, mode ids -> the raw plan features and the plan the CLI
    renders: `params_from_features` (projection onto valid plans), then `prune_imperceptible`."""

    def __init__(self, planner: nn.Module) -> None:
        super().__init__()
        self.planner = planner
        self.eval()

    def forward(self, features: torch.Tensor, text_embeddings: torch.Tensor,
                mode_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from ..encoders.slider import params_from_features
        from ..planner.pipeline import prune_imperceptible

        plan_features = self.planner(features, text_embeddings, mode_ids)
        return plan_features, prune_imperceptible(params_from_features(plan_features))


def _count(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def renderer_graphs(renderer: nn.Module, lut_sizes=LUT_SIZES) -> list[Graph]:
    """The per-pixel renderer and one LUT baker per size."""
    latent_dim = renderer.config.latent_dim
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(3, latent_dim, generator=generator) * 0.5
    masks = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    graphs = [Graph(
        "renderer_pixels", PixelRenderer(renderer),
        inputs=[_io("colors", ["batch", "pixels", 3], "float32",
                    "sRGB colours to edit, e.g. a photo's (H, W, 3) pixels reshaped to (1, H*W, 3)", SRGB),
                _latents_io(latent_dim), _MASK_IO],
        outputs=[_io("edited", ["batch", "pixels", 3], "float32", "the edited sRGB colours", SRGB)],
        example=(torch.rand(2, 64, 3, generator=generator), latents[:2], masks[:2]),
        check=(torch.rand(3, 500, 3, generator=generator), latents, masks),
        parameters=_count(renderer),
        description="The Retouch Renderer per pixel: x + D(x, z) - D(x, 0), clamped to [0, 1] "
                    "(RetouchRenderer.render_colors). Exact; costs two MLP passes per pixel.",
    )]
    for size in lut_sizes:
        graphs.append(
            Graph(
                f"lut_baker_{size}",
                LutBaker(renderer, size),
                inputs=[_latents_io(latent_dim), _MASK_IO],
                outputs=[
                    _io(
                        "lut",
                        ["batch", size, size, size, 3],
                        "float32",
                        f"the edit as a {size}^3 LUT: lut[i, r, g, b] is the edited colour of (r, g, b) / {size - 1} "
                        "(red the slowest index; a .cube file lists red fastest)",
                        SRGB,
                    )
                ],
                example=(latents[:1], masks[:1]),
                check=(latents[:2], masks[1:]),
                parameters=_count(renderer),
                description=f"The renderer baked into a {size}^3 3D LUT (RetouchRenderer.bake_lut): one MLP pass over "
                f"{size**3} lattice colours; D(x, 0) on the lattice is stored in the file. Map photos through "
                "the LUT with trilinear or tetrahedral interpolation (a GPU 3D texture, Core Image's "
                "CIColorCube, a .cube file).",
            )
        )
    return graphs


def slider_encoder_graph(encoder: nn.Module) -> Graph:
    """The SliderEncoder on plan parameters, its plan -> feature step included."""
    from ..encoders.slider import FEATURE_SIZES, params_from_features
    from ..plan.parameters import N_PARAMS

    generator = torch.Generator().manual_seed(1)
    features = sum(FEATURE_SIZES.values())
    plans = params_from_features(torch.randn(5, features, generator=generator) * 0.3)
    latent_dim = 3 * encoder.config.aspect_dim
    return Graph(
        "slider_encoder", encoder.eval(),
        inputs=[_io("params", ["batch", N_PARAMS], "float32",
                    "a plan as a parameter vector (veraretouch.Plan.to_tensor(): 38 sliders and extensions in "
                    "slider units, then 4 point curves x 33 samples in [0, 1]); `veraretouch sliders` lists them")],
        outputs=[_latents_io(latent_dim)],
        example=(plans[:2],), check=(plans,), parameters=_count(encoder),
        description="SliderEncoder: a plan (slider values) -> control latents; identity plan -> exactly zero.",
    )


def reference_encoder_graphs(encoder: nn.Module) -> list[Graph]:
    """The ReferenceEncoder once per mode, on thumbnails."""
    from ..encoders.reference import MODES

    if encoder.config.backbone == "efficientnet_lite0":
        raise VeraRetouchError("the ReferenceEncoder's efficientnet_lite0 backbone resizes with antialiasing, which "
                               f"ONNX opset {OPSET} cannot express; export a soft_lut or pixels encoder")
    side = encoder.config.sample_side
    generator = torch.Generator().manual_seed(2)
    before = torch.rand(3, 3, side, side, generator=generator)
    after = (before * 0.8 + 0.15 * torch.rand(3, 3, 1, 1, generator=generator)).clamp(0, 1)
    latent_dim = 3 * encoder.config.aspect_dim
    total = _count(encoder)
    meaning = {"pair": ("the example before the edit", "the same example after the edit"),
               "target": ("the photo to edit", "any photo with the wanted look")}
    graphs = []
    for mode in MODES:
        other = sum(_count(encoder.heads[name]) for name in MODES if name != mode)
        graphs.append(
            Graph(
                f"reference_encoder_{mode}",
                ReferenceMode(encoder, mode),
                inputs=[
                    _io(name, ["batch", 3, side, side], "float32", f"{text}, area-resized to {side} x {side}", SRGB)
                    for name, text in zip(("before", "after"), meaning[mode])
                ],
                outputs=[_latents_io(latent_dim)],
                example=(before[:2], after[:2]),
                check=(before, after),
                parameters=total - other,
                description=f"ReferenceEncoder, {mode} mode: "
                + (
                    "a before/after example -> the latents of its edit; an unchanged pair -> zero."
                    if mode == "pair"
                    else "a target look -> latents bringing the photo towards it (experimental)."
                ),
                preprocessing=f"area-resize each image to {side} x {side}: "
                              "veraretouch.encoders.reference.thumbnail_pixels "
                "(PyTorch's adaptive average pooling; cv2.INTER_AREA agrees for whole-number factors)",
            )
        )
    return graphs


def compact_planner_graph(planner: nn.Module) -> Graph:
    """The compact planner on image features, with projection and pruning of the plan."""
    from ..encoders.slider import FEATURE_SIZES
    from ..plan.parameters import N_PARAMS
    from ..planner.base import MODES
    from ..planner.features import FEATURE_SIDE, image_features

    generator = torch.Generator().manual_seed(3)
    images = torch.rand(3, 3, 48, 64, generator=generator) ** torch.rand(3, 1, 1, 1, generator=generator).mul(2)
    features = image_features(images)[:, :planner.config.image_features]  # groups are appended over versions
    text = torch.nn.functional.normalize(torch.randn(3, planner.config.text_dim, generator=generator), dim=1)
    text[0] = 0.0
    modes = torch.tensor([0, 1, 2])
    return Graph(
        "compact_planner",
        PlannerPlan(planner),
        inputs=[
            _io(
                "features",
                ["batch", planner.config.image_features],
                "float32",
                "colour statistics of the photo: veraretouch.planner.features.image_features(image)",
            ),
            _io(
                "text_embeddings",
                ["batch", planner.config.text_dim],
                "float32",
                "all-MiniLM-L6-v2 sentence embedding of the instruction, unit length; zeros in auto mode "
                "(the text model is not part of this export)",
            ),
            _io("mode_ids", ["batch"], "int64", f"index into {list(MODES)}", [0, len(MODES) - 1]),
        ],
        outputs=[
            _io(
                "plan_features",
                ["batch", sum(FEATURE_SIZES.values())],
                "float32",
                "the predicted plan in the SliderEncoder's feature space, before projection",
            ),
            _io(
                "params",
                ["batch", N_PARAMS],
                "float32",
                "the plan as parameters (valid, imperceptible moves dropped): feed to slider_encoder",
            ),
        ],
        example=(features[:2], text[:2], modes[:2]),
        check=(features, text, modes),
        parameters=_count(planner),
        description="Compact planner: image features + instruction -> a plan (sliders), which slider_encoder turns "
        "into latents. The CLI also rounds the plan to 2 decimals when it writes it.",
        preprocessing="features = veraretouch.planner.features.image_features(photo)"
                      f"[:, :{planner.config.image_features}] "
        f"on an area-resized copy with a "
        f"long side of {FEATURE_SIDE} px; image_features uses torch.quantile and a data-dependent "
        "resize, which ONNX cannot express, so it is not in the graph",
        extra={
            "feature_groups_read": list(planner.config.feature_groups),
            "feature_columns_read": _read_columns(planner.config.feature_groups),
        },
        no_fp16="the plan passes thresholds (range clamps, the pruning of imperceptible moves) where half-precision "
        "weights switch a slider on or off (the shipped planner's fp16 plan differed by 0.05 slider units, "
        "2.4e-3 relative); the fp32 file is 0.3 MB",
    )


def _read_columns(groups) -> dict[str, list[int]]:
    """Start and stop column of each feature group the planner reads (the others are multiplied by zero)."""
    from ..planner.features import feature_slices

    slices = feature_slices()
    return {name: [slices[name].start, slices[name].stop] for name in groups}


GRAPHS: dict[str, Callable[[nn.Module, tuple[int, ...]], list[Graph]]] = {
    "renderer": renderer_graphs,
    "slider_encoder": lambda encoder, _: [slider_encoder_graph(encoder)],
    "reference_encoder": lambda encoder, _: reference_encoder_graphs(encoder),
    "compact_planner": lambda planner, _: [compact_planner_graph(planner)],
}
"""Per model name, the graphs it is exported as (given the LUT sizes)."""
