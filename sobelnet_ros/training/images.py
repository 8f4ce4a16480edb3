"""Where training images come from: a user folder, scikit-image's bundled photos, shapes.

Every image is loaded once as 8-bit grayscale. Files whose path names an
evaluation set (Oxford affine, HPatches, TUM, KITTI, EVD, ICL-NUIM) are refused
by name, so an evaluation image can never be trained on by accident.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import cv2
import numpy as np

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}

# Names of evaluation sets and their sequences; any path part matching these is excluded.
EVAL_NAME_PATTERN = re.compile(
    r"(^|[^a-z])("
    r"graf|boat|bikes|trees|wall|bark|leuven|ubc|iguazu"  # Oxford affine
    r"|hpatches|[iv]_[a-z]+"  # HPatches and its i_*/v_* sequences
    r"|tum|freiburg|rgbd_dataset|kitti|evd|wxbs|icl|nuim|living_room|office_room"
    r")([^a-z]|$)"
)

# scikit-image bundled camera photos for the fallback recipe. The photos that
# ``sobelnet eval --synthetic`` renders its sequences from (sobelnet_ros.data.SAMPLE_NAMES:
# astronaut, coffee, chelsea, rocket, camera, coins, brick, gravel, grass, ...) are left out,
# so the fallback never trains on an evaluation image; see also ``skimage_photos``.
SKIMAGE_PHOTOS = ("motorcycle_left.png", "motorcycle_right.png", "clock_motion.png")

MIN_SIDE = 96


def is_evaluation_path(path: str | Path) -> bool:
    """True when a part of ``path`` names an evaluation set (case-insensitive)."""
    return any(EVAL_NAME_PATTERN.search(part.lower()) for part in Path(path).parts)


def list_images(folder: str | Path) -> tuple[list[Path], list[Path]]:
    """Image files under ``folder`` (recursive, sorted): (kept, excluded as evaluation data).

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        ValueError: no image file is left.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    excluded = [p for p in files if is_evaluation_path(p.relative_to(folder))]
    kept = [p for p in files if p not in set(excluded)]
    if not kept:
        raise ValueError(f"{folder}: no usable image files ({len(excluded)} excluded)")
    return kept, excluded


def load_gray(path: Path, max_side: int = 640) -> np.ndarray:
    """8-bit gray image, longest side at most ``max_side`` (area downscaling)."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return _limit_side(image, max_side)


def _limit_side(image: np.ndarray, max_side: int) -> np.ndarray:
    scale = max_side / max(image.shape[:2])
    if scale < 1.0:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def load_folder(folder: str | Path, max_side: int = 640) -> tuple[list[np.ndarray], list[str]]:
    """All usable images of ``folder`` as gray arrays, with their relative names."""
    kept, excluded = list_images(folder)
    for path in excluded:
        logger.warning("excluded as evaluation data: %s", path)
    images, names = [], []
    for path in kept:
        image = load_gray(path, max_side)
        if min(image.shape) < MIN_SIDE:
            raise ValueError(f"{path}: {image.shape[1]}x{image.shape[0]} is below {MIN_SIDE} px")
        images.append(image)
        names.append(str(path.relative_to(folder)))
    return images, names


def skimage_photos(max_side: int = 640) -> tuple[list[np.ndarray], list[str]]:
    """scikit-image's bundled photos (the fallback source), gray."""
    import skimage.data

    from ..data import SAMPLE_NAMES

    folder = Path(skimage.data.__file__).parent  # the files ship with the wheel
    images, names = [], []
    for name in SKIMAGE_PHOTOS:
        if is_evaluation_path(name) or Path(name).stem in SAMPLE_NAMES:
            continue  # never train on an image an evaluation uses
        images.append(load_gray(folder / name, max_side))
        names.append(f"skimage:{name}")
    return images, names


def synthetic_shapes(seed: int, size: int = 320) -> np.ndarray:
    """A gray image of random polygons, ellipses, lines and a checkerboard patch.

    Corners and junctions everywhere, with a smooth random background.
    """
    rng = np.random.default_rng(seed)
    low = cv2.resize(rng.random((4, 4)).astype(np.float32), (size, size))
    image = (60 + 120 * low).astype(np.uint8)
    for _ in range(rng.integers(6, 14)):
        colour = int(rng.integers(0, 256))
        kind = rng.integers(0, 4)
        if kind == 0:
            points = rng.integers(0, size, (int(rng.integers(3, 7)), 2)).astype(np.int32)
            cv2.fillPoly(image, [cv2.convexHull(points)], colour)
        elif kind == 1:
            centre = tuple(int(v) for v in rng.integers(0, size, 2))
            axes = tuple(int(v) for v in rng.integers(8, size // 4, 2))
            cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
        elif kind == 2:
            p, q = (tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(2))
            cv2.line(image, p, q, colour, int(rng.integers(1, 5)))
        else:
            cell = int(rng.integers(8, 24))
            x, y = (int(v) for v in rng.integers(0, size - 4 * cell, 2))
            board = (np.indices((4 * cell, 4 * cell)) // cell).sum(0) % 2
            image[y : y + 4 * cell, x : x + 4 * cell] = np.where(board, colour, 255 - colour)
    return cv2.GaussianBlur(image, (3, 3), 0.8)


def split_holdout(names: list[str], fraction: float) -> tuple[list[int], list[int]]:
    """Indices (train, held out) by a hash of each name: stable as the folder grows."""
    held = [
        i
        for i, name in enumerate(names)
        if int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction
    ]
    held_set = set(held)
    return [i for i in range(len(names)) if i not in held_set], held


def photos_of_folder(folder: str | Path, holdout: float | None = None) -> list[tuple[str, Path]]:
    """``(name, path)`` of the photos under ``folder`` (evaluation sets left out), named by
    their paths in the folder as training names them; only the held-out split
    (``split_holdout``) when ``holdout`` is given.

    Raises:
        ValueError: the split holds out no photo.
    """
    folder = Path(folder)
    paths = list_images(folder)[0]
    names = [str(path.relative_to(folder)) for path in paths]
    if holdout is not None:
        held = split_holdout(names, holdout)[1]
        if not held:
            raise ValueError(f"a holdout of {holdout} holds out no photo of {folder}")
        return [(names[i], paths[i]) for i in held]
    return list(zip(names, paths, strict=True))
