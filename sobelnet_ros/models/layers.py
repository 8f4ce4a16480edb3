"""Building blocks shared by SobelNet and DesNet."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


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
        hooked = conv._forward_hooks or conv._forward_pre_hooks  # count_macs hooks it
        if isinstance(self[1], nn.Identity) and not hooked and _fusable(x):
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
