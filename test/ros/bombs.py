"""Crafted compressed images whose headers declare far more pixels than they carry."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG (16 x 16) with its frame header rewritten to ``width x height``."""
    ok, encoded = cv2.imencode(".jpg", np.full((16, 16, 3), 128, np.uint8))
    assert ok
    data = bytearray(encoded.tobytes())
    sof = data.index(b"\xff\xc0")  # baseline frame header: FFC0, length, precision, H, W
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_declaring(width: int, height: int) -> bytes:
    """A small real PNG (16 x 16) whose IHDR (CRC fixed) declares ``width x height``."""
    ok, encoded = cv2.imencode(".png", np.zeros((16, 16), np.uint8))
    assert ok
    data = bytearray(encoded.tobytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # type + IHDR fields
    return bytes(data)
