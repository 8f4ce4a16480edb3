import array

import numpy as np
import pytest

pytest.importorskip("sensor_msgs", reason="sensor_msgs is not installed (no ROS)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sensor_msgs.msg import Image

from sobelnet_ros.ros.encodings import SUPPORTED_ENCODINGS, ImageRejected, image_to_array

from .messages import image_message

REASONS = {
    "unsupported_encoding", "empty_image", "too_small", "too_large", "bad_step",
    "truncated_data", "oversized_data", "odd_width",
}  # fmt: skip
CHANNELS = {"mono8": 1, "mono16": 1, "rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}


@pytest.fixture
def rgb(textured_image):
    return textured_image[:64, :96].copy()


@pytest.mark.parametrize("pad", [0, 3])
def test_rgb_family_decodes_to_rgb(rgb, pad):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)])
    assert np.array_equal(image_to_array(image_message(rgb, "rgb8", pad)), rgb)
    assert np.array_equal(image_to_array(image_message(rgb[..., ::-1], "bgr8", pad)), rgb)
    assert np.array_equal(image_to_array(image_message(rgba, "rgba8", pad)), rgba)
    bgra = rgba[..., [2, 1, 0, 3]]
    assert np.array_equal(image_to_array(image_message(bgra, "bgra8", pad)), rgba)


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("pad", [0, 1, 2])
def test_mono_honours_step_and_byte_order(rgb, big_endian, pad):
    gray16 = (rgb[..., 0].astype(np.uint16) * 257 + 3).astype(np.uint16)
    out = image_to_array(image_message(gray16, "mono16", pad, big_endian))
    assert out.dtype == np.uint16 and out.dtype.isnative and np.array_equal(out, gray16)
    assert out.flags.c_contiguous
    gray8 = rgb[..., 1]
    assert np.array_equal(image_to_array(image_message(gray8, "mono8", pad)), gray8)


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
def test_bayer_patterns_give_the_right_colour(pattern):
    color = {"r": 200, "g": 100, "b": 30}
    mosaic = np.zeros((32, 48), np.uint8)
    for i, channel in enumerate(pattern):  # 2x2 cell, row-major from the top-left
        mosaic[i // 2 :: 2, i % 2 :: 2] = color[channel]
    out = image_to_array(image_message(mosaic, f"bayer_{pattern}8"))
    centre = out[8:-8, 8:-8].reshape(-1, 3).mean(axis=0)
    assert np.allclose(centre, [200, 100, 30], atol=2)


@pytest.mark.parametrize("encoding", ["yuv422", "uyvy", "yuv422_yuy2", "yuyv"])
def test_yuv422_variants(encoding, rgb):
    rgb = np.repeat(rgb[:, ::2], 2, axis=1)  # one colour per pixel pair: chroma is exact
    to_yuv = np.array(  # BT.601 video range, what camera drivers send
        [[0.257, 0.504, 0.098], [-0.148, -0.291, 0.439], [0.439, -0.368, -0.071]]
    )
    yuv = np.clip(rgb @ to_yuv.T + [16, 128, 128], 0, 255).round().astype(np.uint8)
    y, u, v = yuv[..., 0], yuv[:, 0::2, 1], yuv[:, 0::2, 2]
    packed = np.zeros((rgb.shape[0], rgb.shape[1], 2), np.uint8)
    packed[..., 0 if encoding in ("yuv422_yuy2", "yuyv") else 1] = y
    chroma = packed[..., 1 if encoding in ("yuv422_yuy2", "yuyv") else 0]
    chroma[:, 0::2], chroma[:, 1::2] = u, v
    out = image_to_array(image_message(packed, encoding, pad=4))
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).mean() < 3


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"encoding": "32FC1"}, "unsupported_encoding"),
        ({"width": 0}, "empty_image"),
        ({"height": 8}, "too_small"),
        ({"width": 100_000, "height": 100_000}, "too_large"),
        ({"step": 95}, "bad_step"),
        ({"height": 65}, "truncated_data"),
        ({"height": 63}, "oversized_data"),
    ],
)
def test_malformed_messages_are_rejected_with_a_reason(rgb, change, reason):
    msg = image_message(rgb[..., 0], "mono8")
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(ImageRejected) as caught:
        image_to_array(msg)
    assert caught.value.reason == reason


def test_odd_width_yuv_is_rejected():
    msg = image_message(np.zeros((20, 21, 2), np.uint8), "yuyv")
    with pytest.raises(ImageRejected, match="even width"):
        image_to_array(msg)


def test_cv_bridge_is_used_only_outside_the_table(rgb):
    class Bridge:
        calls = 0

        def imgmsg_to_cv2(self, msg, desired_encoding):
            Bridge.calls += 1
            assert desired_encoding == "rgb8"
            return rgb

    assert np.array_equal(image_to_array(image_message(rgb, "rgb8"), Bridge()), rgb)
    assert Bridge.calls == 0
    assert np.array_equal(image_to_array(image_message(rgb, "8UC3"), Bridge()), rgb)
    assert Bridge.calls == 1


def _reference(msg: Image) -> np.ndarray:
    """Row-by-row decoding, independent of the strided views under test."""
    channels = CHANNELS[msg.encoding]
    dtype = np.dtype(">u2" if msg.is_bigendian else "<u2") if msg.encoding == "mono16" else "u1"
    row_bytes = msg.width * channels * np.dtype(dtype).itemsize
    raw = bytes(msg.data)
    rows = [
        np.frombuffer(raw[r * msg.step : r * msg.step + row_bytes], dtype=dtype)
        for r in range(msg.height)
    ]
    native = np.dtype(dtype).newbyteorder("=")
    image = np.stack(rows).reshape(msg.height, msg.width, channels).astype(native)
    if msg.encoding in ("bgr8", "bgra8"):
        image = image[..., [2, 1, 0, 3][:channels]]
    return image[..., 0] if channels == 1 else image


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    encoding=st.sampled_from([*SUPPORTED_ENCODINGS, "32FC1", "", "MONO8", "bayer_rggb16"]),
    width=st.one_of(st.integers(0, 40), st.sampled_from([2**31, 70_000])),
    height=st.one_of(st.integers(0, 40), st.sampled_from([2**31 - 1, 70_000])),
    extra_step=st.integers(-8, 8),
    extra_data=st.integers(-16, 16),
    big_endian=st.integers(0, 1),
    seed=st.integers(0, 2**16),
)
def test_fuzzed_messages_decode_correctly_or_are_rejected(
    encoding, width, height, extra_step, extra_data, big_endian, seed
):
    bytes_per_pixel = {"mono16": 2, "rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}.get(
        encoding.lower(), 2 if "yuv" in encoding or "yuyv" in encoding or "uyvy" in encoding else 1
    )
    step = max(0, width * bytes_per_pixel + extra_step) % 2**32
    size = max(0, min(step * height, 200_000) + extra_data)  # never allocate absurd buffers
    data = array.array("B")
    data.frombytes(np.random.default_rng(seed).integers(0, 256, size, np.uint8).tobytes())
    msg = Image(
        height=height, width=width, encoding=encoding, is_bigendian=big_endian, step=step,
        data=data,
    )  # fmt: skip
    try:
        out = image_to_array(msg)
    except ImageRejected as error:
        assert error.reason in REASONS, error.reason
        return
    assert out.shape[:2] == (height, width) and out.flags.c_contiguous
    if encoding in CHANNELS:
        assert np.array_equal(out, _reference(msg))
    else:
        assert out.shape == (height, width, 3) and out.dtype == np.uint8
