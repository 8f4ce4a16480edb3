import numpy as np
import pytest
import torch

from sobelnet_ros import ExtractorConfig, FeatureExtractor
from sobelnet_ros.paths import SOBELNET_FILE, default_weight_path


def test_result_types_shapes_and_norms(random_extractor, textured_image):
    features = random_extractor.extract(textured_image)
    n = len(features)
    assert 0 < n <= 1024
    assert features.keypoints.shape == (n, 2) and features.keypoints.dtype == np.float32
    assert features.scores.shape == (n,) and features.scores.dtype == np.float32
    assert features.descriptors.shape == (n, 128) and features.descriptors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features.descriptors, axis=1), 1.0, atol=1e-5)
    assert np.all(np.diff(features.scores) <= 0)
    assert features.image_size == (160, 120)


def test_deterministic(textured_image):
    a = FeatureExtractor(random_weights=True, seed=3).extract(textured_image)
    b = FeatureExtractor(random_weights=True, seed=3).extract(textured_image)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.descriptors, b.descriptors)


@pytest.mark.parametrize("max_keypoints", [1, 17, 200])
def test_max_keypoints_honoured(textured_image, max_keypoints):
    extractor = FeatureExtractor(
        random_weights=True, max_keypoints=max_keypoints, score_ratio=0.0, nms_window=1
    )
    assert len(extractor.extract(textured_image)) == max_keypoints


@pytest.mark.parametrize("border", [0, 8, 30])
def test_border_honoured(textured_image, border):
    extractor = FeatureExtractor(random_weights=True, border=border, subpixel=False)
    keypoints = extractor.extract(textured_image).keypoints
    height, width = textured_image.shape[:2]
    assert keypoints[:, 0].min() >= border and keypoints[:, 0].max() <= width - 1 - border
    assert keypoints[:, 1].min() >= border and keypoints[:, 1].max() <= height - 1 - border


def test_higher_score_ratio_keeps_fewer(textured_image):
    counts = [
        len(FeatureExtractor(random_weights=True, score_ratio=r).extract(textured_image))
        for r in (0.0, 0.9, 0.999)
    ]
    assert counts[0] >= counts[1] >= counts[2] >= 1


def test_channel_layouts_and_dtypes_agree(random_extractor, textured_image):
    gray8 = random_extractor.extract(np.ascontiguousarray(textured_image[..., 0]))
    gray16 = random_extractor.extract(textured_image[..., 0].astype(np.uint16) * 257)
    grayf = random_extractor.extract(textured_image[..., 0].astype(np.float32) / 255)
    # The three scale to [0, 1] differently (x / 255, x * 257 / 65535): up to one float32
    # ulp apart, which the sub-pixel fit of a nearly flat peak turns into a few 1e-3 px.
    np.testing.assert_allclose(gray8.keypoints, gray16.keypoints, atol=1e-2)
    np.testing.assert_allclose(gray8.keypoints, grayf.keypoints, atol=1e-2)
    rgba = np.dstack([textured_image, np.full(textured_image.shape[:2], 255, np.uint8)])
    rgb = random_extractor.extract(textured_image)
    np.testing.assert_array_equal(random_extractor.extract(rgba).keypoints, rgb.keypoints)


def _square(size=96, lo=40, hi=70) -> np.ndarray:
    image = np.full((size, size), 30, np.uint8)
    image[lo:hi, lo:hi] = 220
    return image


def test_coordinates_of_a_known_peak_map(random_extractor):
    # The post-processing on the extractor's own stages: peaks placed at known
    # pixels come back at exactly those (x, y) positions. The image is noise,
    # a corner everywhere to the corner test.
    scores = torch.zeros(1, 1, 60, 80)
    for x, y, value in [(10, 20, 0.9), (55, 12, 0.8), (70, 50, 0.7)]:
        scores[0, 0, y, x] = value
    image = torch.rand(1, 1, 60, 80, generator=torch.Generator().manual_seed(0))
    keypoints, _values, count = random_extractor.select(scores, image)
    assert int(count[0]) == 3
    assert keypoints[0, :3].tolist() == [[10.0, 20.0], [55.0, 12.0], [70.0, 50.0]]


def test_checkerboard_corners_from_a_corner_score(random_extractor):
    # A Harris-like corner response of a rendered checkerboard, run through the
    # extractor's selection: every keypoint lies on a board corner.
    board = np.kron((np.indices((6, 8)).sum(0) % 2), np.ones((16, 16))).astype(np.float32)
    image = torch.from_numpy(board).view(1, 1, 96, 128)
    gy, gx = torch.gradient(image[0, 0])
    response = (gx * gy).abs().view(1, 1, 96, 128)
    response = torch.nn.functional.avg_pool2d(response, 3, stride=1, padding=1)
    keypoints, _, count = random_extractor.select(response, image)
    found = keypoints[0, : int(count[0])].numpy()
    assert len(found) >= 20
    nearest_corner = np.round((found + 0.5) / 16) * 16 - 0.5  # corners lie between pixels
    assert np.abs(found - nearest_corner).max() <= 1.0


