"""A deterministic synthetic camera sequence over bundled photos (the demo bag's frames).

A virtual camera pans across a mosaic of scikit-image photos along a smooth
path (translation, roll, zoom and a little perspective, all slow sinusoids),
while the lighting drifts (global gain and offset plus a moving vignette).
Every frame comes with its homography, so the sequence doubles as ground truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from .samples import load_sample

DEMO_PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket")


@dataclass(frozen=True)
class DemoSequenceConfig:
    """What the demo sequence looks like; defaults give the README's demo bag."""

    width: int = 640  # frame width, px
    height: int = 480  # frame height, px
    rate_hz: float = 30.0  # frame rate of the recording
    duration_s: float = 10.0  # length of the sequence
    mosaic_height: int = 720  # photos are resized to this height and placed side by side
    photos: tuple[str, ...] = DEMO_PHOTOS
    max_roll_deg: float = 6.0  # amplitude of the camera roll
    max_zoom: float = 0.12  # relative amplitude of the zoom
    max_tilt: float = 1.5e-4  # amplitude of the perspective terms, 1/px
    light_gain: float = 0.25  # relative amplitude of the global brightness drift
    vignette: float = 0.3  # darkening at the edge of the moving vignette

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16:
            raise ValueError(f"frame size {self.width}x{self.height} is too small (min 16x16)")
        if self.rate_hz <= 0 or self.duration_s <= 0:
            raise ValueError(
                f"rate_hz and duration_s must be > 0, got {self.rate_hz}, {self.duration_s}"
            )

    @property
    def frame_count(self) -> int:
        return max(1, round(self.rate_hz * self.duration_s))


def build_mosaic(config: DemoSequenceConfig) -> np.ndarray:
    """The photos side by side at ``mosaic_height`` px: ``H x W x 3`` RGB uint8."""
    tiles = []
    for name in config.photos:
        photo = load_sample(name)
        scale = config.mosaic_height / photo.shape[0]
        size = (round(photo.shape[1] * scale), config.mosaic_height)
        tiles.append(cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC))
    return np.ascontiguousarray(np.concatenate(tiles, axis=1))


def camera_homography(t: float, config: DemoSequenceConfig, mosaic_size: tuple[int, int]):
    """``H_frame_to_mosaic`` at time ``t`` (s): maps frame pixels into the mosaic.

    Returns:
        ``(3, 3)`` float64 homography.
    """
    mosaic_w, mosaic_h = mosaic_size
    phase = t / config.duration_s  # 0 -> 1 over the sequence
    margin = 0.75 * config.width
    cx = margin + (mosaic_w - 2 * margin) * 0.5 * (1 - np.cos(np.pi * phase))
    cy = mosaic_h / 2 + 0.12 * mosaic_h * np.sin(2 * np.pi * t / 6.3)
    roll = np.deg2rad(config.max_roll_deg) * np.sin(2 * np.pi * t / 4.7)
    zoom = 1.0 + config.max_zoom * np.sin(2 * np.pi * t / 5.9 + 0.8)
    tilt_x = config.max_tilt * np.sin(2 * np.pi * t / 3.9)
    tilt_y = config.max_tilt * np.cos(2 * np.pi * t / 5.3)

    to_centre = np.array([[1, 0, -config.width / 2], [0, 1, -config.height / 2], [0, 0, 1.0]])
    perspective = np.array([[1, 0, 0], [0, 1, 0], [tilt_x, tilt_y, 1.0]])
    c, s = np.cos(roll), np.sin(roll)
    rotate_zoom = np.array([[zoom * c, -zoom * s, 0], [zoom * s, zoom * c, 0], [0, 0, 1.0]])
    to_mosaic = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1.0]])
    return to_mosaic @ rotate_zoom @ perspective @ to_centre


def apply_lighting(frame: np.ndarray, t: float, config: DemoSequenceConfig) -> np.ndarray:
    """Brightness drift and a slowly moving vignette, as auto-exposure and clouds would give."""
    h, w = frame.shape[:2]
    gain = 1.0 + config.light_gain * np.sin(2 * np.pi * t / 7.3)
    offset = 12.0 * np.sin(2 * np.pi * t / 3.1)
    vx = w * (0.5 + 0.3 * np.sin(2 * np.pi * t / 8.1))
    vy = h * (0.5 + 0.3 * np.cos(2 * np.pi * t / 6.7))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - vx) ** 2 + (yy - vy) ** 2) / float(w * w + h * h)
    shade = (1.0 - config.vignette * np.clip(2.0 * r2, 0.0, 1.0)).astype(np.float32)
    out = frame.astype(np.float32) * (gain * shade)[..., None] + offset
    return np.clip(out, 0, 255).astype(np.uint8)


def demo_frames(
    config: DemoSequenceConfig | None = None,
) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
    """``(t seconds, RGB frame H x W x 3 uint8, H_frame_to_mosaic)`` for every frame, in order.

    Deterministic: the same config gives bit-identical frames on one machine.
    """
    config = config or DemoSequenceConfig()
    mosaic = build_mosaic(config)
    mosaic_size = (mosaic.shape[1], mosaic.shape[0])
    for index in range(config.frame_count):
        t = index / config.rate_hz
        H_frame_to_mosaic = camera_homography(t, config, mosaic_size)
        frame = cv2.warpPerspective(
            mosaic,
            H_frame_to_mosaic,
            (config.width, config.height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        yield t, apply_lighting(frame, t, config), H_frame_to_mosaic
