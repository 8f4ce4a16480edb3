"""The input's default QoS (best_available) against reliable and best-effort cameras.

The camera is a publisher in this process, the node another process, over
stock Fast DDS. Frames are counted by the node itself (``frames_in`` on
/diagnostics), so frames it processes slowly still count as arrived.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from .conftest import NodeProcess, RosPeer, random_domain
from .messages import image_message

pytestmark = [pytest.mark.ros, pytest.mark.slow]


class Camera(RosPeer):
    def __init__(self, domain: int) -> None:
        super().__init__(domain, name="camera")
        self.status: dict[str, str] = {}
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_status, 10)

    def _on_status(self, msg: DiagnosticArray) -> None:
        self.status = {kv.key: kv.value for kv in msg.status[0].values}

    def stream(
        self, reliability: ReliabilityPolicy, msg: Image, count: int, rate: float, depth: int = 5
    ) -> None:
        """``count`` frames at ``rate`` Hz (0: as fast as possible)."""
        qos = QoSProfile(depth=depth, reliability=reliability)
        pub = self.node.create_publisher(Image, "image", qos)
        assert self.spin_until(lambda: pub.get_subscription_count() > 0, 30)
        self.spin_until(lambda: False, 1.0)  # both ends matched
        for i in range(count):
            msg.header.frame_id = str(i)
            pub.publish(msg)
            if rate:
                self.spin_until(lambda: False, 1.0 / rate)

    def count(self, key: str, settle_s: float = 3.0) -> int:
        self.status = {}
        self.spin_until(lambda: False, settle_s)  # retransmissions, then a fresh status
        assert self.spin_until(lambda: bool(self.status), 10)
        return int(self.status[key])


def start(tmp_path, domain: int, args: list[str] = ()) -> NodeProcess:
    params = ["-p", "device:=cpu", "-p", "diagnostics_period_s:=0.5", *args]
    node = NodeProcess(tmp_path / "node.log", domain, params)
    deadline = time.monotonic() + 120
    while "listening on" not in node.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    return node


def rgb(width: int, height: int) -> Image:
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return image_message(pixels, "rgb8")


def test_every_frame_of_a_reliable_camera_arrives(tmp_path):
    domain = random_domain()
    node = start(tmp_path, domain)
    camera = Camera(domain)
    try:
        camera.stream(ReliabilityPolicy.RELIABLE, rgb(640, 480), count=20, rate=6.7)
        # 20 of 20 when measured; a best-effort subscription got 1 of 20 (a busy
        # executor could still let the keep-last queue push one out)
        assert camera.count("frames_in") >= 19, node.log()
    finally:
        camera.close()
        node.stop()


def test_a_best_effort_camera_started_after_the_node_is_heard(tmp_path):
    domain = random_domain()
    node = start(tmp_path, domain)  # best_available resolves to reliable: no publisher yet
    camera = Camera(domain)
    try:
        small = image_message(np.zeros((120, 160), np.uint8), "mono8")
        camera.stream(ReliabilityPolicy.BEST_EFFORT, small, count=20, rate=10)
        assert camera.count("frames_in") >= 18, node.log()
    finally:
        camera.close()
        node.stop()
    assert "subscribed again" in node.log()


def test_frames_that_never_arrive_are_counted_and_logged(tmp_path):
    domain = random_domain()
    node = start(tmp_path, domain, ["-p", "qos_depth:=1"])
    camera = Camera(domain)
    try:  # a burst into a keep-last-1 queue: the newest overwrites those not yet taken
        small = image_message(np.zeros((120, 160), np.uint8), "mono8")
        camera.stream(ReliabilityPolicy.RELIABLE, small, count=300, rate=0, depth=300)
        arrived, missed = camera.count("frames_in"), camera.count("frames_never_received", 0)
    finally:
        camera.close()
        node.stop()
    assert arrived < 300 and missed > 0 and arrived + missed <= 300, (arrived, missed)
    assert "never arrived" in node.log()


def test_sequence_gaps_of_one_publisher():
    from sobelnet_ros.ros.input_subscription import SequenceGaps

    gaps = SequenceGaps()
    alone = lambda: True  # noqa: E731
    assert [gaps.seen(n, alone) for n in (1, 2, 5, 6, 9)] == [0, 0, 2, 0, 2]
    assert gaps.seen(1, alone) == 0 and gaps.seen(2, alone) == 0  # the publisher restarted
    assert gaps.seen(None, alone) == 0 and gaps.seen(4, alone) == 0  # unknown, then restart
    assert gaps.seen(10, lambda: False) == 0  # two publishers: their sequences interleave
    assert gaps.missed == 4
