"""CameraModel: undistorted normalised coordinates, checked against OpenCV's projection."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from sobelnet_ros import CameraModel
from sobelnet_ros.tracking import CameraModelError

K = [[460.0, 0.0, 320.5], [0.0, 458.0, 241.2], [0.0, 0.0, 1.0]]
RAYS = np.stack(np.meshgrid(np.linspace(-0.55, 0.55, 9), np.linspace(-0.4, 0.4, 7)), -1).reshape(
    -1, 2
)


@pytest.mark.parametrize(
    ("model", "D"),
    [
        ("plumb_bob", [-0.28, 0.07, 2e-4, 1.8e-5, 0.0]),
        ("rational_polynomial", [0.5, -0.1, 1e-3, -5e-4, 0.02, 0.8, -0.05, 0.03]),
        ("equidistant", [-0.01, 0.02, -0.015, 0.004]),
        ("", []),
    ],
)
def test_normalise_inverts_opencv_projection(model, D):
    camera = CameraModel.from_intrinsics(K, D, model, (640, 480))
    objects = np.concatenate([RAYS, np.ones((len(RAYS), 1))], axis=1).reshape(-1, 1, 3)
    zero = np.zeros(3)
    project = cv2.fisheye.projectPoints if model == "equidistant" else cv2.projectPoints
    coefficients = np.array(D if D else np.zeros(5), np.float64)
    pixels, _ = project(objects, zero, zero, np.array(K), coefficients)
    pixels = pixels.reshape(-1, 2)
    np.testing.assert_allclose(camera.normalise(pixels), RAYS, atol=1e-6)
    np.testing.assert_allclose(camera.project(RAYS), pixels, atol=1e-6)


def test_from_camera_info_reads_the_message_fields():
    info = SimpleNamespace(
        k=[v for row in K for v in row],
        d=[0.1, -0.2, 0.0, 0.0, 0.05],
        distortion_model="plumb_bob",
        width=640,
        height=480,
    )
    camera = CameraModel.from_camera_info(info)
    assert camera.image_size == (640, 480) and camera.distortion_model == "plumb_bob"
    np.testing.assert_allclose(camera.K, K)


@pytest.mark.parametrize(
    ("K", "D", "model", "message"),
    [
        ([0.0] * 9, [], "plumb_bob", "positive focal"),
        ([1.0, 0, 0, 0, 1.0, 0, 0, 0], [], "plumb_bob", "9 entries"),
        (K, [0.1, 0.2, 0.3], "plumb_bob", "takes 4 or 5 or 8"),
        (K, [0.1] * 5, "equidistant", "takes 4"),
        (K, [0.1] * 5, "kannala", "unknown distortion_model"),
        (K, [float("nan")] * 5, "plumb_bob", "not finite"),
        ([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 2.0]], [], "plumb_bob", "last row"),
    ],
)
def test_bad_intrinsics_are_explained(K, D, model, message):
    with pytest.raises(CameraModelError, match=message):
        CameraModel.from_intrinsics(K, D, model)


def test_zero_distortion_is_a_pinhole():
    camera = CameraModel.from_intrinsics(K, [0.0] * 8, "rational_polynomial")
    pixels = np.array([[100.0, 50.0], [600.0, 400.0]])
    expected = (pixels - [320.5, 241.2]) / [460.0, 458.0]
    np.testing.assert_allclose(camera.normalise(pixels), expected, atol=1e-9)
    assert camera.normalise(np.zeros((0, 2))).shape == (0, 2)
