"""3x3 convolutions of few channels on the CPU, run on horizontal pixel pairs.

oneDNN vectorises a convolution over its channels; with SobelNet's 8
channels half of every bf16 vector is padding. A channels_last map
``(B, C, H, W)`` with even ``W`` is, byte for byte, a ``(B, 2C, H, W / 2)``
map whose pixels are the pairs ``(2j, 2j + 1)``: a free view. On pairs, a
3x3 convolution is a 3x2 convolution with ``2C`` channels in and out (a
quarter of its weights zero): 1.33x the multiply-adds, and still faster.
Measured on a 2-core AMD EPYC (AVX512-BF16), one thread, SobelNet's 8->8
layers: two layers at 640x480 take 6.2 instead of 8.3 ms (with the 2->8
layer before them, bf16), 240x320 about 10% less; float32 12.9 instead of 19.4 ms.
An odd width gets columns of zeros first (a copy) and loses them at the end.

Layers run in twos. The first reads aligned pairs and writes ``W / 2 + 1``
shifted pairs ``(2j - 1, 2j)``, whose outer halves (pixels -1 and W) lie
outside the image and are set to zero: the zero padding the next layer
expects. The second reads shifted pairs without padding and writes aligned
pairs again. Each output is a sum of the same products as the plain
convolution's (plus exact zeros) in another order: equal to float rounding,
and at 640x480 bit for bit in practice.
"""

from __future__ import annotations

import torch
from torch import nn

_ALIGNED_PADDING = [1, 1]  # pairs (2j, 2j+1) -> W/2 + 1 shifted pairs
_SHIFTED_PADDING = [1, 0]  # shifted pairs -> W/2 aligned pairs


def pairable(conv: nn.Conv2d) -> bool:
    """Whether ``conv`` is a same-size 3x3 convolution that pairs can run."""
    return (
        conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.padding == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
    )


def pair_weight(weight: torch.Tensor) -> torch.Tensor:
    """3x3 kernel ``(O, I, 3, 3)`` -> kernel on pairs ``(2 O, 2 I, 3, 2)``, channels_last.

    Output pair channel ``q O + o`` (pixel ``q`` of the pair) reads input pair
    ``t`` of its window, channel ``r I + i``; that input pixel lies
    ``d = 2 t + r - 1 - q`` pixels right of the output pixel, for aligned and
    shifted pairs alike.
    """
    outputs, inputs, height, _ = weight.shape
    paired = weight.new_zeros(2, outputs, 2, inputs, height, 2)
    for q in range(2):
        for r in range(2):
            for t in range(2):
                offset = 2 * t + r - 1 - q
                if -1 <= offset <= 1:
                    paired[q, :, r, :, :, t] = weight[..., offset + 1]
    return paired.reshape(2 * outputs, 2 * inputs, height, 2).contiguous(
        memory_format=torch.channels_last
    )


def as_pairs(x: torch.Tensor) -> torch.Tensor:
    """Channels_last ``(B, C, H, W)``, W even -> the same memory as ``(B, 2C, H, W / 2)``."""
    batch, channels, height, width = x.shape
    return x.as_strided(
        (batch, 2 * channels, height, width // 2),
        (height * width * channels, 1, width * channels, 2 * channels),
    )


def from_pairs(x: torch.Tensor) -> torch.Tensor:
    """Inverse of ``as_pairs`` (a view)."""
    batch, channels, height, pairs = x.shape
    half = channels // 2
    return x.as_strided(
        (batch, half, height, 2 * pairs), (height * pairs * channels, 1, pairs * channels, half)
    )


def fits(x: torch.Tensor) -> bool:
    """Whether ``conv_relu_two`` takes ``x``: a channels_last map of 2 or more columns."""
    return x.dim() == 4 and x.shape[-1] >= 2 and x.is_contiguous(memory_format=torch.channels_last)


def conv_relu_two(
    x: torch.Tensor,
    first: tuple[torch.Tensor, torch.Tensor | None],
    second: tuple[torch.Tensor, torch.Tensor | None],
) -> torch.Tensor:
    """ReLU(conv(ReLU(conv(x)))) of two same-size 3x3 layers, run on pixel pairs.

    ``first`` and ``second`` are ``(paired weight, paired bias)`` (``pair_weight``,
    the bias repeated twice). ``x`` must satisfy ``fits``; returns ``second``'s
    channels, channels_last (a view of a wider map where ``W`` is odd).
    """
    width = x.shape[-1]
    if width % 2:  # columns of zeros up to an even number of pairs: see _padded
        x = _padded(x, 4 * -(-width // 4))
    shifted = _conv_relu(as_pairs(x), *first, _ALIGNED_PADDING)
    half = shifted.shape[1] // 2
    shifted[:, :half, :, 0] = 0  # pixel -1
    # Pixels W and beyond: pair j holds pixels 2j - 1 and 2j.
    if width % 2:
        shifted[..., (width + 1) // 2 :] = 0
    else:
        shifted[:, half:, :, width // 2] = 0
        shifted[..., width // 2 + 1 :] = 0
    return from_pairs(_conv_relu(shifted, *second, _SHIFTED_PADDING))[..., :width]


def _padded(x: torch.Tensor, width: int) -> torch.Tensor:
    """``x`` with columns of zeros up to ``width``, as the convolution's padding would read.

    An odd width needs a copy with one column more; it gets up to three, to an
    even number of pairs: oneDNN takes about 1.35x longer per pixel on an odd
    number of aligned pairs with padding on both sides (measured at 480, 339
    and 240 rows, 303 to 335 pairs). At 640x480 the 1/sqrt(2) scale (453
    columns) takes 5.0 instead of 5.5 ms (one thread). An even width with an
    odd number of pairs keeps it: there a copy would cost more than it saves.
    """
    padded = torch.empty(
        (*x.shape[:-1], width), dtype=x.dtype, device=x.device, memory_format=torch.channels_last
    )
    padded[..., : x.shape[-1]] = x
    padded[..., x.shape[-1] :] = 0
    return padded


def _conv_relu(x, weight, bias, padding: list[int]) -> torch.Tensor:
    # oneDNN's convolution with the ReLU as post-op, as ConvBnRelu runs it.
    return torch.ops.mkldnn._convolution_pointwise(
        x, weight, bias, padding, [1, 1], [1, 1], 1, "relu", [], ""
    )
