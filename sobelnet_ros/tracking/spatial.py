"""Pairs of points closer than a radius, without the full distance matrix."""

from __future__ import annotations

import numpy as np


def pairs_within(
    points_a: np.ndarray, points_b: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` with ``|points_a[i] - points_b[j]| <= radius``.

    ``points_b`` is sorted by x once; each point of ``points_a`` looks only at
    the slice within ``radius`` in x, so the cost follows the number of close
    pairs rather than the product of the sizes.
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(points_a) == 0 or len(points_b) == 0:
        return empty, empty
    order = np.argsort(points_b[:, 0], kind="stable")
    xs = points_b[order, 0]
    low = np.searchsorted(xs, points_a[:, 0] - radius, side="left")
    high = np.searchsorted(xs, points_a[:, 0] + radius, side="right")
    counts = high - low
    rows = np.repeat(np.arange(len(points_a)), counts)
    starts = np.repeat(low - np.cumsum(counts) + counts, counts)
    cols = order[starts + np.arange(counts.sum())]
    offsets = points_a[rows] - points_b[cols]
    close = np.einsum("nc,nc->n", offsets, offsets) <= radius * radius
    return rows[close].astype(np.int64), cols[close].astype(np.int64)
