"""Sub-pixel refinement of a track's step by Lucas-Kanade between the two images.

A keypoint's position carries its detector's localisation noise (a few tenths
of a pixel), and that noise enters every step of a track twice. Aligning the
patch around the track's last position with the new image, starting at the
matched detection, measures the step itself, as KLT does; where the patch
does not follow the match (Lucas-Kanade fails, or ends more than
``max_shift_px`` from the detection) the match is likely wrong.
"""

from __future__ import annotations

import numpy as np

from ..inference.image_input import to_gray, validate_image
from .bridge import flow


def gray_uint8(image: np.ndarray) -> np.ndarray:
    """The image as ``H x W`` uint8 gray (any input ``FeatureExtractor.extract`` takes)."""
    gray = to_gray(validate_image(image))
    if gray.dtype == np.uint8:
        return np.ascontiguousarray(gray)
    if gray.dtype == np.uint16:
        return (gray >> 8).astype(np.uint8)
    return np.clip(gray * 255.0 + 0.5, 0, 255).astype(np.uint8)


def refined(
    detected: np.ndarray, at: np.ndarray, converged: np.ndarray, max_shift_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """The refined positions where the flow ``at`` agrees with the detections, and where.

    Returns ``(positions (N, 2) float64, agree (N,) bool)``; a disagreeing
    point keeps its detected position.
    """
    shift = at - detected
    agree = converged & (np.hypot(shift[:, 0], shift[:, 1]) <= max_shift_px)
    return np.where(agree[:, None], at, detected), agree


def refine_steps(
    previous: np.ndarray,
    current: np.ndarray,
    before: np.ndarray,
    detected: np.ndarray,
    window_px: int,
    max_shift_px: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``current`` of the points at ``before`` in ``previous``, and where they agree.

    Lucas-Kanade at full resolution only, started at ``detected`` (already
    within a pixel or two of the answer); see ``refined``.
    """
    detected = np.asarray(detected, np.float64).reshape(-1, 2)
    at, converged = flow(previous, current, before, detected, window_px, levels=0)
    return refined(detected, at, converged, max_shift_px)
