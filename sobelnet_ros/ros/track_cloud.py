"""Tracks <-> ROS messages: the ``tracks`` PointCloud2 and VINS-Mono's ``feature`` PointCloud.

``tracks`` layout (little-endian, height 1, width N, is_dense true)::

    x    FLOAT32  offset 0    px, column (0 = centre of the first pixel), input image
    y    FLOAT32  offset 4    px, row
    id   UINT32   offset 8    track ID, the same point in every message until restart
    age  UINT32   offset 12   frames this ID has been seen (1: new)
    vx   FLOAT32  offset 16   px/s since the ID was last seen (0 for a new one)
    vy   FLOAT32  offset 20
    u    FLOAT32  offset 24   undistorted normalised x (only with camera_info)
    v    FLOAT32  offset 28   undistorted normalised y (only with camera_info)

point_step 24 (32 with u, v). ``feature`` follows VINS-Mono's feature tracker:
``points`` are (u, v, 1) and the channels ``id_of_point``, ``u_of_point``,
``v_of_point`` (pixels), ``velocity_x_of_point``, ``velocity_y_of_point``
(normalised units per second), in that order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from geometry_msgs.msg import Point32
from sensor_msgs.msg import ChannelFloat32, PointCloud, PointCloud2, PointField

from .cloud import packed_cloud

VINS_CHANNELS = (
    "id_of_point",
    "u_of_point",
    "v_of_point",
    "velocity_x_of_point",
    "velocity_y_of_point",
)
_TYPES = {"x": "<f4", "y": "<f4", "id": "<u4", "age": "<u4", "vx": "<f4", "vy": "<f4",
          "u": "<f4", "v": "<f4"}  # fmt: skip
_DATATYPES = {"<f4": PointField.FLOAT32, "<u4": PointField.UINT32}


@dataclass
class CloudTracks:
    """A ``tracks`` cloud read back: arrays of N points; ``normalised`` None without u, v."""

    keypoints: np.ndarray  # (N, 2) float32 px
    ids: np.ndarray  # (N,) uint32
    ages: np.ndarray  # (N,) uint32
    velocities: np.ndarray  # (N, 2) float32 px/s
    normalised: np.ndarray | None  # (N, 2) float32
    header: Any


def track_fields(normalised: bool) -> list[PointField]:
    """The ``tracks`` fields, with ``u``, ``v`` when ``normalised``."""
    names = list(_TYPES)[: 8 if normalised else 6]
    return [
        PointField(name=n, offset=4 * i, datatype=_DATATYPES[_TYPES[n]], count=1)
        for i, n in enumerate(names)
    ]


def tracks_to_cloud(
    header: Any,
    keypoints: np.ndarray,
    ids: np.ndarray,
    ages: np.ndarray,
    velocities: np.ndarray,
    normalised: np.ndarray | None = None,
) -> PointCloud2:
    """Pack tracks into a ``tracks`` PointCloud2 (layout in the module docstring).

    Raises:
        ValueError: the arrays' lengths differ.
    """
    count = len(ids)
    columns = {
        "x": keypoints[:, 0], "y": keypoints[:, 1], "id": ids, "age": ages,
        "vx": velocities[:, 0], "vy": velocities[:, 1],
    }  # fmt: skip
    if normalised is not None:
        columns.update(u=normalised[:, 0], v=normalised[:, 1])
    if any(len(column) != count for column in columns.values()):
        raise ValueError(
            f"track arrays of different lengths: {[len(c) for c in columns.values()]}"
        )
    dtype = np.dtype([(name, _TYPES[name]) for name in columns])
    points = np.empty(count, dtype=dtype)
    for name, column in columns.items():
        points[name] = column
    return packed_cloud(header, points, track_fields(normalised is not None))


def cloud_to_tracks(msg: Any) -> CloudTracks:
    """Read a ``tracks`` cloud (the layout above) back into arrays.

    Raises:
        ValueError: a field is missing or of another type, or the sizes do not fit.
    """
    by_name = {f.name: f for f in msg.fields}
    names = [n for n in _TYPES if n in by_name]
    for name in list(_TYPES)[:6]:
        if name not in by_name or by_name[name].datatype != _DATATYPES[_TYPES[name]]:
            raise ValueError(f"cloud has no {_TYPES[name]} field {name!r}")
    dtype = np.dtype({
        "names": names,
        "formats": [_TYPES[n] for n in names],
        "offsets": [int(by_name[n].offset) for n in names],
        "itemsize": int(msg.point_step),
    })  # fmt: skip
    count = int(msg.width) * int(msg.height)
    data = memoryview(msg.data).cast("B")
    if len(data) < count * int(msg.point_step):
        raise ValueError(f"{count} points of {msg.point_step} bytes, data has {len(data)}")
    rows = np.frombuffer(data, dtype=dtype, count=count)
    normalised = None
    if "u" in names and "v" in names:
        normalised = np.stack([rows["u"], rows["v"]], axis=1).astype(np.float32)
    return CloudTracks(
        keypoints=np.stack([rows["x"], rows["y"]], axis=1).astype(np.float32),
        ids=rows["id"].astype(np.uint32),
        ages=rows["age"].astype(np.uint32),
        velocities=np.stack([rows["vx"], rows["vy"]], axis=1).astype(np.float32),
        normalised=normalised,
        header=msg.header,
    )


def tracks_to_feature(
    header: Any,
    ids: np.ndarray,
    keypoints: np.ndarray,
    normalised: np.ndarray,
    normalised_velocities: np.ndarray,
) -> PointCloud:
    """VINS-Mono's ``feature`` message: normalised points, ID, pixel and velocity channels."""
    points = [Point32(x=float(u), y=float(v), z=1.0) for u, v in normalised]
    values = (ids, keypoints[:, 0], keypoints[:, 1], normalised_velocities[:, 0],
              normalised_velocities[:, 1])  # fmt: skip
    channels = [
        ChannelFloat32(name=name, values=np.asarray(column, np.float32).tolist())
        for name, column in zip(VINS_CHANNELS, values, strict=True)
    ]
    return PointCloud(header=header, points=points, channels=channels)
