import warnings

import numpy as np
import pytest
import torch

from sobelnet_ros.tracking.candidates import (
    best_two,
    gated_matches,
    largest_per_row,
    pair_similarity,
    similarities,
)


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


def _unit_rows(rng: np.random.Generator, count: int, dim: int) -> torch.Tensor:
    values = torch.as_tensor(rng.normal(size=(count, dim)), dtype=torch.float32)
    return torch.nn.functional.normalize(values, dim=1)


def test_pair_similarity_is_the_best_template_dot_product_in_any_pair_order():
    rng = np.random.default_rng(7)
    last, first, descriptors = (_unit_rows(rng, n, 32) for n in (50, 50, 70))
    rows = rng.integers(0, 50, 400)  # unsorted, repeated, some tracks without a pair
    cols = rng.integers(0, 70, 400)
    expected = np.maximum(
        (last[rows] * descriptors[cols]).sum(1).numpy(),
        (first[rows] * descriptors[cols]).sum(1).numpy(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the sparse path warns nothing
        values = pair_similarity((last, first), descriptors, rows, cols)
        only_last = pair_similarity((last,), descriptors, np.sort(rows), cols)
    np.testing.assert_allclose(values, expected, atol=1e-5)
    np.testing.assert_allclose(
        only_last, (last[np.sort(rows)] * descriptors[cols]).sum(1).numpy(), atol=1e-5
    )
    assert values.dtype == np.float32
    assert len(pair_similarity((last,), descriptors, rows[:0], cols[:0])) == 0


def test_candidates_chosen_by_similarities_are_rescored_exactly():
    rng = np.random.default_rng(11)
    last, first = _unit_rows(rng, 300, 64), _unit_rows(rng, 300, 64)
    order = rng.permutation(300)
    noise = torch.as_tensor(rng.normal(scale=0.08, size=(300, 64)), dtype=torch.float32)
    descriptors = torch.nn.functional.normalize(last[order] + noise, dim=1)
    approximate = similarities(last, descriptors)
    exact = last @ descriptors.T
    assert (approximate.float() - exact).abs().max() < 0.02
    keypoints = rng.uniform(0, 600, (300, 2))
    radius = np.full(300, 16.0)
    options = (keypoints, None, radius, 8, 1.0, 0.95, ((last, first), descriptors))
    rows, cols = gated_matches(approximate, *options)
    exact_rows, exact_cols = gated_matches(exact, *options)
    np.testing.assert_array_equal(rows, exact_rows)
    np.testing.assert_array_equal(cols, exact_cols)
    assert len(rows) > 250
    inverse = np.argsort(order)  # detection j shows track order[j]
    assert (cols == inverse[rows]).mean() > 0.98


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_largest_per_row_are_topk_values_with_the_first_of_equals(dtype):
    rng = np.random.default_rng(11)
    # few distinct values: many ties, which go to the lowest column
    similarity = torch.as_tensor(rng.choice([0.2, 0.5, 0.7, 0.9], (60, 40)), dtype=dtype)
    before = similarity.clone()
    values, indices = largest_per_row(similarity, 4)
    expected, _ = torch.topk(similarity.float(), 4, dim=1)
    np.testing.assert_array_equal(values, expected.numpy())
    assert torch.equal(similarity, before)  # the input is left as it was
    matrix = similarity.float().numpy()
    for row in range(len(matrix)):
        assert len(set(indices[row])) == 4
        np.testing.assert_array_equal(matrix[row, indices[row]], values[row])
        for rank in range(4):  # no lower column holds an equal value not taken before it
            equal = np.flatnonzero(matrix[row] == values[row, rank])
            assert indices[row, rank] == np.setdiff1d(equal, indices[row, :rank])[0]
