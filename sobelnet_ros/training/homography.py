"""Random homographies and the image pairs made with them (numpy / OpenCV).

A pair is two views of one source image: view A is a crop of it under a mild
random homography, view B the same crop under a larger one. ``H`` maps pixels
of A to pixels of B (``H_0to1`` in ``sobelnet_ros.geometry``), so every point
of A has a known position in B.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class HomographyRanges:
    """Ranges of the random homography of view B relative to view A [ours]."""

    max_rotation_deg: float = 60.0  # uniform in +-; boat rotates ~40 degrees
    max_scale: float = 2.0  # log-uniform zoom in [1/max_scale, max_scale]
    max_shear: float = 0.2
    max_perspective: float = 0.0015  # 1/px, graf-like foreshortening
    max_translation: float = 0.15  # fraction of the crop side

    @classmethod
    def mild(cls) -> HomographyRanges:
        """Ranges of view A against the source image."""
        return cls(20.0, 1.25, 0.1, 0.0005, 0.0)


def random_homography(rng: np.random.Generator, size: int, ranges: HomographyRanges) -> np.ndarray:
    """A homography of a ``size`` x ``size`` crop about its centre.

    Rotation, log-uniform scale, shear, perspective and a translation, all
    uniform within ``ranges``.
    """
    c = (size - 1) / 2
    centre = np.array([[1, 0, c], [0, 1, c], [0, 0, 1]], dtype=np.float64)
    angle = math.radians(rng.uniform(-1, 1) * ranges.max_rotation_deg)
    scale = math.exp(rng.uniform(-1, 1) * math.log(ranges.max_scale))
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    rotate = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])
    shear = np.eye(3)
    shear[0, 1], shear[1, 0] = rng.uniform(-1, 1, 2) * ranges.max_shear
    perspective = np.eye(3)
    perspective[2, :2] = rng.uniform(-1, 1, 2) * ranges.max_perspective
    shift = np.eye(3)
    shift[:2, 2] = rng.uniform(-1, 1, 2) * ranges.max_translation * size
    return shift @ centre @ perspective @ rotate @ shear @ np.linalg.inv(centre)


def crop_transform(
    rng: np.random.Generator, source_shape: tuple[int, int], size: int, ranges: HomographyRanges
) -> np.ndarray:
    """Source -> view A: a random crop window under a mild homography.

    The crop's side in the source is chosen so the window fits the source even
    when the mild homography zooms out.
    """
    height, width = source_shape
    homography = random_homography(rng, size, ranges)
    # Pixels of the source per pixel of the view, so that the window fits.
    window = min(height, width) / math.sqrt(2) / ranges.max_scale
    zoom = max(size / window, 1.0) * rng.uniform(1.0, 1.3)
    side = size / zoom
    x0 = rng.uniform(0, width - side) if width > side else (width - side) / 2
    y0 = rng.uniform(0, height - side) if height > side else (height - side) / 2
    place = np.array([[zoom, 0, -zoom * x0], [0, zoom, -zoom * y0], [0, 0, 1]])
    return homography @ place


def warp(image: np.ndarray, homography: np.ndarray, size: int) -> np.ndarray:
    """``image`` seen through ``homography`` into a ``size`` x ``size`` view."""
    return cv2.warpPerspective(
        image,
        homography,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101,
    )


def covisible_mask(homography: np.ndarray, size: int) -> np.ndarray:
    """Pixels of the destination view whose source under ``homography`` lies inside the crop.

    Returns a ``size`` x ``size`` bool array for a ``size`` x ``size`` source.
    """
    ones = np.ones((size, size), np.uint8)
    return cv2.warpPerspective(ones, homography, (size, size), flags=cv2.INTER_NEAREST) > 0


def source_inside(homography_src_to_view: np.ndarray, source_shape: tuple[int, int], size: int):
    """Pixels of a view that come from inside the source image (not its reflected border)."""
    height, width = source_shape
    ones = np.ones((height, width), np.uint8)
    return (
        cv2.warpPerspective(ones, homography_src_to_view, (size, size), flags=cv2.INTER_NEAREST)
        > 0
    )
