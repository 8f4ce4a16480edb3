"""Where keypoints sit: corner-like, edge-like or flat, by the structure tensor.

The measure is independent of the extractor's own filters: OpenCV Sobel
gradients of the gray image (3x3, in grey levels per pixel), their products
smoothed by a Gaussian window of sigma 2 px, and the tensor's eigenvalues
``l1 >= l2`` at each keypoint's nearest pixel. A keypoint is edge-like when
``l2 / l1 < 0.1``: along the edge it can slide, so its matches are right
across the line and wrong along it. A keypoint where ``l1`` is zero (a flat
patch) has ratio 0 and counts as edge-like too: it is no corner either.
"""

from __future__ import annotations

import cv2
import numpy as np

WINDOW_SIGMA = 2.0  # px, Gaussian window of the structure tensor
EDGE_RATIO = 0.1  # l2 / l1 below this: edge-like
SOBEL_GAIN = 8.0  # the 3x3 Sobel kernel's weights sum to 8 across a unit ramp


def gray_float(image: np.ndarray) -> np.ndarray:
    """``H x W`` float32 grey levels (0-255 for uint8) of a gray or RGB image."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return gray.astype(np.float32)


def structure_tensor(gray: np.ndarray, sigma: float = WINDOW_SIGMA) -> np.ndarray:
    """``H x W x 3`` smoothed (gx^2, gy^2, gx*gy) of a float gray image."""
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3) / SOBEL_GAIN
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3) / SOBEL_GAIN
    products = np.stack([gx * gx, gy * gy, gx * gy], axis=-1)
    return cv2.GaussianBlur(products, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)


def eigenvalues(tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``l1 >= l2 >= 0`` of ``(..., 3)`` packed (xx, yy, xy) tensors."""
    xx, yy, xy = tensor[..., 0], tensor[..., 1], tensor[..., 2]
    half_trace = (xx + yy) / 2
    root = np.sqrt(((xx - yy) / 2) ** 2 + xy**2)
    return half_trace + root, np.maximum(half_trace - root, 0.0)


def eigen_ratio(image: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """``l2 / l1`` at each keypoint ``(N, 2)`` x, y (0 where ``l1`` is 0)."""
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(-1, 2)
    tensor = structure_tensor(gray_float(image))
    height, width = tensor.shape[:2]
    x = np.clip(np.rint(keypoints[:, 0]).astype(int), 0, width - 1)
    y = np.clip(np.rint(keypoints[:, 1]).astype(int), 0, height - 1)
    l1, l2 = eigenvalues(tensor[y, x].astype(np.float64))
    return np.divide(l2, l1, out=np.zeros_like(l1), where=l1 > 0)


def edge_like_share(image: np.ndarray, keypoints: np.ndarray) -> float | None:
    """Share of ``keypoints`` that are edge-like; ``None`` when there are none."""
    if len(keypoints) == 0:
        return None
    return float(np.mean(eigen_ratio(image, keypoints) < EDGE_RATIO))
