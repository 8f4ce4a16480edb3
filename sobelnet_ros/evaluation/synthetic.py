"""Deterministic six-image sequences with known homographies, from bundled photos.

For CI and quick checks on any clone (no dataset download). Sequence ``i``
uses photo ``SAMPLE_NAMES[i % 13]``; even sequences are ``v_*`` (viewpoint:
random perspective homographies growing with k), odd ones ``i_*``
(illumination: gain, gamma, a shading ramp and noise growing with k, identity
homography). Each view is rendered from the photo upsampled to
``SOURCE_SIZE``, so views see real content rather than borders; the little
that falls outside is mirrored. Everything comes from
``numpy.random.default_rng([seed, i])``: the same arguments give the same
pixels on every machine that has the same OpenCV and scikit-image.

Other photos (``photos``, e.g. the training photos ``sobelnet train`` holds
out) give development sets that no evaluation figure is measured on, and
``zoom_sequences`` adds what these lack: zoom by up to 2.2x with a turn.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..data import SAMPLE_NAMES, load_sample
from .datasets import NUM_IMAGES, Sequence

SOURCE_SCALE = 1.6  # the photo is resized to SOURCE_SCALE x the view size [ours]
MAX_ROTATION_DEG = 8.0  # per step k - 1, so up to 40 deg at k = 6 [ours]
MAX_CORNER_SHIFT = 0.05  # per step, fraction of the view size [ours]
MAX_LOG_SCALE = 0.08  # per step [ours]
ZOOM_RANGE = (1.6, 2.2)  # overall zoom of a zoom sequence, first to last view [ours]
MAX_ZOOM_TURN_DEG = 30.0  # overall turn of a zoom sequence [ours]


def synthetic_sequences(
    count: int,
    seed: int = 0,
    size: tuple[int, int] = (512, 384),
    photos: list[tuple[str, np.ndarray]] | None = None,
) -> list[Sequence]:
    """``count`` sequences of six RGB uint8 views of ``size`` = (width, height).

    ``photos``: (name, RGB uint8 image) pairs to render instead of the bundled
    photos, sequence ``i`` from photo ``i % len(photos)``, each scaled to cover
    ``SOURCE_SCALE`` x the view size and cropped at its centre.
    """
    _check(count, size)
    width, height = size
    source_size = (round(width * SOURCE_SCALE), round(height * SOURCE_SCALE))
    sources: dict[str, np.ndarray] = {}
    sequences = []
    for index in range(count):
        if photos is None:
            name = SAMPLE_NAMES[index % len(SAMPLE_NAMES)]
            if name not in sources:
                sources[name] = cv2.resize(
                    load_sample(name), source_size, interpolation=cv2.INTER_CUBIC
                )
            source = sources[name]
        else:
            name, photo = photos[index % len(photos)]
            source = _cover(photo, source_size)
        rng = np.random.default_rng([seed, index])
        make = _viewpoint if index % 2 == 0 else _illumination
        sequences.append(make(f"{index:03d}_{name}", source, size, rng))
    return sequences


def zoom_sequences(
    count: int,
    photos: list[tuple[str, np.ndarray]],
    seed: int = 0,
    size: tuple[int, int] = (320, 240),
) -> list[Sequence]:
    """``count`` viewpoint sequences that zoom out (even ``i``) or in (odd ``i``).

    Photo ``i % len(photos)`` is scaled to cover twice the view size; the views
    are similarities about its centre whose scale runs from 1 to ``1 / zoom``
    (or back) and whose angle runs from 0 to ``turn``, with ``zoom`` in
    ``ZOOM_RANGE`` and ``|turn|`` up to ``MAX_ZOOM_TURN_DEG`` drawn per sequence.
    The most zoomed-in view shows the photo at its scaled size, so no view is
    an upsampled blur of another.
    """
    _check(count, size)
    width, height = size
    sequences = []
    for index in range(count):
        name, photo = photos[index % len(photos)]
        source = _cover(photo, (2 * width, 2 * height))
        rng = np.random.default_rng([seed, index])
        zoom = rng.uniform(*ZOOM_RANGE)
        turn = np.deg2rad(rng.uniform(-1, 1) * MAX_ZOOM_TURN_DEG)
        centre = np.array([source.shape[1] - 1, source.shape[0] - 1]) / 2
        to_view = _translation(np.array([width - 1, height - 1]) / 2)
        G = []
        for step in range(NUM_IMAGES):
            progress = step / (NUM_IMAGES - 1)
            scale = zoom ** -(progress if index % 2 == 0 else 1 - progress)
            G.append(to_view @ _similarity(scale, turn * progress) @ _translation(-centre))
        views = [_render(source, g, size) for g in G]
        G1_inv = np.linalg.inv(G[0])
        homographies = np.stack([g @ G1_inv for g in G[1:]])
        homographies /= homographies[:, 2:3, 2:3]
        sequences.append(
            Sequence(f"v_zoom_{index:03d}_{name}", "viewpoint", homographies, arrays=views)
        )
    return sequences


def _check(count: int, size: tuple[int, int]) -> None:
    if count < 1:
        raise ValueError(f"--synthetic needs at least 1 sequence, got {count}")
    width, height = size
    if width < 64 or height < 64:
        raise ValueError(f"synthetic image size must be at least 64x64, got {size}")


def _cover(photo: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``photo`` scaled (aspect kept) to cover ``size`` = (width, height), centre crop."""
    width, height = size
    scale = max(width / photo.shape[1], height / photo.shape[0])
    scaled_size = (round(photo.shape[1] * scale + 0.5), round(photo.shape[0] * scale + 0.5))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    scaled = cv2.resize(photo, scaled_size, interpolation=interpolation)
    top = (scaled.shape[0] - height) // 2
    left = (scaled.shape[1] - width) // 2
    return np.ascontiguousarray(scaled[top : top + height, left : left + width])


