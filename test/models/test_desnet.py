import pytest
import torch

from sobelnet_ros.models import DesNet, DesNetConfig
from sobelnet_ros.models.macs import count_macs


def test_dense_descriptors_are_unit_norm_at_one_eighth():
    net = DesNet().eval()
    with torch.no_grad():
        dense = net(torch.rand(2, 1, 64, 96))
    assert dense.shape == (2, 128, 8, 12)
    assert torch.allclose(dense.norm(dim=1), torch.ones(2, 8, 12), atol=1e-5)


def test_brightness_and_contrast_do_not_change_descriptors():
    net = DesNet().eval()
    image = torch.rand(1, 1, 64, 64) * 0.5
    with torch.no_grad():
        assert torch.allclose(net(image), net(image * 1.6 + 0.1), atol=1e-3)


def test_folding_keeps_output_and_config_checks():
    net = DesNet().eval()
    image = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        before = net(image)
        assert torch.allclose(before, net.fuse_for_inference()(image), atol=1e-5)
    with pytest.raises(ValueError, match="extra_convs"):
        DesNet(DesNetConfig(widths=(16, 32), extra_convs=(0,)))


def test_macs_within_budget():
    assert 0.5e9 < count_macs(DesNet(), 480, 640) < 1.5e9
