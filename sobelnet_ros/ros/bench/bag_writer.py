"""Writing image bags with ``rosbags`` (no ROS distro): rosbag2 sqlite3/mcap and ROS 1 .bag.

Used to generate the demo bag and, in the tests, to make bags of every kind
that the reader must read back.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

STORAGES = ("mcap", "sqlite3", "ros1")
FORMATS = ("jpeg", "png", "rgb8", "bgr8", "mono8")
IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"


def write_image_bag(
    path: str | Path,
    frames: Iterable[tuple[int, np.ndarray]],
    *,
    topic: str = "/camera/image_raw",
    storage: str = "mcap",
    image_format: str = "rgb8",
    frame_id: str = "camera",
    jpeg_quality: int = 90,
) -> int:
    """Write ``(stamp_ns, RGB or gray uint8 image)`` frames as one image topic.

    Args:
        path: the bag to create (a rosbag2 folder, or a ``.bag`` file for ``ros1``);
            it must not exist yet.
        frames: stamps in nanoseconds (used for the header and the log time), images
            ``H x W x 3`` RGB or ``H x W`` gray uint8.
        topic: the topic name; compressed formats get ``/compressed`` appended, as
            image_transport names them.
        storage: ``mcap`` or ``sqlite3`` (rosbag2), or ``ros1``.
        image_format: ``rgb8``/``bgr8``/``mono8`` write sensor_msgs/Image,
            ``jpeg``/``png`` write sensor_msgs/CompressedImage.

    Returns:
        The number of messages written.
    """
    if storage not in STORAGES:
        raise ValueError(f"unknown bag storage {storage!r}; choose from {STORAGES}")
    if image_format not in FORMATS:
        raise ValueError(f"unknown image format {image_format!r}; choose from {FORMATS}")
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists already; remove it or pick another path")
    compressed = image_format in ("jpeg", "png")
    msgtype = COMPRESSED_TYPE if compressed else IMAGE_TYPE
    if compressed and not topic.endswith("/compressed"):
        topic = topic.rstrip("/") + "/compressed"

    from rosbags.typesys import Stores, get_typestore

    ros1 = storage == "ros1"
    typestore = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_JAZZY)
    serialize = typestore.serialize_ros1 if ros1 else typestore.serialize_cdr
    writer = _open_writer(path, storage)
    count = 0
    try:
        connection = writer.add_connection(topic, msgtype, typestore=typestore)
        for count, (stamp_ns, image) in enumerate(frames, start=1):
            header = _header(typestore, stamp_ns, frame_id, seq=count - 1, ros1=ros1)
            if compressed:
                msg = _compressed_msg(typestore, header, image, image_format, jpeg_quality)
            else:
                msg = _image_msg(typestore, header, image, image_format)
            writer.write(connection, int(stamp_ns), serialize(msg, msgtype))
    except BaseException:
        writer.close()
        raise
    writer.close()
    return count


def _open_writer(path: Path, storage: str):
    if storage == "ros1":
        from rosbags.rosbag1 import Writer as Writer1

        writer = Writer1(path)
    else:
        from rosbags.rosbag2 import StoragePlugin
        from rosbags.rosbag2 import Writer as Writer2

        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        writer = Writer2(path, version=9, storage_plugin=plugin)
    writer.open()
    return writer


def _header(typestore, stamp_ns: int, frame_id: str, seq: int, ros1: bool):
    time_type = typestore.types["builtin_interfaces/msg/Time"]
    header_type = typestore.types["std_msgs/msg/Header"]
    stamp = time_type(sec=int(stamp_ns // 1_000_000_000), nanosec=int(stamp_ns % 1_000_000_000))
    if ros1:
        return header_type(seq=seq, stamp=stamp, frame_id=frame_id)
    return header_type(stamp=stamp, frame_id=frame_id)


def _image_msg(typestore, header, image: np.ndarray, encoding: str):
    pixels = _convert(image, encoding)
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    return typestore.types[IMAGE_TYPE](
        header=header,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * channels,
        data=np.ascontiguousarray(pixels).reshape(-1),
    )


def _compressed_msg(typestore, header, image: np.ndarray, image_format: str, quality: int):
    gray = image.ndim == 2
    pixels = image if gray else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if image_format == "jpeg" else []
    ok, encoded = cv2.imencode(".jpg" if image_format == "jpeg" else ".png", pixels, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.shape} frame as {image_format}")
    # image_transport's format string: "<original encoding>; <codec> compressed <encoding>"
    original = "mono8" if gray else "rgb8"
    fmt = f"{original}; {image_format} compressed {'mono8' if gray else 'bgr8'}"
    return typestore.types[COMPRESSED_TYPE](header=header, format=fmt, data=encoded.reshape(-1))


def _convert(image: np.ndarray, encoding: str) -> np.ndarray:
    if image.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {image.dtype}")
    if encoding == "mono8":
        return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    rgb = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return rgb if encoding == "rgb8" else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
