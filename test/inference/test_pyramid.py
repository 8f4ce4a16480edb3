import cv2
import numpy as np
import pytest
import torch

from sobelnet_ros import FeatureExtractor
from sobelnet_ros.inference.pyramid import (
    box_half,
    build_pyramid,
    level_budgets,
    level_count,
    merge_levels,
)
from sobelnet_ros.inference.types import BatchFeatures
from sobelnet_ros.paths import DESNET_FILE, SOBELNET_FILE, default_weight_path


@pytest.mark.parametrize(
    ("size", "levels", "expected"),
    [((480, 640), 1, 1), ((480, 640), 2, 2), ((480, 640), 4, 3), ((120, 160), 2, 1)],
)
def test_level_count_stops_before_octaves_too_small(size, levels, expected):
    assert level_count(*size, levels) == expected


@pytest.mark.parametrize(
    ("k", "levels", "share", "expected"),
    [
        (1024, 1, 0.25, [1024]),
        (1024, 2, 0.25, [768, 256]),
        (1024, 3, 0.25, [768, 128, 128]),
        (1024, 2, 0.0, [1024]),
        (1, 2, 0.9, [1]),
        (2, 2, 0.9, [1, 1]),
    ],
)
def test_level_budgets_add_up_and_keep_the_full_level(k, levels, share, expected):
    assert level_budgets(k, levels, share) == expected


def test_octaves_are_box_averages():
    image = torch.arange(4 * 6, dtype=torch.float32).view(1, 1, 4, 6)
    full, octave = build_pyramid(image, 2)
    assert full is image and octave.shape == (1, 1, 2, 3)
    assert octave[0, 0, 0, 0] == pytest.approx((0 + 1 + 6 + 7) / 4)


@pytest.mark.parametrize("shape", [(1, 1, 480, 640), (2, 1, 37, 53), (1, 3, 8, 9)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_the_box_average_on_the_cpu_is_avg_pool_bit_for_bit(shape, channels_last):
    image = torch.rand(shape)
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        half, expected = box_half(image), torch.nn.functional.avg_pool2d(image, 2)
    assert torch.equal(half, expected)
    assert half.is_contiguous(memory_format=torch.channels_last) == expected.is_contiguous(
        memory_format=torch.channels_last
    )


def _part(keypoints, scores, count, k):
    kp = torch.zeros(1, k, 2)
    sc = torch.zeros(1, k)
    kp[0, : len(keypoints)] = torch.tensor(keypoints, dtype=torch.float32)
    sc[0, : len(scores)] = torch.tensor(scores, dtype=torch.float32)
    desc = torch.arange(k, dtype=torch.float32).view(1, k, 1).expand(1, k, 3) + 10 * len(scores)
    return BatchFeatures(kp, sc, desc.contiguous(), torch.tensor([count]))


def test_merge_maps_octave_keypoints_to_input_pixels_best_first():
    full = _part([[10.0, 20.0], [30.0, 40.0]], [0.9, 0.2], count=2, k=3)
    octave = _part([[5.0, 6.0]], [0.5], count=1, k=2)
    merged = merge_levels([full, octave])
    assert merged.count.item() == 3
    np.testing.assert_allclose(merged.scores[0].numpy(), [0.9, 0.5, 0.2, 0, 0])
    # The octave pixel (5, 6) covers input pixels 10-11 and 12-13: centre (10.5, 12.5).
    np.testing.assert_allclose(merged.keypoints[0, :3].numpy(), [[10, 20], [10.5, 12.5], [30, 40]])
    np.testing.assert_array_equal(merged.keypoints[0, 3:].numpy(), 0)  # padding stays zero
    # Descriptors travel with their keypoints.
    assert merged.descriptors[0, 1, 0].item() == octave.descriptors[0, 0, 0].item()


def test_merge_moves_each_images_descriptors_with_its_keypoints():
    torch.manual_seed(0)
    parts = [
        BatchFeatures(
            torch.rand(2, k, 2), torch.rand(2, k), torch.randn(2, k, 4), torch.tensor([k, k])
        )
        for k in (5, 3)
    ]
    merged = merge_levels(parts)
    scores = torch.cat([part.scores for part in parts], dim=1)
    descriptors = torch.cat([part.descriptors for part in parts], dim=1)
    for image in range(2):
        order = scores[image].argsort(descending=True)
        assert torch.equal(merged.descriptors[image], descriptors[image, order])


def test_extractor_merges_levels_within_budget_and_image():
    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 255, (60, 80), dtype=np.uint8), (333, 251))
    extractor = FeatureExtractor(
        random_weights=True, pyramid_levels=2, score_ratio=0.0, max_keypoints=300
    )
    features = extractor.extract(image)
    assert len(features) == 300  # 225 + 75, both levels full
    assert np.all(np.diff(features.scores) <= 0)
    assert (features.keypoints >= 0).all()
    assert (features.keypoints[:, 0] <= 332).all() and (features.keypoints[:, 1] <= 250).all()
    np.testing.assert_allclose(np.linalg.norm(features.descriptors, axis=1), 1.0, atol=1e-5)


def test_pyramid_options_change_at_runtime(textured_image):
    extractor = FeatureExtractor(random_weights=True)
    extractor.configure(pyramid_levels=1, coarse_share=0.5)
    assert extractor.config.pyramid_levels == 1
    with pytest.raises(ValueError, match="pyramid_levels"):
        extractor.configure(pyramid_levels=5)
    with pytest.raises(ValueError, match="coarse_share"):
        extractor.configure(coarse_share=1.0)


def _zoom_out_accuracy(extractor: FeatureExtractor, image: np.ndarray, zoom: float) -> float:
    height, width = image.shape[:2]
    H = np.array(
        [[zoom, 0, width / 2 * (1 - zoom)], [0, zoom, height / 2 * (1 - zoom)], [0, 0, 1]]
    )
    view = cv2.warpPerspective(image, H, (width, height))
    a, b = extractor.extract(image), extractor.extract(view)
    similarity = a.descriptors @ b.descriptors.T
    forward, backward = similarity.argmax(1), similarity.argmax(0)
    mutual = np.flatnonzero(backward[forward] == np.arange(len(forward)))
    projected = cv2.perspectiveTransform(a.keypoints[mutual][None].astype(np.float64), H)[0]
    return float(np.mean(np.linalg.norm(projected - b.keypoints[forward[mutual]], axis=1) <= 3))


@pytest.mark.skipif(
    not (
        default_weight_path(SOBELNET_FILE).is_file() and default_weight_path(DESNET_FILE).is_file()
    ),
    reason="needs the shipped weights",
)
def test_octaves_match_a_view_zoomed_out_beyond_one_levels_reach():
    skimage_data = pytest.importorskip("skimage.data")
    image = cv2.resize(skimage_data.astronaut(), (640, 480))
    single = _zoom_out_accuracy(FeatureExtractor(pyramid_levels=1), image, 0.42)
    octaves = _zoom_out_accuracy(FeatureExtractor(pyramid_levels=2), image, 0.42)
    assert octaves > single + 0.15, (single, octaves)
