"""The ``tracks`` and ``feature`` messages, and where camera_info is looked for."""

import numpy as np
import pytest

pytest.importorskip("sensor_msgs", reason="sensor_msgs is not installed (no ROS)")
from sensor_msgs.msg import PointField
from std_msgs.msg import Header

from sobelnet_ros.ros.track_cloud import (
    VINS_CHANNELS,
    cloud_to_tracks,
    tracks_to_cloud,
    tracks_to_feature,
)
from sobelnet_ros.ros.tracks import camera_info_topic


@pytest.fixture
def tracks():
    rng = np.random.default_rng(5)
    keypoints = (rng.random((9, 2)) * [640, 480]).astype(np.float32)
    ids = np.arange(100, 109, dtype=np.int64)
    ages = rng.integers(1, 30, 9)
    velocities = rng.normal(size=(9, 2)).astype(np.float32) * 50
    normalised = rng.normal(size=(9, 2)).astype(np.float32) * 0.3
    return keypoints, ids, ages, velocities, normalised


def test_tracks_layout_and_round_trip(tracks):
    header = Header(frame_id="cam0")
    msg = tracks_to_cloud(header, *tracks)
    assert [(f.name, f.offset, f.datatype) for f in msg.fields] == [
        ("x", 0, PointField.FLOAT32), ("y", 4, PointField.FLOAT32),
        ("id", 8, PointField.UINT32), ("age", 12, PointField.UINT32),
        ("vx", 16, PointField.FLOAT32), ("vy", 20, PointField.FLOAT32),
        ("u", 24, PointField.FLOAT32), ("v", 28, PointField.FLOAT32),
    ]  # fmt: skip
    assert msg.point_step == 32 and msg.row_step == 32 * 9 and msg.width == 9
    back = cloud_to_tracks(msg)
    keypoints, ids, ages, velocities, normalised = tracks
    np.testing.assert_array_equal(back.keypoints, keypoints)
    np.testing.assert_array_equal(back.ids, ids)
    np.testing.assert_array_equal(back.ages, ages)
    np.testing.assert_array_equal(back.velocities, velocities)
    np.testing.assert_array_equal(back.normalised, normalised)
    plain = cloud_to_tracks(tracks_to_cloud(header, *tracks[:4]))
    assert plain.normalised is None and tracks_to_cloud(header, *tracks[:4]).point_step == 24
    with pytest.raises(ValueError, match="different lengths"):
        tracks_to_cloud(header, keypoints, ids[:3], ages, velocities)


def test_vins_feature_message(tracks):
    keypoints, ids, _, _, normalised = tracks
    moved = np.full((9, 2), 0.25, np.float32)
    msg = tracks_to_feature(Header(frame_id="cam0"), ids, keypoints, normalised, moved)
    assert [c.name for c in msg.channels] == list(VINS_CHANNELS)
    assert len(msg.points) == 9 and all(p.z == 1.0 for p in msg.points)
    np.testing.assert_allclose([[p.x, p.y] for p in msg.points], normalised, rtol=1e-6)
    channels = {c.name: np.array(c.values) for c in msg.channels}
    np.testing.assert_array_equal(channels["id_of_point"], ids)
    np.testing.assert_allclose(channels["u_of_point"], keypoints[:, 0])
    np.testing.assert_allclose(channels["velocity_y_of_point"], 0.25)


@pytest.mark.parametrize(
    ("image", "info"),
    [
        ("/image", "/camera_info"),
        ("/cam0/image_raw", "/cam0/camera_info"),
        ("/robot/cam/image/compressed", "/robot/cam/camera_info"),
    ],
)
def test_camera_info_is_the_image_topics_sibling(image, info):
    assert camera_info_topic(image) == info


def test_generic_readers_get_the_documented_values(tracks):
    from .test_cloud import _as_a_generic_reader_sees_it

    _, ids, ages, velocities, normalised = tracks
    points = _as_a_generic_reader_sees_it(tracks_to_cloud(Header(), *tracks))
    assert points["id"].dtype == np.uint32 and points["x"].dtype == np.float32
    np.testing.assert_array_equal(points["id"], ids)
    np.testing.assert_array_equal(points["age"], ages)
    np.testing.assert_array_equal(np.stack([points["vx"], points["vy"]], 1), velocities)
    np.testing.assert_array_equal(np.stack([points["u"], points["v"]], 1), normalised)


def test_sensor_msgs_py_reads_tracks(tracks):
    point_cloud2 = pytest.importorskip("sensor_msgs_py.point_cloud2", reason="no sensor_msgs_py")
    points = point_cloud2.read_points(tracks_to_cloud(Header(), *tracks))
    np.testing.assert_array_equal(points["id"], tracks[1])
    np.testing.assert_array_equal(points["x"], tracks[0][:, 0])
