"""sensor_msgs/Image -> numpy array the extractor takes, without cv_bridge.

Every encoding of the node's contract is read through a numpy view of
``data`` that honours ``step`` (row padding) and ``is_bigendian`` (16-bit
data); the view is copied only when a colour conversion or padding needs it.
Output: ``H x W`` uint8/uint16 gray, ``H x W x 3`` RGB or ``H x W x 4`` RGBA,
C-contiguous. A message that cannot be read raises ``ImageRejected`` with a
short reason key (counted by the node) and a message saying what was wrong.

Where ``cv_bridge`` is importable it converts the encodings outside this
table (e.g. ``bayer_rggb16``) to RGB; the contract's encodings always take the
numpy path, so both installs give identical results for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..inference.image_input import MAX_PIXELS, MAX_SIDE, MIN_SIDE


class ImageRejected(ValueError):
    """A frame the node cannot use; ``reason`` is a short key for the counters."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class _Layout:
    channels: int
    dtype: str  # numpy base type of one channel, byte order added from is_bigendian
    convert: int | None  # cv2 colour conversion to the output, None to keep as is


_BAYER_TO_RGB = {  # ROS names the 2x2 pattern from the top-left; OpenCV from the second row
    "bayer_rggb8": cv2.COLOR_BayerBG2RGB,
    "bayer_bggr8": cv2.COLOR_BayerRG2RGB,
    "bayer_gbrg8": cv2.COLOR_BayerGR2RGB,
    "bayer_grbg8": cv2.COLOR_BayerGB2RGB,
}
LAYOUTS: dict[str, _Layout] = {
    "mono8": _Layout(1, "u1", None),
    "mono16": _Layout(1, "u2", None),
    "rgb8": _Layout(3, "u1", None),
    "bgr8": _Layout(3, "u1", cv2.COLOR_BGR2RGB),
    "rgba8": _Layout(4, "u1", None),
    "bgra8": _Layout(4, "u1", cv2.COLOR_BGRA2RGBA),
    **{name: _Layout(1, "u1", code) for name, code in _BAYER_TO_RGB.items()},
    # yuv422 is UYVY in sensor_msgs; yuv422_yuy2 and yuyv are YUYV
    "yuv422": _Layout(2, "u1", cv2.COLOR_YUV2RGB_UYVY),
    "uyvy": _Layout(2, "u1", cv2.COLOR_YUV2RGB_UYVY),
    "yuv422_yuy2": _Layout(2, "u1", cv2.COLOR_YUV2RGB_YUYV),
    "yuyv": _Layout(2, "u1", cv2.COLOR_YUV2RGB_YUYV),
}
SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(LAYOUTS)


def image_to_array(msg: Any, bridge: Any = None) -> np.ndarray:
    """Decode a sensor_msgs/Image (or any object with its fields).

    Args:
        msg: the message: ``height``, ``width``, ``encoding``, ``is_bigendian``,
            ``step``, ``data``.
        bridge: a ``cv_bridge.CvBridge`` for encodings outside the table, or None.

    Returns:
        ``H x W`` gray (uint8/uint16), ``H x W x 3`` RGB or ``H x W x 4`` RGBA
        uint8, C-contiguous.

    Raises:
        ImageRejected: with ``reason`` in unsupported_encoding, empty_image,
            too_small, too_large, bad_step, truncated_data, oversized_data,
            odd_width, cv_bridge_error.
    """
    encoding = str(msg.encoding)  # case-sensitive, as in sensor_msgs image_encodings
    layout = LAYOUTS.get(encoding)
    height, width = int(msg.height), int(msg.width)
    check_size(width, height)
    if layout is None:
        return _via_bridge(msg, encoding, bridge)
    itemsize = np.dtype(layout.dtype).itemsize
    row_bytes = width * layout.channels * itemsize
    step = int(msg.step)
    if step < row_bytes:
        raise ImageRejected(
            "bad_step", f"{encoding} {width}x{height}: step {step} < {row_bytes} bytes per row"
        )
    data = memoryview(msg.data).cast("B")
    if len(data) < step * height:
        raise ImageRejected(
            "truncated_data",
            f"{encoding} {width}x{height}, step {step}: data has {len(data)} bytes, "
            f"expected {step * height}",
        )
    if len(data) > step * height:
        raise ImageRejected(
            "oversized_data",
            f"{encoding} {width}x{height}, step {step}: data has {len(data)} bytes, "
            f"expected {step * height}",
        )
    if layout.channels == 2 and width % 2:
        raise ImageRejected("odd_width", f"{encoding} needs an even width, got {width}")
    return _decode(data, layout, width, height, step, bool(msg.is_bigendian))


def check_size(width: int, height: int) -> None:
    """Reject sizes the extractor cannot take before touching any pixel."""
    if width <= 0 or height <= 0:
        raise ImageRejected("empty_image", f"image is {width}x{height}")
    if min(width, height) < MIN_SIDE:
        raise ImageRejected(
            "too_small", f"image {width}x{height}: both sides must be >= {MIN_SIDE} px"
        )
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageRejected(
            "too_large",
            f"image {width}x{height}: at most {MAX_SIDE} px a side and {MAX_PIXELS} pixels",
        )


def _decode(
    data: memoryview, layout: _Layout, width: int, height: int, step: int, big_endian: bool
) -> np.ndarray:
    dtype = np.dtype(layout.dtype).newbyteorder(">" if big_endian else "<")
    itemsize = dtype.itemsize
    shape: tuple[int, ...] = (height, width, layout.channels)
    strides: tuple[int, ...] = (step, layout.channels * itemsize, itemsize)
    if layout.channels == 1:
        shape, strides = shape[:2], strides[:2]
    view = np.ndarray(shape, dtype=dtype, buffer=data, strides=strides)
    if not dtype.isnative:
        view = view.astype(dtype.newbyteorder("="))  # copies into native order
    view = np.ascontiguousarray(view)  # no copy when rows are unpadded
    if layout.convert is not None:
        view = cv2.cvtColor(view, layout.convert)
    return view


def _via_bridge(msg: Any, encoding: str, bridge: Any) -> np.ndarray:
    if bridge is None:
        raise ImageRejected(
            "unsupported_encoding",
            f"unsupported encoding {encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}",
        )
    try:
        image = bridge.imgmsg_to_cv2(msg, desired_encoding="rgb8")
    except Exception as error:  # CvBridgeError and OpenCV errors alike
        raise ImageRejected(
            "cv_bridge_error", f"cv_bridge cannot convert {encoding!r}: {error}"
        ) from error
    return np.ascontiguousarray(image)


def load_cv_bridge() -> Any:
    """A ``CvBridge`` when cv_bridge is installed, else None."""
    try:
        from cv_bridge import CvBridge
    except ImportError:
        return None
    return CvBridge()
