"""Pinhole camera with lens distortion, from ``sensor_msgs/CameraInfo``-style intrinsics.

Maps pixels to undistorted normalised image coordinates (``x = (u - cx) / fx``
after removing the distortion), the coordinates VIO back-ends take. Models
follow ROS's ``distortion_model`` names: ``plumb_bob`` (k1 k2 p1 p2 k3),
``rational_polynomial`` (k1 k2 p1 p2 k3 k4 k5 k6) and ``equidistant``
(fisheye k1 k2 k3 k4). An empty D, or all zeros, is an undistorted pinhole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

# coefficients per model; plumb_bob also takes the 4 or 8 OpenCV accepts
COEFFICIENTS = {"plumb_bob": (4, 5, 8), "rational_polynomial": (8,), "equidistant": (4,)}
PINHOLE_NAMES = ("", "none", "pinhole")
_ITERATIONS = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 40, 1e-10)


class CameraModelError(ValueError):
    """Intrinsics that cannot describe a camera; the message says what is wrong."""


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics ``K`` (3, 3), distortion ``D`` and its model; see the module docstring.

    Build with ``CameraModel.from_intrinsics`` or ``from_camera_info``, which check the values.
    """

    K: np.ndarray
    D: np.ndarray
    distortion_model: str = "plumb_bob"
    image_size: tuple[int, int] = (0, 0)  # (width, height); 0 when unknown
    _fisheye: bool = field(default=False, repr=False)

    @classmethod
    def from_intrinsics(
        cls,
        K: Any,
        D: Any = (),
        distortion_model: str = "plumb_bob",
        image_size: tuple[int, int] = (0, 0),
    ) -> CameraModel:
        """Checked model from a 3x3 (or 9-element row-major) ``K`` and coefficients ``D``.

        Raises:
            CameraModelError: K is not a camera matrix, the model is unknown, or
                D has the wrong number of coefficients for it.
        """
        K = _check_matrix(K)
        D = np.asarray(D, dtype=np.float64).reshape(-1)
        if not np.isfinite(D).all():
            raise CameraModelError(f"distortion coefficients are not finite: {D.tolist()}")
        model = str(distortion_model)
        if model in PINHOLE_NAMES or not D.any():
            if model not in PINHOLE_NAMES and model not in COEFFICIENTS:
                raise CameraModelError(_unknown_model(model))
            model, D = "plumb_bob", np.zeros(5)
        elif model not in COEFFICIENTS:
            raise CameraModelError(_unknown_model(model))
        elif len(D) not in COEFFICIENTS[model]:
            raise CameraModelError(
                f"{model} takes {' or '.join(map(str, COEFFICIENTS[model]))} distortion "
                f"coefficients, got {len(D)}"
            )
        width, height = (int(v) for v in image_size)
        if width < 0 or height < 0:
            raise CameraModelError(f"image size must not be negative, got {image_size}")
        return cls(K, D, model, (width, height), model == "equidistant")

    @classmethod
    def from_camera_info(cls, info: Any) -> CameraModel:
        """From an object with ``k``, ``d``, ``distortion_model``, ``width``, ``height``
        (a ``sensor_msgs/CameraInfo`` message or the like)."""
        return cls.from_intrinsics(
            list(info.k), list(info.d), info.distortion_model, (info.width, info.height)
        )

    def normalise(self, points: np.ndarray) -> np.ndarray:
        """Undistorted normalised coordinates ``(N, 2)`` float64 of pixel ``points`` ``(N, 2)``."""
        pixels = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
        if len(pixels) == 0:
            return np.zeros((0, 2))
        if self._fisheye:
            out = cv2.fisheye.undistortPoints(pixels, self.K, self.D, criteria=_ITERATIONS)
        else:
            out = cv2.undistortPointsIter(pixels, self.K, self.D, None, None, _ITERATIONS)
        return out.reshape(-1, 2)

    def project(self, normalised: np.ndarray) -> np.ndarray:
        """Pixels ``(N, 2)`` of normalised coordinates (the inverse of ``normalise``)."""
        rays = np.asarray(normalised, dtype=np.float64).reshape(-1, 2)
        if len(rays) == 0:
            return np.zeros((0, 2))
        objects = np.concatenate([rays, np.ones((len(rays), 1))], axis=1).reshape(-1, 1, 3)
        zero = np.zeros(3)
        if self._fisheye:
            pixels, _ = cv2.fisheye.projectPoints(objects, zero, zero, self.K, self.D)
        else:
            pixels, _ = cv2.projectPoints(objects, zero, zero, self.K, self.D)
        return pixels.reshape(-1, 2)


def _check_matrix(K: Any) -> np.ndarray:
    matrix = np.asarray(K, dtype=np.float64)
    if matrix.size != 9:
        raise CameraModelError(f"K must have 9 entries (3x3), got shape {matrix.shape}")
    matrix = matrix.reshape(3, 3)
    if not np.isfinite(matrix).all():
        raise CameraModelError("K has non-finite entries")
    if matrix[0, 0] <= 0 or matrix[1, 1] <= 0:
        raise CameraModelError(
            f"K needs positive focal lengths, got fx {matrix[0, 0]:g}, fy {matrix[1, 1]:g} "
            "(an all-zero K means the camera is not calibrated)"
        )
    if not np.allclose(matrix[2], [0.0, 0.0, 1.0]):
        raise CameraModelError(f"K's last row must be [0, 0, 1], got {matrix[2].tolist()}")
    return matrix


def _unknown_model(model: str) -> str:
    return (
        f"unknown distortion_model {model!r}; supported: {', '.join(COEFFICIENTS)} "
        "(or empty for no distortion)"
    )
