"""Matching metrics of the HPatches protocol, pure numpy (plus cv2 for RANSAC).

Conventions: keypoints are ``(N, 2)`` x, y in pixels with (0, 0) the centre of
the top-left pixel; ``H_0to1`` maps image 0 to image 1; sizes are
(width, height); ``matches`` is ``(M, 2)`` int, column 0 indexes ``kpts0`` and
column 1 ``kpts1``.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from ..geometry import inside_image, warp_points

# Set bits per byte value: the fallback where numpy < 2.0 lacks bitwise_count
# (a ROS distro's system numpy can be 1.26).
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)

# Bound the (N0, N1, bytes) temporary of the Hamming distance to ~32 MB.
_HAMMING_CHUNK_BYTES = 32 << 20


def _empty_matches() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.int64)


def descriptor_distances(desc0: np.ndarray, desc1: np.ndarray, metric: str = "l2") -> np.ndarray:
    """Pairwise distances ``(N0, N1)`` float64.

    Args:
        desc0, desc1: ``(N, D)`` float descriptors for ``"l2"``; ``(N, B)``
            uint8 packed bits (OpenCV ORB/AKAZE layout) for ``"hamming"``.
        metric: ``"l2"`` (Euclidean) or ``"hamming"`` (differing bits).
    """
    if metric == "l2":
        a = np.asarray(desc0, dtype=np.float64)
        b = np.asarray(desc1, dtype=np.float64)
        _check_pair(a, b)
        squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        return np.sqrt(np.maximum(squared, 0.0))
    if metric == "hamming":
        if np.asarray(desc0).dtype != np.uint8 or np.asarray(desc1).dtype != np.uint8:
            raise ValueError("hamming distance needs packed uint8 descriptors")
        _check_pair(desc0, desc1)
        out = np.empty((len(desc0), len(desc1)), dtype=np.float64)
        rows = max(1, _HAMMING_CHUNK_BYTES // max(1, desc1.size))
        for start in range(0, len(desc0), rows):
            xor = np.bitwise_xor(desc0[start : start + rows, None, :], desc1[None, :, :])
            out[start : start + rows] = _popcount(xor).sum(-1, dtype=np.uint32)
        return out
    raise ValueError(f"metric must be 'l2' or 'hamming', got {metric!r}")


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    return _POPCOUNT[values]


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"descriptors must be (N, D) with the same D, got {a.shape} and {b.shape}"
        )


def mutual_nearest_neighbours(
    desc0: np.ndarray, desc1: np.ndarray, metric: str = "l2"
) -> np.ndarray:
    """Pairs ``(i, j)`` where j is i's nearest neighbour in 1 and i is j's in 0.

    Ties go to the lowest index (``argmin``), so the result is deterministic.

    Returns:
        ``(M, 2)`` int64 matches, sorted by the index in ``desc0``.
    """
    if len(desc0) == 0 or len(desc1) == 0:
        return _empty_matches()
    distances = descriptor_distances(desc0, desc1, metric)
    nn01 = distances.argmin(axis=1)
    nn10 = distances.argmin(axis=0)
    index0 = np.arange(len(desc0))
    mutual = nn10[nn01] == index0
    return np.stack([index0[mutual], nn01[mutual]], axis=1).astype(np.int64)


def reprojection_errors(
    kpts0: np.ndarray, kpts1: np.ndarray, matches: np.ndarray, H_0to1: np.ndarray
) -> np.ndarray:
    """Distance in image 1 between ``H_0to1 kpts0[i]`` and ``kpts1[j]`` per match.

    Points that ``H_0to1`` sends to infinity get NaN.
    """
    matches = np.asarray(matches, dtype=np.int64).reshape(-1, 2)
    if len(matches) == 0:
        return np.zeros(0)
    warped = warp_points(np.asarray(kpts0)[matches[:, 0]], H_0to1)
    return np.linalg.norm(warped - np.asarray(kpts1, dtype=np.float64)[matches[:, 1]], axis=1)


def match_accuracy(
    kpts0: np.ndarray,
    kpts1: np.ndarray,
    matches: np.ndarray,
    H_0to1: np.ndarray,
    thresholds: Iterable[float] = range(1, 11),
) -> np.ndarray:
    """Fraction of matches whose reprojection error is ``<= t``, per threshold.

    A NaN error (point sent to infinity) counts as wrong. No matches gives
    zeros (the D2-Net convention: a pair without matches scores 0).

    Returns:
        ``(T,)`` float64 in [0, 1], one value per threshold.
    """
    thresholds = np.asarray(list(thresholds), dtype=np.float64)
    errors = reprojection_errors(kpts0, kpts1, matches, H_0to1)
    if len(errors) == 0:
        return np.zeros(len(thresholds))
    with np.errstate(invalid="ignore"):
        correct = errors[None, :] <= thresholds[:, None]
    return correct.mean(axis=1)


def repeatability(
    kpts0: np.ndarray,
    kpts1: np.ndarray,
    H_0to1: np.ndarray,
    size0: tuple[int, int],
    size1: tuple[int, int],
    threshold: float = 3.0,
) -> float:
    """Symmetric repeatability in the covisible region (SuperPoint's definition).

    Keypoints of image 0 that ``H_0to1`` maps inside image 1, and keypoints of
    image 1 that the inverse maps inside image 0, are kept (N0', N1'). A kept
    point is repeated when a kept point of the other image lies within
    ``threshold`` px of it (distances measured in image 1). The result is
    ``(repeated0 + repeated1) / (N0' + N1')``, as in SuperPoint's
    ``compute_repeatability`` (DeTone et al. 2018); 0 when nothing is covisible.
    """
    kpts0 = np.asarray(kpts0, dtype=np.float64).reshape(-1, 2)
    kpts1 = np.asarray(kpts1, dtype=np.float64).reshape(-1, 2)
    H_0to1 = np.asarray(H_0to1, dtype=np.float64)
    warped0 = warp_points(kpts0, H_0to1)
    kept0 = warped0[inside_image(warped0, size1)]
    kept1 = kpts1[inside_image(warp_points(kpts1, np.linalg.inv(H_0to1)), size0)]
    if len(kept0) == 0 or len(kept1) == 0:
        return 0.0
    distances = np.linalg.norm(kept0[:, None, :] - kept1[None, :, :], axis=-1)
    repeated0 = int((distances.min(axis=1) <= threshold).sum())
    repeated1 = int((distances.min(axis=0) <= threshold).sum())
    return (repeated0 + repeated1) / (len(kept0) + len(kept1))


def image_corners(size: tuple[int, int]) -> np.ndarray:
    """The four corner pixel centres of an image of ``size`` = (width, height)."""
    width, height = size
    return np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float64
    )


def homography_corner_error(
    kpts0: np.ndarray,
    kpts1: np.ndarray,
    matches: np.ndarray,
    H_0to1: np.ndarray,
    size0: tuple[int, int],
    ransac_threshold: float = 3.0,
) -> float:
    """Mean corner distance between the RANSAC homography and the true one.

    The homography is fitted to the matched points with ``cv2.findHomography``
    (RANSAC, ``ransac_threshold`` px; OpenCV seeds its RANSAC, so the result
    is deterministic); the four corners of image 0 are mapped by both and the
    mean distance is returned, in pixels of image 1.

    Returns:
        The error in px, or ``inf`` with fewer than 4 matches or when RANSAC
        finds no homography.
    """
    matches = np.asarray(matches, dtype=np.int64).reshape(-1, 2)
    if len(matches) < 4:
        return float("inf")
    points0 = np.asarray(kpts0, dtype=np.float64)[matches[:, 0]]
    points1 = np.asarray(kpts1, dtype=np.float64)[matches[:, 1]]
    try:
        H_est, _ = cv2.findHomography(points0, points1, cv2.RANSAC, ransac_threshold)
    except cv2.error:
        return float("inf")
    if H_est is None or not np.isfinite(H_est).all():
        return float("inf")
    corners = image_corners(size0)
    error = np.linalg.norm(warp_points(corners, H_est) - warp_points(corners, H_0to1), axis=1)
    mean = float(error.mean())
    return mean if np.isfinite(mean) else float("inf")
