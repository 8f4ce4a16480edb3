import pytest
import torch
from torch import nn

from sobelnet_ros.models import DesNet
from sobelnet_ros.models.layers import ConvBnRelu, fold_batchnorm
from sobelnet_ros.models.macs import count_macs


def _folded_block(cin: int, cout: int, stride: int, dilation: int) -> ConvBnRelu:
    torch.manual_seed(0)
    block = ConvBnRelu(cin, cout, stride=stride, dilation=dilation)
    bn = block[1]
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-0.5, 0.5)
    block.eval()
    fold_batchnorm(block)
    return block


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("stride, dilation", [(1, 1), (2, 1), (1, 4)])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_fused_relu_convolution_is_bit_for_bit_the_unfused_one(
    dtype, stride, dilation, memory_format
):
    block = _folded_block(8, 16, stride, dilation).to(dtype).to(memory_format=memory_format)
    image = torch.randn(2, 8, 37, 53).to(dtype).contiguous(memory_format=memory_format)
    with torch.no_grad():
        fused = block(image)  # no autograd on the CPU: oneDNN's conv with ReLU post-op
        unfused = torch.relu(block[0](image))
    assert torch.equal(fused, unfused)
    assert (fused >= 0).all() and (fused > 0).any()


def test_with_autograd_the_block_runs_unfused_and_has_gradients():
    block = _folded_block(2, 8, 1, 1)
    image = torch.randn(1, 2, 20, 20, requires_grad=True)
    block(image).sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert isinstance(block[1], nn.Identity)


def test_macs_of_a_folded_network_count_every_convolution():
    net = DesNet().eval()
    before = count_macs(net, 64, 96)
    net.fuse_for_inference()
    assert count_macs(net, 64, 96) == before
