"""The homography pair sampler: points stay in frame, H maps A onto B, batches are seeded."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from sobelnet_ros.geometry import inside_image, warp_points
from sobelnet_ros.training.homography import HomographyRanges, random_homography
from sobelnet_ros.training.images import synthetic_shapes
from sobelnet_ros.training.pairs import PairConfig, PairSampler
from sobelnet_ros.training.photometric import PhotometricRanges

NO_PHOTO = PhotometricRanges(
    brightness=0.0, contrast=0.0, gamma=0.0, max_blur_sigma=0.0, max_noise=0.0, exposure=1.0
)


def blob_source(x: float, y: float, size: int = 200) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (255 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 3.0**2))).astype(np.uint8)


def peak(image: np.ndarray) -> np.ndarray:
    """Intensity-weighted centre of the bright blob, (x, y)."""
    weights = np.clip(image - 0.5 * image.max(), 0, None)
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    return np.array([(xx * weights).sum(), (yy * weights).sum()]) / weights.sum()


def test_H_maps_a_point_of_A_onto_the_same_point_of_B():
    config = PairConfig(size=96, synthetic_fraction=0.0, photometric=NO_PHOTO)
    checked = 0
    for seed in range(12):
        sampler = PairSampler([blob_source(100, 100)], config, seed)
        view_a, view_b, _, _, H = sampler.pair(np.random.default_rng(seed))
        if view_a.max() < 200 or view_b.max() < 200:
            continue  # the blob fell outside a view
        in_a, in_b = peak(view_a.astype(float)), peak(view_b.astype(float))
        if not (
            inside_image(in_a[None], (96, 96), 8).all()
            and inside_image(in_b[None], (96, 96), 8).all()
        ):
            continue
        assert np.linalg.norm(warp_points(in_a, H)[0] - in_b) < 0.75
        checked += 1
    assert checked >= 3


def test_masks_keep_points_in_frame_and_views_agree_there():
    config = PairConfig(size=128, synthetic_fraction=0.0, photometric=NO_PHOTO)
    source = synthetic_shapes(3, 320)
    sampler = PairSampler([source], config, 0)
    view_a, view_b, mask_a, _mask_b, H = sampler.pair(np.random.default_rng(5))
    ys, xs = np.nonzero(mask_a)
    points = np.stack([xs, ys], 1).astype(float)
    assert len(points) > 1000
    in_b = warp_points(points, H)
    assert inside_image(in_b, (128, 128), margin=-1.0).all()
    # Intensities agree where both views see the scene (up to interpolation).
    resampled = cv2.warpPerspective(
        view_b, np.linalg.inv(H), (128, 128), flags=cv2.WARP_INVERSE_MAP
    )
    inner = cv2.erode(mask_a.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    difference = np.abs(resampled.astype(float) - view_a.astype(float))[inner]
    assert np.median(difference) < 4.0


def test_random_homography_respects_ranges():
    rng = np.random.default_rng(0)
    ranges = HomographyRanges(
        max_rotation_deg=0.0,
        max_scale=1.0,
        max_shear=0.0,
        max_perspective=0.0,
        max_translation=0.0,
    )
    assert np.allclose(random_homography(rng, 64, ranges), np.eye(3))
    wide = HomographyRanges(max_rotation_deg=90.0, max_scale=2.0)
    angles = [
        np.degrees(np.arctan2(h[1, 0], h[0, 0]))
        for h in (random_homography(rng, 64, wide) for _ in range(200))
    ]
    assert max(angles) > 60 and min(angles) < -60


def test_batches_are_a_function_of_seed_step_and_rank():
    sampler = PairSampler([], PairConfig(size=48, synthetic_fraction=1.0), seed=1)
    one, again, other = sampler.batch(3, 2), sampler.batch(3, 2), sampler.batch(4, 2)
    assert torch.equal(one.image_a, again.image_a) and torch.equal(one.H, again.H)
    assert not torch.equal(one.image_a, other.image_a)
    assert not torch.equal(one.image_a, sampler.batch(3, 2, rank=1).image_a)
    assert one.image_a.shape == (2, 1, 48, 48) and one.mask_b.dtype == torch.bool
    assert one.image_b.min() >= 0.0 and one.image_b.max() <= 1.0