def _similarity(scale: float, angle: float) -> np.ndarray:
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1.0]])


def _viewpoint(name: str, source: np.ndarray, size: tuple[int, int], rng) -> Sequence:
    # G_k maps source pixels to view k; H_1_k = G_k G_1^-1.
    width, height = size
    centre = np.array([source.shape[1] - 1, source.shape[0] - 1]) / 2
    to_view = _translation(np.array([width - 1, height - 1]) / 2 - centre)
    G = [to_view]
    for step in range(1, NUM_IMAGES):
        G.append(to_view @ _random_warp(size, centre, step, rng))
    views = [_render(source, g, size) for g in G]
    G1_inv = np.linalg.inv(G[0])
    homographies = np.stack([g @ G1_inv for g in G[1:]])
    homographies /= homographies[:, 2:3, 2:3]
    return Sequence(f"v_synth_{name}", "viewpoint", homographies, arrays=views)


def _random_warp(size: tuple[int, int], centre: np.ndarray, step: int, rng) -> np.ndarray:
    """Rotation, scale and perspective about ``centre`` (source pixels), larger with step."""
    width, height = size
    angle = np.deg2rad(rng.uniform(-1, 1) * MAX_ROTATION_DEG * step)
    scale = np.exp(rng.uniform(-1, 1) * MAX_LOG_SCALE * step)
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    similarity = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1.0]])
    # Perspective: move the four corners of a view-sized square at random.
    half = np.array([width, height]) / 2
    square = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
    moved = square + rng.uniform(-1, 1, (4, 2)) * MAX_CORNER_SHIFT * step * half * 2
    perspective = cv2.getPerspectiveTransform(square.astype(np.float32), moved.astype(np.float32))
    return _translation(centre) @ perspective @ similarity @ _translation(-centre)


def _translation(offset: np.ndarray) -> np.ndarray:
    return np.array([[1, 0, offset[0]], [0, 1, offset[1]], [0, 0, 1.0]])


def _render(source: np.ndarray, source_to_view: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpPerspective(
        source, source_to_view, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )


def _illumination(name: str, source: np.ndarray, size: tuple[int, int], rng) -> Sequence:
    width, height = size
    offset = (np.array([source.shape[1], source.shape[0]]) - [width, height]) // 2
    reference = _render(source, _translation(-offset), size)
    views = [reference]
    for step in range(1, NUM_IMAGES):
        views.append(_relight(reference, step, rng))
    homographies = np.repeat(np.eye(3)[None], NUM_IMAGES - 1, axis=0)
    return Sequence(f"i_synth_{name}", "illumination", homographies, arrays=views)


def _relight(image: np.ndarray, step: int, rng) -> np.ndarray:
    """Gain, gamma, a linear shading ramp and noise, each stronger with ``step``."""
    height, width = image.shape[:2]
    strength = step / (NUM_IMAGES - 1)
    gain = np.exp(rng.choice([-1, 1]) * rng.uniform(0.3, 0.9) * strength)
    gamma = np.exp(rng.uniform(-0.5, 0.5) * strength)
    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction)
    ys, xs = np.mgrid[0:height, 0:width]
    ramp = ((xs / width - 0.5) * direction[0] + (ys / height - 0.5) * direction[1])[..., None]
    shading = np.exp(0.8 * strength * ramp)
    out = (image.astype(np.float64) / 255.0) ** gamma * gain * shading
    out += rng.normal(0, 0.01 + 0.015 * strength, out.shape)
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