@pytest.mark.skipif(
    not default_weight_path(SOBELNET_FILE).is_file(), reason="no trained weights installed"
)
def test_trained_detector_finds_the_corners_of_a_square():
    features = FeatureExtractor(max_keypoints=50).extract(_square())
    corners = np.array([[39.5, 39.5], [69.5, 39.5], [39.5, 69.5], [69.5, 69.5]])
    distance = np.linalg.norm(features.keypoints[:, None] - corners[None], axis=-1)
    # The shipped detector (self-supervised "peaks" targets, chosen on MMA) peaks 2.5-3 px
    # inside a blurred step corner (measured 2.6-2.9 px at all four).
    assert (distance.min(axis=0) <= 3.5).all(), distance.min(axis=0)


def test_missing_weights_warn_with_the_expected_path(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SOBELNET_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(
        "sobelnet_ros.inference.extractor.default_weight_path", lambda name: tmp_path / name
    )
    extractor = FeatureExtractor()
    assert "no trained SobelNet weights found at" in caplog.text
    assert str(tmp_path / "sobelnet.safetensors") in caplog.text
    assert "random" in extractor.describe_sources()["sobelnet"]


def test_explicit_missing_weights_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        FeatureExtractor(sobelnet_weights=tmp_path / "nope.safetensors")


BAD_INPUTS = {
    "not an array": ([[0, 1], [2, 3]], "numpy array"),
    "empty": (np.zeros((0, 0), np.uint8), "too small"),
    "1x1": (np.zeros((1, 1), np.uint8), "too small"),
    "4-D": (np.zeros((1, 32, 32, 1), np.uint8), "H x W"),
    "two channels": (np.zeros((32, 32, 2), np.uint8), "channels"),
    "five channels": (np.zeros((32, 32, 5), np.uint8), "channels"),
    "int32": (np.zeros((32, 32), np.int32), "dtype"),
    "bool": (np.zeros((32, 32), bool), "dtype"),
    "NaN": (np.full((32, 32), np.nan, np.float32), "NaN"),
    "out of range float": (np.full((32, 32), 2.0, np.float32), r"\[0, 1\]"),
    "non-contiguous": (np.zeros((64, 64), np.uint8)[:, ::2], "contiguous"),
    "absurdly large": (np.broadcast_to(np.uint8(0), (40000, 40000)), "too large"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_raises_value_error_saying_what_was_expected(random_extractor, name):
    image, message = BAD_INPUTS[name]
    with pytest.raises(ValueError, match=message):
        random_extractor.extract(image)


def test_options_are_checked():
    for bad in ({"max_keypoints": 0}, {"nms_window": 4}, {"score_ratio": 1.5}, {"border": -1}):
        with pytest.raises(ValueError):
            ExtractorConfig(**bad)
    with pytest.raises(ValueError, match="unknown"):
        ExtractorConfig().with_options(colour="red")
    with pytest.raises(ValueError, match="device"):
        FeatureExtractor(random_weights=True, device="gpu")


def test_configure_is_all_or_nothing(random_extractor):
    before = random_extractor.config
    with pytest.raises(ValueError):
        random_extractor.configure(max_keypoints=10, nms_window=2)
    assert random_extractor.config == before
    with pytest.raises(ValueError, match="cannot change"):
        random_extractor.configure(device="cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        FeatureExtractor(random_weights=True, device="cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("half", [False, True])
def test_cuda_matches_cpu(textured_image, half):
    # The reference is float32: left alone, the CPU extractor picks bf16 on AVX512-BF16/AMX.
    cpu = FeatureExtractor(random_weights=True, cpu_bf16=False).extract(textured_image)
    gpu = FeatureExtractor(random_weights=True, device="cuda", half=half).extract(textured_image)
    # cuDNN convolutions run TF32 (10-bit mantissa, ~5e-4 relative per product) and fp16
    # the same with a smaller range: a score near a tie can swap an NMS peak or the
    # top-k cut, so a few keypoints differ. The CPU's own bf16 test (8-bit mantissa)
    # asks 90% within 1 px; TF32 is asked 95% within 0.5 px, fp16 80%.
    matched = np.linalg.norm(cpu.keypoints[:, None] - gpu.keypoints[None], axis=-1).min(1) < 0.5
    assert matched.mean() > (0.95 if not half else 0.8)


def test_bf16_networks_agree_with_float32(textured_image):
    fp32 = FeatureExtractor(random_weights=True, cpu_bf16=False)
    bf16 = FeatureExtractor(random_weights=True, cpu_bf16=True)
    assert fp32.dtype == torch.float32 and bf16.dtype == torch.bfloat16
    a, b = fp32.extract(textured_image), bf16.extract(textured_image)
    distance = np.linalg.norm(a.keypoints[:, None] - b.keypoints[None], axis=-1)
    assert (distance.min(axis=1) < 1.0).mean() > 0.9
    nearest = distance.argmin(axis=1)
    same = distance.min(axis=1) < 0.1
    cosine = (a.descriptors[same] * b.descriptors[nearest[same]]).sum(axis=1)
    assert cosine.min() > 0.98
