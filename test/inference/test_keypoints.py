import numpy as np
import pytest
import torch

from sobelnet_ros.inference.keypoints import (
    max_filter,
    max_pool_nms,
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


def test_cpu_max_filter_equals_max_pool():
    scores = torch.rand(2, 1, 30, 40)
    pooled = torch.nn.functional.max_pool2d(scores, 5, stride=1, padding=2)
    assert torch.equal(max_filter(scores, 5), pooled)


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


def test_subpixel_refinement_moves_towards_the_heavier_side():
    scores = torch.zeros(1, 1, 9, 9)
    scores[0, 0, 4, 4] = 1.0
    scores[0, 0, 4, 5] = 0.5  # right neighbour
    scores[0, 0, 3, 4] = 0.5  # upper neighbour
    refined = refine_subpixel(scores, torch.tensor([[[4.0, 4.0]]]))
    assert refined[0, 0, 0] == pytest.approx(4.25)
    assert refined[0, 0, 1] == pytest.approx(3.75)
    symmetric = torch.zeros(1, 1, 9, 9)
    symmetric[0, 0, 4, 4] = 1.0
    assert refine_subpixel(symmetric, torch.tensor([[[4.0, 4.0]]])).tolist() == [[[4.0, 4.0]]]
