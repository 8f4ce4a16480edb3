import numpy as np

from sobelnet_ros.geometry import inside_image, warp_points


def test_translation_and_inverse():
    H_0to1 = np.array([[1, 0, 5], [0, 1, -2], [0, 0, 1]], float)
    points = np.array([[0.0, 0.0], [10.0, 3.5]])
    np.testing.assert_allclose(warp_points(points, H_0to1), [[5, -2], [15, 1.5]])
    np.testing.assert_allclose(
        warp_points(warp_points(points, H_0to1), np.linalg.inv(H_0to1)), points
    )


def test_perspective_division_and_points_at_infinity():
    H = np.array([[2, 0, 0], [0, 2, 0], [0, 0, 2]], float)
    np.testing.assert_allclose(warp_points(np.array([[3.0, 4.0]]), H), [[3.0, 4.0]])
    H_inf = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0]], float)
    assert np.isnan(warp_points(np.array([[0.0, 1.0]]), H_inf)).all()


def test_inside_image_uses_pixel_edges():
    points = np.array([[-0.5, 0], [-0.6, 0], [9.5, 4.5], [9.6, 0], [np.nan, 0]])
    assert inside_image(points, (10, 5)).tolist() == [True, False, True, False, False]
