import itertools

import pytest
import torch
from torch import nn

from sobelnet_ros.models.layers import ConvBnRelu, fold_batchnorm, run_blocks
from sobelnet_ros.models.pixel_pairs import as_pairs, from_pairs

CL = torch.channels_last


def _chain(dtype: torch.dtype, widths=(2, 8, 8)) -> nn.Sequential:
    torch.manual_seed(0)
    blocks = nn.Sequential(*(ConvBnRelu(cin, cout) for cin, cout in itertools.pairwise(widths)))
    for block in blocks:
        block[1].running_mean.uniform_(-0.2, 0.2)
        block[1].bias.data.uniform_(-0.2, 0.2)
    blocks.eval()
    fold_batchnorm(blocks)
    return blocks.to(dtype).to(memory_format=CL)


def _plain(blocks: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    for block in blocks:
        x = torch.relu(block[0](x))
    return x


def test_pairs_view_the_same_memory_two_pixels_at_a_time():
    x = torch.randn(2, 8, 5, 6).contiguous(memory_format=CL)
    pairs = as_pairs(x)
    assert pairs.shape == (2, 16, 5, 3) and pairs.data_ptr() == x.data_ptr()
    assert torch.equal(pairs[:, :8, :, 1], x[..., 2])
    assert torch.equal(pairs[:, 8:, :, 1], x[..., 3])
    assert torch.equal(from_pairs(pairs), x)


@pytest.mark.parametrize(
    "size", [(48, 64), (17, 30), (3, 2), (20, 21), (5, 3), (9, 23), (7, 25), (6, 453)]
)
@pytest.mark.parametrize("widths", [(2, 8, 8), (2, 8, 8, 8), (4, 8, 16, 8)])
def test_paired_layers_give_the_plain_convolutions_in_float32(size, widths):
    blocks = _chain(torch.float32, widths)
    x = torch.randn(2, widths[0], *size).contiguous(memory_format=CL)
    with torch.no_grad():
        got, expected = run_blocks(blocks, x), _plain(blocks, x)
    assert hasattr(blocks[1], "_paired")  # the pairs ran
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert (got > 0).any() and (got == 0).any()


def test_paired_layers_in_bfloat16_differ_from_the_plain_ones_by_rounding_only():
    blocks = _chain(torch.bfloat16)
    x = torch.randn(1, 2, 96, 128).to(torch.bfloat16).contiguous(memory_format=CL)
    with torch.no_grad():
        got, expected = run_blocks(blocks, x).float(), _plain(blocks, x).float()
    assert hasattr(blocks[1], "_paired")
    differ = (got - expected).abs() > 0
    assert differ.float().mean() < 1e-3
    assert torch.allclose(got, expected, rtol=2**-6, atol=2**-8)


def test_one_column_hooks_and_autograd_run_the_plain_layers():
    blocks = _chain(torch.float32)
    column = torch.randn(1, 2, 20, 1).contiguous(memory_format=CL)
    with torch.no_grad():
        assert torch.equal(run_blocks(blocks, column), blocks(column))
    assert not hasattr(blocks[1], "_paired")
    handle = blocks[1][0].register_forward_hook(lambda *_: None)
    with torch.no_grad():
        run_blocks(blocks, torch.randn(1, 2, 20, 22).contiguous(memory_format=CL))
    handle.remove()
    assert not hasattr(blocks[1], "_paired")
    even = torch.randn(1, 2, 20, 22).contiguous(memory_format=CL).requires_grad_()
    run_blocks(blocks, even).sum().backward()
    assert not hasattr(blocks[1], "_paired") and even.grad is not None


def test_changed_weights_are_paired_again():
    blocks = _chain(torch.float32)
    x = torch.randn(1, 2, 16, 16).contiguous(memory_format=CL)
    with torch.no_grad():
        run_blocks(blocks, x)
        blocks[1][0].weight.mul_(-1.5)
        assert torch.allclose(run_blocks(blocks, x), _plain(blocks, x), rtol=1e-5, atol=1e-5)
