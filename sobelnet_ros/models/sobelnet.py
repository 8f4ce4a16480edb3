"""SobelNet: the keypoint detector of Yuan et al. (2020).

Sobel edge maps of the image at three scales pass through a fixed Gaussian,
are scaled to a fixed mean magnitude per image (so image contrast does not
move the peaks), and pass through three small learned convolutions (weights
shared across scales); a last 1x1 convolution maps each scale to scores,
which are upsampled to full size and summed into the score map.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .cpu_arrays import numpy_ready
from .layers import ConvBnRelu, fold_batchnorm, run_blocks


@dataclass(frozen=True)
class SobelNetConfig:
    """Hyper-parameters of SobelNet; defaults follow the method spec."""

    scales: tuple[float, ...] = (1.0, 1 / math.sqrt(2), 0.5)  # image scales [paper]
    channels: int = 8  # width of the learned convolutions [paper]
    num_layers: int = 3  # learned convolutions per scale [paper]
    kernel_size: int = 3  # learned kernel size; 5 costs 2.8x the MACs [ours]
    gaussian_sigma: float = 1.5  # px, Gaussian after Sobel [ours]
    gaussian_size: int = 7  # taps of that Gaussian [ours]
    normalize_gradients: bool = True  # scale edges to a fixed mean per image [ours]

    # Weights files written before an option existed were trained without it.
    FILE_DEFAULTS: ClassVar[dict[str, Any]] = {"normalize_gradients": False}


# Mean |gx| + |gy| after Sobel and Gaussian, at which normalised edges are
# left as they are: the median over the training photos [ours].
REFERENCE_GRADIENT = 0.087
# Floor of that mean, 40% of the reference: below it an image is mostly flat
# and its edges mostly noise, so it is amplified at most 2.5x rather than
# turning that noise into keypoints [ours].
MIN_GRADIENT = 0.035


def gaussian_taps(sigma: float, size: int) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return (g / g.sum()).float()


class _SobelBlock(nn.Module):
    """Fixed Sobel then Gaussian filter, as two separable passes.

    Both filters are linear and separable, so Gaussian(Sobel(x)) is one 9x9
    kernel per output that factors into a horizontal and a vertical pass:
    36 multiply-adds per pixel instead of 2 x (9 + 49).

    Shape: ``(B, 1, H, W) -> (B, 2, H, W)`` with channels (gx, gy).
    """

    def __init__(self, sigma: float, size: int) -> None:
        super().__init__()
        g = gaussian_taps(sigma, size)
        smooth = torch.tensor([1.0, 2.0, 1.0])
        deriv = torch.tensor([-1.0, 0.0, 1.0])
        # conv2d is correlation; np.convolve-style flipping does not matter for
        # the symmetric Gaussian, and the derivative keeps its sign this way.
        g_smooth = F.conv1d(g.view(1, 1, -1), smooth.view(1, 1, -1), padding=2).flatten()
        g_deriv = F.conv1d(g.view(1, 1, -1), deriv.flip(0).view(1, 1, -1), padding=2).flatten()
        taps = g_smooth.numel()
        # Horizontal pass: gx needs the derivative across x, gy the smoothing.
        self.register_buffer("horizontal", torch.stack([g_deriv, g_smooth]).view(2, 1, 1, taps))
        # Vertical pass (depthwise): gx is smoothed across y, gy differentiated.
        self.register_buffer("vertical", torch.stack([g_smooth, g_deriv]).view(2, 1, taps, 1))
        self.pad = taps // 2

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if numpy_ready(image):
            return self._opencv(image)
        x = F.pad(image, (self.pad, self.pad, self.pad, self.pad), mode="replicate")
        if x.device.type == "cpu":
            return self._shifted_sums(x)
        return F.conv2d(F.conv2d(x, self.horizontal), self.vertical, groups=2)

    @torch.compiler.disable  # OpenCV: a compiled graph runs this part as it is
    def _opencv(self, image: torch.Tensor) -> torch.Tensor:
        # OpenCV's SIMD separable filter makes each pass one sweep over the
        # image; the shifted sums below take 9 sweeps per pass (~10x slower).
        # Same taps, replicated border: equal to float rounding.
        batch, _, height, width = image.shape
        out = torch.empty(batch, 2, height, width)
        grays = image.float().reshape(batch, height, width).numpy()
        h_taps = self.horizontal.reshape(2, -1).numpy()
        v_taps = self.vertical.reshape(2, -1).numpy()
        for gray, edges in zip(grays, out.numpy(), strict=True):
            for channel in range(2):
                cv2.sepFilter2D(
                    np.ascontiguousarray(gray),
                    cv2.CV_32F,
                    h_taps[channel],
                    v_taps[channel],
                    dst=edges[channel],
                    borderType=cv2.BORDER_REPLICATE,
                )
        return out

    def _shifted_sums(self, padded: torch.Tensor) -> torch.Tensor:
        # oneDNN runs 1- and 2-channel convolutions several times slower than
        # these 18 fused multiply-adds over shifted views (same result).
        taps = self.horizontal.shape[-1]
        height, width = padded.shape[-2] - 2 * self.pad, padded.shape[-1] - 2 * self.pad
        h_taps = self.horizontal.view(1, 2, taps, 1, 1)
        v_taps = self.vertical.view(1, 2, taps, 1, 1)
        rows = padded[..., :, 0:width] * h_taps[:, :, 0]
        for i in range(1, taps):
            rows = rows + padded[..., :, i : i + width] * h_taps[:, :, i]
        out = rows[..., 0:height, :] * v_taps[:, :, 0]
        for i in range(1, taps):
            out = out + rows[..., i : i + height, :] * v_taps[:, :, i]
        return out


class _LearnableBlock(nn.Module):
    """Three conv-BN-ReLU layers of ``channels`` channels, shared across scales."""

    def __init__(self, channels: int, num_layers: int, kernel_size: int) -> None:
        super().__init__()
        widths = [2] + [channels] * num_layers
        self.layers = nn.Sequential(
            *(ConvBnRelu(cin, cout, kernel_size) for cin, cout in itertools.pairwise(widths))
        )

    def forward(self, edges: torch.Tensor) -> torch.Tensor:
        return run_blocks(self.layers, edges)


class SobelNet(nn.Module):
    """Multi-scale Sobel-fed detector producing a dense score map.

    Args:
        config: hyper-parameters; ``SobelNetConfig()`` when omitted.

    Shape:
        - image: ``(B, 1, H, W)``, gray in [0, 1]
        - output: ``(B, 1, H, W)``, scores in [0, 1]
    """

    def __init__(self, config: SobelNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or SobelNetConfig()
        c = self.config
        self.sobel = _SobelBlock(c.gaussian_sigma, c.gaussian_size)
        self.learnable = _LearnableBlock(c.channels, c.num_layers, c.kernel_size)
        # A 1x1 head commutes with bilinear upsampling and with the sum, so it
        # runs on each level before upsampling: 1 map instead of 8 to resize.
        self.head = nn.Conv2d(c.channels, 1, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.logits(image)
        return torch.sigmoid(logits) if torch.is_grad_enabled() else logits.sigmoid_()

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        """Score map before the sigmoid, ``(B, 1, H, W)``."""
        scores: dict[float, torch.Tensor] = {}
        gain = None
        for scale in self.config.scales:
            scores[scale], gain = self.scale_scores(image, scale, gain)
        return self.sum_scales(scores)

    def scale_scores(
        self,
        image: torch.Tensor,
        scale: float,
        gain: torch.Tensor | None,
        scaled: torch.Tensor | None = None,
        edges: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One scale's scores at the image's size (before the bias) and the edge gain.

        ``gain`` is None for the first scale, whose edges give the gain that
        ``logits`` then passes to the others (None without normalisation).
        ``scaled`` is ``scaled_image(image, scale)``, ``edges`` is ``sobel(scaled)``,
        where made beforehand.
        """
        height, width = image.shape[-2:]
        learned_dtype = self.head.weight.dtype  # see set_learned_dtype
        if edges is None:
            edges = self.sobel(self.scaled_image(image, scale) if scaled is None else scaled)
        if self.config.normalize_gradients:
            gain = self.gain_of(edges) if gain is None else gain
            edges = edges * gain
        features = self.learnable(edges.to(learned_dtype))
        score = self.head(features).to(image.dtype)
        if scale != 1.0:
            score = upsample_scores(score, height, width)
        return score, gain

    def gain_of(self, edges: torch.Tensor) -> torch.Tensor | None:
        """The edge gain ``scale_scores`` takes from the first scale's ``sobel`` edges.

        One gain per image, from the first level, for all levels: a brighter or
        higher-contrast copy gives the same scores (as long as both lie above
        MIN_GRADIENT and nothing clips). None without normalisation.
        """
        return gradient_gain(edges) if self.config.normalize_gradients else None

    @staticmethod
    def scaled_image(image: torch.Tensor, scale: float) -> torch.Tensor:
        """The image at ``scale`` as this net reads it (antialiased bilinear; itself at 1)."""
        return _resize(image, scale)

    def sum_scales(self, scores: Mapping[float, torch.Tensor]) -> torch.Tensor:
        """Logits from ``scale_scores`` of every scale, summed in the config's order:
        a new tensor, the sums after its first one in place (an addition's
        gradient needs none of the values it overwrites)."""
        maps = [scores[scale] for scale in self.config.scales]
        total = maps[0] + maps[1] if len(maps) > 1 else maps[0].clone()
        for more in maps[2:]:
            total += more
        total += self.bias
        return total

    def set_learned_dtype(self, dtype: torch.dtype) -> SobelNet:
        """Run the learned convolutions in ``dtype`` (bf16/fp16); the fixed filters,
        resizing and the score sum stay in the input's precision. Returns self."""
        self.learnable.to(dtype)
        self.head.to(dtype)
        return self

    def fuse_for_inference(self) -> SobelNet:
        """Fold BatchNorm into the convolutions (eval mode only); returns self."""
        fold_batchnorm(self)
        return self


