"""The public matcher: mutual nearest neighbours with distance and ratio tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sobelnet_ros import match
from sobelnet_ros.tracking import match_distances, match_similarities


def _unit(rng, count, dim=32):
    values = rng.normal(size=(count, dim)).astype(np.float32)
    return values / np.linalg.norm(values, axis=1, keepdims=True)


def test_recovers_a_permutation_of_noisy_descriptors():
    rng = np.random.default_rng(0)
    desc0 = _unit(rng, 200)
    order = rng.permutation(200)
    desc1 = desc0[order] + 0.05 * rng.normal(size=(200, 32)).astype(np.float32)
    pairs = match(desc0, desc1)
    assert isinstance(pairs, np.ndarray) and pairs.dtype == np.int64
    assert len(pairs) == 200
    assert (order[pairs[:, 1]] == pairs[:, 0]).all()
    assert (np.diff(pairs[:, 0]) > 0).all()  # sorted by the first index


def test_distance_ratio_and_mask_remove_matches():
    rng = np.random.default_rng(1)
    desc0 = _unit(rng, 50)
    desc1 = desc0.copy()
    desc1[:10] = _unit(rng, 10)  # unrelated: far from everything
    assert len(match(desc0, desc1, max_distance=0.5)) == 40
    noise = 0.01 * rng.normal(size=desc0.shape).astype(np.float32)
    twin = np.concatenate([desc0 + noise, desc0[:5] - noise[:5]])  # equally near: ratio 1
    kept = match(desc0, twin, ratio=0.8)
    assert set(range(5, 50)) <= set(kept[:, 0].tolist()) and not set(range(5)) & set(
        kept[:, 0].tolist()
    )
    allowed = np.ones((50, 50), dtype=bool)
    allowed[np.arange(20), np.arange(20)] = False
    masked = match(desc0, desc0, allowed=allowed)
    assert not any(i == j < 20 for i, j in masked.tolist())  # the masked pairs are gone
    assert all(i == j for i, j in masked.tolist() if i >= 20)
    with pytest.raises(ValueError, match="allowed mask"):
        match(desc0, desc0, allowed=np.ones((3, 3), bool))


def test_mutual_check_drops_one_sided_neighbours():
    desc0 = np.array([[1.0, 0.0], [0.9, 0.436]], np.float32)
    desc1 = np.array([[1.0, 0.0]], np.float32)
    assert match(desc0, desc1).tolist() == [[0, 0]]
    assert len(match(desc0, desc1, mutual=False)) == 2


def test_empty_and_mismatched_inputs():
    empty = np.zeros((0, 8), np.float32)
    assert match(empty, np.ones((3, 8), np.float32)).shape == (0, 2)
    with pytest.raises(ValueError, match="same D"):
        match(np.ones((2, 8), np.float32), np.ones((2, 4), np.float32))


def test_torch_in_torch_out_and_similarity_path_agrees():
    rng = np.random.default_rng(2)
    desc0, desc1 = _unit(rng, 100), _unit(rng, 120)
    pairs = match(torch.from_numpy(desc0), torch.from_numpy(desc1), ratio=0.95, max_distance=1.3)
    assert isinstance(pairs, torch.Tensor)
    similarity = torch.from_numpy(desc0 @ desc1.T)
    same = match_similarities(similarity, ratio=0.95, max_distance=1.3)
    assert torch.equal(pairs, same)
    distances = torch.cdist(torch.from_numpy(desc0), torch.from_numpy(desc1))
    assert torch.equal(match_distances(distances, ratio=0.95, max_distance=1.3), same)


@pytest.mark.cuda
def test_cuda_matches_the_cpu():
    rng = np.random.default_rng(3)
    desc0, desc1 = _unit(rng, 500, 128), _unit(rng, 600, 128)
    cpu = match(desc0, desc1, ratio=0.9)
    cuda = match(torch.from_numpy(desc0).cuda(), torch.from_numpy(desc1).cuda(), ratio=0.9)
    assert cuda.device.type == "cuda"
    np.testing.assert_array_equal(cuda.cpu().numpy(), cpu)
