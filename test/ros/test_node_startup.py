"""Node start and stop paths, each in its own node process."""

from __future__ import annotations

import array
import os
import signal
import subprocess
import sys
import time

import cv2
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")
import torch

from .bombs import jpeg_declaring, png_declaring
from .conftest import ROOT, NodeProcess, RosPeer, random_domain

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
def test_qos_overrides_reach_outputs_and_the_log_tells_the_qos_in_effect(tmp_path):
    domain = random_domain()
    args = ["-p", "qos_overrides./image.subscription.reliability:=reliable",
            "-p", "qos_overrides./features.publisher.reliability:=best_effort",
            "-p", "qos_overrides./features.publisher.depth:=2"]  # fmt: skip
    node = NodeProcess(tmp_path / "node.log", domain, args)  # device: auto
    peer = RosPeer(domain)
    try:
        graph = peer.node

        def endpoints():
            return (graph.get_publishers_info_by_topic("/features"),
                    graph.get_subscriptions_info_by_topic("/image"))  # fmt: skip

        assert peer.spin_until(lambda: all(endpoints()), 60), node.log()
        (features,), (image,) = endpoints()
        assert features.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
        assert image.qos_profile.reliability == ReliabilityPolicy.RELIABLE
        assert peer.spin_until(lambda: "listening on" in node.log(), 30)
    finally:
        peer.close()
        node.stop()
    log = node.log()
    assert "(raw, reliable, depth 5); features best_effort, depth 2" in log, log
    assert "device cpu (requested auto)" in log, log


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_a_gpu_exits_with_a_clear_error(tmp_path):
    node = NodeProcess(tmp_path / "node.log", random_domain(), ["-p", "device:=cuda"])
    assert node.process.wait(120) == 1
    log = node.log()
    assert "cannot start" in log and "CUDA is not available" in log and "Traceback" not in log


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["-p", "drop_policy:=newest"], "drop_policy='newest': must be one of drop_oldest, block"),
        (["-p", "max_keypoints:=0"], "max_keypoints=0: must be an int in [1, 16384]"),
        (["-p", "score_ratio:=1"], "score_ratio=1: must be a float in [0.0, 0.999]"),
        (["-p", "nms_window:=abc"], "nms_window='abc': must be an int in [1, 31] in steps of 2"),
        ("params_file", "qos_depth=0: must be an int in [1, 1000]"),
    ],
)
def test_a_bad_value_ends_in_one_clear_line(tmp_path, args, line):
    if args == "params_file":
        params = tmp_path / "params.yaml"
        params.write_text("/**:\n  ros__parameters:\n    qos_depth: 0\n")
        args = ["--params-file", str(params)]
    node = NodeProcess(tmp_path / "node.log", random_domain(), args)
    assert node.process.wait(120) == 1
    lines = node.log().strip().splitlines()
    assert len(lines) == 1 and "[FATAL]" in lines[0], lines
    assert lines[0].endswith(f"cannot start: {line}"), lines


def test_help_prints_the_parameters_instead_of_starting(tmp_path):
    node = NodeProcess(tmp_path / "node.log", random_domain(), [], args=("--help",))
    assert node.process.wait(60) == 0
    log = node.log()
    assert log.startswith("usage: detector") and "max_keypoints (1024; an int in" in log
    assert "listening" not in log


def test_second_sigint_during_shutdown_still_exits_cleanly(tmp_path):
    node = NodeProcess(tmp_path / "node.log", random_domain(), ["-p", "device:=cpu"])
    deadline = time.monotonic() + 120
    while "listening on" not in node.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(node.process.pid, signal.SIGINT)
    time.sleep(0.3)
    code = node.stop(signal.SIGINT)  # the second Ctrl-C, while the process winds down
    log = node.log()
    assert code == 0 and "stopped:" in log and "Traceback" not in log, (code, log)


def test_sigint_while_loading_ends_without_a_traceback(tmp_path):
    node = NodeProcess(tmp_path / "node.log", random_domain(), ["-p", "device:=cpu"])
    time.sleep(0.5)  # torch and rclpy take seconds to import
    code = node.stop(signal.SIGINT)
    log = node.log()
    assert code in (0, 130) and "Traceback" not in log and "KeyboardInterrupt" not in log, log


def test_without_rclpy_one_line_names_it(tmp_path):
    block_rclpy = "import sys; sys.modules['rclpy'] = None; "  # as if it were not installed
    for code in ("from sobelnet_ros.ros.detector_main import main; sys.exit(main())",
                 "from sobelnet_ros.cli.main import main; sys.exit(main(['demo']))"):  # fmt: skip
        done = subprocess.run([sys.executable, "-c", block_rclpy + code], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        lines = (done.stdout + done.stderr).strip().splitlines()
        assert done.returncode != 0 and len(lines) == 1, lines
        assert "needs ROS 2, but rclpy is not importable" in lines[0]
