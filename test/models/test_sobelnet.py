import pytest
import torch

from sobelnet_ros.models import SobelNet, SobelNetConfig
from sobelnet_ros.models.macs import count_macs
from sobelnet_ros.models.sobelnet import (
    MIN_GRADIENT,
    REFERENCE_GRADIENT,
    _SobelBlock,
    gradient_gain,
    upsample_scores,
)


def test_score_map_shape_and_range():
    net = SobelNet().eval()
    with torch.no_grad():
        scores = net(torch.rand(2, 1, 37, 53))
    assert scores.shape == (2, 1, 37, 53)
    assert float(scores.min()) >= 0.0 and float(scores.max()) <= 1.0


@pytest.mark.parametrize("requires_grad", [False, True], ids=["opencv", "shifted_sums"])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_sobel_block_cpu_paths_equal_convolution_path(requires_grad, memory_format):
    # Without autograd the CPU runs OpenCV's separable filter, with it shifted sums.
    block = _SobelBlock(sigma=1.5, size=7)
    image = torch.rand(2, 1, 40, 50).contiguous(memory_format=memory_format)
    padded = torch.nn.functional.pad(image, (4, 4, 4, 4), mode="replicate")
    by_conv = torch.nn.functional.conv2d(
        torch.nn.functional.conv2d(padded, block.horizontal), block.vertical, groups=2
    )
    edges = block(image.requires_grad_(requires_grad))
    assert edges.requires_grad == requires_grad
    assert torch.allclose(edges, by_conv, atol=1e-6)


@pytest.mark.parametrize("small", [(339, 453), (240, 320), (17, 23)])
def test_score_upsampling_on_the_cpu_equals_bilinear_interpolation(small):
    # OpenCV's resize without autograd, F.interpolate with it: the same weights,
    # from a scale in double rather than float precision (up to 1e-4 of the
    # range where neighbours differ as much as in this noise).
    scores = torch.randn(2, 1, *small) * 4
    size = (480, 640) if small[0] > 100 else (37, 53)
    expected = torch.nn.functional.interpolate(
        scores, size=size, mode="bilinear", align_corners=False
    )
    fast = upsample_scores(scores, *size)
    plain = upsample_scores(scores.clone().requires_grad_(True), *size)
    assert fast.shape == expected.shape == (2, 1, *size)
    assert torch.allclose(fast, expected, atol=1e-3, rtol=0)
    assert torch.equal(plain.detach(), expected)


def test_sobel_block_gives_signed_gradients():
    block = _SobelBlock(sigma=1.5, size=7)
    ramp_x = torch.arange(32.0).repeat(32, 1).view(1, 1, 32, 32)  # brightness grows with x
    edges = block(ramp_x)[0, :, 10:22, 10:22]
    assert torch.allclose(edges[0], torch.full_like(edges[0], 8.0), atol=1e-4)  # Sobel gain 8
    assert torch.allclose(edges[1], torch.zeros_like(edges[1]), atol=1e-4)


def test_batchnorm_folding_keeps_output():
    net = SobelNet()
    for module in net.modules():  # non-trivial BN statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    net.eval()
    image = torch.rand(1, 1, 48, 64)
    with torch.no_grad():
        before = net(image)
        after = net.fuse_for_inference()(image)
    assert torch.allclose(before, after, atol=1e-5)


def test_gradients_reach_every_parameter():
    net = SobelNet().double()
    image = torch.rand(1, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: net(x).sum(), (image,), eps=1e-6, atol=1e-4)
    net(image).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_parameter_count_and_macs_match_the_design():
    net = SobelNet()
    assert 1000 < sum(p.numel() for p in net.parameters()) < 2000
    assert count_macs(net, 480, 640) == pytest.approx(0.72e9, rel=0.05)


def test_normalised_gradients_make_scores_independent_of_image_contrast():
    net = SobelNet().eval()
    # Random 7x7-px blocks: edges strong enough that even the darker copy stays
    # above MIN_GRADIENT, where the gain is exact.
    blocks = torch.rand(2, 1, 6, 8, generator=torch.Generator().manual_seed(0))
    image = torch.nn.functional.interpolate(blocks, size=(40, 56), mode="nearest") * 0.5 + 0.25
    with torch.no_grad():
        reference = net(image)
        brighter = net(image * 1.6 + 0.05)
        darker = net(image * 0.3)
    assert torch.allclose(reference, brighter, atol=1e-5)
    assert torch.allclose(reference, darker, atol=1e-5)


def test_without_normalisation_contrast_changes_scores():
    net = SobelNet(SobelNetConfig(normalize_gradients=False)).eval()
    image = torch.rand(1, 1, 40, 56)
    with torch.no_grad():
        assert not torch.allclose(net(image), net(image * 0.3), atol=1e-3)


def test_gradient_gain_brings_the_mean_to_the_reference_and_caps_flat_images():
    edges = torch.randn(2, 2, 30, 30)
    edges[1] *= 1e-4  # nearly flat image
    gain = gradient_gain(edges)
    assert gain.shape == (2, 1, 1, 1)
    assert float((edges[0] * gain[0]).abs().mean()) == pytest.approx(REFERENCE_GRADIENT)
    assert float(gain[1]) == pytest.approx(REFERENCE_GRADIENT / MIN_GRADIENT)


def test_low_contrast_images_are_amplified_no_more_than_the_floor_allows():
    net = SobelNet().eval()
    image = torch.rand(1, 1, 40, 56) * 0.02 + 0.5  # nearly flat: edges are noise
    edges = net.sobel(image)
    assert float(edges.abs().mean()) < MIN_GRADIENT
    assert float(gradient_gain(edges)) == pytest.approx(REFERENCE_GRADIENT / MIN_GRADIENT)
