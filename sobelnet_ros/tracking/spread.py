"""Where new tracks may start: away from the live ones and from each other.

VIO front-ends want points spread over the image, not clustered on one
textured patch, so a new track keeps ``min_distance`` from every live track
(a disc mask, as VINS-Mono's feature tracker draws) and new tracks are taken
one per ``min_distance`` grid cell, the highest score first.
"""

from __future__ import annotations

import cv2
import numpy as np


def spread_new(
    keypoints: np.ndarray,
    scores: np.ndarray,
    candidates: np.ndarray,
    occupied: np.ndarray,
    image_size: tuple[int, int],
    min_distance: float,
    limit: int,
) -> np.ndarray:
    """Indices (into ``keypoints``) of at most ``limit`` candidates to start tracks at.

    Args:
        keypoints: ``(N, 2)`` x, y px of the frame's detections; ``scores`` ``(N,)``.
        candidates: indices of the detections no track took.
        occupied: ``(M, 2)`` positions of the live tracks.
        image_size: (width, height).
        min_distance: px; 0 takes candidates by score alone.
        limit: most new tracks to start.
    """
    if limit <= 0 or len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
    if min_distance > 0:
        candidates = candidates[_free(keypoints[candidates], occupied, image_size, min_distance)]
        cells = np.floor(keypoints[candidates] / min_distance).astype(np.int64)
        _, first = np.unique(cells[:, 1] * 1_000_003 + cells[:, 0], return_index=True)
        candidates = candidates[np.sort(first)]  # best of each cell, still best first
    return candidates[:limit].astype(np.int64)


def _free(
    points: np.ndarray, occupied: np.ndarray, image_size: tuple[int, int], radius: float
) -> np.ndarray:
    """Mask of ``points`` farther than ``radius`` from every ``occupied`` point."""
    width, height = image_size
    mask = np.zeros((max(height, 1), max(width, 1)), dtype=np.uint8)
    size = round(radius)
    for x, y in np.rint(occupied).astype(np.int64):
        cv2.circle(mask, (int(x), int(y)), size, 255, -1)
    column = np.clip(np.rint(points[:, 0]).astype(np.int64), 0, mask.shape[1] - 1)
    row = np.clip(np.rint(points[:, 1]).astype(np.int64), 0, mask.shape[0] - 1)
    return mask[row, column] == 0
