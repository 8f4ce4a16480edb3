"""The size a JPEG or PNG declares in its header, read without decoding a pixel.

A few hundred bytes can declare 30000 x 30000 pixels; OpenCV would allocate
and fill them before the node could see the size. Reading the header first
lets the node reject such a frame by its own limits in microseconds.
"""

from __future__ import annotations

import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8"
# Start-of-frame markers carry the size: SOF0-3, 5-7, 9-11, 13-15 (C4, C8, CC are not SOFs)
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_NO_LENGTH = frozenset([0x01, *range(0xD0, 0xD9)])  # TEM, RSTn, SOI
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9


class HeaderError(ValueError):
    """The header cannot be read; ``kind`` is ``unsupported`` or ``malformed``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def declared_size(data: bytes | memoryview) -> tuple[str, int, int]:
    """``(format, width, height)`` from a JPEG or PNG header; format ``jpeg`` or ``png``.

    Raises:
        HeaderError: neither signature (``unsupported``), or a header that
            ends early or declares no size (``malformed``).
    """
    head = bytes(data[:8])
    if head.startswith(PNG_SIGNATURE):
        return ("png", *_png_size(data))
    if head.startswith(JPEG_SIGNATURE):
        return ("jpeg", *_jpeg_size(data))
    raise HeaderError("unsupported", f"neither a JPEG nor a PNG signature (starts {head[:4]!r})")


def _png_size(data: bytes | memoryview) -> tuple[int, int]:
    # signature, then the IHDR chunk first: length (4), type (4), width (4), height (4)
    if len(data) < 24 or bytes(data[12:16]) != b"IHDR":
        raise HeaderError("malformed", "PNG without an IHDR chunk first")
    width, height = struct.unpack(">II", bytes(data[16:24]))
    return width, height


def _jpeg_size(data: bytes | memoryview) -> tuple[int, int]:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise HeaderError("malformed", f"JPEG marker expected at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_NO_LENGTH:
            position += 2
            continue
        if marker in (_JPEG_SOS, _JPEG_EOI):
            break  # image data (or the end) before any frame header
        (length,) = struct.unpack(">H", bytes(data[position + 2 : position + 4]))
        if marker in _JPEG_SOF:
            if position + 9 > len(data) or length < 7:
                break
            height, width = struct.unpack(">HH", bytes(data[position + 5 : position + 9]))
            if height == 0:  # height given later by a DNL marker: cannot check it first
                raise HeaderError("malformed", "JPEG declares its height after the data (DNL)")
            return width, height
        position += 2 + length
    raise HeaderError("malformed", "JPEG without a frame header (SOF) before its data")