def gradient_gain(edges: torch.Tensor) -> torch.Tensor:
    """Per-image factor ``(B, 1, 1, 1)`` bringing the mean |edge| to the reference."""
    mean = edges.abs().mean(dim=(1, 2, 3), keepdim=True)
    return REFERENCE_GRADIENT / mean.clamp_min(MIN_GRADIENT)


def upsample_scores(score: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bilinear upsampling of a coarser scale's scores to ``height x width``
    (``align_corners=False``), ``(B, 1, h, w) -> (B, 1, height, width)``.

    On the CPU (float32, no autograd) OpenCV's resize computes the same
    half-pixel-centred bilinear weights (from a scale in double precision, so
    at 1/sqrt(2) they differ by float rounding: up to 1e-4 of the value range),
    in a quarter of ``F.interpolate``'s time: at 640x480 0.12 and 0.10 against
    0.44 ms per map on one core.
    """
    if numpy_ready(score):
        return _upsample_opencv(score, height, width)
    return F.interpolate(score, size=(height, width), mode="bilinear", align_corners=False)


@torch.compiler.disable  # OpenCV: a compiled graph runs this part as it is
def _upsample_opencv(score: torch.Tensor, height: int, width: int) -> torch.Tensor:
    out = torch.empty(score.shape[0], 1, height, width)
    maps = score.reshape(-1, *score.shape[-2:]).numpy()
    for small, large in zip(maps, out.view(-1, height, width).numpy(), strict=True):
        cv2.resize(small, (width, height), dst=large, interpolation=cv2.INTER_LINEAR)
    return out


def _resize(image: torch.Tensor, scale: float) -> torch.Tensor:
    if scale == 1.0:
        return image
    height, width = image.shape[-2:]
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)
