"""Tracking in the detector node over real DDS: ``tracks``, ``feature``, camera_info."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from .conftest import ROOT, NodeProcess, RosPeer, random_domain
from .messages import image_message

pytestmark = [pytest.mark.ros, pytest.mark.slow]

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud, PointCloud2  # noqa: E402

from sobelnet_ros.data.samples import load_sample  # noqa: E402
from sobelnet_ros.ros.track_cloud import VINS_CHANNELS, cloud_to_tracks  # noqa: E402

RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
K = [300.0, 0.0, 159.5, 0.0, 300.0, 119.5, 0.0, 0.0, 1.0]
STEP_PX = 2.0  # the view moves this far right per frame


class TrackPeer(RosPeer):
    """Publishes a moving view and camera_info; collects tracks, feature and diagnostics."""

    def __init__(self, domain: int) -> None:
        super().__init__(domain)
        self.tracks: dict[str, PointCloud2] = {}
        self.feature: dict[str, PointCloud] = {}
        self.diagnostics: list[DiagnosticArray] = []
        self.debug: list[Image] = []
        self.images = self.node.create_publisher(Image, "image", RELIABLE)
        self.info = self.node.create_publisher(CameraInfo, "camera_info", RELIABLE)
        sub = self.node.create_subscription
        sub(PointCloud2, "tracks", lambda m: self.tracks.update({m.header.frame_id: m}), 50)
        sub(PointCloud, "feature", lambda m: self.feature.update({m.header.frame_id: m}), 50)
        sub(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)
        photo = cv2.cvtColor(load_sample("astronaut"), cv2.COLOR_RGB2GRAY)
        self.photo = photo
        self.sent = 0

    def frame(self, wait_feature: bool = False) -> str:
        """Publish the next view; its frame_id once ``tracks`` (and ``feature``) came back."""
        shift = np.array([[1.0, 0.0, -60 + STEP_PX * self.sent], [0.0, 1.0, -40.0]])
        view = cv2.warpAffine(self.photo, shift, (320, 240), flags=cv2.INTER_LINEAR)
        msg = image_message(view, "mono8")
        self.sent += 1
        frame_id = msg.header.frame_id = f"view{self.sent}"
        msg.header.stamp.sec, msg.header.stamp.nanosec = (
            100 + self.sent // 10,
            (self.sent % 10) * 100_000_000,
        )
        assert self.spin_until(lambda: self.images.get_subscription_count() > 0, 60)
        self.images.publish(msg)
        assert self.spin_until(lambda: frame_id in self.tracks, 30), f"no tracks for {frame_id}"
        if wait_feature:
            self.spin_until(lambda: frame_id in self.feature, 5)
        return frame_id

    def send_info(self, k: list[float], d: list[float]) -> None:
        msg = CameraInfo(width=320, height=240, distortion_model="plumb_bob", k=k, d=d)
        assert self.spin_until(lambda: self.info.get_subscription_count() > 0, 30)
        self.info.publish(msg)
        self.spin_until(lambda: False, 0.5)  # let the node take it before the next frame

    def status(self) -> dict[str, str]:
        after = len(self.diagnostics)
        assert self.spin_until(lambda: len(self.diagnostics) > after, 10)
        return {kv.key: kv.value for kv in self.diagnostics[-1].status[0].values}


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    domain = random_domain()
    process = NodeProcess(
        tmp_path_factory.mktemp("tracking") / "detector.log",
        domain,
        [
            "--params-file", str(ROOT / "config" / "detector.yaml"),
            "-p", "device:=cpu", "-p", "max_keypoints:=300", "-p", "tracking.enabled:=true",
            "-p", "qos_reliability:=reliable", "-p", "qos_depth:=20",
            "-p", "drop_policy:=block", "-p", "diagnostics_period_s:=0.3",
            "-p", "tracking.bridge_frames:=4",
        ],
    )  # fmt: skip
    peer = TrackPeer(domain)
    yield peer, process
    peer.close()
    process.stop()


def test_tracks_keep_their_ids_and_camera_info_turns_on_feature(peer):
    peer, process = peer
    first = [cloud_to_tracks(peer.tracks[peer.frame()]) for _ in range(4)]
    assert all(t.normalised is None for t in first)  # no camera_info yet
    assert not peer.feature
    before, after = first[-2], first[-1]
    where = dict(zip(before.ids.tolist(), before.keypoints, strict=True))
    continued = [i for i in after.ids.tolist() if i in where]
    assert len(continued) >= 0.5 * len(before.ids)
    moved = np.array([after.keypoints[after.ids.tolist().index(i)] - where[i] for i in continued])
    assert (np.abs(moved - [STEP_PX, 0.0]).max(axis=1) < 0.5).mean() > 0.95
    ages = dict(zip(after.ids.tolist(), after.ages.tolist(), strict=True))
    assert max(ages.values()) == 4
    status = peer.status()
    assert int(status["feature_without_camera_info"]) >= 4
    assert float(status["tracks.mean_age"]) > 1.0 and "tracks.tracked" in status
    assert "bridge_frames=4 " in status["tracker"] and "gate_px=16.0" in status["tracker"]
    assert "consistency_px=3.0" in status["tracker"]

    peer.send_info([0.0] * 9, [])  # malformed: no focal length
    peer.frame()
    assert process.alive() and not peer.feature
    assert int(peer.status()["camera_info_rejected"]) >= 1
    assert "camera_info on /camera_info rejected" in process.log()

    peer.send_info(K, [0.0] * 5)
    frame_id = peer.frame(wait_feature=True)
    assert frame_id in peer.feature, "no feature after a valid camera_info"
    tracks = cloud_to_tracks(peer.tracks[frame_id])
    assert tracks.normalised is not None
    feature = peer.feature[frame_id]
    assert [c.name for c in feature.channels] == list(VINS_CHANNELS)
    channels = {c.name: np.array(c.values) for c in feature.channels}
    np.testing.assert_array_equal(channels["id_of_point"], tracks.ids)
    points = np.array([[p.x, p.y, p.z] for p in feature.points])
    expected = (tracks.keypoints - [159.5, 119.5]) / 300.0
    np.testing.assert_allclose(points[:, :2], expected, atol=1e-5)
    assert (points[:, 2] == 1.0).all()
    np.testing.assert_allclose(points[:, :2], tracks.normalised, atol=1e-6)
    next_id = peer.frame(wait_feature=True)
    velocity = {c.name: np.array(c.values) for c in peer.feature[next_id].channels}
    moving = velocity["velocity_x_of_point"][np.isin(velocity["id_of_point"], tracks.ids)]
    np.testing.assert_allclose(np.median(moving), STEP_PX / 300.0 / 0.1, rtol=0.05)


def test_debug_image_draws_trails(peer):
    peer, _ = peer
    debug: list[Image] = []
    sub = peer.node.create_subscription(Image, "debug_image", debug.append, RELIABLE)
    for _ in range(20):
        peer.frame()
        if peer.spin_until(lambda: bool(debug), 0.3):
            break
    assert debug, "no debug image while subscribed"
    image = debug[-1]
    assert (image.encoding, image.height, image.width) == ("rgb8", 240, 320)
    pixels = np.frombuffer(bytes(image.data), np.uint8).reshape(240, 320, 3)
    coloured = (pixels[..., 0].astype(int) - pixels[..., 2]) ** 2 + (
        pixels[..., 1].astype(int) - pixels[..., 2]
    ) ** 2
    assert (coloured > 400).sum() > 200  # trails drawn on the gray view
    peer.node.destroy_subscription(sub)


def test_camera_info_of_another_size_is_counted_not_used(peer):
    peer, process = peer
    msg = CameraInfo(width=640, height=480, distortion_model="plumb_bob", k=K, d=[0.0] * 5)
    peer.info.publish(msg)
    peer.spin_until(lambda: False, 0.5)
    frame_id = peer.frame()
    assert not peer.spin_until(lambda: frame_id in peer.feature, 1.0)
    assert cloud_to_tracks(peer.tracks[frame_id]).normalised is None
    assert int(peer.status()["camera_info_wrong_size"]) >= 1
    assert process.alive() and "is for 640x480 images but they are 320x240" in process.log()
