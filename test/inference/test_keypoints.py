import numpy as np
import pytest
import torch

from sobelnet_ros.inference.keypoints import (
    max_filter,
    max_pool_nms,
    peaks,
    refine_subpixel,
    suppress_weak,
    top_k,
    zero_border,
)


def brute_force_nms(scores: np.ndarray, window: int) -> np.ndarray:
    radius = window // 2
    height, width = scores.shape
    out = np.zeros_like(scores)
    for y in range(height):
        for x in range(width):
            patch = scores[
                max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1
            ]
            if scores[y, x] >= patch.max():
                out[y, x] = scores[y, x]
    return out


@pytest.mark.parametrize("window", [1, 3, 5, 7])
@pytest.mark.parametrize("seed", range(3))
def test_nms_matches_brute_force(window, seed):
    rng = np.random.default_rng(seed)
    scores = rng.random((23, 31)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.3] = 0.0
    scores[5:8, 5:8] = 0.99  # a plateau: every pixel of it survives
    got = max_pool_nms(torch.from_numpy(scores).view(1, 1, 23, 31), window)[0, 0].numpy()
    np.testing.assert_array_equal(got, brute_force_nms(scores, window))


@pytest.mark.parametrize("requires_grad", [False, True], ids=["opencv", "shifted_maxima"])
@pytest.mark.parametrize("window", [3, 5])
def test_cpu_max_filter_equals_max_pool(requires_grad, window):
    # Without autograd the CPU runs OpenCV's dilate, with it shifted maxima.
    scores = torch.rand(2, 1, 30, 40) * (torch.rand(2, 1, 30, 40) > 0.5)
    pooled = torch.nn.functional.max_pool2d(scores, window, stride=1, padding=window // 2)
    assert torch.equal(max_filter(scores.requires_grad_(requires_grad), window), pooled)


@pytest.mark.parametrize(("ratio", "border", "window"), [(0.3, 8, 3), (0.0, 0, 5), (0.5, 2, 1)])
def test_cpu_peaks_equal_threshold_border_and_nms_bit_for_bit(ratio, border, window):
    torch.manual_seed(0)
    scores = torch.rand(2, 1, 40, 56) ** 2
    scores[0, 0, 10:13, 20:23] = 0.97  # a plateau
    scores[1, 0, 5, 5] = scores[1].max() * ratio  # exactly at the threshold: kept
    expected = max_pool_nms(zero_border(suppress_weak(scores, ratio), border), window)
    assert torch.equal(peaks(scores, ratio, border, window), expected)
    assert torch.equal(peaks(scores.requires_grad_(), ratio, border, window), expected)
    assert (expected > 0).sum() > 10


def test_nms_window_must_be_odd():
    with pytest.raises(ValueError, match="odd"):
        max_pool_nms(torch.rand(1, 1, 8, 8), 4)


def test_score_ratio_zeroes_below_the_fraction_of_the_maximum():
    scores = torch.tensor([[[[1.0, 0.5, 0.2, 0.19]]]])
    assert suppress_weak(scores, 0.2).flatten().tolist() == pytest.approx([1.0, 0.5, 0.2, 0.0])
    assert torch.equal(suppress_weak(scores, 0.0), scores)


def test_border_is_removed():
    out = zero_border(torch.ones(1, 1, 10, 12), 3)
    assert out.sum() == (10 - 6) * (12 - 6)
    assert out[0, 0, 3, 3] == 1 and out[0, 0, 2, 3] == 0 and out[0, 0, 3, 9] == 0


def test_top_k_pads_and_counts():
    scores = torch.zeros(2, 1, 6, 8)
    scores[0, 0, 2, 5] = 0.9
    scores[0, 0, 4, 1] = 0.5
    keypoints, values, count = top_k(scores, 4)
    assert keypoints.shape == (2, 4, 2) and values.shape == (2, 4)
    assert count.tolist() == [2, 0]
    assert keypoints[0, :2].tolist() == [[5.0, 2.0], [1.0, 4.0]]  # x, y; best first
    assert values[0].tolist() == pytest.approx([0.9, 0.5, 0.0, 0.0])
    assert keypoints[1].abs().sum() == 0


def test_top_k_larger_than_the_map():
    keypoints, _values, count = top_k(torch.rand(1, 1, 3, 3) + 0.1, 20)
    assert keypoints.shape == (1, 20, 2) and int(count[0]) == 9


@pytest.mark.parametrize(
    ("shape", "k", "density"),
    [((2, 1, 48, 64), 100, 0.01), ((1, 1, 120, 160), 64, 0.05), ((3, 1, 20, 30), 50, 0.9)],
)
def test_top_k_on_the_cpu_gives_the_torch_path_values(shape, k, density):
    # With autograd on, top_k takes the torch.topk path (the one other devices run).
    torch.manual_seed(0)
    scores = torch.rand(shape) * (torch.rand(shape) < density)
    fast = top_k(scores, k)
    reference = [t.detach() for t in top_k(scores.clone().requires_grad_(), k)]
    for got, expected in zip(fast, reference, strict=True):
        assert got.dtype == expected.dtype and torch.equal(got, expected)
    assert (fast[2] > 0).all()


def test_top_k_on_the_cpu_keeps_equal_scores_in_raster_order():
    scores = torch.zeros(1, 1, 4, 5)
    scores[0, 0, 3, 1] = scores[0, 0, 0, 4] = scores[0, 0, 2, 2] = 0.5
    scores[0, 0, 1, 0] = 0.75
    keypoints, values, count = top_k(scores, 3)
    assert int(count[0]) == 3 and values[0].tolist() == [0.75, 0.5, 0.5]
    assert keypoints[0].tolist() == [[0.0, 1.0], [4.0, 0.0], [2.0, 2.0]]


def quadratic_peak(x0: float, y0: float, cross: float = 0.0) -> torch.Tensor:
    """9x9 map of a concave quadratic whose maximum is at (x0, y0)."""
    ys, xs = torch.meshgrid(torch.arange(9.0), torch.arange(9.0), indexing="ij")
    dx, dy = xs - x0, ys - y0
    return (10 - dx**2 - 2 * dy**2 - cross * dx * dy).view(1, 1, 9, 9)


@pytest.mark.parametrize(
    ("x0", "y0", "cross"), [(4.3, 3.8, 0.0), (3.6, 4.45, 0.0), (4.2, 4.3, 1.0)]
)
def test_subpixel_refinement_finds_the_peak_of_a_quadratic(x0, y0, cross):
    refined = refine_subpixel(quadratic_peak(x0, y0, cross), torch.tensor([[[4.0, 4.0]]]))
    assert refined[0, 0].tolist() == pytest.approx([x0, y0], abs=1e-4)


def test_subpixel_refinement_stays_within_half_a_pixel():
    refined = refine_subpixel(quadratic_peak(4.9, 3.2), torch.tensor([[[4.0, 4.0]]]))
    assert refined[0, 0].tolist() == pytest.approx([4.5, 3.5])


def test_subpixel_refinement_leaves_symmetric_peaks_and_non_maxima_in_place():
    symmetric = torch.zeros(1, 1, 9, 9)
    symmetric[0, 0, 4, 4] = 1.0
    assert refine_subpixel(symmetric, torch.tensor([[[4.0, 4.0]]])).tolist() == [[[4.0, 4.0]]]
    ys, xs = torch.meshgrid(torch.arange(9.0), torch.arange(9.0), indexing="ij")
    saddle = ((xs - 4.3) ** 2 - (ys - 4.2) ** 2).view(1, 1, 9, 9)
    assert refine_subpixel(saddle, torch.tensor([[[4.0, 4.0]]])).tolist() == [[[4.0, 4.0]]]


@pytest.mark.parametrize("shape", [(1, 1, 48, 64), (2, 1, 31, 17)])
def test_subpixel_on_the_cpu_equals_the_torch_path_bit_for_bit(shape):
    # numpy without autograd, torch's operators with it: the same float32 steps.
    generator = torch.Generator().manual_seed(3)
    scores = torch.rand(shape, generator=generator)
    batch, _, height, width = shape
    xs = torch.randint(0, width, (batch, 200), generator=generator).float()
    ys = torch.randint(0, height, (batch, 200), generator=generator).float()
    keypoints = torch.stack([xs, ys], dim=-1)  # edges and corners included
    keypoints[:, :4] = torch.tensor(
        [[0.0, 0.0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]]
    )
    fast = refine_subpixel(scores, keypoints)
    plain = refine_subpixel(scores.clone().requires_grad_(True), keypoints).detach()
    assert fast.dtype == plain.dtype == torch.float32
    assert torch.equal(fast, plain)
    assert (fast - keypoints).abs().max() <= 0.5
