"""Image-quality metrics for retouching benchmarks: PSNR, SSIM, CIEDE2000, colour-histogram similarity.

Every metric takes two ``(B, 3, H, W)`` sRGB batches in [0, 1] and returns one value per image, shape
``(B,)``, in the promoted input dtype. Work is done in float64 so numbers match scikit-image, and all
metrics except :func:`evaluate_pair` are differentiable with finite gradients (see each docstring).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..operators.colorspace import check_image_batch, rgb_to_lab
from ..reasoning.measure import soft_channel_histograms

__all__ = [
    "psnr",
    "ssim",
    "rgb_to_lab",
    "delta_e2000",
    "delta_e2000_map",
    "histogram_similarity",
    "mean_absolute_error",
    "l1_similarity",
    "evaluate_pair",
]

_TWO_PI = 2.0 * math.pi
_SSIM_TRUNCATE = 3.5


def _check_pair(prediction: torch.Tensor, target: torch.Tensor) -> torch.dtype:
    """Validate a prediction/target pair and return the dtype the metric should be returned in."""
    check_image_batch(prediction, "prediction")
    check_image_batch(target, "target")
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction and target shapes differ: {tuple(prediction.shape)} vs {tuple(target.shape)}"
        )
    return torch.promote_types(prediction.dtype, target.dtype)


def _check_positive(value: float, name: str) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


def _safe_sqrt(value: torch.Tensor) -> torch.Tensor:
    """sqrt(max(value, 0)) whose gradient is 0, not inf, at 0.

    The inner ``where`` keeps sqrt away from 0 so the masked branch never produces inf * 0 = NaN in the
    backward pass.
    """
    positive = value > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, value, torch.ones_like(value))), 0.0)


def _hue_angle(b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """atan2(b, a) mapped to [0, 2*pi); torch defines it and its gradient as 0 at the origin a = b = 0."""
    angle = torch.atan2(b, a)
    return torch.where(angle < 0, angle + _TWO_PI, angle)


def mean_absolute_error(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of |prediction - target| over channels and pixels, per image: shape (B,)."""
    dtype = _check_pair(prediction, target)
    return (prediction.double() - target.double()).abs().mean(dim=(1, 2, 3)).to(dtype)


