"""Drawing keypoints on images (debug images, demo output)."""

from __future__ import annotations

import cv2
import numpy as np


def draw_keypoints(
    image_rgb: np.ndarray, keypoints: np.ndarray, scores: np.ndarray | None = None, radius: int = 3
) -> np.ndarray:
    """RGB uint8 copy of the image with keypoints drawn, strongest in yellow, weakest in red.

    Shape: image ``H x W`` or ``H x W x 3`` uint8, keypoints ``(N, 2)`` x, y px.
    """
    canvas = image_rgb if image_rgb.ndim == 3 else cv2.cvtColor(image_rgb, cv2.COLOR_GRAY2RGB)
    canvas = np.ascontiguousarray(canvas.copy())
    if len(keypoints) == 0:
        return canvas
    if scores is None or len(scores) == 0 or float(scores.max()) <= float(scores.min()):
        strength = np.ones(len(keypoints))
    else:
        strength = (scores - scores.min()) / (scores.max() - scores.min())
    shift = 4  # draw with sub-pixel precision (1/16 px)
    for (x, y), s in zip(keypoints, strength, strict=False):
        center = (round(x * (1 << shift)), round(y * (1 << shift)))
        color = (255, int(64 + 191 * s), 0)
        cv2.circle(canvas, center, radius << shift, color, 1, cv2.LINE_AA, shift)
    return canvas


def save_rgb(path: str, image_rgb: np.ndarray) -> None:
    """Write an RGB image with OpenCV (which expects BGR)."""
    if not cv2.imwrite(path, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write image {path}")


def draw_tracks(
    image_rgb: np.ndarray, trails: list[np.ndarray], ages: np.ndarray, full_age: int = 20
) -> np.ndarray:
    """RGB uint8 copy of the image with each track's trail, red when new to green at ``full_age``.

    Shape: ``trails`` one ``(L, 2)`` x, y px array per track, oldest position
    first, current last; ``ages`` ``(N,)`` frames seen.
    """
    canvas = image_rgb if image_rgb.ndim == 3 else cv2.cvtColor(image_rgb, cv2.COLOR_GRAY2RGB)
    canvas = np.ascontiguousarray(canvas.copy())
    shift = 4
    scale = float(1 << shift)
    for trail, age in zip(trails, ages, strict=True):
        ripeness = min(float(age), full_age) / full_age
        color = (int(255 * (1 - ripeness)), int(255 * ripeness), 0)
        points = np.round(np.asarray(trail) * scale).astype(np.int32)
        if len(points) > 1:
            cv2.polylines(canvas, [points.reshape(-1, 1, 2)], False, color, 1, cv2.LINE_AA, shift)
        x, y = points[-1]
        cv2.circle(canvas, (int(x), int(y)), 2 << shift, color, -1, cv2.LINE_AA, shift)
    return canvas
