"""Per-frame helpers of the node: optional downscaling and the debug image."""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from sensor_msgs.msg import Image

from ..visualize import draw_keypoints


@dataclass
class Frame:
    """What travels with an image through the engine (``meta``).

    Attributes:
        header: the input image's header, copied to every output.
        received: ``time.perf_counter()`` when the image callback got it.
        scale: (sx, sy) input pixels per processed pixel; (1, 1) unless resized.
        image: the decoded input, kept only when a debug image will be drawn.
        work: the image the extractor gets, kept only when tracking (sub-pixel steps).
    """

    header: Any
    received: float
    scale: tuple[float, float] = (1.0, 1.0)
    image: np.ndarray | None = None
    work: np.ndarray | None = None


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, tuple[float, float]]:
    """Shrink so the longer side is at most ``max_side`` (0: never); returns image, scale."""
    height, width = image.shape[:2]
    if max_side <= 0 or max(height, width) <= max_side:
        return image, (1.0, 1.0)
    factor = max_side / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small), (width / size[0], height / size[1])


def to_input_pixels(keypoints: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Keypoints of the processed image in input pixels (pixel centres at integers)."""
    if scale == (1.0, 1.0):
        return keypoints
    return ((keypoints + 0.5) * np.asarray(scale, dtype=np.float32) - 0.5).astype(np.float32)


def debug_image_msg(
    header: Any, image: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, radius: int
) -> Image:
    """rgb8 Image of ``image`` with the keypoints drawn, header copied."""
    return canvas_msg(header, draw_keypoints(display_rgb(image), keypoints, scores, radius=radius))


def display_rgb(image: np.ndarray) -> np.ndarray:
    """An 8-bit gray or RGB view of a decoded image, for drawing on."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)  # display only: keep the top byte
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    return image


def canvas_msg(header: Any, canvas: np.ndarray) -> Image:
    """rgb8 Image of an ``H x W x 3`` uint8 canvas, header copied."""
    height, width = canvas.shape[:2]
    data = array.array("B")
    data.frombytes(np.ascontiguousarray(canvas).tobytes())
    return Image(
        header=header,
        height=height,
        width=width,
        encoding="rgb8",
        is_bigendian=0,
        step=3 * width,
        data=data,
    )
