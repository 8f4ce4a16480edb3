"""Photometric changes of a view: exposure, shading, brightness, contrast, gamma, blur, noise."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class PhotometricRanges:
    """Ranges of the random photometric changes [ours]."""

    brightness: float = 0.2  # additive, of the [0, 1] range
    contrast: float = 0.3  # multiplicative, 1 +- this
    gamma: float = 0.4  # log-uniform in [1 / (1 + g), 1 + g]
    max_blur_sigma: float = 1.2  # px, applied with probability 1/3
    max_noise: float = 0.03  # std of Gaussian noise, of the [0, 1] range
    exposure: float = 2.5  # gain log-uniform in [1 / e, e], then clipped; <= 1: none
    shade: float = 0.0  # uneven light, one part up to exp(shade)x another; 0: none


def photometric(image: np.ndarray, rng: np.random.Generator, ranges: PhotometricRanges):
    """A randomly changed float32 copy of a uint8 gray view, values in [0, 1]."""
    out = image.astype(np.float32) / 255.0
    if rng.random() < 1 / 3 and ranges.max_blur_sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, ranges.max_blur_sigma))
    if ranges.exposure > 1:
        # Before the tone changes, like a camera's exposure: a dark view keeps
        # little signal above the noise added last, a bright one saturates.
        gain = float(np.exp(rng.uniform(-1, 1) * np.log(ranges.exposure)))
        out = np.clip(out * gain, 0.0, 1.0)
    if ranges.shade > 0:
        # Light that falls unevenly (vignetting, a lamp, a shadow's edge) scales
        # radiance too, before the camera's response curve.
        out = np.clip(out * shading(out.shape, rng, ranges.shade), 0.0, 1.0)
    gamma = float(np.exp(rng.uniform(-1, 1) * np.log1p(ranges.gamma)))
    out = np.power(np.clip(out, 0.0, 1.0), gamma)
    mean = out.mean()
    out = (out - mean) * (1 + rng.uniform(-1, 1) * ranges.contrast) + mean
    out = out + rng.uniform(-1, 1) * ranges.brightness
    out = out + rng.normal(0.0, rng.uniform(0, ranges.max_noise), out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def shading(shape: tuple[int, ...], rng: np.random.Generator, strength: float) -> np.ndarray:
    """A smooth positive float32 light field of ``shape``: a ramp and a soft spot.

    Its log has zero mean and spans ``uniform(0, strength)``, so the brightest
    part gets at most ``exp(strength)`` times the light of the darkest.
    """
    height, width = shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs = xs / max(width - 1, 1) - 0.5
    ys = ys / max(height - 1, 1) - 0.5
    angle = rng.uniform(0.0, 2 * np.pi)
    ramp = xs * np.cos(angle) + ys * np.sin(angle)
    cx, cy = rng.uniform(-0.5, 0.5, 2)
    radius = rng.uniform(0.15, 0.5)
    spot = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2))
    log_field = rng.uniform(-1, 1) * ramp + rng.uniform(-1, 1) * spot
    log_field -= log_field.mean()
    span = float(log_field.max() - log_field.min())
    log_field *= rng.uniform(0.0, strength) / max(span, 1e-6)
    return np.exp(log_field).astype(np.float32)
