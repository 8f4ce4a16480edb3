"""The bench's own rclpy node: one context, a publisher per input topic, a spinning thread."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable


class BenchSession:
    """rclpy set up for the bench; use as a context manager.

    The executor spins in a background thread (the monitor's callbacks); the
    player publishes from the calling thread.
    """

    def __init__(self, node_name: str = "sobelnet_bag_bench") -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        self._rclpy = rclpy
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(node_name, context=self.context)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name="bench-executor", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        with contextlib.suppress(ExternalShutdownException):
            self._executor.spin()

    def image_publisher(self, topic: str, reliability: str = "best_effort", depth: int = 5):
        """A sensor_msgs/Image publisher (sensor-data QoS by default, as a camera driver)."""
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        policy = {
            "best_effort": ReliabilityPolicy.BEST_EFFORT,
            "reliable": ReliabilityPolicy.RELIABLE,
        }[reliability]
        return self.node.create_publisher(
            Image, topic, QoSProfile(depth=depth, reliability=policy)
        )

    def close(self) -> None:
        self._executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)
        self._thread.join(timeout=5.0)

    def __enter__(self) -> BenchSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def wait_for(
    condition: Callable[[], bool],
    timeout_s: float,
    interval_s: float = 0.05,
    abort: Callable[[], str | None] | None = None,
) -> bool:
    """Poll ``condition`` until true (True) or timeout (False); ``abort`` returning a
    reason raises RuntimeError with it (e.g. the node process died)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        if abort is not None and (reason := abort()):
            raise RuntimeError(reason)
        time.sleep(interval_s)
    return condition()
