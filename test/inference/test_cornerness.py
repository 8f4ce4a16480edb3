import numpy as np
import pytest
import torch

from sobelnet_ros import FeatureExtractor
from sobelnet_ros.evaluation.cornerness import edge_like_share, eigen_ratio
from sobelnet_ros.inference.cornerness import (
    _structure_opencv,
    _structure_torch,
    _weight_opencv,
    _weight_torch,
    corner_mask,
    corner_weight,
)


def _square(size: int = 64, lo: int = 20, hi: int = 44) -> np.ndarray:
    image = np.full((size, size), 40, np.uint8)
    image[lo:hi, lo:hi] = 200
    return image


def _as_tensor(gray: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(gray).float().div(255).view(1, 1, *gray.shape)


def test_opencv_and_torch_tensors_agree(textured_image):
    # The CPU path (OpenCV) and the device path (torch) compute the same tensor.
    gray = np.ascontiguousarray(textured_image[..., 0])
    image = _as_tensor(gray)
    reference = _structure_torch(image)[0]
    opencv = torch.from_numpy(np.stack(_structure_opencv(image[0, 0].numpy())))
    assert opencv.shape == reference.shape == (3, 60, 80)
    torch.testing.assert_close(opencv, reference, rtol=1e-4, atol=1e-3)
    for test in [(1.0, 0.1, 0.0), (0.0, 0.3, 0.0), (5.0, 0.0, 0.0), (1.0, 0.045, 0.2)]:
        torch.testing.assert_close(_weight_opencv(image, *test), _weight_torch(image, *test))
    # A batch of odd-sized images: the last row and column take their neighbours' cells.
    odd = torch.rand(2, 1, 61, 83, generator=torch.Generator().manual_seed(0))
    for test in [(1.0, 0.3, 0.0), (1.0, 0.1, 0.5)]:
        weight = _weight_opencv(odd, *test)
        assert weight.shape == odd.shape and 0 < weight.mean() < 1
        torch.testing.assert_close(weight, _weight_torch(odd, *test))


def test_soft_weight_is_the_square_root_of_the_scaled_ratio(textured_image):
    # Against the eigenvalues numpy computes from the same half-resolution tensor.
    image = _as_tensor(np.ascontiguousarray(textured_image[..., 1]))
    xx, yy, xy = (c.astype(np.float64) for c in _structure_opencv(image[0, 0].numpy()))
    l2, l1 = np.moveaxis(
        np.linalg.eigvalsh(np.stack([xx, xy, xy, yy], -1).reshape(*xx.shape, 2, 2)), -1, 0
    )
    ratio = l2 / l1
    expected = np.sqrt(np.minimum(ratio / 0.2, 1)) * (ratio >= 0.045) * (np.sqrt(l1) >= 1.0)
    weight = corner_weight(image, 1.0, 0.045, 0.2)[0, 0, ::2, ::2].numpy()
    np.testing.assert_allclose(weight, expected, atol=2e-3)
    soft = (expected > 0) & (expected < 1)
    assert soft.mean() > 0.05 and (expected == 1).mean() > 0.05 and (expected == 0).mean() > 0.05
    # Without the soft part the same pixels pass, with weight 1.
    np.testing.assert_array_equal(corner_mask(image, 1.0, 0.045)[0, 0, ::2, ::2] > 0, weight > 0)


def test_a_weaker_corner_outranks_a_stronger_near_edge_peak(textured_image):
    gray = np.ascontiguousarray(textured_image[..., 1])
    image = _as_tensor(gray)
    weight = corner_weight(image, 1.0, 0.045, 0.2)[0, 0]
    inner = torch.zeros_like(weight, dtype=torch.bool)
    inner[10:-10:2, 10:-10:2] = True
    near_edge = torch.nonzero(inner & (weight > 0.3) & (weight < 0.6))[0]
    corner = torch.nonzero(inner & (weight == 1))[0]
    scores = torch.zeros(1, 1, *gray.shape)
    scores[0, 0, near_edge[0], near_edge[1]] = 0.9
    scores[0, 0, corner[0], corner[1]] = 0.6
    soft = FeatureExtractor(random_weights=True, score_ratio=0.0, subpixel=False)
    keypoints, values, _ = soft.select(scores, image, 1)
    assert keypoints[0, 0].tolist() == [corner[1], corner[0]] and values[0, 0] == 0.6
    # A hard test alone keeps both at their scores: the stronger one comes first.
    hard = FeatureExtractor(
        random_weights=True, score_ratio=0.0, subpixel=False, full_corner_ratio=0.0
    )
    keypoints, values, _ = hard.select(scores, image, 2)
    assert keypoints[0, 0].tolist() == [near_edge[1], near_edge[0]]
    assert values[0].tolist() == pytest.approx([0.9, 0.6])
    weighted = 0.9 * float(weight[near_edge[0], near_edge[1]])
    assert soft.select(scores, image, 2)[1][0].tolist() == pytest.approx([0.6, weighted])


def test_the_tensor_matches_the_evaluation_measure_on_a_square():
    # Half resolution (window 2 input px) against the evaluation's full-resolution
    # OpenCV measure (window sigma 2): both call the same places corners and edges.
    gray = _square(96, 32, 64)
    mask = corner_mask(_as_tensor(gray), 1.0, 0.1)[0, 0].numpy()
    corner, edge, inside, outside = (32, 32), (48, 32), (48, 48), (8, 8)  # x, y
    ratios = eigen_ratio(gray, np.array([corner, edge, inside, outside], np.float32))
    assert ratios[0] > 0.1 and ratios[1] < 0.1 and ratios[2] == 0 and ratios[3] == 0
    assert [mask[y, x] for x, y in (corner, edge, inside, outside)] == [1, 0, 0, 0]
    # A zero threshold switches its test off.
    edges_too = corner_mask(_as_tensor(gray), 1.0, 0.0)[0, 0].numpy()
    flat_too = corner_mask(_as_tensor(gray), 0.0, 0.1)[0, 0].numpy()
    assert [edges_too[y, x] for x, y in (corner, edge, inside, outside)] == [1, 1, 0, 0]
    assert [flat_too[y, x] for x, y in (corner, edge, inside, outside)] == [1, 0, 1, 1]


def test_gradient_floor_is_in_grey_levels_per_pixel():
    # A ramp of 3 grey levels per pixel has an RMS gradient of 3 (and no corner).
    ramp = np.tile(np.arange(64, dtype=np.float32) * 3, (64, 1))
    image = torch.from_numpy(ramp / 255).view(1, 1, 64, 64)
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    assert corner_mask(image, 2.9, 0.0)[inner].min() == 1
    assert corner_mask(image, 3.1, 0.0)[inner].max() == 0


def test_masked_peaks_are_not_replaced_by_their_neighbours():
    # The mask applies after NMS: a masked peak's weaker neighbour, which
    # passes the test itself, does not become a peak in its place.
    image = torch.full((1, 1, 32, 32), 0.5)
    image[..., 16:] = torch.rand(1, 1, 32, 16, generator=torch.Generator().manual_seed(0))
    mask = corner_mask(image, 1.0, 0.1)[0, 0]
    assert mask[16, 6] == 0 and mask[16, 10] == 1  # flat there, noise in its window here
    scores = torch.zeros(1, 1, 32, 32)
    scores[0, 0, 16, 6] = 0.9
    scores[0, 0, 16, 10] = 0.5  # inside the 0.9's NMS window
    extractor = FeatureExtractor(random_weights=True, nms_window=9, border=0, subpixel=False)
    assert int(extractor.select(scores, image)[2][0]) == 0


BLANK_FRAMES = {
    "black": np.zeros((480, 640), np.uint8),
    "white": np.full((480, 640), 255, np.uint8),
    "grey": np.full((480, 640), 128, np.uint8),
    "grey and noise of 1 grey level": np.clip(
        128 + np.random.default_rng(0).normal(0, 1, (480, 640)), 0, 255
    ).astype(np.uint8),
}


@pytest.fixture(scope="module")
def shipped_extractor():
    return FeatureExtractor()


@pytest.mark.parametrize("name", BLANK_FRAMES)
def test_blank_frames_give_no_keypoints(shipped_extractor, random_extractor, name):
    assert len(shipped_extractor.extract(BLANK_FRAMES[name])) == 0
    assert len(random_extractor.extract(BLANK_FRAMES[name])) == 0


def test_without_the_floor_a_blank_frame_fills_the_budget():
    # What the floor is for: the score map of a flat frame is a constant plateau.
    extractor = FeatureExtractor(min_gradient=0.0, min_corner_ratio=0.0, full_corner_ratio=0.0)
    assert len(extractor.extract(BLANK_FRAMES["grey"])) == 1024


def test_one_textured_patch_gives_keypoints_on_it_only(shipped_extractor, textured_image):
    frame = BLANK_FRAMES["grey and noise of 1 grey level"].copy()
    patch = textured_image[:48, :64, 0]
    frame[200:248, 300:364] = patch
    keypoints = shipped_extractor.extract(frame).keypoints
    assert len(keypoints) >= 20
    # The patch's rim against the grey is itself a boundary full of corners, and
    # octave keypoints are 2 px wide: peaks may sit a few px outside it.
    margin = 8
    assert keypoints[:, 0].min() >= 300 - margin and keypoints[:, 0].max() <= 363 + margin
    assert keypoints[:, 1].min() >= 200 - margin and keypoints[:, 1].max() <= 247 + margin


def test_keypoints_leave_straight_edges(shipped_extractor):
    # Three rectangles: long straight edges, 12 corners. Without the corner test
    # nearly every keypoint sits on an edge; with it, on the corners.
    image = np.full((240, 320), 60, np.uint8)
    image[30:210, 20:140] = 180
    image[60:180, 170:300] = 120
    image[100:140, 200:260] = 230
    plain = FeatureExtractor(min_gradient=0.0, min_corner_ratio=0.0, full_corner_ratio=0.0)
    assert edge_like_share(image, plain.extract(image).keypoints) > 0.9
    for extractor in (shipped_extractor, FeatureExtractor(pyramid_levels=1)):
        keypoints = extractor.extract(image).keypoints
        assert len(keypoints) >= 12 and edge_like_share(image, keypoints) <= 0.1
        assert np.median(eigen_ratio(image, keypoints)) > 0.3
