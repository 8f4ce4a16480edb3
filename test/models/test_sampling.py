import torch

from sobelnet_ros.models.sampling import pixel_to_grid, sample_descriptors, sample_features


def test_pixel_centre_convention():
    # Descriptor cell j of a stride-8 map covers pixels [8j, 8j + 8): its centre is 8j + 3.5.
    grid = pixel_to_grid(torch.tensor([[[3.5, 3.5], [-0.5, -0.5], [63.5, 31.5]]]), (4, 8), 8)
    width_cells, height_cells = 8, 4
    first_centre = [-1 + 1 / width_cells, -1 + 1 / height_cells]
    assert torch.allclose(grid[0, 0, 0], torch.tensor(first_centre))
    assert torch.allclose(grid[0, 0, 1], torch.tensor([-1.0, -1.0]))  # outer edge of pixel 0
    assert torch.allclose(grid[0, 0, 2], torch.tensor([1.0, 1.0]))


def test_sampling_at_a_cell_centre_returns_that_cell():
    dense = torch.nn.functional.normalize(torch.randn(1, 16, 4, 6), dim=1)
    keypoints = torch.tensor([[[8 * 2 + 3.5, 8 * 1 + 3.5]]])  # cell (x=2, y=1)
    sampled = sample_descriptors(dense, keypoints, stride=8)
    assert sampled.shape == (1, 1, 16)
    assert torch.allclose(sampled[0, 0], dense[0, :, 1, 2], atol=1e-6)


def test_sampled_features_are_contiguous_rows_per_keypoint():
    torch.manual_seed(0)
    dense = torch.randn(2, 5, 6, 7)
    keypoints = torch.rand(2, 9, 2) * torch.tensor([4 * 7, 4 * 6]) - 2  # some off the map
    got = sample_features(dense, keypoints, 4)
    assert got.shape == (2, 9, 5) and got.is_contiguous()
    grid = pixel_to_grid(keypoints, (6, 7), 4)
    expected = torch.nn.functional.grid_sample(
        dense, grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    assert torch.equal(got, expected.squeeze(2).transpose(1, 2))


def test_sampled_features_carry_gradients_to_the_map():
    dense = torch.randn(2, 5, 6, 7, requires_grad=True)
    sample_features(dense, torch.rand(2, 9, 2) * 20, 4).sum().backward()
    assert dense.grad is not None and dense.grad.abs().sum() > 0
