import numpy as np
import pytest

pytest.importorskip("sensor_msgs", reason="sensor_msgs is not installed (no ROS)")
pytest.importorskip("std_msgs", reason="std_msgs is not installed (no ROS)")
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Header

from sobelnet_ros.ros.cloud import cloud_to_features, features_to_cloud


@pytest.fixture
def features():
    rng = np.random.default_rng(3)
    keypoints = (rng.random((7, 2)) * [640, 480]).astype(np.float32)
    scores = np.sort(rng.random(7).astype(np.float32))[::-1].copy()
    descriptors = rng.normal(size=(7, 128)).astype(np.float32)
    return keypoints, scores, descriptors / np.linalg.norm(descriptors, axis=1, keepdims=True)


@pytest.fixture
def header():
    h = Header(frame_id="cam0")
    h.stamp.sec, h.stamp.nanosec = 12, 345
    return h


def test_layout_is_the_contract(features, header):
    msg = features_to_cloud(header, *features)
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ("x", 0, PointField.FLOAT32, 1),
        ("y", 4, PointField.FLOAT32, 1),
        ("score", 8, PointField.FLOAT32, 1),
        ("descriptor", 12, PointField.FLOAT32, 128),
    ]
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (1, 7, 524, 7 * 524)
    assert msg.is_dense and not msg.is_bigendian and len(msg.data) == 7 * 524
    assert msg.header == header
    first = np.frombuffer(bytes(msg.data[:524]), "<f4")
    assert np.array_equal(first[:2], features[0][0]) and first[2] == features[1][0]
    assert np.array_equal(first[3:], features[2][0])


def test_round_trip_and_keypoints_only(features, header):
    back = cloud_to_features(features_to_cloud(header, *features))
    for got, want in zip((back.keypoints, back.scores, back.descriptors), features, strict=True):
        assert np.array_equal(got, want)
    assert back.header.frame_id == "cam0" and len(back) == 7
    light = features_to_cloud(header, *features[:2])
    assert light.point_step == 12 and [f.name for f in light.fields] == ["x", "y", "score"]
    assert cloud_to_features(light).descriptors.shape == (7, 0)


def test_empty_cloud(header):
    msg = features_to_cloud(header, np.zeros((0, 2)), np.zeros(0), np.zeros((0, 128)))
    assert msg.width == 0 and len(msg.data) == 0
    assert cloud_to_features(msg).descriptors.shape == (0, 128)


def test_reads_big_endian_and_padded_clouds(features):
    keypoints, scores, descriptors = features
    dtype = np.dtype({"names": ["score", "x", "y", "descriptor"],
                      "formats": [">f4", ">f4", ">f4", (">f4", (128,))],
                      "offsets": [0, 8, 12, 20], "itemsize": 540})  # fmt: skip
    points = np.zeros(7, dtype)
    points["x"], points["y"] = keypoints.T
    points["score"], points["descriptor"] = scores, descriptors
    layout = (("score", 0, 1), ("x", 8, 1), ("y", 12, 1), ("descriptor", 20, 128))
    fields = [PointField(name=n, offset=o, datatype=PointField.FLOAT32, count=c)
              for n, o, c in layout]  # fmt: skip
    msg = PointCloud2(height=1, width=7, fields=fields, is_bigendian=True, point_step=540,
                      row_step=540 * 7, data=points.tobytes(), is_dense=True)  # fmt: skip
    back = cloud_to_features(msg)
    assert np.array_equal(back.keypoints, keypoints)
    assert np.array_equal(back.descriptors, descriptors)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: m.fields.pop(2), "no 'score' field"),
        (lambda m: setattr(m.fields[0], "datatype", PointField.FLOAT64), "expected FLOAT32"),
        (lambda m: setattr(m, "point_step", 100), "point_step"),
        (lambda m: setattr(m, "data", m.data[:-1]), "data has"),
    ],
)
def test_bad_clouds_raise(features, header, change, match):
    msg = features_to_cloud(header, *features)
    change(msg)
    with pytest.raises(ValueError, match=match):
        cloud_to_features(msg)


def test_mismatched_arrays_raise(features, header):
    with pytest.raises(ValueError, match="do not"):
        features_to_cloud(header, features[0][:3], features[1], features[2])


def test_sensor_msgs_py_reads_the_cloud(features, header):
    point_cloud2 = pytest.importorskip(
        "sensor_msgs_py.point_cloud2", reason="sensor_msgs_py is not installed (no ROS distro)"
    )
    msg = features_to_cloud(header, *features)
    names = point_cloud2.read_points(msg).dtype.names
    assert names[:4] == ("x", "y", "score", "descriptor_0") and names[-1] == "descriptor_127"
    array = point_cloud2.read_points_numpy(msg)
    assert array.shape == (7, 131)
    assert np.array_equal(array[:, :2], features[0]) and np.array_equal(array[:, 3:], features[2])
