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
    msg = features_to_cloud(header, *features)  # int8 descriptors by default
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ("x", 0, PointField.FLOAT32, 1),
        ("y", 4, PointField.FLOAT32, 1),
        ("score", 8, PointField.FLOAT32, 1),
        ("descriptor", 12, PointField.INT8, 128),
    ]
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (1, 7, 140, 7 * 140)
    assert msg.is_dense and not msg.is_bigendian and len(msg.data) == 7 * 140
    assert msg.header == header
    first = bytes(msg.data[:140])
    xys = np.frombuffer(first[:12], "<f4")
    assert np.array_equal(xys[:2], features[0][0]) and xys[2] == features[1][0]
    quantized = np.frombuffer(first[12:], np.int8)
    assert np.array_equal(quantized, np.rint(features[2][0] * 127).astype(np.int8))


def test_float32_layout(features, header):
    msg = features_to_cloud(header, *features, descriptor_format="float32")
    assert (msg.fields[3].datatype, msg.fields[3].count, msg.point_step) == (
        PointField.FLOAT32, 128, 524,
    )  # fmt: skip
    first = np.frombuffer(bytes(msg.data[:524]), "<f4")
    assert np.array_equal(first[3:], features[2][0])


def test_default_features_stay_under_the_shared_memory_segment(header):
    rng = np.random.default_rng(0)
    descriptors = rng.normal(size=(1024, 128)).astype(np.float32)
    descriptors /= np.linalg.norm(descriptors, axis=1, keepdims=True)
    msg = features_to_cloud(header, np.zeros((1024, 2)), np.zeros(1024), descriptors)
    assert len(msg.data) == 1024 * 140 < 512 * 1024 // 2  # Fast DDS SHM segment: 512 KiB


@pytest.mark.parametrize("form", ["int8", "float32"])
def test_round_trip_and_keypoints_only(features, header, form):
    back = cloud_to_features(features_to_cloud(header, *features, descriptor_format=form))
    assert np.array_equal(back.keypoints, features[0])
    assert np.array_equal(back.scores, features[1])
    assert back.descriptors.dtype == np.float32
    assert np.allclose(np.linalg.norm(back.descriptors, axis=1), 1.0, atol=1e-6)
    error = np.abs(back.descriptors - features[2]).max()
    assert error == 0 if form == "float32" else error < 1.5 / 127, error
    assert back.header.frame_id == "cam0" and len(back) == 7
    light = features_to_cloud(header, *features[:2])
    assert light.point_step == 12 and [f.name for f in light.fields] == ["x", "y", "score"]
    assert cloud_to_features(light).descriptors.shape == (7, 0)


NUMPY_TYPES = {PointField.INT8: "i1", PointField.UINT32: "u4", PointField.FLOAT32: "f4"}


def _as_a_generic_reader_sees_it(msg) -> np.ndarray:
    """The PointField contract read field by field: a field of count n is n columns
    ``name_0 .. name_{n-1}`` at offset + i x size, as sensor_msgs_py and
    PointCloud2Iterator read it; one structured row per point of point_step bytes."""
    names, formats, offsets = [], [], []
    for field in msg.fields:
        code = ("<" if not msg.is_bigendian else ">") + NUMPY_TYPES[field.datatype]
        for i in range(field.count):
            names.append(field.name if field.count == 1 else f"{field.name}_{i}")
            formats.append(code)
            offsets.append(field.offset + i * np.dtype(code).itemsize)
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets,
                      "itemsize": msg.point_step})  # fmt: skip
    return np.frombuffer(bytes(msg.data), dtype=dtype, count=msg.width * msg.height)


def test_generic_readers_get_the_documented_values(features, header):
    from numpy.lib.recfunctions import structured_to_unstructured

    points = _as_a_generic_reader_sees_it(features_to_cloud(header, *features))
    xys = structured_to_unstructured(points[["x", "y", "score"]])
    assert xys.dtype == np.float32 and np.array_equal(xys[:, :2], features[0])
    columns = [f"descriptor_{i}" for i in range(128)]
    quantized = structured_to_unstructured(points[columns])
    assert quantized.dtype == np.int8
    assert np.abs(quantized / 127.0 - features[2]).max() <= 0.5 / 127 + 1e-6  # value/127


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
    xys = point_cloud2.read_points_numpy(msg, field_names=["x", "y", "score"])
    assert np.array_equal(xys[:, :2], features[0])
    columns = [f"descriptor_{i}" for i in range(128)]
    quantized = point_cloud2.read_points_numpy(msg, field_names=columns)
    assert quantized.dtype == np.int8 and np.abs(quantized / 127.0 - features[2]).max() < 0.01
    whole = features_to_cloud(header, *features, descriptor_format="float32")
    array = point_cloud2.read_points_numpy(whole)  # one dtype: the whole cloud at once
    assert array.shape == (7, 131)
    assert np.array_equal(array[:, :2], features[0]) and np.array_equal(array[:, 3:], features[2])
