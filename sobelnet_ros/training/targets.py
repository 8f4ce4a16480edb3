"""Keypoint targets of the Gaussian loss: which points SobelNet should fire on.

Two variants (method.md):
- ``corners``: handcrafted Shi-Tomasi corners of A and of B that agree within
  ``match_px`` after warping by H (repeatable corners).
- ``peaks``: the partner view's own NMS peaks of the current SobelNet, warped
  by H into this view (Key.Net-style self-supervision).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..geometry import inside_image, warp_points
from ..inference.keypoints import max_pool_nms, top_k, zero_border


def shi_tomasi(image: np.ndarray, max_corners: int, quality: float = 0.01) -> np.ndarray:
    """Shi-Tomasi corners of a uint8 gray image, ``(N, 2)`` float x, y."""
    found = cv2.goodFeaturesToTrack(image, max_corners, quality, minDistance=3, blockSize=5)
    return np.zeros((0, 2)) if found is None else found.reshape(-1, 2).astype(np.float64)


def repeatable_pairs(
    points_a: np.ndarray, points_b: np.ndarray, H: np.ndarray, size: int, match_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points of A and of B that have a partner within ``match_px`` under H.

    Returns:
        (points of A, points of B) that are mutually closest and within the
        threshold, in each view's own pixels.
    """
    if len(points_a) == 0 or len(points_b) == 0:
        return np.zeros((0, 2)), np.zeros((0, 2))
    warped = warp_points(points_a, H)
    visible = inside_image(warped, (size, size))
    distance = np.linalg.norm(warped[:, None] - points_b[None], axis=-1)
    distance[~visible] = np.inf
    nearest_b = distance.argmin(1)
    nearest_a = distance.argmin(0)
    mutual = nearest_a[nearest_b] == np.arange(len(points_a))
    close = distance[np.arange(len(points_a)), nearest_b] <= match_px
    keep = mutual & close
    return points_a[keep], points_b[nearest_b[keep]]


def corner_targets(
    raw_a: list[np.ndarray],
    raw_b: list[np.ndarray],
    H: torch.Tensor,
    max_corners: int,
    match_px: float = 2.0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Repeatable Shi-Tomasi corners per pair: (points in A, points in B) lists."""
    out_a, out_b = [], []
    for view_a, view_b, h in zip(raw_a, raw_b, H.cpu().numpy(), strict=True):
        a, b = repeatable_pairs(
            shi_tomasi(view_a, max_corners),
            shi_tomasi(view_b, max_corners),
            h,
            view_a.shape[0],
            match_px,
        )
        out_a.append(a)
        out_b.append(b)
    return out_a, out_b


@torch.no_grad()
def peak_targets(
    scores: torch.Tensor,
    H_to_other: torch.Tensor,
    count: int,
    nms_window: int = 5,
    border: int = 4,
    allowed: torch.Tensor | None = None,
) -> list[np.ndarray]:
    """Top ``count`` NMS peaks of each score map, warped into the other view.

    Args:
        scores: ``(B, 1, S, S)`` score maps of this view (detached).
        H_to_other: ``(B, 3, 3)`` this view -> the other view.
        allowed: ``(B, 1, S, S)`` 0/1 map of where a peak may be a target (the
            extractor's corner test, say), applied after NMS; None: anywhere.

    Returns:
        per pair, ``(N, 2)`` peak positions in the other view, those inside it.
    """
    size = scores.shape[-1]
    kept = max_pool_nms(zero_border(scores, border), nms_window)
    if allowed is not None:
        kept = kept * allowed.to(kept.device)
    peaks, values, _ = top_k(kept, count)
    out = []
    for points, value, h in zip(
        peaks.cpu().numpy(), values.cpu().numpy(), H_to_other.cpu().numpy(), strict=True
    ):
        warped = warp_points(points[value > 0], h)
        out.append(warped[inside_image(warped, (size, size), margin=border)])
    return out


def gaussian_heatmap(points: list[np.ndarray], size: int, sigma: float, device) -> torch.Tensor:
    """Heatmaps ``(B, 1, S, S)``: the maximum of unit Gaussians at each point.

    Args:
        points: per image, ``(N, 2)`` float x, y pixel positions.
        sigma: Gaussian width in px.
    """
    grid = torch.arange(size, dtype=torch.float32, device=device)
    maps = []
    radius = 3 * sigma
    for pts in points:
        heat = torch.zeros(size, size, device=device)
        if len(pts):
            p = torch.as_tensor(pts, dtype=torch.float32, device=device)
            # Separable Gaussians per point; the max over points keeps peaks at 1.
            gx = torch.exp(-0.5 * ((grid[None] - p[:, :1]) / sigma) ** 2)  # (N, S)
            gy = torch.exp(-0.5 * ((grid[None] - p[:, 1:]) / sigma) ** 2)
            gx = gx * (gx > np.exp(-0.5 * (radius / sigma) ** 2))
            heat = torch.einsum("ny,nx->nyx", gy, gx).amax(0)
        maps.append(heat)
    return torch.stack(maps).unsqueeze(1)
