"""Natural photos bundled with scikit-image, usable offline on any clone.

Only photos are listed (no charts, phantoms or microscopy); none belongs to a
local-feature evaluation set (Oxford affine, HPatches, TUM, KITTI, EVD,
ICL-NUIM).
"""

from __future__ import annotations

import cv2
import numpy as np

SAMPLE_NAMES: tuple[str, ...] = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "coins",
    "brick",
    "gravel",
    "grass",
    "hubble_deep_field",
    "page",
    "text",
    "moon",
)


def load_sample(name: str) -> np.ndarray:
    """One bundled photo as an RGB uint8 ``H x W x 3`` array."""
    if name not in SAMPLE_NAMES:
        raise ValueError(f"unknown sample {name!r}; choose from {SAMPLE_NAMES}")
    from skimage import data  # imported late: scikit-image is slow to import

    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3].astype(np.uint8))


def sample_images(
    size: tuple[int, int] | None = None, names: tuple[str, ...] = SAMPLE_NAMES
) -> list[tuple[str, np.ndarray]]:
    """``(name, RGB image)`` pairs, resized to ``size`` = (width, height) if given."""
    out = []
    for name in names:
        image = load_sample(name)
        if size is not None:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        out.append((name, image))
    return out
