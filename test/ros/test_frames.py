import numpy as np
import pytest

pytest.importorskip("sensor_msgs", reason="sensor_msgs is not installed (no ROS)")
pytest.importorskip("std_msgs", reason="std_msgs is not installed (no ROS)")
from std_msgs.msg import Header

from sobelnet_ros.ros.frames import debug_image_msg, downscale, to_input_pixels
from sobelnet_ros.ros.startup import start_engine


def test_downscale_keeps_aspect_and_maps_pixel_centres_back():
    image = np.zeros((480, 640), np.uint8)
    small, scale = downscale(image, 320)
    assert small.shape == (240, 320) and scale == (2.0, 2.0)
    assert downscale(image, 0)[1] == (1.0, 1.0) and downscale(image, 1000)[0] is image
    # pixel (0, 0) of the half-size image covers input pixels 0..1: centre 0.5
    assert np.allclose(to_input_pixels(np.array([[0.0, 0.0], [10.0, 5.0]]), scale),
                       [[0.5, 0.5], [20.5, 10.5]])  # fmt: skip


@pytest.mark.parametrize("shape", [(40, 50), (40, 50, 3), (40, 50, 4)])
def test_debug_image_is_rgb8_with_the_header(shape):
    deep = len(shape) == 2  # 16-bit mono is shown by its top byte
    image = np.full(shape, 1000 if deep else 50, np.uint16 if deep else np.uint8)
    msg = debug_image_msg(Header(frame_id="f"), image, np.array([[10.0, 10.0]]), np.ones(1), 3)
    assert (msg.encoding, msg.height, msg.width, msg.step) == ("rgb8", 40, 50, 150)
    assert len(msg.data) == 40 * 150 and msg.header.frame_id == "f"
    bare = debug_image_msg(Header(), image, np.zeros((0, 2)), np.zeros(0), 3)
    assert bytes(msg.data) != bytes(bare.data)  # the keypoint is drawn


def test_auto_falls_back_to_the_cpu_when_cuda_fails():
    attempts, errors = [], []

    def make(params, device):
        attempts.append(device)
        if device != "cpu":
            raise RuntimeError("CUDA error: out of memory")
        return "extractor", "engine"

    assert start_engine({"device": "auto"}, errors.append, make) == ("extractor", "engine")
    assert attempts == ["auto", "cpu"] and "out of memory" in errors[0]
    with pytest.raises(RuntimeError, match="cannot start on device 'cuda'"):
        start_engine({"device": "cuda"}, errors.append, make)
