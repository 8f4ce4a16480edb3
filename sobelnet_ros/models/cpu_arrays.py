"""Which tensors the CPU fast paths hand to numpy and OpenCV."""

from __future__ import annotations

import torch


def numpy_ready(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` is float32 in CPU memory and outside autograd: numpy and
    OpenCV can then read it in place, and no gradient has to pass through them."""
    on_cpu = tensor.device.type == "cpu"
    return on_cpu and tensor.dtype == torch.float32 and not tensor.requires_grad
