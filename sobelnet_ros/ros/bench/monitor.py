"""The monitor: receives the graph's outputs, matches them to inputs, reads /diagnostics.

Outputs are taken as serialized bytes (``raw=True``) and only the header
stamp is parsed, so the monitor's own cost is the same whether it listens to
2 MB images from the relay or to feature clouds from the node.
"""

from __future__ import annotations

import struct
import threading
import time

from .latency import StampTracker, stamp_key

DIAGNOSTICS_TOPIC = "/diagnostics"


def parse_stamp(serialized: bytes) -> int:
    """Header stamp key of a serialized message whose first field is a std_msgs/Header.

    CDR: 2 bytes of representation id (0x0001 little-endian, 0x0000 big-endian),
    2 bytes of options, then ``stamp.sec`` int32 and ``stamp.nanosec`` uint32.
    """
    if len(serialized) < 12:
        raise ValueError(f"serialized message of {len(serialized)} bytes has no header")
    order = "<" if serialized[1] & 1 else ">"
    sec, nanosec = struct.unpack_from(order + "iI", serialized, 4)
    return stamp_key(sec, nanosec)


class Monitor:
    """Output and diagnostics subscriptions on the bench's rclpy node.

    Args:
        node: the bench's rclpy node (spun by another thread).
        node_name: the statuses kept are those of nodes of this name (the
            status is named after the node's full name, e.g.
            ``/cam0/sobelnet_detector``); the newest one's key/values are kept.
    """

    def __init__(self, node, node_name: str = "sobelnet_detector") -> None:
        from diagnostic_msgs.msg import DiagnosticArray

        self._node = node
        self._node_name = node_name
        self._lock = threading.Lock()
        self.tracker = StampTracker()
        self.diagnostics: dict[str, str] = {}
        self.diagnostics_time: float | None = None
        self._subscriptions: list = []
        node.create_subscription(DiagnosticArray, DIAGNOSTICS_TOPIC, self._on_diagnostics, 10)

    def listen(self, topic: str, msg_type) -> None:
        """Subscribe to an output topic (QoS matched to its publishers)."""
        qos = output_qos(self._node, topic)
        sub = self._node.create_subscription(msg_type, topic, self._on_output, qos, raw=True)
        self._subscriptions.append(sub)

    def stop_listening(self) -> None:
        for sub in self._subscriptions:
            self._node.destroy_subscription(sub)
        self._subscriptions.clear()

    def _on_output(self, serialized: bytes) -> None:
        now = time.monotonic_ns()
        try:
            key = parse_stamp(serialized)
        except (ValueError, struct.error):
            key = -1  # never sent: counted as unmatched
        self.tracker.on_received(key, now)

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            if status.name.rsplit("/", 1)[-1] == self._node_name:
                with self._lock:
                    self.diagnostics = {kv.key: kv.value for kv in status.values}
                    self.diagnostics_time = time.monotonic()

    def node_counts(self) -> dict[str, int]:
        """The node's own totals from its latest diagnostics (``*_total`` and ``frames_*``)."""
        with self._lock:
            values = dict(self.diagnostics)
        counts = {}
        for key, value in values.items():
            if key.endswith("_total") or key.startswith(("frames_", "rejected.", "dropped.")):
                try:
                    counts[key] = int(float(value))
                except ValueError:
                    continue
        return counts

    def node_info(self) -> dict[str, str]:
        with self._lock:
            return {k: v for k, v in self.diagnostics.items() if k in ("device", "model")}


def output_qos(node, topic: str):
    """Reliable keep-last 100 when every publisher of ``topic`` is reliable, else best effort."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    infos = node.get_publishers_info_by_topic(topic)
    reliable = bool(infos) and all(
        info.qos_profile.reliability == ReliabilityPolicy.RELIABLE for info in infos
    )
    policy = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(depth=100, reliability=policy)


def counts_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """What the node counted during a phase (its totals after minus before)."""
    return {key: value - before.get(key, 0) for key, value in after.items()}
