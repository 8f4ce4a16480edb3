"""8-bit descriptors: the compact form the node publishes by default.

A unit-norm float32 descriptor of D components becomes D int8 values,
``q = round(127 x)`` clipped to [-127, 127], so ``q / 127`` approximates each
component (components of a unit vector lie in [-1, 1]). Reading back divides
by 127 and renormalises to unit length. A 128-D descriptor then takes 128
bytes instead of 512; ``sobelnet eval --descriptor-format int8`` measures the
matching accuracy of exactly this round trip.
"""

from __future__ import annotations

import numpy as np

DESCRIPTOR_FORMATS = ("int8", "float32")
INT8_SCALE = 127.0  # q / INT8_SCALE ~ component


def quantize_descriptors(descriptors: np.ndarray) -> np.ndarray:
    """``(N, D)`` unit-norm float descriptors as ``(N, D)`` int8."""
    scaled = np.rint(np.asarray(descriptors, dtype=np.float32) * INT8_SCALE)
    return np.clip(scaled, -INT8_SCALE, INT8_SCALE).astype(np.int8)


def dequantize_descriptors(quantized: np.ndarray) -> np.ndarray:
    """``(N, D)`` int8 descriptors back to unit-norm float32 (a zero row stays zero)."""
    values = np.asarray(quantized, dtype=np.float32) / INT8_SCALE
    norms = np.linalg.norm(values, axis=1, keepdims=True)
    return values / np.where(norms > 0, norms, 1.0)


def round_trip(descriptors: np.ndarray, descriptor_format: str) -> np.ndarray:
    """Descriptors as a reader of the given format gets them back (float32)."""
    if descriptor_format not in DESCRIPTOR_FORMATS:
        raise ValueError(
            f"descriptor_format must be one of {DESCRIPTOR_FORMATS}, got {descriptor_format!r}"
        )
    if descriptor_format == "float32":
        return np.asarray(descriptors, dtype=np.float32)
    return dequantize_descriptors(quantize_descriptors(descriptors))
