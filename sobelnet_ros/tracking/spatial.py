"""Pairs of points closer than a radius, without the full distance matrix."""

from __future__ import annotations

import numpy as np

TABLE_CELLS = 1 << 20  # most cells of the start table (8 MiB); beyond, binary searches


def pairs_within(
    points_a: np.ndarray, points_b: np.ndarray, radius: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` with ``|points_a[i] - points_b[j]| <= radius`` (or ``radius[i]``),
    ``i`` ascending.

    ``points_b`` is bucketed once into square cells as wide as the smallest
    radius, numbered row by row; the cells within ``radius[i]`` of a point of
    ``points_a`` are, row by row, runs of consecutive cell numbers, each looked
    up in a table of where each cell's points start (a binary search where
    the points are spread too far for one), so the cost follows the number of
    pairs in those cells rather than the product of the sizes.
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(points_a) == 0 or len(points_b) == 0:
        return empty, empty
    radius = np.broadcast_to(np.asarray(radius, np.float64), (len(points_a),))
    cell = max(float(radius.min()), 1e-6, float(radius.max()) / 8.0)  # at most 17 cell rows
    reach = np.ceil(radius / cell).astype(np.int64)  # cells each side
    most = int(reach.max())
    # a cell more than the reach below the lowest point: rounding never reaches cell -1
    origin = np.minimum(points_a.min(axis=0), points_b.min(axis=0)) - cell * (most + 1)
    span = np.maximum(points_a.max(axis=0), points_b.max(axis=0)) - origin
    width = int(span[0] // cell) + 2 * most + 2
    cells_b = np.floor((points_b - origin) / cell).astype(np.int64)
    keys_b = cells_b[:, 1] * width + cells_b[:, 0]
    order = np.argsort(keys_b, kind="stable")
    cells_a = np.floor((points_a - origin) / cell).astype(np.int64)
    rows_around = np.arange(-most, most + 1)[None, :]
    centre = (cells_a[:, 1:2] + rows_around) * width + cells_a[:, 0:1]
    first_key, last_key = centre - reach[:, None], centre + reach[:, None]
    cell_count = (int(span[1] // cell) + most + 2) * width
    if cell_count <= TABLE_CELLS:  # where each cell's points start in ``order``: a lookup
        starts = np.zeros(cell_count + 1, np.int64)
        np.cumsum(np.bincount(keys_b, minlength=cell_count), out=starts[1:])
        low, high = starts[first_key], starts[last_key + 1]
    else:  # points spread too far for a table of every cell: binary searches
        keys_b = keys_b[order]
        low = np.searchsorted(keys_b, first_key, side="left")
        high = np.searchsorted(keys_b, last_key, side="right")
    counts = np.where(np.abs(rows_around) <= reach[:, None], high - low, 0).ravel()
    low = low.ravel()
    rows = np.repeat(np.repeat(np.arange(len(points_a)), 2 * most + 1), counts)
    starts = np.repeat(low - np.cumsum(counts) + counts, counts)
    cols = order[starts + np.arange(counts.sum())]
    # x and y apart: gathering from 1-D arrays is faster than gathering rows of pairs
    (ax, ay), (bx, by) = points_a.T.copy(), points_b.T.copy()
    dx, dy = ax[rows] - bx[cols], ay[rows] - by[cols]
    close = dx * dx + dy * dy <= (radius * radius)[rows]
    return rows[close], cols[close].astype(np.int64, copy=False)
