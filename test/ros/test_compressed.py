import array

import cv2
import numpy as np
import pytest

pytest.importorskip("sensor_msgs", reason="sensor_msgs is not installed (no ROS)")
from sensor_msgs.msg import CompressedImage

from sobelnet_ros.ros.compressed import compressed_to_array
from sobelnet_ros.ros.encodings import ImageRejected


def compressed(image_bgr: np.ndarray, ext: str, fmt: str) -> CompressedImage:
    ok, buffer = cv2.imencode(ext, image_bgr)
    assert ok
    data = array.array("B")
    data.frombytes(buffer.tobytes())
    return CompressedImage(format=fmt, data=data)


def test_png_colour_gray_and_16_bit(textured_image):
    bgr = textured_image[..., ::-1].copy()
    assert np.array_equal(compressed_to_array(compressed(bgr, ".png", "png")), textured_image)
    gray = textured_image[..., 0].copy()
    assert np.array_equal(compressed_to_array(compressed(gray, ".png", "mono8; png")), gray)
    deep = gray.astype(np.uint16) * 257
    out = compressed_to_array(compressed(deep, ".png", "mono16; png"))
    assert out.dtype == np.uint16 and np.array_equal(out, deep)


def test_jpeg_comes_back_as_rgb(textured_image):
    msg = compressed(textured_image[..., ::-1].copy(), ".jpg", "jpeg")
    bgr = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(compressed_to_array(msg), bgr[..., ::-1])


@pytest.mark.parametrize(
    ("data", "fmt", "reason"),
    [
        (b"", "jpeg", "empty_data"),
        (b"not an image at all", "jpeg", "decode_failed"),
        (b"\x00" * 10, "16UC1; compressedDepth png", "unsupported_format"),
    ],
)
def test_bad_compressed_images_are_rejected(data, fmt, reason):
    msg = CompressedImage(format=fmt, data=array.array("B", data))
    with pytest.raises(ImageRejected) as caught:
        compressed_to_array(msg)
    assert caught.value.reason == reason


def test_tiny_images_are_rejected():
    with pytest.raises(ImageRejected) as caught:
        compressed_to_array(compressed(np.zeros((4, 4, 3), np.uint8), ".png", "png"))
    assert caught.value.reason == "too_small"
