"""Homography helpers shared by evaluation and training (numpy).

Directions are in the names: ``H_0to1`` maps pixel (x, y, 1) of image 0 to
image 1 (then divide by the third coordinate), as HPatches' ``H_1_k``.
Pixel coordinates follow OpenCV: (0, 0) is the centre of the top-left pixel.
"""

from __future__ import annotations

import numpy as np


def warp_points(points: np.ndarray, H_0to1: np.ndarray) -> np.ndarray:
    """Map ``(N, 2)`` points of image 0 into image 1; points at infinity become NaN."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    homogeneous = (
        np.concatenate([points, np.ones((len(points), 1))], axis=1)
        @ np.asarray(H_0to1, dtype=np.float64).T
    )
    w = homogeneous[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = homogeneous[:, :2] / np.where(np.abs(w) < 1e-12, np.nan, w)
    return out


def inside_image(points: np.ndarray, size: tuple[int, int], margin: float = 0.0) -> np.ndarray:
    """Boolean mask of points inside an image of ``size`` = (width, height)."""
    width, height = size
    x, y = points[:, 0], points[:, 1]
    with np.errstate(invalid="ignore"):
        return (
            (x >= -0.5 + margin)
            & (x <= width - 0.5 - margin)
            & (y >= -0.5 + margin)
            & (y <= height - 0.5 - margin)
        )
