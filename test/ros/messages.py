"""Building sensor_msgs/Image messages for the tests, byte for byte."""

from __future__ import annotations

import array

import numpy as np
from sensor_msgs.msg import Image


def image_message(
    pixels: np.ndarray, encoding: str, pad: int = 0, big_endian: bool = False
) -> Image:
    """An Image whose rows are ``pad`` bytes longer than the pixels need."""
    height = pixels.shape[0]
    raw = pixels.astype(pixels.dtype.newbyteorder(">" if big_endian else "<"))
    rows = raw.reshape(height, -1).view(np.uint8)
    padded = np.zeros((height, rows.shape[1] + pad), np.uint8)
    padded[:, : rows.shape[1]] = rows
    data = array.array("B")
    data.frombytes(padded.tobytes())
    return Image(
        height=height, width=pixels.shape[1], encoding=encoding,
        is_bigendian=int(big_endian), step=padded.shape[1], data=data,
    )  # fmt: skip