def l1_similarity(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - mean|prediction - target| per image (the paper's L1 reward term); 1 means identical."""
    return 1.0 - mean_absolute_error(prediction, target)


def psnr(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio 10 * log10(data_range**2 / MSE) in dB per image: shape (B,).

    The MSE is the mean over all channels and pixels of each image (as scikit-image's
    ``peak_signal_noise_ratio``). Identical images have MSE 0 and give +inf (with an undefined gradient);
    callers that average or train on PSNR should clamp it.
    """
    dtype = _check_pair(prediction, target)
    _check_positive(data_range, "data_range")
    mse = (prediction.double() - target.double()).square().mean(dim=(1, 2, 3))
    return (10.0 * torch.log10(data_range**2 / mse)).to(dtype)


def _gaussian_window_1d(window_size: int, sigma: float, device: torch.device) -> torch.Tensor:
    """Normalised 1-D Gaussian taps exp(-x^2 / (2 sigma^2)) for x in [-r, r], r = (window_size - 1) / 2."""
    radius = (window_size - 1) // 2
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64, device=device)
    taps = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return taps / taps.sum()


class _CorrelateLastDim(torch.autograd.Function):
    """Valid 1-D correlation of the last dim with fixed taps: out[i] = sum_k taps[k] * signal[i + k].

    The forward pass is sliding windows times the taps, several times faster on CPU than float64 conv2d.
    Its adjoint is the full convolution, i.e. the same valid correlation of the gradient zero-padded by
    K - 1 on both sides with the taps reversed, which avoids the slow generic backward of ``unfold``.
    """

    @staticmethod
    def forward(ctx, signal: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(taps)
        return signal.unfold(-1, taps.numel(), 1) @ taps

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        (taps,) = ctx.saved_tensors
        padding = taps.numel() - 1
        return _CorrelateLastDim.apply(F.pad(grad_output, (padding, padding)), taps.flip(0)), None


def _separable_filter_valid_transposed(planes: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Correlate the last two dims with ``taps`` along each, keeping only fully covered ("valid") pixels.

    Each pass filters the contiguous last dim and then swaps the last two dims, so the result comes back
    transposed, shape (..., W - K + 1, H - K + 1); SSIM only averages it, so the orientation does not matter.
    """
    rows_filtered = _CorrelateLastDim.apply(planes, taps)
    return _CorrelateLastDim.apply(rows_filtered.transpose(-1, -2).contiguous(), taps)


def ssim(
    prediction: torch.Tensor,
    target: torch.Tensor,
    data_range: float = 1.0,
    *,
    sigma: float = 1.5,
    window_size: int | None = None,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) per image, averaged over the 3 channels: shape (B,).

    Local means, variances and covariance come from a Gaussian window (sigma 1.5; by default
    2 * int(3.5 * sigma + 0.5) + 1 = 11 taps, as scipy/scikit-image), population statistics, and
    SSIM = (2 mu_x mu_y + C1)(2 cov_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(var_x + var_y + C2)) with
    C1 = (k1 * data_range)^2, C2 = (k2 * data_range)^2. The map is averaged over the "valid" region only,
    dropping a border of (window_size - 1) // 2 pixels, exactly the crop scikit-image applies, so the
    numbers equal ``structural_similarity(..., channel_axis=-1, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=data_range)``. Images must be at least window_size on a side.
    """
    dtype = _check_pair(prediction, target)
    _check_positive(data_range, "data_range")
    _check_positive(sigma, "sigma")
    if window_size is None:
        window_size = 2 * int(_SSIM_TRUNCATE * sigma + 0.5) + 1
    if window_size < 1 or window_size % 2 == 0:
        raise ValueError(f"window_size must be a positive odd integer, got {window_size}")
    height, width = prediction.shape[-2:]
    if height < window_size or width < window_size:
        raise ValueError(
            f"ssim needs images at least {window_size}x{window_size} (the window size), got {height}x{width}"
        )

    x = prediction.double()
    y = target.double()
    taps = _gaussian_window_1d(window_size, sigma, x.device)
    planes = torch.stack([x, y, x * x, y * y, x * y])
    mean_x, mean_y, mean_xx, mean_yy, mean_xy = _separable_filter_valid_transposed(planes, taps)
    var_x = mean_xx - mean_x * mean_x
    var_y = mean_yy - mean_y * mean_y
    cov_xy = mean_xy - mean_x * mean_y

    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    ssim_map = ((2 * mean_x * mean_y + c1) * (2 * cov_xy + c2)) / (
        (mean_x * mean_x + mean_y * mean_y + c1) * (var_x + var_y + c2)
    )
    return ssim_map.mean(dim=(1, 2, 3)).to(dtype)


def _ciede2000_lab(lab_1: torch.Tensor, lab_2: torch.Tensor) -> torch.Tensor:
    """CIEDE2000 (kL = kC = kH = 1, Sharma et al. 2005) between Lab tensors with channels in dim 1.

    Matches scikit-image's ``deltaE_ciede2000``. Its special cases for a zero chroma (hue difference 0,
    unwrapped mean hue) are not needed: the hue term 2 sqrt(C1 C2) sin(dh / 2), the only user of either
    hue quantity, is 0 whenever a chroma is 0. Square roots are made safe at 0 so equal or neutral colours
    backpropagate finite gradients.
    """
    l_1, a_1, b_1 = lab_1.unbind(dim=1)
    l_2, a_2, b_2 = lab_2.unbind(dim=1)

    chroma_ab_mean = 0.5 * (_safe_sqrt(a_1 * a_1 + b_1 * b_1) + _safe_sqrt(a_2 * a_2 + b_2 * b_2))
    chroma_ab_mean_7 = chroma_ab_mean**7
    a_scale = 1.0 + 0.5 * (1.0 - _safe_sqrt(chroma_ab_mean_7 / (chroma_ab_mean_7 + 25.0**7)))
    a_1_prime = a_1 * a_scale
    a_2_prime = a_2 * a_scale
    chroma_1 = _safe_sqrt(a_1_prime * a_1_prime + b_1 * b_1)
    chroma_2 = _safe_sqrt(a_2_prime * a_2_prime + b_2 * b_2)
    hue_1 = _hue_angle(b_1, a_1_prime)
    hue_2 = _hue_angle(b_2, a_2_prime)

    lightness_mean_offset_sq = (0.5 * (l_1 + l_2) - 50.0) ** 2
    s_l = 1.0 + 0.015 * lightness_mean_offset_sq / torch.sqrt(20.0 + lightness_mean_offset_sq)
    lightness_term = (l_2 - l_1) / s_l

    chroma_mean = 0.5 * (chroma_1 + chroma_2)
    s_c = 1.0 + 0.045 * chroma_mean
    chroma_term = (chroma_2 - chroma_1) / s_c

    hue_diff = hue_2 - hue_1
    hue_sum = hue_1 + hue_2
    hue_delta = torch.where(hue_diff > math.pi, hue_diff - _TWO_PI, hue_diff)
    hue_delta = torch.where(hue_diff < -math.pi, hue_diff + _TWO_PI, hue_delta)
    hue_difference = 2.0 * _safe_sqrt(chroma_1 * chroma_2) * torch.sin(hue_delta / 2.0)

    hue_sum_wrapped = torch.where(hue_sum < _TWO_PI, hue_sum + _TWO_PI, hue_sum - _TWO_PI)
    hue_mean = 0.5 * torch.where(hue_diff.abs() > math.pi, hue_sum_wrapped, hue_sum)
    t = (
        1.0
        - 0.17 * torch.cos(hue_mean - math.radians(30.0))
        + 0.24 * torch.cos(2.0 * hue_mean)
        + 0.32 * torch.cos(3.0 * hue_mean + math.radians(6.0))
        - 0.20 * torch.cos(4.0 * hue_mean - math.radians(63.0))
    )
    s_h = 1.0 + 0.015 * chroma_mean * t
    hue_term = hue_difference / s_h

    chroma_mean_7 = chroma_mean**7
    r_c = 2.0 * _safe_sqrt(chroma_mean_7 / (chroma_mean_7 + 25.0**7))
    rotation_angle = math.radians(30.0) * torch.exp(-(((torch.rad2deg(hue_mean) - 275.0) / 25.0) ** 2))
    rotation_term = -torch.sin(2.0 * rotation_angle) * r_c * chroma_term * hue_term

    return _safe_sqrt(lightness_term**2 + chroma_term**2 + hue_term**2 + rotation_term)


def delta_e2000_map(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-pixel CIEDE2000 colour difference between two sRGB batches: shape (B, H, W).

    Both images go through :func:`rgb_to_lab`; the result matches
    ``deltaE_ciede2000(rgb2lab(target), rgb2lab(prediction))`` from scikit-image (the formula is symmetric).
    Differentiable, with gradient 0 where the colours are equal.
    """
    dtype = _check_pair(prediction, target)
    return _ciede2000_lab(rgb_to_lab(target.double()), rgb_to_lab(prediction.double())).to(dtype)


def delta_e2000(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean CIEDE2000 colour difference per image: shape (B,). 0 for identical images; ~2.3 is a
    just-noticeable difference."""
    return delta_e2000_map(prediction, target).mean(dim=(1, 2))


def histogram_similarity(prediction: torch.Tensor, target: torch.Tensor, bins: int = 32) -> torch.Tensor:
    """Cosine similarity of colour-histogram features per image: shape (B,), in [0, 1], 1 for identical images.

    The feature of an image is its three per-channel soft histograms (see ``soft_channel_histograms``:
    triangular kernel, ``bins`` centres from 0 to 1, each histogram normalised to sum 1) concatenated.
    It ignores where pixels are, only which values occur, and is differentiable in the pixel values.
    """
    dtype = _check_pair(prediction, target)
    if not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    features_prediction = soft_channel_histograms(prediction, bins)
    features_target = soft_channel_histograms(target, bins)
    return F.cosine_similarity(features_prediction, features_target, dim=1).to(dtype)


def evaluate_pair(prediction: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Batch means of psnr (dB; +inf if any image is identical), ssim, delta_e2000 and histogram_similarity."""
    with torch.no_grad():
        return {
            "psnr": psnr(prediction, target).double().mean().item(),
            "ssim": ssim(prediction, target).double().mean().item(),
            "delta_e2000": delta_e2000(prediction, target).double().mean().item(),
            "histogram_similarity": histogram_similarity(prediction, target).double().mean().item(),
        }
