"""Rendered camera sequences with exact poses: a hand-held camera in a room, a car on a street.

``render_sequence`` builds a scene of textured panels (``panel_render.py``)
from photos, moves a camera through it and renders the frames, with the
camera-to-world pose of each frame and the intrinsics. ``write_sequence``
stores them the way ``sobelnet track-eval`` reads real data: frames named by
their time stamps, TUM poses, and the intrinsics, so the true epipolar share
of every tracker can be measured where no real ground truth is at hand.

- ``handheld``: 640x480, the TUM RGB-D camera's intrinsics, a 5 x 2.5 x 6 m
  room (walls, floor and ceiling) with boxes on the floor; the camera sways,
  turns and drifts like a hand-held one (sways of up to 0.3 m and 15 deg at
  0.05-0.25 Hz).
- ``driving``: 1241x376, the KITTI camera's intrinsics, 1.65 m above a road
  between rows of building fronts of varied depth and height with gaps, and
  parked cars; the camera drives ahead at 8-10 m/s along a gentle curve, with
  a little pitch and roll; the sky is flat.

Frames get a per-frame gain (within 3%) and Gaussian noise of 1.5 grey
levels, and with ``exposure_s`` motion blur (renders along the motion during
the exposure, averaged). Everything comes from ``numpy.random.default_rng([seed, kind])``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .panel_render import Panel, PanelScene, Textures, render
from .poses import matrix_quaternion

KINDS = ("handheld", "driving")
DEFAULT_PHOTOS = ("brick", "gravel", "grass", "coffee", "chelsea", "astronaut", "rocket",
                  "camera", "coins", "page")  # fmt: skip
NOISE_GREY = 1.5  # sensor noise, grey levels
GAIN_JITTER = 0.03  # largest change of the exposure from frame to frame
BLUR_SAMPLES = 8  # renders averaged over a frame's exposure time


@dataclass(frozen=True)
class CameraSetup:
    """A kind's frame size (width, height), intrinsics and how it moves."""

    size: tuple[int, int]
    intrinsics: tuple[float, float, float, float]  # fx, fy, cx, cy

    @property
    def K(self) -> np.ndarray:
        fx, fy, cx, cy = self.intrinsics
        return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


SETUPS = {
    "handheld": CameraSetup((640, 480), (525.0, 525.0, 319.5, 239.5)),
    "driving": CameraSetup((1241, 376), (718.856, 718.856, 607.1928, 185.2157)),
}


@dataclass
class RenderedSequence:
    """Frames (gray uint8), their stamps (s), poses ``T_world_cam``, the camera and the
    scene (``panel_render.depth_map`` gives any frame's depth map from it)."""

    name: str
    frames: list[np.ndarray]
    stamps: list[float]
    poses: np.ndarray
    setup: CameraSetup
    scene: PanelScene


