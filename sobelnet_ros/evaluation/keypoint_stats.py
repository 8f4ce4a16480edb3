"""Where each method puts its keypoints: the share on straight edges, and blank frames.

Two questions a visual-odometry front-end asks of a detector, answered for
any folder of images (no ground truth needed):

- which share of the keypoints is edge-like (``cornerness.EDGE_RATIO``):
  such a point slides along its edge, so its matches are right across the
  line and wrong along it;
- how many keypoints a frame with nothing in it gets (black, white, grey, and
  grey with noise of 1 grey level): a lens cap or a white wall should give none.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .cornerness import EDGE_RATIO, eigen_ratio
from .datasets import read_image
from .methods import Method, check_output

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pgm", ".ppm", ".bmp", ".tif", ".tiff")
BLANK_SIZE = (640, 480)  # (width, height) of the blank frames
NOISE_GREY_LEVELS = 1.0  # sigma of the noise on the grey frame


def blank_frames(size: tuple[int, int] = BLANK_SIZE) -> dict[str, np.ndarray]:
    """RGB uint8 frames with no structure: black, white, grey, grey + N(0, 1) noise (seeded)."""
    width, height = size
    grey = np.full((height, width), 128.0)
    noise = np.random.default_rng(0).normal(0.0, NOISE_GREY_LEVELS, (height, width))
    frames = {
        "black": np.zeros((height, width)),
        "white": np.full((height, width), 255.0),
        "grey": grey,
        "grey_noise": np.clip(np.rint(grey + noise), 0, 255),
    }
    return {name: np.dstack([f.astype(np.uint8)] * 3) for name, f in frames.items()}


def blank_frame_counts(method: Method, size: tuple[int, int] = BLANK_SIZE) -> dict[str, int]:
    """Keypoints ``method`` returns on each of ``blank_frames(size)``."""
    counts = {}
    for name, frame in blank_frames(size).items():
        keypoints, descriptors = method.extract(frame)
        check_output(method, keypoints, descriptors, f"the {name} blank frame")
        counts[name] = len(keypoints)
    return counts


def read_image_folder(folder: str | Path) -> list[tuple[str, np.ndarray]]:
    """(file name, RGB uint8 image) of every image directly in ``folder``, in name order.

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: it holds no image, or one cannot be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"{folder} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    return [(path.name, read_image(path)) for path in paths]


def keypoint_statistics(
    images: list[tuple[str, np.ndarray]], methods: Iterable[Method], progress: bool = True
) -> dict[str, Any]:
    """Edge-like share, keypoint count and time per image, and blank-frame counts, per method.

    Returns:
        ``{"edge_ratio": 0.1, "images": [names], "methods": {name: {"summary": {...},
        "images": {name: {"keypoints", "edge_like_share", "extract_ms"}},
        "blank_frames": {frame: count}}}}``; an image without keypoints has
        ``edge_like_share`` None and is left out of the mean.
    """
    methods = list(methods)
    result: dict[str, Any] = {
        "edge_ratio": EDGE_RATIO,
        "images": [name for name, _ in images],
        "blank_frame_size": list(BLANK_SIZE),
        "methods": {},
    }
    total = len(methods) * len(images)
    with tqdm(total=total, desc="keypoint stats", unit="img", disable=not progress) as bar:
        for method in methods:
            method.extract(images[0][1])  # first calls allocate; keep them out of the timing
            records = {}
            for name, image in images:
                records[name] = image_record(method, image, name)
                bar.update()
            result["methods"][method.name] = {
                "images": records,
                "summary": summarise_images(records),
                "blank_frames": blank_frame_counts(method),
            }
    return result


def image_record(method: Method, image: np.ndarray, name: str) -> dict[str, Any]:
    """Keypoint count, edge-like share and extraction time of one image."""
    start = time.perf_counter()
    keypoints, descriptors = method.extract(image)
    elapsed_ms = (time.perf_counter() - start) * 1e3
    check_output(method, keypoints, descriptors, name)
    share = None
    if len(keypoints):
        share = float(np.mean(eigen_ratio(image, np.asarray(keypoints)) < EDGE_RATIO))
    return {"keypoints": len(keypoints), "edge_like_share": share, "extract_ms": elapsed_ms}


def summarise_images(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Means over images: edge-like share (images with keypoints), keypoints, time."""
    shares = [r["edge_like_share"] for r in records.values() if r["edge_like_share"] is not None]
    return {
        "images": len(records),
        "edge_like_share": float(np.mean(shares)) if shares else None,
        "keypoints_per_image": float(np.mean([r["keypoints"] for r in records.values()])),
        "extract_ms_median": float(np.median([r["extract_ms"] for r in records.values()])),
    }
