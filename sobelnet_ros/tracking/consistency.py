"""Steps that disagree with their neighbours' steps: wrong matches the epipolar check passes.

When the camera mostly turns, its epipolar geometry hardly constrains a step:
a fundamental matrix fits nearly any line through a wrong match a few pixels
off. The image motion there is smooth, though: after the frame's affine
motion is taken out, what is left of a step (its *residual*, the drift of
``descriptor_tracker.py``) is nearly that of the tracks around it. A step is
dropped when its residual lies far from the median of those in its cell of
a coarse grid (a bound that widens with the cell's own spread and median)
and also far from the track's residual of the step before: a near point
among far ones strays from its cell the same way frame after frame, a wrong
match does not. A new track, with no step before, is not judged. Frames
with much parallax (median residual above ``MAX_PARALLAX_PX``) are not
checked at all: there the epipolar geometry is well conditioned and does
the job, while near and far points share the cells. (A grid rather than a
radius around each step: a tenth of the time for the same result.)
"""

from __future__ import annotations

import numpy as np

from .spatial import grid_cells

MAX_PARALLAX_PX = 2.0  # px, median residual of a frame above which nothing is checked
CELL_PX = 80.0  # px, side of the grid cells whose tracks are each other's neighbours
MIN_NEIGHBOURS = 3  # fewer others in a cell: its steps are not judged
SPREAD_GAIN = 2.0  # bound added per px of the neighbours' mean deviation from their median
PARALLAX_GAIN = 0.5  # bound added per px of the cell's median residual


def inconsistent_steps(
    points: np.ndarray, residuals: np.ndarray, drifts: np.ndarray, bound_px: float
) -> np.ndarray:
    """Which steps disagree with the other steps in their grid cell.

    Args:
        points: ``(N, 2)`` where the steps end, px.
        residuals: ``(N, 2)`` each step less the frame's image motion.
        drifts: ``(N, 2)`` each track's residual of its step before; NaN where it made
            none (a new track): not judged, as nothing says how it moves.
        bound_px: the bound for neighbours that agree with each other and no parallax.

    Returns:
        ``(N,)`` bool, all False where the median ``|residual|`` exceeds
        ``MAX_PARALLAX_PX``, else True where ``|residual - the cell's median|`` exceeds
        ``bound_px + SPREAD_GAIN * spread + PARALLAX_GAIN * |the cell's median|`` (the
        spread: the mean distance of the cell's other residuals from the median) and
        ``|residual - drift|`` exceeds ``bound_px``.
    """
    count = len(points)
    if count == 0 or np.median(np.hypot(*residuals.T)) > MAX_PARALLAX_PX:
        return np.zeros(count, dtype=bool)
    cells = grid_cells(points, CELL_PX)
    members = np.bincount(cells)
    starts = np.cumsum(members) - members
    median = np.stack(
        [_cell_median(cells, residuals[:, axis], members, starts) for axis in (0, 1)], axis=1
    )
    distance = np.hypot(*(residuals - median).T)
    others = members[cells] - 1
    spread = (np.bincount(cells, distance)[cells] - distance) / np.maximum(others, 1)
    bound = bound_px + SPREAD_GAIN * spread + PARALLAX_GAIN * np.hypot(*median.T)
    # a near point among far ones strays from its cell the way it strayed before
    own = np.hypot(*(residuals - drifts).T)
    with np.errstate(invalid="ignore"):  # NaN drift: not judged
        return (others >= MIN_NEIGHBOURS) & (distance > bound) & (own > bound_px)


def _cell_median(
    cells: np.ndarray, values: np.ndarray, members: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Each point's (lower) median of ``values`` over its cell."""
    # one sort orders the values inside each cell: the cell number dominates the key
    span = float(np.abs(values).max()) * 2.0 + 1.0
    ordered = values[np.argsort(cells * span + values)]
    return ordered[starts[cells] + (members[cells] - 1) // 2]
