"""sensor_msgs/CompressedImage (JPEG, PNG...) -> numpy array, decoded with OpenCV."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .encodings import ImageRejected, check_size
from .image_header import HeaderError, declared_size

_TO_RGB = {3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGBA}


def compressed_to_array(msg: Any) -> np.ndarray:
    """Decode a CompressedImage (``format``, ``data``) to gray, RGB or RGBA.

    Returns:
        ``H x W`` gray (uint8/uint16), ``H x W x 3`` RGB or ``H x W x 4`` RGBA.

    Raises:
        ImageRejected: reason empty_data, unsupported_format (compressedDepth,
            neither JPEG nor PNG), decode_failed, or a size reason of
            ``check_size`` (read from the header, before decoding).
    """
    fmt = str(msg.format)
    if "compresseddepth" in fmt.lower():
        raise ImageRejected("unsupported_format", f"depth images are not features: {fmt!r}")
    buffer = np.frombuffer(memoryview(msg.data).cast("B"), dtype=np.uint8)
    if buffer.size == 0:
        raise ImageRejected("empty_data", f"compressed image ({fmt!r}) has no data")
    try:
        kind, width, height = declared_size(buffer)
    except HeaderError as error:
        reason = "unsupported_format" if error.kind == "unsupported" else "decode_failed"
        raise ImageRejected(reason, f"{fmt!r}: {error}") from None
    # The declared size decides before any pixel is allocated: OpenCV's own cap
    # (2^30 pixels) is far above the node's, so a tiny file could cost gigabytes.
    check_size(width, height)
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise ImageRejected(
            "decode_failed", f"OpenCV cannot decode {buffer.size} bytes of {fmt!r}"
        )
    if image.shape[:2] != (height, width):
        raise ImageRejected(
            "decode_failed",
            f"{kind} declares {width}x{height} but decodes to {image.shape[1]}x{image.shape[0]}",
        )
    if image.ndim == 3 and image.shape[2] in _TO_RGB:
        image = cv2.cvtColor(image, _TO_RGB[image.shape[2]])
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageRejected("unsupported_format", f"decoded {fmt!r} has dtype {image.dtype}")
    return np.ascontiguousarray(image)
