"""Reading the image topic of a bag into memory with ``rosbags`` ``AnyReader``.

rosbag2 (sqlite3 and mcap) and ROS 1 ``.bag`` files (EuRoC, TUM) are read
without a ROS distro. Frames are preloaded so that disk speed never enters the
benchmark's figures. Compressed images are decoded here, once, and replayed
as raw ``sensor_msgs/Image`` (the node's cost is then detection, not decoding).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


class BagError(ValueError):
    """A bag that cannot be used: unreadable, unsupported, or without the wanted topic."""


@dataclass
class BagFrame:
    """One image, ready to publish as sensor_msgs/Image."""

    log_ns: int  # when the recorder logged it
    stamp_ns: int  # header stamp in the bag
    frame_id: str
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: bytes


@dataclass
class BagFrames:
    """The preloaded image topic of a bag."""

    path: Path
    topic: str
    msgtype: str
    frames: list[BagFrame]
    topics: dict[str, str]  # every topic in the bag -> its type

    @property
    def recorded_rate_hz(self) -> float | None:
        """Median rate of the recording (from log times), None for fewer than 2 frames."""
        if len(self.frames) < 2:
            return None
        periods = np.diff([frame.log_ns for frame in self.frames]) / 1e9
        periods = periods[periods > 0]
        return float(1.0 / np.median(periods)) if len(periods) else None

    def offsets_s(self) -> np.ndarray:
        """Log time of each frame relative to the first, seconds."""
        times = np.array([frame.log_ns for frame in self.frames], dtype=np.int64)
        return (times - times[0]) / 1e9


def read_image_topic(
    path: str | Path, topic: str | None = None, max_frames: int | None = None
) -> BagFrames:
    """Preload an image topic (``topic``, or the first Image/CompressedImage topic found).

    Raises:
        FileNotFoundError: the path does not exist.
        BagError: the bag cannot be read, has no image topic, or lacks ``topic``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"bag {path} does not exist")
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    typestore = get_typestore(Stores.ROS2_JAZZY)  # for rosbag2 files without definitions
    try:
        with AnyReader([path], default_typestore=typestore) as reader:
            topics = {c.topic: c.msgtype for c in reader.connections}
            chosen = _choose_topic(path, topics, topic)
            connections = [c for c in reader.connections if c.topic == chosen]
            total = sum(c.msgcount for c in connections)
            if max_frames:
                total = min(total, max_frames)
            frames = []
            messages = reader.messages(connections=connections)
            for connection, log_ns, raw in tqdm(
                messages, total=total, desc=f"reading {chosen}", unit="frame", leave=False
            ):
                msg = reader.deserialize(raw, connection.msgtype)
                frames.append(_to_frame(msg, connection.msgtype, int(log_ns), path))
                if max_frames and len(frames) >= max_frames:
                    break
    except BagError:
        raise
    except Exception as error:  # rosbags raises several unrelated types for bad files
        raise BagError(f"cannot read bag {path}: {type(error).__name__}: {error}") from error
    if not frames:
        raise BagError(f"topic {chosen} in bag {path} has no messages")
    return BagFrames(path, chosen, topics[chosen], frames, topics)


def _choose_topic(path: Path, topics: dict[str, str], wanted: str | None) -> str:
    images = [name for name, msgtype in topics.items() if msgtype in IMAGE_TYPES]
    listing = ", ".join(f"{name} ({msgtype})" for name, msgtype in sorted(topics.items()))
    if wanted is None:
        if not images:
            raise BagError(f"bag {path} has no Image or CompressedImage topic; it has: {listing}")
        return sorted(images)[0]
    if wanted not in topics:
        raise BagError(f"topic {wanted} is not in bag {path}; it has: {listing}")
    if topics[wanted] not in IMAGE_TYPES:
        raise BagError(f"topic {wanted} in bag {path} is {topics[wanted]}, not an image type")
    return wanted


def _to_frame(msg, msgtype: str, log_ns: int, path: Path) -> BagFrame:
    stamp_ns = int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
    if msgtype == "sensor_msgs/msg/Image":
        return BagFrame(
            log_ns=log_ns,
            stamp_ns=stamp_ns,
            frame_id=msg.header.frame_id,
            height=int(msg.height),
            width=int(msg.width),
            encoding=msg.encoding,
            is_bigendian=int(msg.is_bigendian),
            step=int(msg.step),
            data=bytes(msg.data),
        )
    pixels = cv2.imdecode(np.asarray(msg.data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise BagError(f"cannot decode a CompressedImage ({msg.format!r}) in bag {path}")
    encoding = _encoding_of(pixels)
    height, width = pixels.shape[:2]
    pixels = np.ascontiguousarray(pixels)
    return BagFrame(
        log_ns=log_ns,
        stamp_ns=stamp_ns,
        frame_id=msg.header.frame_id,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=int(pixels.dtype.itemsize > 1 and sys.byteorder == "big"),
        step=pixels.strides[0],
        data=pixels.tobytes(),
    )


def _encoding_of(pixels: np.ndarray) -> str:
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    depth = {np.dtype(np.uint8): "8", np.dtype(np.uint16): "16"}.get(pixels.dtype)
    names = {1: "mono", 3: "bgr", 4: "bgra"}
    if depth is None or channels not in names:
        raise BagError(f"unsupported decoded image: {channels} channels of {pixels.dtype}")
    return f"{names[channels]}{depth}"


def bag_sha256(path: str | Path) -> str:
    """SHA-256 over the bag's files (sorted by name for a rosbag2 folder)."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        with file.open("rb") as stream:
            for block in iter(lambda s=stream: s.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
