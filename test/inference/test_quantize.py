"""8-bit descriptors: the documented scale, the round trip, the check of the format."""

import numpy as np
import pytest

from sobelnet_ros.inference.quantize import (
    dequantize_descriptors,
    quantize_descriptors,
    round_trip,
)


def unit_rows(count: int, dim: int = 128) -> np.ndarray:
    rows = np.random.default_rng(1).normal(size=(count, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_value_over_127_is_the_component():
    descriptors = unit_rows(50)
    quantized = quantize_descriptors(descriptors)
    assert quantized.dtype == np.int8
    assert np.abs(quantized / 127.0 - descriptors).max() <= 0.5 / 127 + 1e-6
    axis = np.zeros((1, 4), np.float32)
    axis[0, 2] = -1.0
    assert quantize_descriptors(axis).tolist() == [[0, 0, -127, 0]]  # never -128


def test_round_trip_keeps_unit_norm_and_nearest_neighbours():
    descriptors = unit_rows(400)
    back = dequantize_descriptors(quantize_descriptors(descriptors))
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0, atol=1e-6)
    queries = descriptors[:200] + 0.05 * unit_rows(200)
    exact = np.argmax(queries @ descriptors.T, axis=1)
    compact = np.argmax(queries @ back.T, axis=1)
    assert (exact == compact).mean() > 0.99
    assert np.array_equal(round_trip(descriptors, "float32"), descriptors)
    with pytest.raises(ValueError, match="descriptor_format"):
        round_trip(descriptors, "int4")


def test_zero_rows_stay_zero():
    assert not dequantize_descriptors(np.zeros((2, 8), np.int8)).any()
