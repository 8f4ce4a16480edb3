"""The detector process: rclpy up, the node spun until a stop signal, everything down."""

from __future__ import annotations

import rclpy
import rclpy.executors
import rclpy.logging
from rclpy.signals import SignalHandlerOptions

from .node import NODE_NAME, DetectorNode
from .signals import StopSignals
from .startup import StartupError, first_line


def run(args: list[str] | None, stop: StopSignals) -> int:
    """Run the node until SIGINT/SIGTERM; 0 on a clean stop, 1 if it cannot start.

    ``stop`` counts the signals (installed by the caller before the imports).
    """
    # Our own handlers keep the context alive after Ctrl-C, so frames in flight
    # can still be published before shutdown.
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    except Exception as error:  # bad --ros-args or params file: rcl says why
        return _cannot_start(first_line(error))
    stop.install()
    try:
        node = DetectorNode()
    except StartupError as error:
        return _cannot_start(str(error))
    except (ValueError, RuntimeError, FileNotFoundError) as error:
        return _cannot_start(first_line(error))
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while not stop.count and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)  # wakes at least every 0.1 s to see signals
    except rclpy.executors.ExternalShutdownException:
        pass
    finally:
        node.shutdown(drain_timeout_s=5.0)
        executor.remove_node(node)
        node.destroy_node()
        rclpy.try_shutdown()
        stop.install()  # whatever shutdown restored: late signals stay counted
    return 0


def _cannot_start(reason: str) -> int:
    rclpy.logging.get_logger(NODE_NAME).fatal(f"cannot start: {reason}")
    rclpy.try_shutdown()
    return 1
