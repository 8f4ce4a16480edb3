"""The CPU's fast paths (OpenCV Sobel filter and NMS maximum, oneDNN conv+ReLU)
give the features of the plain torch paths they replace."""

import numpy as np
import pytest
import torch.nn.functional as F

from sobelnet_ros import FeatureExtractor
from sobelnet_ros.data import sample_images
from sobelnet_ros.inference import keypoints
from sobelnet_ros.models import layers, sobelnet
from sobelnet_ros.models.sobelnet import _SobelBlock


def _plain_torch_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    def shifted_sums(block: _SobelBlock, image):
        return block._shifted_sums(F.pad(image, (block.pad,) * 4, mode="replicate"))

    monkeypatch.setattr(_SobelBlock, "_opencv", shifted_sums)
    monkeypatch.setattr(
        sobelnet,
        "_upsample_opencv",
        lambda score, height, width: F.interpolate(
            score, size=(height, width), mode="bilinear", align_corners=False
        ),
    )
    monkeypatch.setattr(layers, "_fusable", lambda _x: False)
    monkeypatch.setattr(keypoints, "_max_filter_opencv", keypoints._max_filter_shifted)
    monkeypatch.setattr(
        keypoints,
        "_peaks_opencv",
        lambda scores, ratio, border, window: keypoints.max_pool_nms(
            keypoints.zero_border(keypoints.suppress_weak(scores, ratio), border), window
        ),
    )


@pytest.mark.parametrize("levels", [1, 2])
def test_fast_paths_keep_keypoints_and_descriptors(monkeypatch, levels):
    (_, photo), *_ = sample_images((640, 480), names=("astronaut",))
    extractor = FeatureExtractor(pyramid_levels=levels)  # shipped weights, bf16 where native
    fast = extractor.extract(photo)
    with monkeypatch.context() as patch:
        _plain_torch_paths(patch)
        plain = extractor.extract(photo)
    assert abs(len(fast.keypoints) - len(plain.keypoints)) <= 0.01 * len(plain.keypoints)
    distance = np.linalg.norm(plain.keypoints[:, None] - fast.keypoints[None], axis=-1)
    same = distance.min(axis=1) <= 0.01
    # Edges differ by float rounding; where that flips a bf16 rounding, a
    # near-tie at the budget's or threshold's edge may swap (a few in 1024).
    assert same.mean() >= 0.99
    partner = distance.argmin(axis=1)[same]
    assert np.abs(plain.descriptors[same] - fast.descriptors[partner]).max() < 1e-3
    assert np.abs(plain.scores[same] - fast.scores[partner]).max() < 5e-3
