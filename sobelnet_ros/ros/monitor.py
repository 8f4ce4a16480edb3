"""Watches a running detector from outside: features rate, latency, keypoints, its status."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, PointCloud2

_RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


class FeatureMonitor:
    """Subscribes ``features`` and ``/diagnostics``; grabs one ``debug_image`` on request.

    Latency is end to end: the image's header stamp (set by the publisher on
    this machine) to the arrival of its features here, over DDS both ways.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self.arrivals: list[tuple[float, float, int]] = []  # (monotonic, latency ms, keypoints)
        self.status: dict[str, str] = {}
        self.debug_image: Image | None = None
        self._debug_sub = None
        node.create_subscription(PointCloud2, "features", self._on_features, _RELIABLE)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_status, 10)

    def _on_features(self, msg: PointCloud2) -> None:
        now_ns = self.node.get_clock().now().nanoseconds
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        self.arrivals.append((time.monotonic(), (now_ns - stamp_ns) / 1e6, msg.width * msg.height))

    def _on_status(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.rsplit("/", 1)[-1] == "sobelnet_detector":  # named by full name
                self.status = {kv.key: kv.value for kv in status.values}

    def grab_debug_image(self) -> None:
        """Subscribe ``debug_image`` until one arrives (the node draws only meanwhile)."""
        if self._debug_sub is None:
            self._debug_sub = self.node.create_subscription(
                Image, "debug_image", self._on_debug, _RELIABLE
            )

    def _on_debug(self, msg: Image) -> None:
        self.debug_image = msg
        if self._debug_sub is not None:
            self.node.destroy_subscription(self._debug_sub)
            self._debug_sub = None

    def summary(self, since: float, until: float | None = None) -> dict[str, Any]:
        """Frames, rate, latency p50/p99 and keypoints per frame between two monotonic times."""
        until = time.monotonic() if until is None else until
        window = [a for a in self.arrivals if since <= a[0] <= until]
        latencies = np.array([a[1] for a in window])
        return {
            "frames": len(window),
            "rate_hz": len(window) / (until - since) if until > since else 0.0,
            "latency_p50_ms": float(np.percentile(latencies, 50)) if len(window) else None,
            "latency_p99_ms": float(np.percentile(latencies, 99)) if len(window) else None,
            "keypoints_per_frame": float(np.mean([a[2] for a in window])) if window else None,
        }


def image_to_rgb(msg: Image) -> np.ndarray:
    """An rgb8 Image (as the node's debug image) as an ``H x W x 3`` array."""
    if msg.encoding != "rgb8":
        raise ValueError(f"expected an rgb8 debug image, got {msg.encoding!r}")
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    return np.ascontiguousarray(rows[:, : 3 * msg.width].reshape(msg.height, msg.width, 3))
