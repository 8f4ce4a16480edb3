"""The detector node over real DDS: one node process shared by the tests of this module."""

from __future__ import annotations

import array
import signal
import time

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from .conftest import ROOT, NodeProcess, RosPeer, random_domain
from .messages import image_message

pytestmark = [pytest.mark.ros, pytest.mark.slow]

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue  # noqa: E402
from rcl_interfaces.srv import GetParameters, SetParameters, SetParametersAtomically  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image, PointCloud2  # noqa: E402

from sobelnet_ros import FeatureExtractor  # noqa: E402
from sobelnet_ros.ros.cloud import cloud_to_features  # noqa: E402
from sobelnet_ros.ros.encodings import SUPPORTED_ENCODINGS  # noqa: E402

MAX_KEYPOINTS = 256
RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)


class Peer(RosPeer):
    """Publishes images to the node and collects everything it sends back."""

    def __init__(self, domain: int) -> None:
        super().__init__(domain)
        self.features: dict[str, PointCloud2] = {}
        self.keypoints: dict[str, PointCloud2] = {}
        self.diagnostics: list[DiagnosticArray] = []
        self.debug: list[Image] = []
        self.images = self.node.create_publisher(Image, "image", RELIABLE)
        sub = self.node.create_subscription
        sub(PointCloud2, "features", lambda m: self.features.update({m.header.frame_id: m}), 50)
        sub(PointCloud2, "keypoints", lambda m: self.keypoints.update({m.header.frame_id: m}), 50)
        sub(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)
        self.sent = 0

    def send(self, msg: Image, timeout: float = 30.0) -> PointCloud2 | None:
        """Publish with a unique frame_id; the features of it, or None if none came."""
        self.sent += 1
        frame_id = f"frame{self.sent}"
        msg.header.frame_id = frame_id
        msg.header.stamp.sec, msg.header.stamp.nanosec = 1000 + self.sent, 123
        assert self.spin_until(lambda: self.images.get_subscription_count() > 0, 60)
        self.images.publish(msg)
        self.spin_until(lambda: frame_id in self.features, timeout)
        return self.features.get(frame_id)

    def status(self, after: int = 0) -> dict[str, str]:
        """Key-values of a /diagnostics message received after ``after`` earlier ones."""
        assert self.spin_until(lambda: len(self.diagnostics) > after, 10)
        return {kv.key: kv.value for kv in self.diagnostics[-1].status[0].values}

    def call(self, service_type, name: str, request):
        client = self.node.create_client(service_type, name)
        assert client.wait_for_service(timeout_sec=20)
        future = client.call_async(request)
        assert self.spin_until(future.done, 20)
        self.node.destroy_client(client)
        return future.result()


@pytest.fixture(scope="module")
def domain() -> int:
    return random_domain()


@pytest.fixture(scope="module")
def detector(domain, tmp_path_factory):
    process = NodeProcess(
        tmp_path_factory.mktemp("node") / "detector.log",
        domain,
        [
            "--params-file", str(ROOT / "config" / "detector.yaml"),
            "-p", "device:=cpu", "-p", f"max_keypoints:={MAX_KEYPOINTS}", "-p", "score_ratio:=0.0",
            "-p", "qos_reliability:=reliable", "-p", "qos_depth:=20",
            "-p", "drop_policy:=block", "-p", "diagnostics_period_s:=0.3",
        ],
    )  # fmt: skip
    yield process
    process.stop()


@pytest.fixture(scope="module")
def peer(domain, detector):
    peer = Peer(domain)
    yield peer
    peer.close()


@pytest.fixture(scope="module")
def reference():
    # Same weights and options as the node. No score threshold: a score within rounding of
    # ratio x max could fall on either side of it in two processes and change the count.
    return FeatureExtractor(max_keypoints=MAX_KEYPOINTS, score_ratio=0.0)


