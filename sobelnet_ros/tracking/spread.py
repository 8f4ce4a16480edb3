"""Where new tracks may start: away from the live ones and from each other.

VIO front-ends want points spread over the image, not clustered on one
textured patch, so a new track keeps ``min_distance`` from every live track
(the disc VINS-Mono's feature tracker masks) and new tracks are taken
one per ``min_distance`` grid cell, the highest score first.
"""

from __future__ import annotations

import numpy as np

from .spatial import grid_cells, pairs_within


def spread_new(
    keypoints: np.ndarray,
    scores: np.ndarray,
    candidates: np.ndarray,
    occupied: np.ndarray,
    min_distance: float,
    limit: int,
) -> np.ndarray:
    """Indices (into ``keypoints``) of at most ``limit`` candidates to start tracks at.

    Args:
        keypoints: ``(N, 2)`` x, y px of the frame's detections; ``scores`` ``(N,)``.
        candidates: indices of the detections no track took.
        occupied: ``(M, 2)`` positions of the live tracks.
        min_distance: px; 0 takes candidates by score alone.
        limit: most new tracks to start.
    """
    if limit <= 0 or len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    ranked = scores[candidates]
    if (ranked[1:] > ranked[:-1]).any():  # not best first already (extract's order)
        candidates = candidates[np.argsort(-ranked, kind="stable")]
    if min_distance > 0:
        candidates = candidates[_free(keypoints[candidates], occupied, min_distance)]
        cells = grid_cells(keypoints[candidates], min_distance)
        _, first = np.unique(cells, return_index=True)
        candidates = candidates[np.sort(first)]  # best of each cell, still best first
    return candidates[:limit].astype(np.int64)


def _free(points: np.ndarray, occupied: np.ndarray, radius: float) -> np.ndarray:
    """Mask of ``points`` farther than ``radius`` from every ``occupied`` point."""
    near, _ = pairs_within(points, np.asarray(occupied, np.float64).reshape(-1, 2), radius)
    free = np.ones(len(points), dtype=bool)
    free[near] = False
    return free
