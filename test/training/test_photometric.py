"""Photometric changes of training views: ranges respected, exposure darkens and saturates."""

from __future__ import annotations

import numpy as np

from sobelnet_ros.training.photometric import PhotometricRanges, photometric

EXPOSURE_ONLY = PhotometricRanges(
    brightness=0.0, contrast=0.0, gamma=0.0, max_blur_sigma=0.0, max_noise=0.0, exposure=4.0
)


def gradient_image() -> np.ndarray:
    return np.tile(np.linspace(40, 215, 64), (48, 1)).astype(np.uint8)


def test_exposure_is_a_gain_within_its_range_clipped_to_one():
    image = gradient_image()
    base = image.astype(np.float32) / 255
    gains = []
    for seed in range(40):
        out = photometric(image, np.random.default_rng(seed), EXPOSURE_ONLY)
        assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
        unclipped = out < 1.0
        gain = out[unclipped] / base[unclipped]
        assert np.allclose(gain, gain.mean(), rtol=1e-4)  # one gain for the whole view
        gains.append(float(gain.mean()))
    assert 1 / 4 <= min(gains) < 0.5 and 2.0 < max(gains) <= 4
    saturated = photometric(image, np.random.default_rng(int(np.argmax(gains))), EXPOSURE_ONLY)
    assert (saturated == 1.0).any()
