"""Shared fixtures; tests mirror the package tree and run on the CPU by default."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (run scripts/gpu_check.sh on one)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def random_extractor():
    """A CPU extractor with seeded random networks (no weight files needed)."""
    from sobelnet_ros import FeatureExtractor

    return FeatureExtractor(random_weights=True, seed=0)


@pytest.fixture(scope="session")
def textured_image() -> np.ndarray:
    """A deterministic 120 x 160 RGB image with structure at several scales."""
    rng = np.random.default_rng(7)
    base = rng.random((15, 20, 3))
    image = np.kron(base, np.ones((8, 8, 1)))
    image += 0.2 * rng.random(image.shape)
    return (255 * image / image.max()).astype(np.uint8)