def render_sequence(
    kind: str,
    frames: int = 20,
    rate_hz: float = 10.0,
    seed: int = 0,
    photos: list[np.ndarray] | None = None,
    progress=None,
    exposure_s: float = 0.0,
) -> RenderedSequence:
    """``frames`` frames of a ``kind`` sequence at ``rate_hz`` (see the module docstring).

    Args:
        photos: RGB or gray uint8 photos for the textures (default: bundled photos).
        progress: called with no argument after each frame (e.g. a tqdm bar's update).
        exposure_s: motion blur: each frame averages ``BLUR_SAMPLES`` renders over this
            time centred on its pose (0: none; less than the frame interval).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown sequence kind {kind!r}; choose from {KINDS}")
    if frames < 2 or not rate_hz > 0:
        raise ValueError(f"need frames >= 2 and rate_hz > 0, got {frames} and {rate_hz}")
    if not 0.0 <= exposure_s < 1.0 / rate_hz:
        raise ValueError(f"exposure must be in [0, {1.0 / rate_hz:g}) s, got {exposure_s}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    if photos is None:
        from ..data import load_sample

        photos = [load_sample(name) for name in DEFAULT_PHOTOS]
    textures = Textures([_prepared(photo) for photo in photos])
    stamps = [index / rate_hz for index in range(frames)]
    if kind == "handheld":
        scene, poses = _room(textures, rng), _handheld_poses(np.array(stamps), rng)
    else:
        scene, poses = _street(textures, rng), _driving_poses(np.array(stamps), rng)
    setup = SETUPS[kind]
    images = []
    for index in range(frames):
        image = _exposed(scene, poses, index, setup, exposure_s * rate_hz)
        gain = 1.0 + rng.uniform(-GAIN_JITTER, GAIN_JITTER)
        noisy = image * gain + rng.normal(0.0, NOISE_GREY, image.shape)
        images.append(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
        if progress is not None:
            progress()
    return RenderedSequence(f"rendered_{kind}_{seed}", images, stamps, poses, setup, scene)


def _exposed(
    scene: PanelScene, poses: np.ndarray, index: int, setup: CameraSetup, span: float
) -> np.ndarray:
    """Frame ``index`` averaged over ``span`` frame intervals centred on its pose."""
    if span <= 0.0:
        return render(scene, poses[index], setup.K, setup.size)
    offsets = ((np.arange(BLUR_SAMPLES) + 0.5) / BLUR_SAMPLES - 0.5) * span
    renders = [render(scene, _pose_at(poses, index + offset), setup.K, setup.size)
               for offset in offsets]  # fmt: skip
    return np.mean(renders, axis=0)


def _pose_at(poses: np.ndarray, position: float) -> np.ndarray:
    """The pose at a fractional frame index: position and rotation interpolated
    between the two frames around it (beyond the ends, from the nearest pair)."""
    first = int(np.clip(np.floor(position), 0, len(poses) - 2))
    share = position - first
    start, end = poses[first], poses[first + 1]
    turn = cv2.Rodrigues(start[:3, :3].T @ end[:3, :3])[0].ravel()
    pose = np.eye(4)
    pose[:3, :3] = start[:3, :3] @ cv2.Rodrigues(share * turn)[0]
    pose[:3, 3] = start[:3, 3] + share * (end[:3, 3] - start[:3, 3])
    return pose


def write_sequence(sequence: RenderedSequence, folder: str | Path) -> dict[str, Path]:
    """``folder/frames/<stamp>.png``, ``folder/poses.txt`` (TUM) and
    ``folder/intrinsics.txt`` (``fx,fy,cx,cy``); their paths.

    Raises:
        FileExistsError: ``folder/frames`` already holds images (frames of another
            sequence would be read with these poses).
    """
    folder = Path(folder)
    frames = free_frames_folder(folder)
    frames.mkdir(parents=True, exist_ok=True)
    lines = ["# timestamp tx ty tz qx qy qz qw (camera to world, OpenCV camera axes)"]
    for stamp, image, pose in zip(sequence.stamps, sequence.frames, sequence.poses, strict=True):
        if not cv2.imwrite(str(frames / f"{stamp:.6f}.png"), image):
            raise RuntimeError(f"cannot write {frames / f'{stamp:.6f}.png'}")
        values = [*pose[:3, 3], *matrix_quaternion(pose[:3, :3])]
        lines.append(f"{stamp:.6f} " + " ".join(f"{v:.9f}" for v in values))
    poses = folder / "poses.txt"
    poses.write_text("\n".join(lines) + "\n")
    intrinsics = folder / "intrinsics.txt"
    intrinsics.write_text(",".join(f"{v:.10g}" for v in sequence.setup.intrinsics) + "\n")
    return {"frames": frames, "poses": poses, "intrinsics": intrinsics}


def free_frames_folder(folder: str | Path) -> Path:
    """``folder/frames``; ``FileExistsError`` if it already holds frames."""
    frames = Path(folder) / "frames"
    if frames.is_dir() and any(frames.glob("*.png")):
        raise FileExistsError(f"{frames} already holds frames; write to an empty folder")
    return frames


def _prepared(photo: np.ndarray) -> np.ndarray:
    """A photo as gray texture, contrast stretched so every panel shows structure."""
    gray = photo if photo.ndim == 2 else cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    low, high = np.percentile(gray, [1, 99])
    stretched = (gray.astype(np.float32) - low) * (200.0 / max(high - low, 1.0)) + 28.0
    return np.clip(stretched, 0, 255).astype(np.uint8)


# Scenes


def _box(centre, size, yaw, textures: Textures, rng, texels: float) -> list[Panel]:
    """The six faces of a box of ``size`` (x, y, z) m turned ``yaw`` rad about y."""
    turn = _rotation(0.0, yaw, 0.0)
    half = np.asarray(size) / 2
    faces = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            right_axis, down_axis = [a for a in range(3) if a != axis]
            right, down = turn[:, right_axis], turn[:, down_axis]
            normal_offset = sign * half[axis] * turn[:, axis]
            corner = centre + normal_offset - half[right_axis] * right - half[down_axis] * down
            faces.append(_panel(corner, right, down, (size[right_axis], size[down_axis]),
                                textures, rng, texels))  # fmt: skip
    return faces


def _panel(corner, right, down, size_m, textures: Textures, rng, texels: float) -> Panel:
    return Panel(
        corner=np.asarray(corner, np.float64),
        right=np.asarray(right, np.float64),
        down=np.asarray(down, np.float64),
        size_m=(float(size_m[0]), float(size_m[1])),
        texture=int(rng.integers(len(textures))),
        texels_per_m=texels * rng.uniform(0.7, 1.4),
        gain=rng.uniform(0.75, 1.15),
    )


def _room(textures: Textures, rng) -> PanelScene:
    """Walls x = +-2.5, ceiling y = -1.2, floor y = 1.3, back wall z = 4, boxes 1.5-3.5 m ahead."""
    x, up, floor, near, far = 2.5, -1.2, 1.3, -2.0, 4.0
    walls = [
        ((-x, up, far), (1, 0, 0), (0, 1, 0), (2 * x, floor - up)),  # back
        ((-x, up, near), (0, 0, 1), (0, 1, 0), (far - near, floor - up)),  # left
        ((x, up, far), (0, 0, -1), (0, 1, 0), (far - near, floor - up)),  # right
        ((-x, floor, far), (1, 0, 0), (0, 0, -1), (2 * x, far - near)),  # floor
        ((-x, up, near), (1, 0, 0), (0, 0, 1), (2 * x, far - near)),  # ceiling
    ]
    panels = [_panel(c, r, d, s, textures, rng, 220.0) for c, r, d, s in walls]
    for _ in range(5):
        size = rng.uniform([0.3, 0.25, 0.3], [0.9, 0.9, 0.8])
        centre = np.array([rng.uniform(-1.8, 1.8), floor - size[1] / 2, rng.uniform(1.5, 3.5)])
        panels += _box(centre, size, rng.uniform(-0.6, 0.6), textures, rng, 300.0)
    return PanelScene(panels, textures, background=0.0)


def _street(textures: Textures, rng) -> PanelScene:
    """A road at y = 1.65 (12 m wide with pavements), building fronts 7-11 m to each
    side with gaps, a second row 25 m out, parked cars, a flat sky."""
    road_y, length = 1.65, 260.0
    panels = [_panel((-14, road_y, -20 + length), (1, 0, 0), (0, 0, -1), (28, length),
                     textures, rng, 120.0)]  # fmt: skip
    for side in (-1.0, 1.0):
        panels.append(_panel((side * 25, road_y - 14, -20), (0, 0, 1), (0, 1, 0), (length, 14),
                             textures, rng, 60.0))  # fmt: skip
        z = -20.0
        while z < length - 20:
            width = rng.uniform(8.0, 22.0)
            height = rng.uniform(5.0, 14.0)
            offset = side * rng.uniform(7.0, 11.0)
            panels.append(_panel((offset, road_y - height, z), (0, 0, 1), (0, 1, 0),
                                 (width, height), textures, rng, 90.0))  # fmt: skip
            z += width + rng.choice([0.0, rng.uniform(2.0, 6.0)])
        z = rng.uniform(0.0, 10.0)
        while z < length - 20:
            centre = np.array([side * rng.uniform(4.2, 5.0), road_y - 0.75, z + 2.1])
            panels += _box(centre, (1.8, 1.5, 4.2), rng.uniform(-0.05, 0.05), textures, rng,
                           150.0)  # fmt: skip
            z += rng.uniform(7.0, 20.0)
    return PanelScene(panels, textures, background=190.0)


# Trajectories


def _rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """Camera-to-world rotation: yaw about y (down), then pitch about x, then roll about z."""

    def about(axis: int, angle: float) -> np.ndarray:
        vector = np.zeros(3)
        vector[axis] = angle
        return cv2.Rodrigues(vector)[0]

    return about(1, yaw) @ about(0, pitch) @ about(2, roll)


def _pose(angles: np.ndarray, position: np.ndarray) -> np.ndarray:
    """``T_world_cam`` of a camera at ``position`` turned by (pitch, yaw, roll) rad."""
    pose = np.eye(4)
    pose[:3, :3] = _rotation(*angles)
    pose[:3, 3] = position
    return pose


def _sway(stamps: np.ndarray, amplitudes: np.ndarray, rng) -> np.ndarray:
    """Smooth motion: per axis, two sinusoids of 0.05-0.25 Hz with random phases."""
    out = np.zeros((len(stamps), len(amplitudes)))
    for axis, amplitude in enumerate(amplitudes):
        for _ in range(2):
            frequency, phase = rng.uniform(0.05, 0.25), rng.uniform(0, 2 * np.pi)
            out[:, axis] += amplitude / 2 * np.sin(2 * np.pi * frequency * stamps + phase)
    return out


def _handheld_poses(stamps: np.ndarray, rng) -> np.ndarray:
    """About the room's middle, looking at the back wall: sway of up to 0.3 m and
    (pitch, yaw, roll) of up to (8, 15, 4) deg."""
    start = np.array([0.0, -0.1, -0.5])  # 1.4 m above the floor, 4.5 m from the back wall
    positions = _sway(stamps, np.array([0.3, 0.15, 0.3]), rng) + start
    angles = _sway(stamps, np.radians([8.0, 15.0, 4.0]), rng)
    return np.stack([_pose(a, p) for a, p in zip(angles, positions, strict=True)])


def _driving_poses(stamps: np.ndarray, rng) -> np.ndarray:
    """Ahead along z at 8-10 m/s, the heading turning at up to 3 deg/s, pitch and roll
    within 0.5 deg."""
    speed = rng.uniform(8.0, 10.0)
    turn_rate = np.radians(rng.uniform(-3.0, 3.0))  # heading change per second
    heading = turn_rate * stamps
    distance = speed * stamps
    x = np.cumsum(np.concatenate([[0.0], np.diff(distance) * np.sin(heading[:-1])]))
    z = np.cumsum(np.concatenate([[0.0], np.diff(distance) * np.cos(heading[:-1])]))
    wobble = _sway(stamps, np.radians([0.5, 0.0, 0.5]), rng)
    poses = []
    for index in range(len(stamps)):
        angles = wobble[index] + np.array([0.0, heading[index], 0.0])
        poses.append(_pose(angles, np.array([x[index], 0.0, z[index]])))
    return np.stack(poses)
