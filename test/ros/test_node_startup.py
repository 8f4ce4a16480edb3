"""Node start and stop paths, each in its own node process."""

from __future__ import annotations

import array
import signal

import cv2
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")
import torch

from .bombs import jpeg_declaring, png_declaring
from .conftest import NodeProcess, RosPeer, random_domain

pytestmark = [pytest.mark.ros, pytest.mark.slow]

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rcl_interfaces.srv import GetParameters  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CompressedImage, PointCloud2  # noqa: E402

from sobelnet_ros.ros.cloud import cloud_to_features  # noqa: E402


def test_compressed_input_then_sigint(tmp_path, textured_image):
    domain = random_domain()
    args = ["-p", "device:=cpu", "-p", "input_transport:=compressed",
            "-p", "resize_max_side:=80", "-r", "image/compressed:=cam/jpeg"]  # fmt: skip
    node = NodeProcess(tmp_path / "node.log", domain, args)
    peer = RosPeer(domain)
    try:
        got: list[PointCloud2] = []
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        pub = peer.node.create_publisher(CompressedImage, "cam/jpeg", qos)
        peer.node.create_subscription(PointCloud2, "features", got.append, 10)
        _, jpeg = cv2.imencode(".jpg", textured_image[..., ::-1])
        msg = CompressedImage(format="jpeg", data=array.array("B", jpeg.tobytes()))
        msg.header.frame_id = "jpeg_frame"
        assert peer.spin_until(lambda: pub.get_subscription_count() > 0, 60), node.log()
        for _ in range(20):
            pub.publish(msg)
            if peer.spin_until(lambda: bool(got), 1.0):
                break
        assert got, node.log()
        features = cloud_to_features(got[0])
        assert features.header.frame_id == "jpeg_frame" and len(features) > 0
        # processed at 80x60, reported in the 160x120 input's pixels
        assert features.keypoints[:, 0].max() > 80 or features.keypoints[:, 1].max() > 60
        assert (features.keypoints <= [159.5, 119.5]).all()
    finally:
        peer.close()
        code = node.stop(signal.SIGINT)
    log = node.log()
    assert code == 0 and "stopped:" in log and "Traceback" not in log, log


def test_compressed_bombs_are_rejected_without_stalling_the_node(tmp_path, textured_image):
    domain = random_domain()
    args = ["-p", "device:=cpu", "-p", "input_transport:=compressed",
            "-p", "diagnostics_period_s:=0.2"]  # fmt: skip
    node = NodeProcess(tmp_path / "node.log", domain, args)
    peer = RosPeer(domain)
    try:
        got: list[PointCloud2] = []
        status: list[DiagnosticArray] = []
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        pub = peer.node.create_publisher(CompressedImage, "image/compressed", qos)
        peer.node.create_subscription(PointCloud2, "features", got.append, 10)
        peer.node.create_subscription(DiagnosticArray, "/diagnostics", status.append, 10)
        assert peer.spin_until(lambda: pub.get_subscription_count() > 0, 60), node.log()
        _, jpeg = cv2.imencode(".jpg", textured_image[..., ::-1])
        good = CompressedImage(format="jpeg", data=array.array("B", jpeg.tobytes()))
        for _ in range(20):  # until the node's subscription has matched this publisher
            pub.publish(good)
            if peer.spin_until(lambda: bool(got), 1.0):
                break
        assert got, node.log()
        bombs = [jpeg_declaring(30000, 30000), png_declaring(20000, 20000),
                 jpeg_declaring(40000, 40000)]  # fmt: skip
        for data in bombs:
            pub.publish(CompressedImage(format="jpeg", data=array.array("B", data)))
            peer.spin_until(lambda: False, 0.1)
        # the node answers its parameter service at once, not after gigabytes of decoding
        client = peer.node.create_client(GetParameters, "/sobelnet_detector/get_parameters")
        assert client.wait_for_service(timeout_sec=20)
        future = client.call_async(GetParameters.Request(names=["input_transport"]))
        assert peer.spin_until(future.done, 3.0), node.log()
        got.clear()
        pub.publish(good)
        assert peer.spin_until(lambda: bool(got), 30), node.log()

        def too_large() -> int:
            values = {kv.key: kv.value for kv in status[-1].status[0].values} if status else {}
            return int(values.get("rejected.too_large", 0))

        assert peer.spin_until(lambda: too_large() == len(bombs), 10), node.log()
    finally:
        peer.close()
        code = node.stop(signal.SIGINT)
    assert code == 0 and "rejected frame (too_large)" in node.log()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_a_gpu_exits_with_a_clear_error(tmp_path):
    node = NodeProcess(tmp_path / "node.log", random_domain(), ["-p", "device:=cuda"])
    assert node.process.wait(120) == 1
    log = node.log()
    assert "cannot start" in log and "CUDA is not available" in log and "Traceback" not in log


def test_bad_read_only_value_exits_with_a_clear_error(tmp_path):
    node = NodeProcess(tmp_path / "node.log", random_domain(), ["-p", "drop_policy:=newest"])
    assert node.process.wait(120) == 1
    log = node.log()
    assert "drop_policy must be one of" in log and "Traceback" not in log
