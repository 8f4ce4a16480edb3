"""Synthetic scenes for tracking tests: 3D points seen by a moving pinhole camera.

Imported by the tracking and the track-eval tests (``from scene import ...``).
"""

from __future__ import annotations

import numpy as np

from sobelnet_ros import Features

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])
SIZE = (640, 480)


def rotation(axis_angle: np.ndarray) -> np.ndarray:
    """Rodrigues' formula."""
    angle = float(np.linalg.norm(axis_angle))
    if angle < 1e-12:
        return np.eye(3)
    k = axis_angle / angle
    skew = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * skew + (1 - np.cos(angle)) * skew @ skew


def camera_poses(count: int, step: np.ndarray, turn: np.ndarray) -> list[np.ndarray]:
    """``T_world_cam`` of a camera moving ``step`` (m) and turning ``turn`` (rad) per frame."""
    poses = []
    for index in range(count):
        pose = np.eye(4)
        pose[:3, :3] = rotation(turn * index)
        pose[:3, 3] = step * index
        poses.append(pose)
    return poses


def project(points: np.ndarray, T_world_cam: np.ndarray) -> np.ndarray:
    """Pixels of world ``points`` ``(N, 3)`` in the camera at ``T_world_cam``."""
    T_cam_world = np.linalg.inv(T_world_cam)
    in_camera = points @ T_cam_world[:3, :3].T + T_cam_world[:3, 3]
    pixels = in_camera @ K.T
    return pixels[:, :2] / pixels[:, 2:3]


class Scene:
    """Points 3-8 m in front of the first camera, each with its own unit descriptor."""

    def __init__(self, count: int = 400, frames: int = 8, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        depth = rng.uniform(3.0, 8.0, count)
        pixels = rng.uniform([40, 40], [600, 440], (count, 2))
        rays = np.concatenate([(pixels - K[:2, 2]) / K[0, 0], np.ones((count, 1))], axis=1)
        self.points = rays * depth[:, None]
        self.poses = camera_poses(frames, np.array([0.12, 0.03, 0.06]), np.array([0, 0.01, 0.004]))
        descriptors = rng.normal(size=(count, 128))
        self.descriptors = descriptors / np.linalg.norm(descriptors, axis=1, keepdims=True)
        self.rng = rng

    def features(
        self, frame: int, visible: np.ndarray | None = None, noise: float = 0.05
    ) -> tuple[Features, np.ndarray]:
        """Features of ``frame`` (each point's descriptor with a little noise) and the
        indices of the scene points they show."""
        keep = np.arange(len(self.points)) if visible is None else np.flatnonzero(visible)
        keypoints = project(self.points[keep], self.poses[frame])
        descriptors = self.descriptors[keep] + noise * self.rng.normal(size=(len(keep), 128))
        descriptors /= np.linalg.norm(descriptors, axis=1, keepdims=True)
        scores = np.linspace(1.0, 0.5, len(keep))
        return Features(
            keypoints.astype(np.float32),
            scores.astype(np.float32),
            descriptors.astype(np.float32),
            SIZE,
        ), keep
