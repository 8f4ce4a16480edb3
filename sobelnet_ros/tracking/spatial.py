"""Points on a grid of cells: pairs closer than a radius without the full distance
matrix, and the cell of each point."""

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
    pairs in those cells rather than the product of the sizes. Coordinates
    are handled as separate x and y columns: reductions and gathers on 1-D
    arrays cost a fraction of those on rows of pairs.
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(points_a) == 0 or len(points_b) == 0:
        return empty, empty
    radius = np.broadcast_to(np.asarray(radius, np.float64), (len(points_a),))
    smallest, largest = float(radius.min()), float(radius.max())
    cell = max(smallest, 1e-6, largest / 8.0)  # at most 17 cell rows
    most = int(np.ceil(largest / cell))  # cells each side, for the largest radius
    (ax, ay), (bx, by) = np.asarray(points_a, np.float64).T, np.asarray(points_b, np.float64).T
    ax, ay, bx, by = ax.copy(), ay.copy(), bx.copy(), by.copy()
    # a cell more than the reach below the lowest point: rounding never reaches cell -1
    margin = cell * (most + 1)
    x0, y0 = min(ax.min(), bx.min()) - margin, min(ay.min(), by.min()) - margin
    width = int((max(ax.max(), bx.max()) - x0) // cell) + 2 * most + 2
    cell_count = (int((max(ay.max(), by.max()) - y0) // cell) + most + 2) * width
    keys_b = _cell_keys(bx, by, x0, y0, cell, width)
    order = np.argsort(keys_b, kind="stable")
    offsets = np.arange(-most, most + 1)
    centre = _cell_keys(ax, ay, x0, y0, cell, width)[:, None] + offsets * width
    uniform = smallest == largest
    reach = most if uniform else np.ceil(radius / cell).astype(np.int64)[:, None]
    first_key, end_key = centre - reach, centre + reach + 1
    if cell_count <= TABLE_CELLS:  # where each cell's points start in ``order``: a lookup
        starts = np.zeros(cell_count + 1, np.int64)
        np.cumsum(np.bincount(keys_b, minlength=cell_count), out=starts[1:])
        low, high = starts[first_key], starts[end_key]
    else:  # points spread too far for a table of every cell: binary searches
        keys_b = keys_b[order]
        low = np.searchsorted(keys_b, first_key, side="left")
        high = np.searchsorted(keys_b, end_key, side="left")
    counts = high - low
    if not uniform:  # rows of cells beyond a smaller radius
        counts[np.abs(offsets) > reach] = 0
    rows = np.repeat(np.arange(len(ax)), counts.sum(axis=1))
    counts, low = counts.ravel(), low.ravel()
    cols = order[np.repeat(low - np.cumsum(counts) + counts, counts) + np.arange(len(rows))]
    dx, dy = ax[rows] - bx[cols], ay[rows] - by[cols]
    bound = radius * radius
    close = dx * dx + dy * dy <= (smallest * smallest if uniform else bound[rows])
    return rows[close], cols[close]


def _cell_keys(
    x: np.ndarray, y: np.ndarray, x0: float, y0: float, cell: float, width: int
) -> np.ndarray:
    """Row-by-row number of the cell of each point."""
    column = np.floor((x - x0) / cell).astype(np.int64)
    return np.floor((y - y0) / cell).astype(np.int64) * width + column


def grid_cells(points: np.ndarray, cell: float) -> np.ndarray:
    """Row-by-row number of each point's ``cell`` x ``cell`` square (the same number exactly
    for the same square), counted from the lowest occupied row and column."""
    column, row = np.floor(np.asarray(points, np.float64).reshape(-1, 2) / cell).astype(np.int64).T
    if len(column) == 0:
        return column
    column, row = column - column.min(), row - row.min()
    return row * (int(column.max()) + 1) + column
