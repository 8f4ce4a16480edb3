"""Checking and converting user images to the networks' gray input.

Accepted: numpy arrays ``H x W`` (gray), ``H x W x 1``, ``H x W x 3`` (RGB) or
``H x W x 4`` (RGBA), dtype uint8, uint16 or float32/float64 in [0, 1],
C-contiguous. Anything else raises ``ValueError`` saying what was expected.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_SIDE = 16  # px; below this the three-scale pyramid and the 1/8 descriptor map vanish
MAX_SIDE = 16384  # px
MAX_PIXELS = 64_000_000  # an 8K frame is 33 MP; larger is almost surely a mistake
_SCALE = {np.dtype(np.uint8): 1 / 255.0, np.dtype(np.uint16): 1 / 65535.0}
_RGB_TO_GRAY = {3: cv2.COLOR_RGB2GRAY, 4: cv2.COLOR_RGBA2GRAY}


def validate_image(image: object) -> np.ndarray:
    """Return ``image`` if it is an acceptable input, else raise ``ValueError``."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"expected a numpy array image, got {type(image).__name__}")
    if image.ndim not in (2, 3):
        raise ValueError(f"expected an H x W or H x W x C image, got shape {image.shape}")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"expected 1, 3 (RGB) or 4 (RGBA) channels, got {image.shape[2]} (shape {image.shape})"
        )
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise ValueError(
            f"image {width}x{height} is too small: both sides must be >= {MIN_SIDE} px"
        )
    if max(height, width) > MAX_SIDE or height * width > MAX_PIXELS:
        raise ValueError(
            f"image {width}x{height} is too large: at most {MAX_SIDE} px a side and "
            f"{MAX_PIXELS} pixels"
        )
    if image.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise ValueError(f"expected dtype uint8, uint16, float32 or float64, got {image.dtype}")
    if not image.flags.c_contiguous:
        raise ValueError("expected a C-contiguous array; pass np.ascontiguousarray(image)")
    if image.dtype.kind == "f":
        low, high = float(image.min()), float(image.max())
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError("float image contains NaN or infinite values")
        if low < 0.0 or high > 1.0:
            raise ValueError(f"float images must lie in [0, 1], got values in [{low}, {high}]")
    return image


def to_gray(image: np.ndarray) -> np.ndarray:
    """Gray ``H x W`` array of the image's own dtype (validated input only)."""
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3:
        source = image if image.dtype != np.float64 else image.astype(np.float32)
        return cv2.cvtColor(source, _RGB_TO_GRAY[image.shape[2]])
    return image


def gray_scale_factor(gray: np.ndarray) -> float:
    """Factor that maps the gray array's values to [0, 1]."""
    return _SCALE.get(gray.dtype, 1.0)


def upload_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a validated image of ``dtype`` travels to the device in (gray).

    uint8 and float32 travel as they are; uint16 and float64 as float32 in [0, 1]
    (torch's uint16 support is partial).
    """
    return np.dtype(np.uint8) if dtype == np.uint8 else np.dtype(np.float32)


def gray_into(image: np.ndarray, out: np.ndarray) -> None:
    """Write the gray of a validated ``image`` into ``out`` (``H x W``, ``upload_dtype``).

    RGB(A) uint8/float32 is converted straight into ``out`` (a pinned buffer,
    say), without an intermediate copy.
    """
    if image.ndim == 3 and image.shape[2] in _RGB_TO_GRAY and image.dtype == out.dtype:
        converted = cv2.cvtColor(image, _RGB_TO_GRAY[image.shape[2]], dst=out)
        if converted is not out and not np.shares_memory(converted, out):
            np.copyto(out, converted)  # OpenCV made a new array after all
        return
    gray = to_gray(image)
    if gray.dtype == np.uint16:
        np.multiply(gray, np.float32(1 / 65535.0), out=out, casting="unsafe")
    else:
        np.copyto(out, gray, casting="same_kind")
