"""Photometric changes of training views: ranges respected, exposure darkens and saturates,
shading is smooth and bounded."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sobelnet_ros.training.photometric import PhotometricRanges, photometric, shading

NO_CHANGE = PhotometricRanges(
    brightness=0.0,
    contrast=0.0,
    gamma=0.0,
    max_blur_sigma=0.0,
    max_noise=0.0,
    exposure=1.0,
    shade=0.0,
)
EXPOSURE_ONLY = replace(NO_CHANGE, exposure=4.0)
SHADE_ONLY = replace(NO_CHANGE, shade=1.5)


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


def test_shading_is_a_smooth_field_within_its_range():
    spans = []
    for seed in range(40):
        field = shading((48, 64), np.random.default_rng(seed), 1.5)
        assert field.shape == (48, 64) and field.dtype == np.float32 and (field > 0).all()
        log = np.log(field.astype(np.float64))
        assert abs(log.mean()) < 1e-5  # the view keeps its overall brightness
        assert np.abs(np.diff(log, axis=0)).max() < 0.1  # light changes slowly across pixels
        assert np.abs(np.diff(log, axis=1)).max() < 0.1
        spans.append(log.max() - log.min())
    assert max(spans) <= 1.5 + 1e-5 and max(spans) > 1.0 and min(spans) < 0.5


def test_shade_multiplies_the_view_by_the_field():
    image = gradient_image()
    base = image.astype(np.float32) / 255
    out = photometric(image, np.random.default_rng(3), SHADE_ONLY)
    expected = base * shading(image.shape, _after_blur_draw(3), 1.5)
    np.testing.assert_allclose(out, np.clip(expected, 0, 1), atol=1e-6)


def _after_blur_draw(seed: int) -> np.random.Generator:
    rng = np.random.default_rng(seed)
    rng.random()  # photometric's blur coin, drawn first
    return rng
