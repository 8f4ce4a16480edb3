"""Lucas-Kanade for the tracker: one forward call per frame, the backward check.

A detector does not fire on every point in every frame; a track whose point
is missed would end although the point is still in view. Lucas-Kanade from
the track's last position (started where the image motion and the track's
drift predict it, over ``follow_levels`` pyramid levels for what the
prediction misses), with a backward check, keeps it for at most
``bridge_frames`` frames in a row until a detection continues it again. The
same forward call refines the steps the guided pass found (``refine.py``
explains why), so the image derivatives are computed once for both.
"""

from __future__ import annotations

import cv2
import numpy as np

# 10 steps to 0.03 px: the steps start within a pixel or two of the answer
_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 10, 0.03)
BACKWARD_PX = 0.5  # px, largest forward-backward disagreement (VINS-Mono's bound)


def flow(
    previous: np.ndarray,
    current: np.ndarray,
    before: np.ndarray,
    start: np.ndarray,
    window_px: int,
    levels: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Pyramidal Lucas-Kanade from ``before`` in ``previous``, started at ``start`` in
    ``current``, over ``levels`` pyramid levels above the image.

    Returns ``(positions (N, 2) float64, converged (N,) bool)``.
    """
    if len(before) == 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=bool)
    at, status, _ = cv2.calcOpticalFlowPyrLK(
        previous,
        current,
        np.ascontiguousarray(before, np.float32).reshape(-1, 1, 2),
        np.ascontiguousarray(start, np.float32).reshape(-1, 1, 2),
        winSize=(window_px, window_px),
        maxLevel=levels,
        criteria=_CRITERIA,
        flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
    )
    return at.reshape(-1, 2).astype(np.float64), status.reshape(-1) == 1


def followed(
    previous: np.ndarray,
    current: np.ndarray,
    before: np.ndarray,
    at: np.ndarray,
    converged: np.ndarray,
    window_px: int,
) -> np.ndarray:
    """Which forward flows (``before`` -> ``at``) hold: converged, inside the image,
    and the backward flow returns within ``BACKWARD_PX``."""
    height, width = current.shape[:2]
    found = converged & (at[:, 0] >= 0) & (at[:, 0] <= width - 1)
    found &= (at[:, 1] >= 0) & (at[:, 1] <= height - 1)
    if not found.any():
        return found
    # started where it should end: the image alone finds it, or it is off anyway
    back, back_converged = flow(current, previous, at[found], before[found], window_px, levels=0)
    gap = back - before[found]
    agree = back_converged & (np.hypot(gap[:, 0], gap[:, 1]) <= BACKWARD_PX)
    found[np.flatnonzero(found)] = agree
    return found
