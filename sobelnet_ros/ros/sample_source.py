"""The demo's default input: photos bundled with scikit-image, published as Images.

A source is anything with ``next_message(stamp) -> Image``; the demo publishes
it at a fixed rate. A bag reader can later take this module's place.
"""

from __future__ import annotations

import array
from typing import Any

import cv2
import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image

from ..data import sample_images

ENCODINGS = {  # encoding -> (channels, conversion from RGB)
    "mono8": (1, cv2.COLOR_RGB2GRAY),
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_RGB2BGR),
}


def image_message(image: np.ndarray, encoding: str, frame_id: str = "camera") -> Image:
    """A sensor_msgs/Image of an RGB uint8 array in ``encoding`` (mono8, rgb8 or bgr8)."""
    channels, code = ENCODINGS[encoding]
    pixels = image if code is None else cv2.cvtColor(image, code)
    height, width = pixels.shape[:2]
    data = array.array("B")
    data.frombytes(np.ascontiguousarray(pixels).tobytes())
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=0, data=data)
    msg.step = width * channels
    msg.header.frame_id = frame_id
    return msg


class SampleImageSource:
    """Cycles through the bundled photos at a fixed size, as ready-made messages."""

    def __init__(self, size: tuple[int, int] = (640, 480), encoding: str = "rgb8") -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {sorted(ENCODINGS)}, got {encoding!r}")
        self.images = [image for _, image in sample_images(size)]
        self.messages = [image_message(image, encoding) for image in self.images]
        self.index = 0

    def next_message(self, stamp: Any) -> tuple[Image, np.ndarray]:
        """The next message, stamped, and its RGB image."""
        i = self.index % len(self.messages)
        self.index += 1
        msg = self.messages[i]
        msg.header.stamp = stamp
        return msg, self.images[i]


class SourcePublisher:
    """Publishes a source's messages on ``topic`` at ``rate_hz`` from a node's timer."""

    def __init__(self, node: Node, source: SampleImageSource, topic: str, rate_hz: float) -> None:
        from rclpy.qos import qos_profile_sensor_data

        self.node = node
        self.source = source
        self.sent = 0
        self.sent_images: dict[tuple[int, int], np.ndarray] = {}  # stamp -> RGB, recent only
        self.publisher = node.create_publisher(Image, topic, qos_profile_sensor_data)
        self.timer = node.create_timer(1.0 / rate_hz, self._tick)

    def _tick(self) -> None:
        stamp = self.node.get_clock().now().to_msg()
        msg, image = self.source.next_message(stamp)
        self.publisher.publish(msg)
        self.sent += 1
        self.sent_images[(stamp.sec, stamp.nanosec)] = image
        while len(self.sent_images) > 64:
            self.sent_images.pop(next(iter(self.sent_images)))
