"""The demo sequence: deterministic, moving smoothly, and true to its homographies."""

from __future__ import annotations

import numpy as np
import pytest

from sobelnet_ros.data.demo_sequence import (
    DemoSequenceConfig,
    build_mosaic,
    camera_homography,
    demo_frames,
)
from sobelnet_ros.geometry import warp_points

SMALL = DemoSequenceConfig(width=160, height=120, duration_s=0.2, mosaic_height=240)


def test_frames_are_deterministic_and_sized():
    first = list(demo_frames(SMALL))
    second = list(demo_frames(SMALL))
    assert len(first) == SMALL.frame_count == 6
    for (t0, a, h0), (t1, b, h1) in zip(first, second, strict=True):
        assert t0 == t1 and a.shape == (120, 160, 3) and a.dtype == np.uint8
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(h0, h1)


def test_camera_moves_smoothly_and_frames_differ():
    frames = [frame for _, frame, _ in demo_frames(SMALL)]
    assert not np.array_equal(frames[0], frames[1])
    config = DemoSequenceConfig()  # the demo bag's path: 10 s at 30 Hz
    mosaic = build_mosaic(config)
    size = (mosaic.shape[1], mosaic.shape[0])
    corners = np.array([[0.0, 0.0], [639.0, 0.0], [0.0, 479.0], [639.0, 479.0]])
    path = np.stack(
        [warp_points(corners, camera_homography(t, config, size)) for t in np.arange(300) / 30]
    )
    steps = np.linalg.norm(np.diff(path, axis=0), axis=2)  # px per frame, per corner
    assert steps.max() < 40 and np.median(steps) > 1  # moving, never jumping
    assert path[..., 0].min() > -50 and path[..., 0].max() < size[0] + 50  # stays on the photos


def test_homography_maps_frame_pixels_onto_the_mosaic():
    config = DemoSequenceConfig(width=160, height=120, duration_s=0.1, mosaic_height=240,
                                light_gain=0.0, vignette=0.0)  # fmt: skip
    mosaic = build_mosaic(config).astype(np.float64)
    _, frame, H_frame_to_mosaic = next(demo_frames(config))
    rng = np.random.default_rng(0)
    points = rng.uniform([10, 10], [150, 110], size=(50, 2)).round()
    warped = warp_points(points, H_frame_to_mosaic).round().astype(int)
    ours = frame[points[:, 1].astype(int), points[:, 0].astype(int)].astype(np.float64)
    theirs = mosaic[warped[:, 1], warped[:, 0]]
    offset = 12.0 * np.sin(0.0)  # lighting offset at t = 0
    assert np.median(np.abs(ours - theirs - offset)) < 25  # bilinear vs nearest sampling


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="too small"):
        DemoSequenceConfig(width=8, height=8)
