import cv2
import numpy as np
import pytest

from sobelnet_ros.evaluation.metrics import (
    descriptor_distances,
    homography_corner_error,
    match_accuracy,
    mutual_nearest_neighbours,
    repeatability,
)

H_PROJECTIVE = np.array([[0.9, 0.05, 12.0], [-0.03, 1.1, -4.0], [1e-4, -2e-4, 1.0]])


def test_mutual_nearest_neighbours_l2_hand_case():
    desc0 = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    desc1 = np.array([[0.0, 1.0], [1.0, 0.0]])
    # 2's nearest in desc1 is 1, but 1's nearest in desc0 is 0: not mutual.
    assert mutual_nearest_neighbours(desc0, desc1).tolist() == [[0, 1], [1, 0]]


def test_mutual_nearest_neighbours_hamming_hand_case():
    desc0 = np.array([[0b00000000], [0b11110000]], np.uint8)
    desc1 = np.array([[0b11100000], [0b00000001]], np.uint8)
    np.testing.assert_array_equal(descriptor_distances(desc0, desc1, "hamming"), [[3, 1], [1, 5]])
    matches = mutual_nearest_neighbours(desc0, desc1, metric="hamming")
    assert matches.dtype.kind == "i"
    assert matches.tolist() == [[0, 1], [1, 0]]


def test_hamming_agrees_with_opencv():
    rng = np.random.default_rng(0)
    desc0 = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    desc1 = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    ours = descriptor_distances(desc0, desc1, "hamming")
    for m in cv2.BFMatcher(cv2.NORM_HAMMING).match(desc0, desc1):
        assert ours[m.queryIdx].min() == m.distance == ours[m.queryIdx, m.trainIdx]


def test_mutual_nearest_neighbours_empty_and_bad_input():
    assert mutual_nearest_neighbours(np.zeros((0, 4)), np.ones((3, 4))).shape == (0, 2)
    with pytest.raises(ValueError, match="same D"):
        mutual_nearest_neighbours(np.ones((2, 4)), np.ones((3, 5)))
    with pytest.raises(ValueError, match="uint8"):
        mutual_nearest_neighbours(np.ones((2, 4)), np.ones((3, 4)), metric="hamming")
    with pytest.raises(ValueError, match="metric"):
        mutual_nearest_neighbours(np.ones((2, 4)), np.ones((3, 4)), metric="cosine")


def test_match_accuracy_identity_is_one():
    kpts = np.random.default_rng(1).uniform(0, 100, (30, 2))
    matches = np.stack([np.arange(30), np.arange(30)], 1)
    np.testing.assert_array_equal(match_accuracy(kpts, kpts, matches, np.eye(3)), np.ones(10))


def test_match_accuracy_known_errors_and_inclusive_threshold():
    H = np.array([[1, 0, 2], [0, 1, 0], [0, 0, 1]], float)
    kpts0 = np.zeros((4, 2))
    # errors 0.5, 1.5, 3.0 and 12 px
    kpts1 = np.array([[2.5, 0], [2, 1.5], [2, 3.0], [14, 0]])
    matches = np.stack([np.arange(4), np.arange(4)], 1)
    expected = [0.25, 0.5, 0.75, 0.75, 0.75, 0.75, 0.75, 0.75, 0.75, 0.75]
    np.testing.assert_allclose(match_accuracy(kpts0, kpts1, matches, H), expected)
    np.testing.assert_allclose(match_accuracy(kpts0, kpts1, matches, H, [1.4, 1.5]), [0.25, 0.5])


def test_match_accuracy_points_at_infinity_are_wrong_and_no_matches_is_zero():
    H_inf = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0]], float)  # x = 0 goes to infinity
    kpts0 = np.array([[0.0, 1.0], [1.0, 2.0]])
    kpts1 = np.array([[5.0, 5.0], [1.0, 2.0]])
    result = match_accuracy(kpts0, kpts1, [[0, 0], [1, 1]], H_inf, [1, 3])
    np.testing.assert_allclose(result, [0.5, 0.5])
    np.testing.assert_array_equal(match_accuracy(kpts0, kpts1, np.zeros((0, 2)), H_inf), 0)


def test_repeatability_hand_case_counts_both_directions_in_covisible_region():
    H = np.array([[1, 0, 10], [0, 1, 0], [0, 0, 1]], float)
    size = (100, 100)
    # (95, 50) leaves image 1; (3, 3) of image 1 comes from outside image 0.
    kpts0 = np.array([[5, 5], [95, 50], [50, 50]], float)  # -> (15,5), out, (60,50)
    kpts1 = np.array([[16, 5], [14, 5], [60, 54], [3, 3]], float)
    # kept0: 2 points, 1 repeated ((15,5)); kept1: 3 points, 2 repeated ((16,5), (14,5)).
    assert repeatability(kpts0, kpts1, H, size, size) == pytest.approx(3 / 5)
    # at 4 px (60,50)-(60,54) also counts: all 5 kept points are repeated
    assert repeatability(kpts0, kpts1, H, size, size, threshold=4.0) == pytest.approx(1.0)
    assert repeatability(kpts0, kpts1[3:], H, size, size) == 0.0


def test_repeatability_identity_is_one():
    kpts = np.random.default_rng(2).uniform(0, 63, (40, 2))
    assert repeatability(kpts, kpts, np.eye(3), (64, 64), (64, 64)) == 1.0


def test_homography_corner_error_exact_and_shifted():
    rng = np.random.default_rng(3)
    kpts0 = rng.uniform(0, 200, (60, 2))
    kpts1 = cv2.perspectiveTransform(kpts0[None], H_PROJECTIVE)[0]
    matches = np.stack([np.arange(60), np.arange(60)], 1)
    assert homography_corner_error(kpts0, kpts1, matches, H_PROJECTIVE, (200, 200)) < 1e-3
    # every match off by (1, 0): the fit is the true H then a 1 px shift
    shifted = homography_corner_error(
        kpts0, kpts1 + np.array([1.0, 0.0]), matches, H_PROJECTIVE, (200, 200)
    )
    assert shifted == pytest.approx(1.0, abs=1e-3)


def test_homography_corner_error_fails_to_inf():
    kpts = np.array([[0, 0], [1, 0], [0, 1]], float)
    three = np.stack([np.arange(3), np.arange(3)], 1)
    assert homography_corner_error(kpts, kpts, three, np.eye(3), (10, 10)) == np.inf
    same = np.zeros((6, 2))
    six = np.stack([np.arange(6), np.arange(6)], 1)
    assert homography_corner_error(same, same, six, np.eye(3), (10, 10)) == np.inf


def test_popcount_fallback_matches_numpy(monkeypatch):
    from sobelnet_ros.evaluation import metrics

    values = np.arange(256, dtype=np.uint8)
    expected = [bin(v).count("1") for v in range(256)]
    np.testing.assert_array_equal(metrics._popcount(values), expected)
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    np.testing.assert_array_equal(metrics._popcount(values), expected)
