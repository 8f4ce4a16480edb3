"""DesNet: the dense descriptor network of Yuan et al. (2020).

A lean fully convolutional network on the grayscale image: stride-2 stages
down to 1/8 resolution, then dilated convolutions that widen the receptive
field without losing resolution, and a 1x1 projection to unit-norm
descriptors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .layers import ConvBnRelu, fold_batchnorm


@dataclass(frozen=True)
class DesNetConfig:
    """Hyper-parameters of DesNet (the paper is silent; all [ours])."""

    widths: tuple[int, ...] = (16, 32, 64)  # channels of each stride-2 stage [ours]
    extra_convs: tuple[int, ...] = (0, 1, 0)  # same-size convs after each stage's stem [ours]
    dilations: tuple[int, ...] = (2, 4)  # dilated convs at the last stage, for context [ours]
    descriptor_dim: int = 128  # output channels [ours]

    @property
    def stride(self) -> int:
        """Pixels of the input per descriptor cell."""
        return 2 ** len(self.widths)


class DesNet(nn.Module):
    """Dense descriptor CNN.

    Args:
        config: hyper-parameters; ``DesNetConfig()`` when omitted.

    Shape:
        - image: ``(B, 1, H, W)``, gray in [0, 1]
        - output: ``(B, D, ceil(H / s), ceil(W / s))``, unit norm along D, s = ``config.stride``
    """

    def __init__(self, config: DesNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or DesNetConfig()
        c = self.config
        if len(c.extra_convs) != len(c.widths):
            raise ValueError("DesNetConfig.extra_convs needs one entry per stage in widths")
        layers: list[nn.Module] = []
        cin = 1
        for width, extra in zip(c.widths, c.extra_convs, strict=False):
            layers.append(ConvBnRelu(cin, width, stride=2))
            layers.extend(ConvBnRelu(width, width) for _ in range(extra))
            cin = width
        layers.extend(ConvBnRelu(cin, cin, dilation=d) for d in c.dilations)
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Conv2d(cin, c.descriptor_dim, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = normalize_contrast(image).to(self.head.weight.dtype)  # see set_learned_dtype
        return F.normalize(self.head(self.backbone(x)).to(image.dtype), dim=1)

    def set_learned_dtype(self, dtype: torch.dtype) -> DesNet:
        """Run the convolutions in ``dtype`` (bf16/fp16); input normalisation and
        the output norm stay in the input's precision. Returns self."""
        self.backbone.to(dtype)
        self.head.to(dtype)
        return self

    def fuse_for_inference(self) -> DesNet:
        """Fold BatchNorm into the convolutions (eval mode only); returns self."""
        fold_batchnorm(self)
        return self


def normalize_contrast(image: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Zero mean, unit deviation per image: global brightness and contrast drop out."""
    mean = image.mean(dim=(-2, -1), keepdim=True)
    std = image.std(dim=(-2, -1), keepdim=True)
    return (image - mean) / (std + eps)
