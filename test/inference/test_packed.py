"""The packed per-frame buffer and the gray written straight into a (pinned) buffer."""

import cv2
import numpy as np
import pytest
import torch

from sobelnet_ros.inference.image_input import gray_into, to_gray, upload_dtype
from sobelnet_ros.inference.packed import pack_features, packed_length, unpack_features
from sobelnet_ros.inference.types import BatchFeatures


def _batch(k=64, d=128, count=37):
    rng = np.random.default_rng(1)
    descriptors = rng.normal(size=(1, k, d)).astype(np.float32)
    descriptors /= np.linalg.norm(descriptors, axis=-1, keepdims=True)
    return BatchFeatures(
        torch.from_numpy((rng.random((1, k, 2)) * 600).astype(np.float32)),
        torch.from_numpy(np.sort(rng.random((1, k)).astype(np.float32))[:, ::-1].copy()),
        torch.from_numpy(descriptors),
        torch.tensor([count]),
    )


def test_packed_buffer_round_trips_with_half_descriptors():
    batch = _batch()
    packed = pack_features(batch)
    assert packed.dtype == torch.float32 and packed.numel() == packed_length(64, 128)
    features = unpack_features(packed.numpy(), 64, 128, (640, 480))
    expected = batch.unpad(0, (640, 480))
    assert len(features) == 37 and features.image_size == (640, 480)
    np.testing.assert_array_equal(features.keypoints, expected.keypoints)
    np.testing.assert_array_equal(features.scores, expected.scores)
    assert features.descriptors.dtype == np.float32
    error = np.abs(features.descriptors - expected.descriptors).max()
    assert 0 < error <= 2**-12  # float16 rounding of entries below 1, no more


def test_unpacked_features_do_not_alias_the_reused_buffer():
    packed = pack_features(_batch()).numpy()
    features = unpack_features(packed, 64, 128, (640, 480))
    before = features.keypoints.copy(), features.descriptors.copy()
    packed[:] = 0
    np.testing.assert_array_equal(features.keypoints, before[0])
    np.testing.assert_array_equal(features.descriptors, before[1])


def test_odd_descriptor_sizes_are_refused():
    with pytest.raises(ValueError, match="even"):
        packed_length(10, 63)


@pytest.mark.parametrize(
    "image",
    [
        np.arange(48 * 64, dtype=np.uint32).reshape(48, 64).astype(np.uint8),
        np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8),
        np.random.default_rng(1).integers(0, 256, (48, 64, 4), dtype=np.uint8),
        np.random.default_rng(2).integers(0, 65536, (48, 64), dtype=np.uint16),
        np.random.default_rng(3).random((48, 64, 3)).astype(np.float32),
        np.random.default_rng(4).random((48, 64)),
    ],
    ids=["gray8", "rgb8", "rgba8", "mono16", "rgb_float32", "gray_float64"],
)
def test_gray_into_a_buffer_equals_the_gray_conversion(image):
    out = np.empty(image.shape[:2], upload_dtype(image.dtype))
    gray_into(image, out)
    expected = to_gray(image)
    if image.dtype == np.uint16:
        expected = expected / 65535.0
    np.testing.assert_allclose(out, expected.astype(out.dtype), rtol=1e-6)


def test_rgb_is_converted_straight_into_the_buffer():
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    out = torch.empty((48, 64), dtype=torch.uint8).numpy()  # e.g. a pinned tensor's memory
    address = out.__array_interface__["data"][0]
    gray_into(image, out)
    assert out.__array_interface__["data"][0] == address
    np.testing.assert_array_equal(out, cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