def encode(rgb: np.ndarray, encoding: str) -> Image:
    """``rgb`` as a message in ``encoding``, with padded rows where it matters."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    if encoding == "mono8":
        return image_message(gray, encoding, pad=3)
    if encoding == "mono16":
        return image_message(gray.astype(np.uint16) * 257, encoding, pad=2, big_endian=True)
    if encoding.startswith("bayer_"):
        mosaic = np.zeros(rgb.shape[:2], np.uint8)
        for i, channel in enumerate(encoding[6:10]):
            index = "rgb".index(channel)
            mosaic[i // 2 :: 2, i % 2 :: 2] = rgb[i // 2 :: 2, i % 2 :: 2, index]
        return image_message(mosaic, encoding)
    if encoding in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv"):
        yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV)
        packed = np.zeros((*rgb.shape[:2], 2), np.uint8)
        luma_first = encoding in ("yuv422_yuy2", "yuyv")
        packed[..., 0 if luma_first else 1] = yuv[..., 0]
        chroma = packed[..., 1 if luma_first else 0]
        chroma[:, 0::2], chroma[:, 1::2] = yuv[:, 0::2, 1], yuv[:, 0::2, 2]
        return image_message(packed, encoding, pad=4)
    channels = {"rgb8": rgb, "bgr8": rgb[..., ::-1], "rgba8": np.dstack([rgb, alpha]),
                "bgra8": np.dstack([rgb[..., ::-1], alpha])}  # fmt: skip
    return image_message(np.ascontiguousarray(channels[encoding]), encoding, pad=5)


def expected_input(rgb: np.ndarray, encoding: str) -> np.ndarray | None:
    """What the extractor must have seen, for lossless encodings; None for lossy ones."""
    if encoding in ("mono8", "mono16"):
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if encoding in ("rgb8", "bgr8", "rgba8", "bgra8"):
        return rgb
    return None


def test_an_idle_node_reports_ok_without_nan(peer):
    assert peer.spin_until(lambda: bool(peer.diagnostics), 60)
    status = peer.diagnostics[-1].status[0]
    text = status.message + " ".join(kv.value for kv in status.values)
    assert status.level == DiagnosticStatus.OK and "nan" not in text.lower(), text


@pytest.mark.parametrize("encoding", SUPPORTED_ENCODINGS)
def test_every_encoding_gives_features(peer, reference, textured_image, encoding):
    msg = encode(textured_image, encoding)
    cloud = peer.send(msg)
    assert cloud is not None, f"no features for {encoding}"
    assert cloud.header == msg.header
    assert (cloud.height, cloud.point_step, cloud.is_dense, cloud.is_bigendian) == (
        1, 12 + 128, True, False,
    )  # int8 descriptors by default  # fmt: skip
    features = cloud_to_features(cloud)
    assert 0 < len(features) <= MAX_KEYPOINTS
    height, width = textured_image.shape[:2]
    assert np.all((features.keypoints >= 0) & (features.keypoints <= [width - 1, height - 1]))
    assert np.allclose(np.linalg.norm(features.descriptors, axis=1), 1.0, atol=1e-4)
    light = peer.keypoints.get(msg.header.frame_id) or (
        peer.spin_until(lambda: msg.header.frame_id in peer.keypoints, 5)
        and peer.keypoints[msg.header.frame_id]
    )
    assert light.point_step == 12
    assert np.array_equal(cloud_to_features(light).keypoints, features.keypoints)
    seen = expected_input(textured_image, encoding)
    if seen is not None:
        want = reference.extract(seen)
        assert len(features) == len(want)
        # mono16 reaches the networks 1 ulp away from mono8; with bf16 networks that moves
        # scores by ~5e-4, and the sub-pixel fit divides by the peak's curvature: 0.0015 px.
        assert np.allclose(features.keypoints, want.keypoints, atol=0.01)
        # int8 on the wire: half a step of 1/127, plus the bf16 difference above
        assert np.allclose(features.descriptors, want.descriptors, atol=1e-3 + 0.5 / 127)


def test_malformed_frames_are_rejected_and_counted(peer, detector, textured_image):
    good = encode(textured_image, "mono8")
    bad = {
        "unsupported_encoding": dict(encoding="32FC1"),
        "bad_step": dict(step=good.width - 1),
        "truncated_data": dict(height=good.height + 1),
        "empty_image": dict(width=0, height=0, step=0, data=array.array("B")),
        "too_large": dict(width=100_000, height=100_000, step=100_000),
    }
    for change in bad.values():
        msg = encode(textured_image, "mono8")
        for key, value in change.items():
            setattr(msg, key, value)
        assert peer.send(msg, timeout=0.5) is None
    assert peer.send(good) is not None, "the node stopped answering after malformed frames"
    status = peer.status(after=len(peer.diagnostics))
    for reason in bad:
        assert int(status.get(f"rejected.{reason}", 0)) >= 1, reason
    assert detector.alive()
    assert "rejected frame (unsupported_encoding)" in detector.log()
    assert peer.diagnostics[-1].status[0].level == DiagnosticStatus.WARN
    # good frames only, for longer than the status window: the level recovers
    window_end = time.monotonic() + 6.0
    while time.monotonic() < window_end:
        assert peer.send(good) is not None
    latest = peer.status(after=len(peer.diagnostics))
    assert peer.diagnostics[-1].status[0].level == DiagnosticStatus.OK, latest
    assert int(latest["rejected_total"]) >= len(bad) and latest["rejected_recent"] == "0"


def _param(name: str, value) -> Parameter:
    kinds = {bool: ("bool_value", ParameterType.PARAMETER_BOOL),
             int: ("integer_value", ParameterType.PARAMETER_INTEGER),
             float: ("double_value", ParameterType.PARAMETER_DOUBLE),
             str: ("string_value", ParameterType.PARAMETER_STRING)}  # fmt: skip
    field, kind = kinds[type(value)]
    return Parameter(name=name, value=ParameterValue(type=kind, **{field: value}))


def test_parameters_change_at_run_time_all_or_nothing(peer, textured_image):
    node = "/sobelnet_detector"
    ok = peer.call(SetParameters, f"{node}/set_parameters",
                   SetParameters.Request(parameters=[_param("max_keypoints", 40)]))  # fmt: skip
    assert ok.results[0].successful
    assert len(cloud_to_features(peer.send(encode(textured_image, "rgb8")))) == 40

    refused = peer.call(SetParameters, f"{node}/set_parameters", SetParameters.Request(
        parameters=[_param("nms_window", 4), _param("score_ratio", 1.5),
                    _param("device", "cuda"), _param("max_keypoints", 10.0)]))  # fmt: skip
    assert not any(r.successful for r in refused.results)
    assert all(r.reason for r in refused.results)

    atomic = peer.call(SetParametersAtomically, f"{node}/set_parameters_atomically",
                       SetParametersAtomically.Request(parameters=[
                           _param("max_keypoints", 20), _param("nms_window", 4)]))  # fmt: skip
    assert not atomic.result.successful
    values = peer.call(
        GetParameters,
        f"{node}/get_parameters",
        GetParameters.Request(names=["max_keypoints", "nms_window"]),
    ).values
    assert (values[0].integer_value, values[1].integer_value) == (40, 3)  # nothing half-applied
    assert len(cloud_to_features(peer.send(encode(textured_image, "rgb8")))) == 40

    ok = peer.call(SetParameters, f"{node}/set_parameters", SetParameters.Request(
        parameters=[_param("descriptor_format", "float32")]))  # fmt: skip
    assert ok.results[0].successful
    assert peer.send(encode(textured_image, "rgb8")).point_step == 12 + 4 * 128

    ok = peer.call(SetParameters, f"{node}/set_parameters", SetParameters.Request(
        parameters=[_param("max_keypoints", MAX_KEYPOINTS),
                    _param("descriptor_format", "int8")]))  # fmt: skip
    assert all(r.successful for r in ok.results)


def test_debug_image_only_while_subscribed(peer, textured_image):
    msg = encode(textured_image, "bgr8")
    peer.send(msg)
    before = int(peer.status(after=len(peer.diagnostics))["debug_images_published"])
    assert before == 0

    debug: list[Image] = []
    sub = peer.node.create_subscription(Image, "debug_image", debug.append, RELIABLE)
    deadline_frames = 40
    while not debug and deadline_frames:
        peer.send(encode(textured_image, "bgr8"))
        peer.spin_until(lambda: bool(debug), 0.3)
        deadline_frames -= 1
    assert debug, "no debug image while subscribed"
    image = debug[-1]
    assert (image.encoding, image.height, image.width) == ("rgb8", *textured_image.shape[:2])
    assert image.header.frame_id.startswith("frame")

    peer.node.destroy_subscription(sub)
    peer.spin_until(lambda: False, 1.0)  # let the node see the subscription go
    peer.send(encode(textured_image, "bgr8"))
    count = int(peer.status(after=len(peer.diagnostics))["debug_images_published"])
    for _ in range(3):
        peer.send(encode(textured_image, "bgr8"))
    assert int(peer.status(after=len(peer.diagnostics))["debug_images_published"]) == count


def test_diagnostics_describe_the_node(peer, textured_image):
    for _ in range(3):
        peer.send(encode(textured_image, "rgb8"))
    status = peer.diagnostics[-1].status[0]
    values = peer.status(after=len(peer.diagnostics))
    assert status.name == "/sobelnet_detector" and status.hardware_id == "cpu /image"
    keys = ("input_rate_hz", "output_rate_hz", "latency_p50_ms", "latency_p99_ms", "in_flight",
            "dropped_total", "rejected_total", "device", "sobelnet_weights")  # fmt: skip
    assert set(keys) <= set(values)
    assert float(values["latency_p99_ms"]) >= float(values["latency_p50_ms"]) > 0
    assert int(values["frames_published"]) >= 3 and values["input_topic"] == "/image"
    assert (values["device"], values["device_requested"]) == ("cpu", "cpu")
    assert values["input_qos"] == "reliable, depth 20"
    assert values["output_qos"] == "reliable, depth 5"


def test_sigterm_stops_cleanly(peer, detector, textured_image):
    peer.send(encode(textured_image, "rgb8"))
    assert detector.stop(signal.SIGTERM) == 0
    log = detector.log()
    assert "stopped:" in log and "Traceback" not in log
