"""The first matching pass: each track's most similar detections, gated by position.

Only the ``top_k`` most similar detections of each track are looked at, so
the spatial gate and the ratio test cost O(T k) rather than O(T N); a true
match that is not among a track's ``top_k`` most similar detections is left
to the guided pass.
"""

from __future__ import annotations

import numpy as np
import torch


def gated_matches(
    similarity: torch.Tensor,
    keypoints: np.ndarray,
    predicted: np.ndarray | None,
    radius: np.ndarray,
    top_k: int,
    max_distance: float,
    ratio: float | None,
    second: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matches ``(rows, cols)`` of tracks to detections.

    Args:
        similarity: ``(T, N)`` cosine similarity of unit-norm descriptors.
        second: optional ``(templates (T, D), descriptors (N, D))``: a second
            descriptor per track; a candidate's similarity is the larger of
            the two (computed for the ``top_k`` candidates only).
        keypoints: ``(N, 2)`` detections, px.
        predicted: ``(T, 2)`` where each track is expected, or None for no gate.
        radius: ``(T,)`` px, the gate around ``predicted``.
        top_k: candidates per track.
        max_distance: largest descriptor distance (``sqrt(2 - 2 s)``) of a match.
        ratio: Lowe's ratio of the best to the second-best candidate in the
            gate (distances), or None.

    Returns:
        int64 rows and columns; a detection goes to the track most similar to it.
    """
    tracks, count = similarity.shape
    empty = np.zeros(0, dtype=np.int64)
    if tracks == 0 or count == 0:
        return empty, empty
    values, indices = torch.topk(similarity, min(top_k, count), dim=1)
    if second is not None:
        templates, descriptors = second
        again = torch.einsum("td,tkd->tk", templates, descriptors[indices])
        values = torch.maximum(values, again)
    values, indices = values.float().cpu().numpy(), indices.cpu().numpy()
    if predicted is not None:
        offsets = keypoints[indices] - predicted[:, None, :]
        outside = np.einsum("tkc,tkc->tk", offsets, offsets) > (radius**2)[:, None]
        values = np.where(outside, -np.inf, values)
    order = np.argsort(-values, axis=1, kind="stable")
    values = np.take_along_axis(values, order, axis=1)
    indices = np.take_along_axis(indices, order, axis=1)
    best, cols = values[:, 0], indices[:, 0]
    keep = best >= 1.0 - 0.5 * max_distance**2
    if ratio is not None and values.shape[1] > 1:
        keep &= (2.0 - 2.0 * best) <= ratio**2 * (2.0 - 2.0 * values[:, 1])
    rows = np.flatnonzero(keep)
    chosen = one_to_one(rows, cols[rows], best[rows])
    return rows[chosen].astype(np.int64), cols[rows][chosen].astype(np.int64)


def one_to_one(rows: np.ndarray, cols: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """Indices of candidate pairs keeping each row and column once, most similar first.

    Each row keeps its most similar pair; a column wanted by several rows
    goes to the most similar of them. Returned in the input order.
    """
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-similarity, kind="stable")
    _, first_row = np.unique(rows[order], return_index=True)
    order = order[np.sort(first_row)]
    _, first_col = np.unique(cols[order], return_index=True)
    return np.sort(order[first_col]).astype(np.int64)
