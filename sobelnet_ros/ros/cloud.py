"""Features <-> sensor_msgs/PointCloud2 in the node's contract layout, pure numpy.

Layout (little-endian, height 1, width N, is_dense true, one point per keypoint)::

    x           FLOAT32  offset 0             keypoint column, px
    y           FLOAT32  offset 4             keypoint row, px
    score       FLOAT32  offset 8             detector score, descending
    descriptor  INT8     offset 12, count D   descriptor x 127, rounded (``features`` only)
             or FLOAT32  offset 12, count D   unit-norm descriptor (descriptor_format float32)

point_step = 12 + D rounded up to a multiple of 4 for INT8 (140 for D = 128),
12 + 4 D for FLOAT32, 12 for ``keypoints``; row_step = point_step N. INT8
keeps the default ``features`` of 1024 keypoints at 143 KB, well under Fast
DDS's 512 KiB shared-memory segment (FLOAT32: 537 KB). Pixel coordinates are
in the input image; (0, 0) is the centre of the top-left pixel.
``sensor_msgs_py.point_cloud2.read_points`` names the descriptor columns
``descriptor_0 .. descriptor_{D-1}``.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Any

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField

from ..inference.quantize import DESCRIPTOR_FORMATS, dequantize_descriptors, quantize_descriptors

_FLOAT32 = PointField.FLOAT32
_DESCRIPTOR_TYPES = {"float32": (PointField.FLOAT32, "f4"), "int8": (PointField.INT8, "i1")}
_DESCRIPTOR_BY_DATATYPE = {datatype: code for datatype, code in _DESCRIPTOR_TYPES.values()}


@dataclass
class CloudFeatures:
    """Features read back from a cloud.

    Attributes:
        keypoints: ``(N, 2)`` float32 x, y px.
        scores: ``(N,)`` float32.
        descriptors: ``(N, D)`` float32; ``(N, 0)`` for a ``keypoints`` cloud.
        header: the cloud's header (stamp and frame of the source image).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    descriptors: np.ndarray
    header: Any

    def __len__(self) -> int:
        return len(self.scores)


def cloud_fields(descriptor_dim: int, descriptor_format: str = "int8") -> list[PointField]:
    """The contract's fields; ``descriptor_dim`` 0 gives the ``keypoints`` layout."""
    fields = [
        PointField(name="x", offset=0, datatype=_FLOAT32, count=1),
        PointField(name="y", offset=4, datatype=_FLOAT32, count=1),
        PointField(name="score", offset=8, datatype=_FLOAT32, count=1),
    ]
    if descriptor_dim > 0:
        datatype = _DESCRIPTOR_TYPES[descriptor_format][0]
        fields.append(
            PointField(name="descriptor", offset=12, datatype=datatype, count=descriptor_dim)
        )
    return fields


def features_to_cloud(
    header: Any,
    keypoints: np.ndarray,
    scores: np.ndarray,
    descriptors: np.ndarray | None = None,
    descriptor_format: str = "int8",
) -> PointCloud2:
    """Pack features into a PointCloud2 (with descriptors, or ``keypoints`` only if None).

    Shape: keypoints ``(N, 2)``, scores ``(N,)``, descriptors ``(N, D)`` unit
    norm; ``descriptor_format`` ``int8`` (x 127, the default) or ``float32``.

    Raises:
        ValueError: the arrays' shapes do not agree, or an unknown format.
    """
    if descriptor_format not in DESCRIPTOR_FORMATS:
        raise ValueError(f"descriptor_format must be one of {DESCRIPTOR_FORMATS}")
    keypoints = np.asarray(keypoints, dtype=np.float32)
    scores = np.asarray(scores, dtype=np.float32)
    count = len(scores)
    if keypoints.shape != (count, 2) or scores.ndim != 1:
        raise ValueError(f"keypoints {keypoints.shape} and scores {scores.shape} do not agree")
    dim = 0
    if descriptors is not None:
        descriptors = np.asarray(descriptors, dtype=np.float32)
        if descriptors.ndim != 2 or len(descriptors) != count or descriptors.shape[1] < 1:
            raise ValueError(f"descriptors {descriptors.shape} do not fit {count} keypoints")
        dim = descriptors.shape[1]
    layout = _point_dtype(dim, descriptor_format)
    points = np.zeros(count, dtype=layout)  # zeros: padding bytes are defined
    points["x"], points["y"] = keypoints[:, 0], keypoints[:, 1]
    points["score"] = scores
    if dim:
        quantized = descriptor_format == "int8"
        points["descriptor"] = quantize_descriptors(descriptors) if quantized else descriptors
    return packed_cloud(header, points, cloud_fields(dim, descriptor_format))


