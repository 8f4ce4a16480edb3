import array

import cv2
import numpy as np
import pytest

pytest.importorskip("sensor_msgs", reason="sensor_msgs is not installed (no ROS)")
from sensor_msgs.msg import CompressedImage

from sobelnet_ros.ros.compressed import compressed_to_array
from sobelnet_ros.ros.encodings import ImageRejected
from sobelnet_ros.ros.image_header import HeaderError, declared_size

from .bombs import jpeg_declaring, png_declaring


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
        (b"not an image at all", "jpeg", "unsupported_format"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg", "decode_failed"),  # ends before SOF
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


def _message(data: bytes, fmt: str) -> CompressedImage:
    return CompressedImage(format=fmt, data=array.array("B", data))


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (jpeg_declaring(30000, 30000), "jpeg"),  # 2.7 GB of pixels from ~630 bytes
        (jpeg_declaring(40000, 40000), "jpeg"),  # over OpenCV's own cap as well
        (png_declaring(20000, 20000), "png"),
        (jpeg_declaring(17000, 100), "jpeg"),  # a side over the limit, few pixels
    ],
)
def test_bombs_are_rejected_from_their_header(data, fmt):
    with pytest.raises(ImageRejected) as caught:
        compressed_to_array(_message(data, fmt))
    assert caught.value.reason == "too_large", caught.value


def test_declared_size_of_real_files(textured_image):
    height, width = textured_image.shape[:2]
    for ext, kind in ((".jpg", "jpeg"), (".png", "png")):
        for image in (textured_image, textured_image[..., 0].copy()):
            ok, encoded = cv2.imencode(ext, image)
            assert ok
            assert declared_size(encoded.tobytes()) == (kind, width, height)
    progressive = cv2.imencode(".jpg", textured_image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1]
    assert declared_size(progressive.tobytes()) == ("jpeg", width, height)
    assert declared_size(jpeg_declaring(5000, 4000)) == ("jpeg", 5000, 4000)
    assert declared_size(png_declaring(20000, 30)) == ("png", 20000, 30)


def test_a_declared_size_that_does_not_decode_is_rejected():
    # 16 x 16 pixels of data under a header declaring 64 x 64: OpenCV would pad with grey
    with pytest.raises(ImageRejected) as caught:
        compressed_to_array(_message(png_declaring(64, 64), "png"))
    assert caught.value.reason == "decode_failed"


def test_truncated_headers_are_malformed():
    jpeg = jpeg_declaring(640, 480)
    sof = jpeg.index(b"\xff\xc0")
    for cut in (2, 5, sof, sof + 6):
        with pytest.raises(HeaderError) as caught:
            declared_size(jpeg[:cut])
        assert caught.value.kind == "malformed"
    with pytest.raises(HeaderError):
        declared_size(png_declaring(640, 480)[:20])
