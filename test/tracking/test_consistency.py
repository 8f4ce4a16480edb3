import numpy as np

from sobelnet_ros.tracking.consistency import CELL_PX, _cell_median, inconsistent_steps
from sobelnet_ros.tracking.spatial import grid_cells


def _grid(step: float = 15.0) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(20, 620, step), np.arange(20, 460, step))
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)


def test_a_wrong_step_in_a_smooth_flow_is_found_and_only_it():
    rng = np.random.default_rng(0)
    points = _grid()
    residuals = rng.normal(0, 0.3, points.shape)  # localisation noise around a turn
    wrong = [17, 300]
    residuals[wrong] += [[6.0, -2.0], [0.0, 5.0]]
    odd = inconsistent_steps(points, residuals, np.zeros_like(points), 3.0)
    assert np.flatnonzero(odd).tolist() == wrong


def test_a_step_a_little_off_passes():
    points = _grid()
    residuals = np.zeros_like(points)
    residuals[40] = [2.5, 0.0]  # within the bound
    assert not inconsistent_steps(points, residuals, np.zeros_like(points), 3.0).any()


def test_near_and_far_points_side_by_side_pass_with_their_parallax():
    """A street: near points stream out 12 px a frame more than the far ones between them,
    as they did the frame before."""
    points = _grid(10.0)
    near = (np.arange(len(points)) % 3) == 0
    residuals = np.where(near[:, None], [12.0, 3.0], [0.0, 0.0])
    drifts = residuals * 0.9
    assert not inconsistent_steps(points, residuals, drifts, 3.0).any()


def test_a_step_that_strays_as_the_track_did_before_passes_and_a_new_one_is_not_judged():
    points = _grid()
    residuals = np.zeros_like(points)
    residuals[[17, 40, 300]] = [9.0, 0.0]  # a near point among far ones; a new track
    drifts = np.zeros_like(points)
    drifts[17] = [8.0, 1.0]
    drifts[300] = np.nan
    odd = inconsistent_steps(points, residuals, drifts, 3.0)
    assert np.flatnonzero(odd).tolist() == [40]


def test_steps_with_too_few_neighbours_are_not_judged():
    points = np.array([[10.0, 10.0], [20.0, 10.0], [300.0, 300.0], [310.0, 300.0]])
    residuals = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 0.0], [0.0, 30.0]])
    assert not inconsistent_steps(points, residuals, np.zeros_like(points), 3.0).any()
    assert not inconsistent_steps(points[:0], residuals[:0], residuals[:0], 3.0).any()


def test_the_median_is_each_cells_lower_median():
    rng = np.random.default_rng(1)
    points = rng.uniform(-100, 700, (300, 2))
    values = rng.normal(0, 40, 300)
    cells = grid_cells(points, CELL_PX)
    members = np.bincount(cells)
    median = _cell_median(cells, values, members, np.cumsum(members) - members)
    for point in range(300):
        same = np.sort(values[cells == cells[point]])
        assert median[point] == same[(len(same) - 1) // 2]
    # the same cell exactly when the same CELL_PX square
    squares = [tuple(square) for square in np.floor(points / CELL_PX).tolist()]
    pairs = set(zip(cells.tolist(), squares, strict=True))
    assert len(pairs) == len(set(cells.tolist())) == len(set(squares))


def test_frames_with_much_parallax_are_left_to_the_epipolar_check():
    points = _grid()
    residuals = np.tile([2.5, 0.0], (len(points), 1))  # a street: most points stream out
    residuals[17] = [-12.0, 8.0]
    odd = inconsistent_steps(points, residuals, np.zeros_like(points), 3.0)
    assert not odd.any()
    assert inconsistent_steps(points, residuals - [2.5, 0.0], np.zeros_like(points), 3.0)[17]
