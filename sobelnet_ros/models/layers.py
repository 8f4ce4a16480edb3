"""Building blocks shared by SobelNet and DesNet."""

from __future__ import annotations

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
