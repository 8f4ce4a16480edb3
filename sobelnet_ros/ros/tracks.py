"""Feature tracks in the node: camera_info, the tracker, ``tracks`` and ``feature``, trails.

With ``tracking.enabled`` the node hands each frame's features to a
``NodeTracking`` after extraction, in publishing order: it continues the
tracks (``DescriptorTracker``), publishes ``tracks`` (PointCloud2) and, once
a valid ``camera_info`` has arrived, VINS-Mono's ``feature`` (PointCloud),
and keeps the recent positions of each track for the debug image's trails.
``camera_info`` is the image topic's sibling (``/cam/image`` ->
``/cam/camera_info``), as image_transport names it. A CameraInfo that cannot
describe a camera is counted and logged (throttled) and the last good one
stays in use; without any, ``tracks`` goes out without u, v and ``feature``
is not published (counted).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from sensor_msgs.msg import CameraInfo, PointCloud, PointCloud2

from ..tracking import CameraModel, CameraModelError, DescriptorTracker, TrackerConfig, Tracks
from ..visualize import draw_tracks
from .frames import canvas_msg, display_rgb, to_input_pixels
from .params import TRACKER_OPTIONS
from .track_cloud import tracks_to_cloud, tracks_to_feature

TRAIL_LENGTH = 10  # positions drawn per track in the debug image
_THROTTLE_S = 5.0


def camera_info_topic(image_topic: str) -> str:
    """The CameraInfo topic beside an image topic (image_transport's convention)."""
    base = (
        image_topic[: -len("/compressed")] if image_topic.endswith("/compressed") else image_topic
    )
    namespace = base.rsplit("/", 1)[0]
    return f"{namespace}/camera_info"


class NodeTracking:
    """The node's tracking step.

    Args:
        node: the rclpy node (logger, camera_info subscription).
        image_topic: the resolved input topic; camera_info is its sibling.
        max_tracks: tracks per frame, asked each frame (the node's ``max_keypoints``).
        publisher: ``(message type, topic) -> publisher``, the node's output QoS.
        config: the tracker's options (the library's defaults when None).
    """

    def __init__(
        self,
        node: Any,
        image_topic: str,
        max_tracks: Callable[[], int],
        publisher: Callable[[Any, str], Any],
        config: TrackerConfig | None = None,
    ) -> None:
        self._node = node
        self._max_tracks = max_tracks
        self._tracker = DescriptorTracker(config, max_tracks=max_tracks())
        self._lock = threading.Lock()
        self._camera: CameraModel | None = None
        self._camera_key: tuple | None = None
        self._previous: tuple[np.ndarray, np.ndarray, float] | None = None  # ids, u v, stamp
        self._trails: dict[int, deque] = {}
        self.counts = {"camera_info_received": 0, "camera_info_rejected": 0,
                       "camera_info_wrong_size": 0, "feature_without_camera_info": 0,
                       "tracking_failed": 0}  # fmt: skip
        self._shown: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.last: dict[str, float] = {"tracked": 0, "new": 0, "lost": 0, "mean_age": 0.0}
        self._tracks_pub = publisher(PointCloud2, "tracks")
        self._feature_pub = publisher(PointCloud, "feature")
        self.info_topic = camera_info_topic(image_topic)
        self._info_sub = node.create_subscription(CameraInfo, self.info_topic, self._on_info, 10)

    # camera_info (executor thread)

    def _on_info(self, msg: CameraInfo) -> None:
        self.counts["camera_info_received"] += 1
        key = (tuple(msg.k), tuple(msg.d), msg.distortion_model, msg.width, msg.height)
        if key == self._camera_key:
            return
        try:
            camera = CameraModel.from_camera_info(msg)
        except CameraModelError as error:
            self.counts["camera_info_rejected"] += 1
            self._node.get_logger().error(
                f"camera_info on {self.info_topic} rejected: {error}",
                throttle_duration_sec=_THROTTLE_S,
            )
            return
        with self._lock:
            self._camera, self._camera_key = camera, key

    # Frames (publisher thread, in order)

    def process(self, frame: Any, features: Any) -> Tracks | None:
        """Track one frame's features and publish ``tracks`` and ``feature``.

        Args:
            frame: the node's ``Frame`` (header, scale, the processed image ``work``).
            features: its features, in processed pixels.

        Returns the tracks, or None when the tracker failed on this frame (counted
        and logged; publishing errors are left to the caller).
        """
        header = frame.header
        stamp = header.stamp.sec + 1e-9 * header.stamp.nanosec
        self._tracker.max_tracks = self._max_tracks()
        try:
            tracks = self._tracker.update(features, stamp=stamp, image=frame.work)
        except Exception as error:  # a tracking fault must not stop the publisher thread
            self.counts["tracking_failed"] += 1
            self._node.get_logger().error(
                f"tracking failed: {type(error).__name__}: {error}",
                throttle_duration_sec=_THROTTLE_S,
            )
            return None
        keypoints = to_input_pixels(tracks.keypoints, frame.scale)
        velocities = tracks.velocities * np.asarray(frame.scale, np.float32)
        normalised = self._normalise(keypoints, frame)
        self._tracks_pub.publish(
            tracks_to_cloud(header, keypoints, tracks.ids, tracks.ages, velocities, normalised)
        )
        if normalised is None:
            self.counts["feature_without_camera_info"] += 1
            self._node.get_logger().warning(
                f"no usable camera_info on {self.info_topic}: 'feature' not published",
                throttle_duration_sec=_THROTTLE_S,
            )
            self._previous = None
        else:
            moved = self._normalised_velocities(tracks.ids, normalised, stamp)
            self._feature_pub.publish(
                tracks_to_feature(header, tracks.ids, keypoints, normalised, moved)
            )
        self._remember(tracks, keypoints)
        self.last = {"tracked": tracks.tracked, "new": tracks.new, "lost": tracks.lost,
                     "mean_age": tracks.mean_age()}  # fmt: skip
        return tracks

    def _normalise(self, keypoints: np.ndarray, frame: Any) -> np.ndarray | None:
        """Undistorted normalised coordinates with the current camera model, if usable."""
        with self._lock:
            camera = self._camera
        if camera is None:
            return None
        height, width = frame.work.shape[:2] if frame.work is not None else (0, 0)
        size = (round(width * frame.scale[0]), round(height * frame.scale[1]))
        if camera.image_size not in ((0, 0), size) and frame.work is not None:
            return self._size_mismatch(camera, size)
        return camera.normalise(keypoints)

    def debug_msg(self, header: Any, image: np.ndarray) -> Any:
        """The debug image: each track's trail, coloured by its age."""
        trails, ages = self.trails()
        return canvas_msg(header, draw_tracks(display_rgb(image), trails, ages))

    def _size_mismatch(self, camera: CameraModel, image_size: tuple[int, int]) -> None:
        """Count and log a CameraInfo for another image size; it is not used (None)."""
        self.counts["camera_info_wrong_size"] += 1
        self._node.get_logger().error(
            f"camera_info on {self.info_topic} is for {camera.image_size[0]}x"
            f"{camera.image_size[1]} images but they are {image_size[0]}x{image_size[1]}",
            throttle_duration_sec=_THROTTLE_S,
        )
        return None

    def _normalised_velocities(
        self, ids: np.ndarray, normalised: np.ndarray, stamp: float
    ) -> np.ndarray:
        """Per second, from the last frame's normalised position of each ID (0 if absent),
        as VINS-Mono computes them."""
        moved = np.zeros_like(normalised)
        if self._previous is not None:
            last_ids, last_points, last_stamp = self._previous
            order = np.argsort(last_ids)
            where = np.clip(np.searchsorted(last_ids[order], ids), 0, len(order) - 1)
            found = last_ids[order][where] == ids if len(order) else np.zeros(len(ids), bool)
            elapsed = stamp - last_stamp if stamp > last_stamp else np.inf  # no time, no speed
            moved[found] = (normalised[found] - last_points[order][where][found]) / elapsed
        self._previous = (ids.copy(), normalised.copy(), stamp)
        return moved

    def _remember(self, tracks: Tracks, keypoints: np.ndarray) -> None:
        for track_id, point in zip(tracks.ids.tolist(), keypoints, strict=True):
            trail = self._trails.get(track_id)
            if trail is None:
                trail = self._trails[track_id] = deque(maxlen=TRAIL_LENGTH)
            trail.append(point.copy())
        shown = set(tracks.ids.tolist())
        for track_id in [i for i in self._trails if i not in shown]:
            del self._trails[track_id]
        self._shown = (tracks.ids, tracks.ages)

    def trails(self) -> tuple[list[np.ndarray], np.ndarray]:
        """The last frame's tracks as trails (input pixels, oldest first) and their ages."""
        ids, ages = self._shown
        return [np.array(self._trails[int(i)]) for i in ids], ages

    def status(self) -> dict[str, str]:
        """Key-values for /diagnostics."""
        values = {f"tracks.{k}": f"{v:.2f}" if isinstance(v, float) else str(v)
                  for k, v in self.last.items()}  # fmt: skip
        values.update({k: str(v) for k, v in self.counts.items()})
        values["camera_info_topic"] = self.info_topic
        config = self._tracker.config
        values["tracker"] = " ".join(f"{name}={getattr(config, name)}" for name in TRACKER_OPTIONS)
        return values