def packed_cloud(header: Any, points: np.ndarray, fields: list[PointField]) -> PointCloud2:
    """An unordered (height 1), dense, little-endian cloud of a structured array's rows.

    ``fields`` describe ``points.dtype`` (names, offsets, datatypes); the point step is
    its item size.
    """
    data = array.array("B")
    data.frombytes(points.tobytes())
    return PointCloud2(
        header=header,
        height=1,
        width=len(points),
        fields=fields,
        is_bigendian=False,
        point_step=points.dtype.itemsize,
        row_step=points.dtype.itemsize * len(points),
        data=data,
        is_dense=True,
    )


def _point_dtype(dim: int, descriptor_format: str) -> np.dtype:
    names, formats, offsets, size = ["x", "y", "score"], ["<f4"] * 3, [0, 4, 8], 12
    if dim:
        code = _DESCRIPTOR_TYPES[descriptor_format][1]
        names.append("descriptor")
        formats.append((f"<{code}", (dim,)))  # type: ignore[arg-type]
        offsets.append(12)
        size += -(-dim * np.dtype(code).itemsize // 4) * 4  # floats of the next point aligned
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": size})


def cloud_to_features(msg: Any) -> CloudFeatures:
    """Read a ``features`` or ``keypoints`` cloud back into arrays (any valid layout).

    Fields are found by name, so clouds with extra fields or other offsets
    read too; both byte orders are accepted. INT8 descriptors come back as
    unit-norm float32 (value / 127, renormalised).

    Raises:
        ValueError: a field is missing or of another datatype (x, y, score:
            FLOAT32; descriptor: FLOAT32 or INT8), or the sizes do not fit.
    """
    dtype = _cloud_dtype(msg)
    count = int(msg.width) * int(msg.height)
    data = memoryview(msg.data).cast("B")
    needed = int(msg.row_step) * int(msg.height)
    if int(msg.row_step) < int(msg.point_step) * int(msg.width) or len(data) < needed:
        raise ValueError(
            f"cloud of {msg.width}x{msg.height} points, point_step {msg.point_step}, "
            f"row_step {msg.row_step}: data has {len(data)} bytes"
        )
    rows = np.ndarray(
        (int(msg.height), int(msg.width)),
        dtype=dtype,
        buffer=data,
        strides=(int(msg.row_step), int(msg.point_step)),
    ).reshape(count)
    native = "=f4"
    keypoints = np.stack([rows["x"], rows["y"]], axis=1).astype(native)
    scores = rows["score"].astype(native)
    if "descriptor" in dtype.names:
        values = rows["descriptor"].reshape(count, int(descriptor_dim(msg)))
        quantized = values.dtype.kind == "i"
        descriptors = dequantize_descriptors(values) if quantized else values.astype(native)
    else:
        descriptors = np.zeros((count, 0), dtype=np.float32)
    return CloudFeatures(keypoints, scores, descriptors, msg.header)


def descriptor_dim(msg: Any) -> int:
    """Descriptor length D of a cloud (0 without a ``descriptor`` field)."""
    return next((int(f.count) for f in msg.fields if f.name == "descriptor"), 0)


def _cloud_dtype(msg: Any) -> np.dtype:
    order = ">" if msg.is_bigendian else "<"
    by_name = {field.name: field for field in msg.fields}
    names, formats, offsets, end = [], [], [], 0
    for name in ("x", "y", "score", "descriptor"):
        field = by_name.get(name)
        if field is None:
            if name == "descriptor":
                continue
            raise ValueError(f"cloud has no {name!r} field (fields: {sorted(by_name)})")
        allowed = _DESCRIPTOR_BY_DATATYPE if name == "descriptor" else {_FLOAT32: "f4"}
        if field.datatype not in allowed:
            kinds = " or ".join(("FLOAT32", "INT8") if name == "descriptor" else ("FLOAT32",))
            raise ValueError(f"field {name!r} has datatype {field.datatype}, expected {kinds}")
        count = int(field.count)
        if count < 1 or (name != "descriptor" and count != 1):
            raise ValueError(f"field {name!r} has count {count}")
        code = f"{order}{allowed[field.datatype]}"
        names.append(name)
        formats.append((code, (count,)) if name == "descriptor" else code)
        offsets.append(int(field.offset))
        end = max(end, int(field.offset) + np.dtype(code).itemsize * count)
    if end > int(msg.point_step):
        raise ValueError(f"fields end at byte {end} but point_step is {msg.point_step}")
    return np.dtype(
        {"names": names, "formats": formats, "offsets": offsets, "itemsize": int(msg.point_step)}
    )
