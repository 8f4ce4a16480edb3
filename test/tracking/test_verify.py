import numpy as np
import pytest
from scene import K, camera_poses, project

from sobelnet_ros.tracking import epipolar_distances, fundamental_inliers
from sobelnet_ros.tracking.verify import apply_motion, image_motion


def _two_views(count: int, outliers: int, noise_px: float, seed: int):
    rng = np.random.default_rng(seed)
    world = rng.uniform([-3, -2, 4], [3, 2, 12], size=(count, 3))
    first, second = camera_poses(2, np.array([0.3, 0.05, 0.1]), np.array([0.0, 0.04, 0.01]))
    points0, points1 = project(world, first), project(world, second)
    points1 = points1 + rng.normal(scale=noise_px, size=points1.shape)
    wrong = rng.choice(count, outliers, replace=False)
    points1[wrong] += rng.uniform(6, 30, size=(outliers, 2)) * rng.choice([-1, 1], (outliers, 2))
    return points0, points1, wrong


def _true_F(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    relative = np.linalg.inv(second) @ first  # camera 0 -> camera 1
    R, t = relative[:3, :3], relative[:3, 3]
    skew = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    K_inv = np.linalg.inv(K)
    return K_inv.T @ skew @ R @ K_inv


@pytest.mark.parametrize(
    "method, trusted_share", [("ransac", None), ("magsac", None), ("ransac", 0.9)]
)
@pytest.mark.parametrize("count, outliers", [(60, 6), (500, 15), (500, 100)])
def test_inliers_are_the_correct_steps(method, trusted_share, count, outliers):
    """Least squares trusted to most points (a few wrong ones), or RANSAC, where the
    trimmed fit does not explain enough of them (a fifth wrong), drop every wrong step."""
    points0, points1, wrong = _two_views(count, outliers, noise_px=0.15, seed=count + outliers)
    F, inliers = fundamental_inliers(points0, points1, 0.8, method, trusted_share=trusted_share)
    assert F is not None
    assert not inliers[wrong].any()  # every displaced step is dropped
    correct = np.setdiff1d(np.arange(count), wrong)
    assert inliers[correct].mean() >= 0.97
    truth = _true_F(*camera_poses(2, np.array([0.3, 0.05, 0.1]), np.array([0.0, 0.04, 0.01])))
    # the model agrees with the true geometry on the correct steps
    assert np.median(epipolar_distances(truth, points0[correct], points1[correct])) < 0.3
    assert np.median(epipolar_distances(F, points0[correct], points1[correct])) < 0.3


def test_too_few_points_give_no_model():
    points0, points1, _ = _two_views(7, 0, noise_px=0.0, seed=1)
    F, inliers = fundamental_inliers(points0, points1, 0.8)
    assert F is None and not inliers.any()


def test_image_motion_is_the_least_squares_affine_of_the_inliers():
    """Exact steps under an affine map, a fifth of them displaced: the map is recovered
    (RANSAC drops the displaced, the refit is exact on the rest); too few points: None."""
    rng = np.random.default_rng(4)
    A = np.array([[1.02, -0.03, 4.5], [0.02, 0.99, -2.0]])
    points0 = rng.uniform(0, 640, (300, 2))
    points1 = apply_motion(A, points0)
    wrong = rng.choice(300, 60, replace=False)
    points1[wrong] += rng.uniform(8, 40, (60, 2)) * rng.choice([-1, 1], (60, 2))
    np.testing.assert_allclose(image_motion(points0, points1), A, atol=1e-6)
    assert image_motion(points0[:5], points1[:5]) is None
