"""Geometric checks of tracked points with OpenCV: the epipolar constraint and image motion."""

from __future__ import annotations

import cv2
import numpy as np

MOTION_RANSAC_PX = 3.0  # px, the motion prior's inlier bound: loose, it only centres a gate


MAX_MODEL_POINTS = 128  # points RANSAC samples from; all are then checked and refitted
MAX_ITERATIONS = 300  # RANSAC samples at most: bounds the time when few tracks are inliers
# The sample's model is found at a looser bound (a model from 7 noisy points explains
# fewer steps within the final bound, so RANSAC would draw many more samples), then
# refitted by least squares to the steps close to it, twice, the second time to those
# within the final bound.
SAMPLE_SCALE = 2.0
REFITS = 2
METHODS = {"ransac": cv2.FM_RANSAC, "magsac": cv2.USAC_MAGSAC}


def fundamental_inliers(
    points0: np.ndarray,
    points1: np.ndarray,
    threshold_px: float,
    method: str = "ransac",
    confidence: float = 0.999,
    trusted_share: float | None = None,
    max_iterations: int = MAX_ITERATIONS,
) -> tuple[np.ndarray | None, np.ndarray]:
    """Fundamental matrix ``F_0to1`` of the correspondences and their inlier mask.

    RANSAC (``"ransac"``) or USAC MAGSAC++ (``"magsac"``) finds a model on at
    most ``MAX_MODEL_POINTS`` of them, evenly drawn (a fixed stride, so the
    result is deterministic), at ``SAMPLE_SCALE`` times the bound; it is then
    refitted by least squares to every point within that looser bound of its
    epipolar line in image 1, and once more to those within ``threshold_px``
    of the refitted model's lines. The points within ``threshold_px`` of the
    better refit are the inliers. Sampling a subset keeps the cost flat in the
    number of tracks; the looser bound lets RANSAC stop after fewer samples.

    With ``trusted_share`` (correspondences known to be nearly all right), the
    least-squares fit of all points, refitted the same way, is taken instead
    of RANSAC's where at least that share of the points are its inliers.
    ``max_iterations`` bounds RANSAC's samples (its time where few are inliers).

    Returns:
        ``(F, inliers)``: F is None (and no point an inlier) when fewer than 8
        points are given or no model is found.
    """
    count = len(points0)
    none = np.zeros(count, dtype=bool)
    if count < 8:
        return None, none
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    points0 = np.asarray(points0, np.float64)
    points1 = np.asarray(points1, np.float64)
    with np.errstate(invalid="ignore"):
        if trusted_share is not None:  # most are right: least squares on all, trimmed
            F, inliers = _refitted(
                fit_fundamental(points0, points1), points0, points1, threshold_px
            )
            if F is not None and inliers.mean() >= trusted_share:
                return F, inliers
        stride = max(1, -(-count // MAX_MODEL_POINTS))
        sample0, sample1 = points0[::stride], points1[::stride]
        scaled = SAMPLE_SCALE * threshold_px
        F = _fit(sample0, sample1, METHODS[method], scaled, confidence, max_iterations)
        return _refitted(F, points0, points1, threshold_px)


def _refitted(
    F: np.ndarray | None, points0: np.ndarray, points1: np.ndarray, threshold_px: float
) -> tuple[np.ndarray | None, np.ndarray]:
    """``F`` refitted by least squares to the points within ``SAMPLE_SCALE`` times the
    bound of its lines, then to those within the bound of the refit's (``REFITS``), and
    the points within the bound of the better refit."""
    none = np.zeros(len(points0), dtype=bool)
    if F is None:
        return None, none
    inliers = epipolar_distances(F, points0, points1) <= SAMPLE_SCALE * threshold_px
    best, best_inliers = None, none
    for _ in range(REFITS):
        refitted = _fit(points0[inliers], points1[inliers], cv2.FM_8POINT)
        if refitted is None:
            break
        inliers = epipolar_distances(refitted, points0, points1) <= threshold_px
        if inliers.sum() >= best_inliers.sum():
            best, best_inliers = refitted, inliers
    if best is None:  # too few close to the model to refit: its own inliers
        return F, epipolar_distances(F, points0, points1) <= threshold_px
    return best, best_inliers


def fit_fundamental(points0: np.ndarray, points1: np.ndarray) -> np.ndarray | None:
    """Least-squares (normalised 8-point) fundamental matrix of inlier points, or None."""
    return _fit(np.asarray(points0, np.float64), np.asarray(points1, np.float64), cv2.FM_8POINT)


def _fit(
    points0: np.ndarray,
    points1: np.ndarray,
    method: int,
    threshold_px: float = 1.0,
    confidence: float = 0.999,
    max_iterations: int = MAX_ITERATIONS,
) -> np.ndarray | None:
    if len(points0) < 8:
        return None
    try:
        F, _ = cv2.findFundamentalMat(
            np.ascontiguousarray(points0).reshape(-1, 1, 2),
            np.ascontiguousarray(points1).reshape(-1, 1, 2),
            method,
            threshold_px,
            confidence,
            max_iterations,
        )
    except cv2.error:
        return None
    if F is None or F.shape != (3, 3) or not np.isfinite(F).all():
        return None
    return F


def epipolar_distances(F_0to1: np.ndarray, points0: np.ndarray, points1: np.ndarray) -> np.ndarray:
    """Distance in px of each ``points1[i]`` from the epipolar line ``F_0to1 points0[i]``."""
    F = np.asarray(F_0to1, np.float64)
    x0, y0 = np.asarray(points0, np.float64).reshape(-1, 2).T
    x1, y1 = np.asarray(points1, np.float64).reshape(-1, 2).T
    a = F[0, 0] * x0 + F[0, 1] * y0 + F[0, 2]
    b = F[1, 0] * x0 + F[1, 1] * y0 + F[1, 2]
    c = F[2, 0] * x0 + F[2, 1] * y0 + F[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(a * x1 + b * y1 + c) / np.hypot(a, b)


def image_motion(points0: np.ndarray, points1: np.ndarray) -> np.ndarray | None:
    """The 2x3 affine map that best moves ``points0`` onto ``points1`` (RANSAC on at most
    ``MAX_MODEL_POINTS`` of them, evenly drawn: it only centres the next frame's gates),
    or None.

    RANSAC's model is refitted to its inliers by linear least squares, the
    minimum OpenCV's own refinement (Levenberg-Marquardt, 4x the time of the
    RANSAC here) iterates towards.
    """
    if len(points0) < 6:
        return None
    stride = max(1, -(-len(points0) // MAX_MODEL_POINTS))
    sample0 = np.asarray(points0[::stride], np.float64)
    sample1 = np.asarray(points1[::stride], np.float64)
    A, inliers = cv2.estimateAffine2D(
        sample0.astype(np.float32),
        sample1.astype(np.float32),
        method=cv2.RANSAC,
        ransacReprojThreshold=MOTION_RANSAC_PX,
        refineIters=0,
    )
    if A is None or not np.isfinite(A).all():
        return None
    inliers = inliers.ravel().astype(bool)
    refitted = _affine_least_squares(sample0[inliers], sample1[inliers])
    return A if refitted is None else refitted


def _affine_least_squares(points0: np.ndarray, points1: np.ndarray) -> np.ndarray | None:
    """The 2x3 affine least-squares fit (normal equations of the centred points), or None
    where the points are too few or on a line."""
    if len(points0) < 3:
        return None
    mean0, mean1 = points0.mean(axis=0), points1.mean(axis=0)
    centred0, centred1 = points0 - mean0, points1 - mean1
    try:
        linear = np.linalg.solve(centred0.T @ centred0, centred0.T @ centred1).T
    except np.linalg.LinAlgError:
        return None
    if not np.isfinite(linear).all():
        return None
    return np.concatenate([linear, (mean1 - linear @ mean0)[:, None]], axis=1)


def apply_motion(A: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` ``(N, 2)`` moved by the 2x3 affine map ``A``."""
    return np.asarray(points, np.float64) @ A[:, :2].T + A[:, 2]
