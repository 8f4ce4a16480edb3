import numpy as np
import pytest

from sobelnet_ros.tracking.spatial import pairs_within


@pytest.mark.parametrize("spread", [1.0, 1e4])  # a table of cells, or binary searches
@pytest.mark.parametrize("per_point", [False, True])
def test_pairs_within_finds_exactly_the_close_pairs(per_point, spread):
    rng = np.random.default_rng(3)
    for _ in range(50):
        a = rng.uniform(-40, 680, (int(rng.integers(0, 80)), 2)) * spread
        b = rng.uniform(-10, 650, (int(rng.integers(0, 80)), 2)) * spread
        if spread > 1 and len(a) and len(b):  # some pairs close even so
            b[: len(b) // 2] = a[rng.integers(0, len(a), len(b) // 2)] + rng.normal(size=2)
        radius = rng.uniform(0.5, 60, len(a)) if per_point else float(rng.uniform(0.5, 90))
        rows, cols = pairs_within(a, b, radius)
        bound = np.broadcast_to(radius, (len(a),))[:, None]
        close = np.linalg.norm(a[:, None] - b[None], axis=2) <= bound
        found = sorted(zip(rows.tolist(), cols.tolist(), strict=True))
        assert found == sorted(zip(*np.nonzero(close), strict=True))
        assert rows.dtype == cols.dtype == np.int64 and (np.diff(rows) >= 0).all()
