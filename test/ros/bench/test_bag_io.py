"""Bag round trips through rosbags: write every storage and format, read back exactly."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rosbags", reason="rosbags is not installed")
from sobelnet_ros.ros.bench.bag_reader import BagError, bag_sha256, read_image_topic
from sobelnet_ros.ros.bench.bag_writer import write_image_bag

PERIOD_NS = 33_333_333


def _frames(count: int = 6, gray: bool = False):
    rng = np.random.default_rng(3)
    shape = (24, 40) if gray else (24, 40, 3)
    images = [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(count)]
    return [(1_000_000_000 + i * PERIOD_NS, image) for i, image in enumerate(images)]


def _path(tmp_path, storage: str, name: str = "bag"):
    return tmp_path / (f"{name}.bag" if storage == "ros1" else name)


@pytest.mark.parametrize("storage", ["sqlite3", "mcap", "ros1"])
@pytest.mark.parametrize("image_format", ["rgb8", "bgr8", "mono8"])
def test_raw_images_read_back_bit_exact(tmp_path, storage, image_format):
    frames = _frames()
    path = _path(tmp_path, storage)
    assert write_image_bag(path, frames, storage=storage, image_format=image_format) == 6
    bag = read_image_topic(path)
    assert bag.topic == "/camera/image_raw" and bag.msgtype == "sensor_msgs/msg/Image"
    assert len(bag.frames) == 6
    assert bag.recorded_rate_hz == pytest.approx(1e9 / PERIOD_NS, rel=1e-6)
    for (stamp, image), frame in zip(frames, bag.frames, strict=True):
        assert frame.stamp_ns == stamp and frame.log_ns == stamp
        assert (frame.width, frame.height, frame.encoding) == (40, 24, image_format)
        channels = 1 if image_format == "mono8" else 3
        pixels = np.frombuffer(frame.data, np.uint8).reshape(24, 40, channels)
        if image_format == "rgb8":
            np.testing.assert_array_equal(pixels, image)
        elif image_format == "bgr8":
            np.testing.assert_array_equal(pixels[..., ::-1], image)
        assert frame.step == 40 * channels


@pytest.mark.parametrize("storage", ["sqlite3", "mcap", "ros1"])
def test_compressed_images_are_decoded(tmp_path, storage):
    frames = _frames(4)
    path = _path(tmp_path, storage)
    write_image_bag(path, frames, storage=storage, image_format="png")
    bag = read_image_topic(path)
    assert bag.topic == "/camera/image_raw/compressed"
    assert bag.msgtype == "sensor_msgs/msg/CompressedImage"
    for (_, image), frame in zip(frames, bag.frames, strict=True):
        assert frame.encoding == "bgr8"  # PNG is lossless: exact pixels, in OpenCV's order
        pixels = np.frombuffer(frame.data, np.uint8).reshape(24, 40, 3)
        np.testing.assert_array_equal(pixels[..., ::-1], image)


def test_jpeg_gray_decodes_to_mono8(tmp_path):
    path = tmp_path / "bag"
    write_image_bag(path, _frames(2, gray=True), image_format="jpeg")
    frame = read_image_topic(path).frames[0]
    assert frame.encoding == "mono8" and len(frame.data) == 24 * 40


def test_topic_chosen_by_name_and_max_frames(tmp_path):
    path = tmp_path / "bag"
    write_image_bag(path, _frames(), topic="/cam0/image_raw")
    bag = read_image_topic(path, topic="/cam0/image_raw", max_frames=3)
    assert bag.topic == "/cam0/image_raw" and len(bag.frames) == 3


def test_missing_topic_names_what_the_bag_has(tmp_path):
    path = tmp_path / "bag"
    write_image_bag(path, _frames(2))
    with pytest.raises(BagError, match=r"/left is not in bag .*/camera/image_raw"):
        read_image_topic(path, topic="/left")


def test_unreadable_and_missing_bags_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_image_topic(tmp_path / "nothing")
    junk = tmp_path / "junk.bag"
    junk.write_bytes(b"not a bag at all")
    with pytest.raises(BagError, match="cannot read bag .*junk.bag"):
        read_image_topic(junk)
    folder = tmp_path / "empty_folder"
    folder.mkdir()
    with pytest.raises(BagError, match="cannot read bag"):
        read_image_topic(folder)


def test_writer_refuses_to_overwrite_and_bad_options(tmp_path):
    path = tmp_path / "bag"
    write_image_bag(path, _frames(1))
    with pytest.raises(FileExistsError):
        write_image_bag(path, _frames(1))
    with pytest.raises(ValueError, match="unknown bag storage"):
        write_image_bag(tmp_path / "b2", _frames(1), storage="zip")


def test_bag_hash_changes_with_content(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_image_bag(a, _frames(2))
    write_image_bag(b, _frames(3))
    assert bag_sha256(a) == bag_sha256(a) and bag_sha256(a) != bag_sha256(b)


def test_demo_bag_is_byte_identical_on_every_write(tmp_path):
    from sobelnet_ros.data.demo_sequence import DemoSequenceConfig
    from sobelnet_ros.ros.bench.demo_bag import write_demo_bag

    config = DemoSequenceConfig(width=64, height=48, duration_s=0.2, mosaic_height=96)
    first = write_demo_bag(tmp_path / "one" / "demo_bag", config)
    second = write_demo_bag(tmp_path / "two" / "demo_bag", config)
    assert bag_sha256(first) == bag_sha256(second)
    assert sorted(p.name for p in first.iterdir()) == ["demo_bag.mcap", "metadata.yaml"]
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["demo_bag"]  # no scratch left
    assert len(read_image_topic(first).frames) == 6
