"""``sobelnet extract``: features of images, counts and timing, annotated PNGs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from ..data import sample_images
from ..visualize import draw_keypoints, save_rgb
from .options import add_extractor_arguments, extractor_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "images",
        nargs="*",
        help="image files (default: photos bundled with scikit-image, 640x480)",
    )
    parser.add_argument("--out", default="sobelnet_out", help="folder for annotated PNGs")
    add_extractor_arguments(parser)


def run(args: argparse.Namespace) -> int:
    extractor = extractor_from_args(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images = (
        _read(args.images)
        if args.images
        else sample_images((640, 480), names=("astronaut", "coffee", "chelsea", "rocket"))
    )
    extractor.extract(images[0][1])  # warm-up: first call allocates
    print(f"device {extractor.device}, weights {extractor.describe_sources()}")
    for name, image in images:
        start = time.perf_counter()
        features = extractor.extract(image)
        elapsed_ms = (time.perf_counter() - start) * 1e3
        path = out / f"{Path(name).stem}_keypoints.png"
        save_rgb(str(path), draw_keypoints(image, features.keypoints, features.scores))
        height, width = image.shape[:2]
        print(
            f"{name}: {width}x{height}, {len(features)} keypoints, {elapsed_ms:.1f} ms -> {path}"
        )
    return 0


def _read(paths: list[str]) -> list[tuple[str, np.ndarray]]:
    images = []
    for path in paths:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"cannot read image {path}")
        images.append((path, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    return images
