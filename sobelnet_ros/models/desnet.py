"""DesNet: the dense descriptor network of Yuan et al. (2020).

A lean fully convolutional network on the grayscale image: stride-2 stages
down to 1/8 resolution, then dilated convolutions that widen the receptive
field without losing resolution, and a 1x1 projection to unit-norm
descriptors.

With ``fine_detail`` a keypoint's descriptor also gets a linear projection of
the 1/4-resolution features at that keypoint. Bilinear sampling of a 1/8 map
gives nearly the same descriptor to keypoints 3-5 px apart, so mutual nearest
neighbours often pick a neighbour of the true partner; the 1/4 features tell
such neighbours apart. The projection runs on the K sampled vectors only,
not on a dense 1/4 map. Inference reads the two maps as they are
(``DesNet.maps``, ``DesNet.sample_maps``); ``forward`` packs the stride-4
features into the dense output's channels for training, a copy that costs
about 2.5 ms per 640x480 frame on one core of a 2-core CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .layers import ConvBnRelu, fold_batchnorm
from .sampling import sample_descriptors, sample_features


@dataclass(frozen=True)
class DesNetConfig:
    """Hyper-parameters of DesNet (the paper is silent; all [ours])."""

    widths: tuple[int, ...] = (16, 32, 64)  # channels of each stride-2 stage [ours]
    extra_convs: tuple[int, ...] = (0, 1, 0)  # same-size convs after each stage's stem [ours]
    dilations: tuple[int, ...] = (2, 4)  # dilated convs at the last stage, for context [ours]
    descriptor_dim: int = 128  # output channels [ours]
    fine_detail: bool = True  # add projected stride/2 features at each keypoint [ours]

    # Weights files written before an option existed were trained without it.
    FILE_DEFAULTS: ClassVar[dict[str, Any]] = {"fine_detail": False}

    @property
    def stride(self) -> int:
        """Pixels of the input per descriptor cell."""
        return 2 ** len(self.widths)


class DescriptorMaps(NamedTuple):
    """DesNet's outputs as they come: the descriptor map and the stride-s/2 features.

    ``coarse`` is ``(B, D, ceil(H / s), ceil(W / s))``, unit norm along D;
    ``fine`` is ``(B, C, ceil(H / (s/2)), ceil(W / (s/2)))`` (C = ``widths[-2]``),
    or None without ``fine_detail``.
    """

    coarse: torch.Tensor
    fine: torch.Tensor | None


class DesNet(nn.Module):
    """Dense descriptor CNN.

    Args:
        config: hyper-parameters; ``DesNetConfig()`` when omitted.

    Shape:
        - image: ``(B, 1, H, W)``, gray in [0, 1]
        - output: ``(B, D, ceil(H / s), ceil(W / s))``, unit norm along D, s = ``config.stride``;
          with ``fine_detail`` the stride-s/2 features follow as ``4 C`` more channels
          (``pixel_unshuffle``, C = ``widths[-2]``). Read descriptors with ``sample``.
    """

    # Parameters a file written without fine_detail lacks; zero at the start,
    # so a net grown from such a file begins with the file's descriptors.
    GROWN_PARAMETERS: ClassVar[tuple[str, ...]] = ("fine.",)

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
        # Index in backbone of the last layer at stride s/2 (before the last stem).
        self._fine_index = sum(1 + extra for extra in c.extra_convs[:-1]) - 1
        self.fine: nn.Linear | None = None
        if c.fine_detail:
            if len(c.widths) < 2:
                raise ValueError("DesNetConfig.fine_detail needs at least two stages in widths")
            self.fine = nn.Linear(c.widths[-2], c.descriptor_dim, bias=False)
            nn.init.zeros_(self.fine.weight)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        coarse, fine = self.maps(image)
        if fine is None:
            return coarse
        return torch.cat([coarse, pack_fine(fine, coarse.shape[-2:])], dim=1)

    def maps(self, image: torch.Tensor) -> DescriptorMaps:
        """The descriptor map and the stride-s/2 features, both in the input's dtype."""
        x = normalize_contrast(image).to(self.head.weight.dtype)  # see set_learned_dtype
        fine = None
        for index, layer in enumerate(self.backbone):
            x = layer(x)
            if index == self._fine_index:
                fine = x
        coarse = F.normalize(self.head(x).to(image.dtype), dim=1)
        if self.fine is None:
            return DescriptorMaps(coarse, None)
        return DescriptorMaps(coarse, fine.to(image.dtype))

    def sample(self, dense: torch.Tensor, keypoints: torch.Tensor) -> torch.Tensor:
        """Unit-norm descriptors ``(B, K, D)`` at keypoints ``(B, K, 2)`` (input px)
        from ``dense``, this net's output."""
        if self.fine is None:
            return sample_descriptors(dense, keypoints, self.config.stride)
        dim = self.config.descriptor_dim
        fine = F.pixel_shuffle(dense[:, dim:], 2)
        return self.sample_maps(DescriptorMaps(dense[:, :dim], fine), keypoints)

    def sample_maps(self, maps: DescriptorMaps, keypoints: torch.Tensor) -> torch.Tensor:
        """``sample`` from ``maps`` (see ``maps``): the same descriptors, no packing.

        Border sampling reads an odd side's last row or column where the packed
        map repeats it, so both agree: bit for bit where the sides are multiples
        of the stride, to float rounding of the grid coordinates elsewhere.
        """
        c = self.config
        if self.fine is None or maps.fine is None:
            return sample_descriptors(maps.coarse, keypoints, c.stride)
        coarse = sample_features(maps.coarse, keypoints, c.stride)
        fine = sample_features(maps.fine, keypoints, c.stride // 2)
        detail = self.fine(fine.to(self.fine.weight.dtype)).to(coarse.dtype)
        return F.normalize(coarse + detail, dim=-1)

    def set_learned_dtype(self, dtype: torch.dtype) -> DesNet:
        """Run the convolutions in ``dtype`` (bf16/fp16); input normalisation and
        the output norm stay in the input's precision. The fine projection keeps
        float32: it runs on K vectors only, and bf16 would round it to 0.4%.
        Returns self."""
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


def pack_fine(fine: torch.Tensor, coarse_size: torch.Size) -> torch.Tensor:
    """Stride-s/2 features ``(B, C, h, w)`` as ``(B, 4C, H', W')`` on the coarse grid.

    ``h`` is ``2 H'`` or ``2 H' - 1`` (odd sizes round up at each stride); an odd
    side gets its last row or column repeated, which ``pixel_shuffle`` in
    ``DesNet.sample`` brings back where border sampling would read it anyway.
    """
    height, width = coarse_size
    pad_h, pad_w = 2 * height - fine.shape[-2], 2 * width - fine.shape[-1]
    if pad_h or pad_w:
        fine = F.pad(fine, (0, pad_w, 0, pad_h), mode="replicate")
    return F.pixel_unshuffle(fine, 2)
