"""level_mix: a keypoint's descriptor adds the neighbouring pyramid levels' at its place."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sobelnet_ros import FeatureExtractor
from sobelnet_ros.data import sample_images
from sobelnet_ros.inference.pyramid import merge_levels
from sobelnet_ros.inference.types import BatchFeatures, ExtractorConfig


@pytest.fixture
def photo():
    return sample_images((320, 240), names=("astronaut",))[0][1]


def _levels(extractor, photo):
    with torch.inference_mode():
        image = extractor.preprocess(photo)
        levels = extractor.pyramid(image)
        selected = [extractor.select(extractor.detect(lv), lv, budget) for lv, budget in levels]
        dense = [extractor.describe(lv) for lv, _ in levels]
    return levels, selected, dense


def test_each_level_adds_the_other_levels_descriptors_at_the_same_place(photo):
    extractor = FeatureExtractor(random_weights=True, cpu_chains=False, level_mix=0.5)
    levels, selected, dense = _levels(extractor, photo)
    assert len(levels) == 2
    with torch.inference_mode():
        full_points, octave_points = selected[0][0], selected[1][0]
        own_full = extractor.sample(dense[0], full_points)
        at_octave = extractor.sample(dense[1], (full_points + 0.5) / 2 - 0.5)
        own_octave = extractor.sample(dense[1], octave_points)
        at_full = extractor.sample(dense[0], (octave_points + 0.5) * 2 - 0.5)
        got_full = extractor.level_descriptors(dense, 0, full_points)
        got_octave = extractor.level_descriptors(dense, 1, octave_points)
    torch.testing.assert_close(got_full, F.normalize(own_full + 0.5 * at_octave, dim=-1))
    torch.testing.assert_close(got_octave, F.normalize(own_octave + 0.5 * at_full, dim=-1))
    norms = got_full.norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones_like(norms))
    assert not torch.allclose(got_full, own_full, atol=1e-3)  # the mix does change them


def test_extract_gives_the_mixed_descriptors_merged_as_before(photo):
    extractor = FeatureExtractor(random_weights=True, cpu_chains=False, level_mix=0.5)
    _, selected, dense = _levels(extractor, photo)
    with torch.inference_mode():
        parts = [
            BatchFeatures(points, values, extractor.level_descriptors(dense, index, points), n)
            for index, (points, values, n) in enumerate(selected)
        ]
        expected = merge_levels(parts).to("cpu").unpad(0, photo.shape[1::-1])
    got = extractor.extract(photo)
    np.testing.assert_array_equal(got.keypoints, expected.keypoints)
    np.testing.assert_array_equal(got.descriptors, expected.descriptors)


def test_without_mix_or_without_octaves_each_level_keeps_its_own_descriptors(photo):
    unmixed = FeatureExtractor(random_weights=True, cpu_chains=False, level_mix=0.0)
    with torch.inference_mode():
        image = unmixed.preprocess(photo)
        parts = [unmixed.extract_level(level, budget) for level, budget in unmixed.pyramid(image)]
        expected = merge_levels(parts).to("cpu").unpad(0, photo.shape[1::-1])
    got = unmixed.extract(photo)
    np.testing.assert_array_equal(got.descriptors, expected.descriptors)
    one_level = [
        FeatureExtractor(random_weights=True, pyramid_levels=1, level_mix=mix).extract(photo)
        for mix in (0.0, 0.5)
    ]
    np.testing.assert_array_equal(one_level[0].descriptors, one_level[1].descriptors)


def test_level_mix_is_a_checked_runtime_option(photo):
    assert ExtractorConfig().level_mix == 0.0  # off unless asked for (README, Evaluation)
    extractor = FeatureExtractor(random_weights=True, cpu_chains=False, level_mix=0.5)
    before = extractor.extract(photo).descriptors
    extractor.configure(level_mix=0.0)
    assert not np.array_equal(extractor.extract(photo).descriptors, before)
    extractor.configure(level_mix=0.5)
    np.testing.assert_array_equal(extractor.extract(photo).descriptors, before)
    for bad in (-0.1, 4.5):
        with pytest.raises(ValueError, match="level_mix"):
            ExtractorConfig(level_mix=bad)
