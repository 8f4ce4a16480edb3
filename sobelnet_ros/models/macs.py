"""Counting multiply-accumulates of a network at a given input size."""

from __future__ import annotations

import torch
from torch import nn


def count_macs(model: nn.Module, height: int, width: int) -> int:
    """Multiply-accumulates of one forward pass on a ``(1, 1, height, width)`` image.

    Counts every ``nn.Conv2d`` and ``nn.Linear`` call through forward hooks
    (a module shared across scales is counted at each call), plus the fixed
    filters applied through ``torch.nn.functional.conv2d`` in SobelNet's
    Sobel block, which hooks cannot see.
    """
    total = 0

    def on_conv(module: nn.Conv2d, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        per_output = kh * kw * module.in_channels // module.groups
        total += output.numel() * per_output

    def on_linear(module: nn.Linear, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * module.in_features

    def on_fixed(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        for kernel in (getattr(module, "horizontal", None), getattr(module, "vertical", None)):
            if kernel is not None:
                total += output.numel() * kernel.shape[-1] * kernel.shape[-2]

    hooks = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(on_conv))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(on_linear))
        elif hasattr(module, "horizontal") and hasattr(module, "vertical"):
            hooks.append(module.register_forward_hook(on_fixed))
    try:
        device = next(model.buffers(), next(model.parameters())).device
        with torch.no_grad():
            model(torch.zeros(1, 1, height, width, device=device))
    finally:
        for hook in hooks:
            hook.remove()
    return total
