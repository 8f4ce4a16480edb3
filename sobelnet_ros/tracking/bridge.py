"""Following a track's patch through a frame where its point was not detected.

A detector does not fire on every point in every frame; a track whose point
is missed would end although the point is still in view. Lucas-Kanade from
the track's last position (started where the image motion predicts it), with
a backward check, keeps it for at most ``bridge_frames`` frames in a row until
a detection continues it again.
"""

from __future__ import annotations

import cv2
import numpy as np

_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 0.01)
LEVELS = 2  # pyramid levels above the image: steps up to ~4 window sizes
BACKWARD_PX = 0.5  # px, largest forward-backward disagreement (VINS-Mono's bound)


def follow_patches(
    previous: np.ndarray,
    current: np.ndarray,
    before: np.ndarray,
    start: np.ndarray,
    window_px: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Where the patches at ``before`` in ``previous`` are in ``current``, and which were found.

    Returns ``(positions (N, 2) float64, found (N,) bool)``: found when the
    forward and the backward flow both converge, agree within ``BACKWARD_PX``
    and the position lies inside the image.
    """
    count = len(before)
    if count == 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=bool)
    options = {"winSize": (window_px, window_px), "maxLevel": LEVELS, "criteria": _CRITERIA}
    points = np.ascontiguousarray(before, np.float32).reshape(-1, 1, 2)
    forward, status, _ = cv2.calcOpticalFlowPyrLK(
        previous,
        current,
        points,
        np.ascontiguousarray(start, np.float32).reshape(-1, 1, 2),
        flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
        **options,
    )
    back, back_status, _ = cv2.calcOpticalFlowPyrLK(
        current, previous, forward, points.copy(), flags=cv2.OPTFLOW_USE_INITIAL_FLOW, **options
    )
    forward, back = forward.reshape(-1, 2), back.reshape(-1, 2)
    height, width = current.shape[:2]
    found = (status.reshape(-1) == 1) & (back_status.reshape(-1) == 1)
    found &= np.linalg.norm(back - points.reshape(-1, 2), axis=1) <= BACKWARD_PX
    found &= (forward[:, 0] >= 0) & (forward[:, 0] <= width - 1)
    found &= (forward[:, 1] >= 0) & (forward[:, 1] <= height - 1)
    return forward.astype(np.float64), found
