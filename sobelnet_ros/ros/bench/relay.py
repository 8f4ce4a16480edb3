"""A plain relay node: republishes each image unchanged (the bench's transport baseline).

It takes the serialized message and publishes the same bytes, so its own
cost is what DDS and the executor cost: the difference between the detector
and this relay, measured by the same player and monitor, is the detector's
own cost. Run: ``python -m sobelnet_ros.ros.bench.relay --ros-args -r __ns:=/x``.
"""

from __future__ import annotations

import sys

INPUT_TOPIC = "image"
OUTPUT_TOPIC = "image_relayed"
NODE_NAME = "sobelnet_bench_relay"


def _qos(reliability: str, depth: int):
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    policy = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT}
    if reliability not in policy:
        raise ValueError(f"reliability must be reliable or best_effort, got {reliability!r}")
    return QoSProfile(depth=depth, reliability=policy[reliability])


def main(args: list[str] | None = None) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    rclpy.init(args=args)
    node = Node(NODE_NAME)
    try:
        # The same QoS as the detector: sensor-data input, reliable depth-5 output.
        input_qos = _qos(
            node.declare_parameter("input_reliability", "best_effort").value,
            node.declare_parameter("input_depth", 5).value,
        )
        output_qos = _qos(
            node.declare_parameter("output_reliability", "reliable").value,
            node.declare_parameter("output_depth", 5).value,
        )
        publisher = node.create_publisher(Image, OUTPUT_TOPIC, output_qos)
        node.create_subscription(Image, INPUT_TOPIC, publisher.publish, input_qos, raw=True)
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
