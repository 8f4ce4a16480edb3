"""Ground-truth camera poses (TUM or KITTI files) and the epipolar geometry they give.

Poses are camera-to-world ``T_world_cam`` 4x4 matrices. TUM files have
``timestamp tx ty tz qx qy qz qw`` lines (``#`` comments); KITTI files one
row-major 3x4 matrix per line, one line per frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAX_STAMP_GAP_S = 0.02  # a frame takes the TUM pose nearest in time, if this close [ours]


def read_poses(path: str | Path) -> tuple[np.ndarray | None, np.ndarray]:
    """``(stamps, poses)``: stamps ``(P,)`` seconds for TUM, None for KITTI; poses ``(P, 4, 4)``.

    Raises:
        ValueError: a line is neither format (the message names the line).
    """
    path = Path(path)
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            rows.append([float(v) for v in line.replace(",", " ").split()])
        except ValueError:
            raise ValueError(f"{path}:{number}: not numbers: {line[:60]!r}") from None
    widths = {len(r) for r in rows}
    if not rows or len(widths) != 1 or widths.pop() not in (8, 12):
        raise ValueError(
            f"{path}: expected TUM lines (timestamp tx ty tz qx qy qz qw) or KITTI lines "
            "(12 numbers of a 3x4 matrix), all alike"
        )
    values = np.array(rows)
    if values.shape[1] == 12:
        poses = np.tile(np.eye(4), (len(values), 1, 1))
        poses[:, :3, :4] = values.reshape(-1, 3, 4)
        return None, poses
    poses = np.tile(np.eye(4), (len(values), 1, 1))
    poses[:, :3, :3] = quaternion_matrix(values[:, 4:8])
    poses[:, :3, 3] = values[:, 1:4]
    return values[:, 0], poses


def quaternion_matrix(quaternions: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(N, 3, 3)`` of ``(N, 4)`` quaternions ``qx qy qz qw``."""
    q = np.asarray(quaternions, np.float64)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    x, y, z, w = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=1,
    )


def matrix_quaternion(rotation: np.ndarray) -> np.ndarray:
    """The unit quaternion ``qx qy qz qw`` (``qw >= 0``) of a 3x3 rotation matrix."""
    R = np.asarray(rotation, np.float64)
    # from the largest of the four squared components: no division by a small number
    squares = 0.25 * np.array([
        1 + R[0, 0] - R[1, 1] - R[2, 2],
        1 - R[0, 0] + R[1, 1] - R[2, 2],
        1 - R[0, 0] - R[1, 1] + R[2, 2],
        1 + R[0, 0] + R[1, 1] + R[2, 2],
    ])  # fmt: skip
    largest = int(np.argmax(squares))
    big = np.sqrt(max(squares[largest], 0.0))
    # 4 q_i q_j from the matrix's off-diagonal sums and differences
    products = {
        (0, 1): R[0, 1] + R[1, 0], (0, 2): R[0, 2] + R[2, 0], (1, 2): R[1, 2] + R[2, 1],
        (0, 3): R[2, 1] - R[1, 2], (1, 3): R[0, 2] - R[2, 0], (2, 3): R[1, 0] - R[0, 1],
    }  # fmt: skip
    q = np.empty(4)
    for other in range(4):
        key = (min(largest, other), max(largest, other))
        q[other] = big if other == largest else products[key] / (4 * big)
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def poses_for_frames(
    stamps: np.ndarray | None, poses: np.ndarray, frame_stamps: list[float | None]
) -> list[np.ndarray | None]:
    """The pose of each frame: by order (KITTI) or the nearest stamp within ``MAX_STAMP_GAP_S``."""
    if stamps is None:
        if len(poses) < len(frame_stamps):
            raise ValueError(f"{len(poses)} poses for {len(frame_stamps)} frames")
        return list(poses[: len(frame_stamps)])
    out: list[np.ndarray | None] = []
    for stamp in frame_stamps:
        if stamp is None:
            raise ValueError(
                "TUM poses need frame time stamps (file names like 1311868169.16.png)"
            )
        nearest = int(np.argmin(np.abs(stamps - stamp)))
        out.append(poses[nearest] if abs(stamps[nearest] - stamp) <= MAX_STAMP_GAP_S else None)
    return out


def fundamental_from_poses(
    T_world_cam0: np.ndarray, T_world_cam1: np.ndarray, K: np.ndarray
) -> np.ndarray:
    """``F_0to1`` of one camera ``K`` at two poses: ``x1^T F x0 = 0`` for pixels x0, x1."""
    T_1to0 = np.linalg.inv(T_world_cam1) @ T_world_cam0  # maps camera-0 points into camera 1
    R, t = T_1to0[:3, :3], T_1to0[:3, 3]
    skew = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    K_inv = np.linalg.inv(K)
    return K_inv.T @ skew @ R @ K_inv
