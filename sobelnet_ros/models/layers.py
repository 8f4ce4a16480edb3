"""Building blocks shared by SobelNet and DesNet."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .pixel_pairs import conv_relu_two, fits, pair_weight, pairable


class ConvBnRelu(nn.Sequential):
    """Same-size (or strided) convolution, BatchNorm, ReLU."""

    def __init__(
        self, cin: int, cout: int, kernel_size: int = 3, stride: int = 1, dilation: int = 1
    ) -> None:
        padding = dilation * (kernel_size // 2)
        super().__init__(
            nn.Conv2d(cin, cout, kernel_size, stride, padding, dilation, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self[0]
        if self.fused_on(x):
            # oneDNN applies the ReLU to each output as it writes it: one pass
            # over the activations less. ReLU commutes with rounding to the
            # output dtype, so the result is bit for bit the unfused one.
            return torch.ops.mkldnn._convolution_pointwise(
                x,
                conv.weight,
                conv.bias,
                list(conv.padding),
                list(conv.stride),
                list(conv.dilation),
                conv.groups,
                "relu",
                [],
                "",
            )
        return super().forward(x)

    def fused_on(self, x: torch.Tensor) -> bool:
        """Whether ``forward(x)`` runs the folded convolution with its ReLU as one oneDNN op."""
        conv = self[0]
        hooked = conv._forward_hooks or conv._forward_pre_hooks  # count_macs hooks it
        return isinstance(self[1], nn.Identity) and not hooked and _fusable(x)

    def paired(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Weight and bias of this (folded) layer on pixel pairs (see ``pixel_pairs``).

        Made once and kept while the weights stay the same tensors, unchanged.
        """
        conv = self[0]
        key = tuple(
            (t.data_ptr(), t._version, t.dtype) for t in (conv.weight, conv.bias) if t is not None
        )
        cached = getattr(self, "_paired", None)
        if cached is None or cached[0] != key:
            bias = None if conv.bias is None else conv.bias.detach().repeat(2)
            cached = (key, (pair_weight(conv.weight.detach()), bias))
            self._paired = cached
        return cached[1]


def run_blocks(blocks: Sequence[ConvBnRelu], x: torch.Tensor) -> torch.Tensor:
    """``blocks`` one after another, consecutive same-size 3x3 ones two at a time
    on pixel pairs where oneDNN runs them fused (see ``pixel_pairs``): the same
    result to float rounding, in about three quarters of the time."""
    index = 0
    while index < len(blocks):
        block = blocks[index]
        if index + 1 < len(blocks) and _pair_up(block, blocks[index + 1], x):
            x = conv_relu_two(x, block.paired(), blocks[index + 1].paired())
            index += 2
        else:
            x = block(x)
            index += 1
    return x


def _pair_up(first: ConvBnRelu, second: ConvBnRelu, x: torch.Tensor) -> bool:
    return (
        fits(x)
        and first.fused_on(x)
        and second.fused_on(x)
        and pairable(first[0])
        and pairable(second[0])
    )


def _fusable(x: torch.Tensor) -> bool:
    """Inference on the CPU with oneDNN (its fused convolution has no backward)."""
    return (
        x.device.type == "cpu"
        and not torch.is_grad_enabled()
        and x.dtype in (torch.float32, torch.bfloat16)
        and torch.backends.mkldnn.is_available()
    )


def fold_batchnorm(module: nn.Module) -> None:
    """Replace every BatchNorm that follows a Conv2d in a ``ConvBnRelu`` by an identity.

    The convolution absorbs the normalisation (eval statistics), which saves a
    full pass over the activations; the module must be in eval mode.
    """
    if module.training:
        raise ValueError("fold_batchnorm needs a module in eval mode")
    for block in module.modules():
        if isinstance(block, ConvBnRelu) and isinstance(block[1], nn.BatchNorm2d):
            block[0] = fuse_conv_bn_eval(block[0], block[1])
            block[1] = nn.Identity()
