"""Tiny homography sequence folders, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

H_SHIFT = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, -2.0], [0.0, 0.0, 1.0]])


def write_sequence(folder: Path, layout: str = "hpatches", suffix: str = ".ppm") -> Path:
    """Six 48x64 noise images and five homography files in ``layout`` naming."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(len(folder.name))
    for i in range(1, 7):
        stem = str(i) if layout == "hpatches" else f"img{i}"
        image = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        assert cv2.imwrite(str(folder / f"{stem}{suffix}"), image)
    for k in range(2, 7):
        name = f"H_1_{k}" if layout == "hpatches" else f"H1to{k}p"
        np.savetxt(folder / name, 2.0 * H_SHIFT)  # scaled: readers must normalise
    return folder


@pytest.fixture
def hpatches_root(tmp_path: Path) -> Path:
    root = tmp_path / "hpatches"
    write_sequence(root / "i_light")
    write_sequence(root / "v_wall", suffix=".png")
    return root


@pytest.fixture
def make_sequence():
    """``write_sequence`` for tests that build their own folders."""
    return write_sequence
