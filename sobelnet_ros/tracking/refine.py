"""Sub-pixel refinement of a track's step by Lucas-Kanade between the two images.

A keypoint's position carries its detector's localisation noise (a few tenths
of a pixel), and that noise enters every step of a track twice. Aligning the
patch around the track's last position with the new image, starting at the
matched detection, measures the step itself, as KLT does; the detection stays
where the refinement fails or moves it more than ``max_shift_px``.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..inference.image_input import to_gray, validate_image

_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 0.01)


def gray_uint8(image: np.ndarray) -> np.ndarray:
    """The image as ``H x W`` uint8 gray (any input ``FeatureExtractor.extract`` takes)."""
    gray = to_gray(validate_image(image))
    if gray.dtype == np.uint8:
        return np.ascontiguousarray(gray)
    if gray.dtype == np.uint16:
        return (gray >> 8).astype(np.uint8)
    return np.clip(gray * 255.0 + 0.5, 0, 255).astype(np.uint8)


def refine_steps(
    previous: np.ndarray,
    current: np.ndarray,
    before: np.ndarray,
    detected: np.ndarray,
    window_px: int,
    max_shift_px: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``current`` of the points at ``before`` in ``previous``, and where they agree.

    Only the full resolution is used: the detection is already within a
    pixel or two of the answer.

    Starts at ``detected``; returns ``(positions (N, 2) float64, agree (N,) bool)``
    where ``agree`` is false (and the position the detection's) when Lucas-Kanade
    fails or ends farther than ``max_shift_px`` from the detection.
    """
    if len(before) == 0:
        return np.asarray(detected, np.float64).reshape(-1, 2), np.zeros(0, dtype=bool)
    start = np.ascontiguousarray(detected, np.float32).reshape(-1, 1, 2)
    refined, status, _ = cv2.calcOpticalFlowPyrLK(
        previous,
        current,
        np.ascontiguousarray(before, np.float32).reshape(-1, 1, 2),
        start.copy(),
        winSize=(window_px, window_px),
        maxLevel=0,
        criteria=_CRITERIA,
        flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
    )
    refined, start = refined.reshape(-1, 2), start.reshape(-1, 2)
    ok = (status.reshape(-1) == 1) & (np.linalg.norm(refined - start, axis=1) <= max_shift_px)
    return np.where(ok[:, None], refined, start).astype(np.float64), ok
