"""Pairs of points closer than a radius, without the full distance matrix."""

from __future__ import annotations

import numpy as np


def pairs_within(
    points_a: np.ndarray, points_b: np.ndarray, radius: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` with ``|points_a[i] - points_b[j]| <= radius`` (or ``radius[i]``).

    ``points_b`` is bucketed once into square cells as wide as the largest
    radius, numbered row by row; the 3 x 3 cells around a point of
    ``points_a`` are three runs of consecutive cell numbers, each found by a
    binary search, so the cost follows the number of pairs in those cells
    rather than the product of the sizes.
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(points_a) == 0 or len(points_b) == 0:
        return empty, empty
    radius = np.broadcast_to(np.asarray(radius, np.float64), (len(points_a),))
    cell = max(float(radius.max()), 1e-6)
    origin = np.minimum(points_a.min(axis=0), points_b.min(axis=0)) - cell
    width = int((max(points_a[:, 0].max(), points_b[:, 0].max()) - origin[0]) // cell) + 3
    cells_b = np.floor((points_b - origin) / cell).astype(np.int64)
    keys_b = cells_b[:, 1] * width + cells_b[:, 0]
    order = np.argsort(keys_b, kind="stable")
    keys_b = keys_b[order]
    cells_a = np.floor((points_a - origin) / cell).astype(np.int64)
    rows_above = np.arange(-1, 2)[None, :]  # the cell rows above, at and below each point
    centre = (cells_a[:, 1:2] + rows_above) * width + cells_a[:, 0:1]
    low = np.searchsorted(keys_b, centre - 1, side="left").ravel()
    high = np.searchsorted(keys_b, centre + 1, side="right").ravel()
    counts = high - low
    rows = np.repeat(np.repeat(np.arange(len(points_a)), 3), counts)
    starts = np.repeat(low - np.cumsum(counts) + counts, counts)
    cols = order[starts + np.arange(counts.sum())]
    offsets = points_a[rows] - points_b[cols]
    close = np.einsum("nc,nc->n", offsets, offsets) <= radius[rows] ** 2
    return rows[close].astype(np.int64), cols[close].astype(np.int64)
