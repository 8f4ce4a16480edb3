import numpy as np

from sobelnet_ros.tracking.candidates import best_two


def test_best_two_per_run_matches_a_sort_with_ties():
    rng = np.random.default_rng(5)
    rows = np.sort(rng.integers(0, 40, 300))
    similarity = rng.choice([0.1, 0.5, 0.5, 0.9, 0.7], len(rows)).astype(np.float32)
    first, best, second = best_two(rows, similarity)
    runs = np.unique(rows)
    assert len(first) == len(runs)
    for k, row in enumerate(runs):
        index = np.flatnonzero(rows == row)
        values = np.sort(similarity[index])[::-1]
        assert first[k] == index[np.argmax(similarity[index])]  # the first of equals
        assert best[k] == values[0]
        assert second[k] == (values[1] if len(values) > 1 else -np.inf)
