"""How many of N messages a subscriber gets over stock DDS, publisher in another process.

    python scripts/dds_delivery.py features --descriptor-format int8 --count 120 --rate 10
    python scripts/dds_delivery.py image --encoding rgb8 --publisher best_effort \\
        --subscriber best_available --count 20 --rate 6.7

``features``: clouds of --keypoints keypoints in the node's layout; ``image``:
640x480 frames. Publisher and subscriber QoS are chosen separately (the
subscriber's ``best_available`` needs Jazzy). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time

import numpy as np
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, PointCloud2

RELIABILITY = {"best_effort": ReliabilityPolicy.BEST_EFFORT,
               "reliable": ReliabilityPolicy.RELIABLE,
               "best_available": ReliabilityPolicy.BEST_AVAILABLE}  # fmt: skip
CHANNELS = {"mono8": 1, "rgb8": 3}


def message(args: argparse.Namespace):
    rng = np.random.default_rng(0)
    if args.kind == "image":
        channels = CHANNELS[args.encoding]
        pixels = rng.integers(0, 256, (480, 640 * channels), dtype=np.uint8)
        return Image(height=480, width=640, encoding=args.encoding, step=640 * channels,
                     data=pixels.tobytes())  # fmt: skip
    from std_msgs.msg import Header

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from sobelnet_ros.ros.cloud import features_to_cloud

    descriptors = rng.normal(size=(args.keypoints, 128)).astype(np.float32)
    descriptors /= np.linalg.norm(descriptors, axis=1, keepdims=True)
    keypoints = rng.random((args.keypoints, 2)).astype(np.float32) * 600
    scores = np.sort(rng.random(args.keypoints).astype(np.float32))[::-1].copy()
    return features_to_cloud(Header(), keypoints, scores, descriptors, args.descriptor_format)


def publish(args: argparse.Namespace) -> int:
    rclpy.init()
    node = rclpy.create_node("delivery_publisher")
    msg = message(args)
    kind = Image if args.kind == "image" else PointCloud2
    qos = QoSProfile(depth=args.depth, reliability=RELIABILITY[args.publisher])
    pub = node.create_publisher(kind, "delivery", qos)
    deadline = time.monotonic() + 30
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(1.0)  # both ends matched
    for i in range(args.count):
        msg.header.frame_id = str(i)
        pub.publish(msg)
        time.sleep(1.0 / args.rate)
    time.sleep(2.0)  # let reliable retransmissions finish before the writer goes
    node.destroy_node()
    rclpy.shutdown()
    return 0


def measure(args: argparse.Namespace) -> dict:
    domain = random.SystemRandom().randint(1, 200)
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain))
    rclpy.init(domain_id=domain)
    node = rclpy.create_node("delivery_subscriber")
    got: set[str] = set()
    kind = Image if args.kind == "image" else PointCloud2
    qos = QoSProfile(depth=args.depth, reliability=RELIABILITY[args.subscriber])
    node.create_subscription(kind, "delivery", lambda m: got.add(m.header.frame_id), qos)
    child = subprocess.Popen([sys.executable, __file__, *sys.argv[1:], "--as-publisher"], env=env)
    while child.poll() is None:
        rclpy.spin_once(node, timeout_sec=0.05)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    size = len(message(args).data)
    node.destroy_node()
    rclpy.shutdown()
    return {
        "kind": args.kind,
        "bytes": size,
        "publisher": args.publisher,
        "subscriber": args.subscriber,
        "rate_hz": args.rate,
        "sent": args.count,
        "received": len(got),
        "rmw": os.environ.get("RMW_IMPLEMENTATION", "default"),
        **(
            {"encoding": args.encoding}
            if args.kind == "image"
            else {"keypoints": args.keypoints, "descriptor_format": args.descriptor_format}
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("features", "image"))
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--publisher", choices=RELIABILITY, default="reliable")
    parser.add_argument("--subscriber", choices=RELIABILITY, default="best_effort")
    parser.add_argument("--keypoints", type=int, default=1024)
    parser.add_argument("--descriptor-format", choices=("int8", "float32"), default="int8")
    parser.add_argument("--encoding", choices=tuple(CHANNELS), default="rgb8")
    parser.add_argument("--as-publisher", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_publisher:
        return publish(args)
    print(json.dumps(measure(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
