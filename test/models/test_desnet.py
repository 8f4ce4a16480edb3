import pytest
import torch
import torch.nn.functional as F

from sobelnet_ros.models import DesNet, DesNetConfig, WeightsError, load_weights, save_weights
from sobelnet_ros.models.desnet import normalize_contrast
from sobelnet_ros.models.macs import count_macs

FINE = DesNetConfig()
PLAIN = DesNetConfig(fine_detail=False)


def test_dense_descriptors_are_unit_norm_at_one_eighth():
    net = DesNet(PLAIN).eval()
    with torch.no_grad():
        dense = net(torch.rand(2, 1, 64, 96))
    assert dense.shape == (2, 128, 8, 12)
    assert torch.allclose(dense.norm(dim=1), torch.ones(2, 8, 12), atol=1e-5)


def test_brightness_and_contrast_do_not_change_descriptors():
    # Seeded: normalize_contrast's eps leaves differences of 0.6-1.1e-3 across
    # random nets and images of this contrast, so an unseeded run could fail.
    torch.manual_seed(0)
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


def stride4_features(net: DesNet, image: torch.Tensor) -> torch.Tensor:
    x = normalize_contrast(image)
    for layer in net.backbone[: net._fine_index + 1]:
        x = layer(x)
    return x


@pytest.mark.parametrize("size", [(64, 96), (52, 75)])
def test_fine_detail_packs_the_stride_4_features_after_the_descriptors(size):
    net = DesNet(FINE).eval()
    plain = DesNet(PLAIN).eval()
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if k != "fine.weight"})
    image = torch.rand(1, 1, *size)
    with torch.no_grad():
        dense, fine = net(image), stride4_features(net, image)
        assert torch.equal(dense[:, :128], plain(image))
    coarse_size = (-(-size[0] // 8), -(-size[1] // 8))
    assert dense.shape == (1, 128 + 4 * 32, *coarse_size)
    unpacked = F.pixel_shuffle(dense[:, 128:], 2)
    h, w = fine.shape[-2:]
    assert torch.equal(unpacked[..., :h, :w], fine)
    assert torch.equal(unpacked[..., -1, :w], fine[..., -1, :])  # odd sides repeat the edge
    assert torch.equal(unpacked[..., :h, -1], fine[..., -1])


def test_fine_detail_adds_the_projected_features_at_each_keypoint():
    torch.manual_seed(0)
    net = DesNet(FINE).eval()
    torch.nn.init.normal_(net.fine.weight, std=0.1)
    image = torch.rand(1, 1, 64, 64)
    # centres of stride-4 cells (4 j + 1.5) read one cell of the fine map exactly
    keypoints = torch.tensor([[[17.5, 21.5], [21.5, 21.5], [41.5, 9.5]]])
    with torch.no_grad():
        dense, fine = net(image), stride4_features(net, image)
        got = net.sample(dense, keypoints)
        coarse = F.grid_sample(
            dense[:, :128],
            ((keypoints + 0.5) / 64 * 2 - 1).unsqueeze(1),
            align_corners=False,
            padding_mode="border",
        )[0, :, 0].t()
        cells = fine[0, :, [5, 5, 2], [4, 5, 10]].t()
        expected = F.normalize(coarse + cells @ net.fine.weight.t(), dim=-1)
    assert torch.allclose(got[0], expected, atol=1e-5)
    # keypoints 4 px apart in one 8 px cell now differ by more than bilinear weights alone
    assert not torch.allclose(got[0, 0], got[0, 1], atol=1e-2)


def test_a_net_grown_from_a_file_without_fine_detail_starts_with_its_descriptors(tmp_path):
    torch.manual_seed(1)
    plain = DesNet(PLAIN).eval()
    path = save_weights(plain, tmp_path / "plain.safetensors")
    grown = DesNet(FINE)
    with pytest.raises(WeightsError, match="plain.safetensors"):
        load_weights(grown, path)
    load_weights(grown, path, may_lack=DesNet.GROWN_PARAMETERS)
    grown.eval()
    image, keypoints = torch.rand(1, 1, 48, 80), torch.rand(1, 20, 2) * torch.tensor([79, 47])
    with torch.no_grad():
        expected = plain.sample(plain(image), keypoints)
        assert torch.allclose(grown.sample(grown(image), keypoints), expected, atol=1e-6)


def test_fine_detail_runs_in_bfloat16():
    net = DesNet(FINE).eval().fuse_for_inference().set_learned_dtype(torch.bfloat16)
    torch.nn.init.normal_(net.fine.weight, std=0.1)
    with torch.no_grad():
        out = net.sample(net(torch.rand(1, 1, 64, 64)), torch.rand(1, 5, 2) * 63)
    assert out.dtype == torch.float32 and torch.allclose(out.norm(dim=-1), torch.ones(1, 5))


@pytest.mark.parametrize("config", [FINE, PLAIN])
@pytest.mark.parametrize("size", [(64, 96), (52, 75)])
def test_sampling_the_unpacked_maps_gives_the_packed_descriptors(config, size):
    torch.manual_seed(2)
    net = DesNet(config).eval()
    if net.fine is not None:
        torch.nn.init.normal_(net.fine.weight, std=0.1)
    image = torch.rand(1, 1, *size)
    # keypoints everywhere, the last rows and columns of odd sides included
    keypoints = torch.rand(1, 200, 2) * torch.tensor([size[1] - 1, size[0] - 1])
    keypoints[0, :4] = torch.tensor([[size[1] - 1, size[0] - 1], [0, 0], [size[1] - 1, 0], [0, 3]])
    with torch.no_grad():
        maps = net.maps(image)
        assert (maps.fine is None) == (config is PLAIN)
        unpacked = net.sample_maps(maps, keypoints)
        packed = net.sample(net(image), keypoints)
    if size[1] % 8 == 0:
        assert torch.equal(unpacked, packed)
    else:  # maps of different widths: grid coordinates round differently
        assert torch.allclose(unpacked, packed, rtol=0, atol=1e-6)
