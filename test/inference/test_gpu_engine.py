"""The CUDA engine against the eager path (run by scripts/gpu_check.sh on a GPU)."""

import numpy as np
import pytest
import torch

from sobelnet_ros import FeatureExtractor
from sobelnet_ros.data import sample_images
from sobelnet_ros.inference.engine import CpuEngine, create_engine

pytestmark = pytest.mark.cuda  # every test here needs a GPU


@pytest.fixture(scope="module")
def images():
    real = [img for _, img in sample_images((640, 480), names=("astronaut", "coffee"))]
    noise = np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)
    return [*real, noise]


def _eager(half=False):
    # cpu_bf16=False: on_cpu() copies are float32 references even on AVX512-BF16/AMX hosts.
    return FeatureExtractor(random_weights=True, seed=1, device="cuda", half=half, cpu_bf16=False)


def _same_keypoints(a, b, tol=1e-3):
    assert len(a) == len(b)
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=tol)


@pytest.mark.parametrize("use_graphs", [False, True])
@pytest.mark.parametrize("concurrent", [False, True])
def test_pipelined_matches_eager_fp32(images, use_graphs, concurrent):
    extractor = _eager()
    engine = create_engine(
        extractor,
        max_in_flight=3,
        drop_policy="block",
        use_graphs=use_graphs,
        concurrent=concurrent,
    )
    for i, image in enumerate(images * 2):
        engine.submit(image, meta=i)
    results = [engine.wait(timeout=30) for _ in range(len(images) * 2)]
    engine.close()
    assert [r.meta for r in results] == list(range(len(images) * 2))
    for result, image in zip(results, images * 2, strict=True):
        expected = extractor.extract(image)
        _same_keypoints(result.features, expected)
        # float16 descriptors in the packed copy: 2.5e-4 rounding, plus TF32 noise
        np.testing.assert_allclose(result.features.descriptors, expected.descriptors, atol=1e-3)


def test_graphed_fp16_matches_eager_fp16(images):
    extractor = _eager(half=True)
    engine = create_engine(extractor, max_in_flight=2, drop_policy="block", use_graphs=True)
    for image in images:
        engine.submit(image)
        result = engine.wait(timeout=30)
        expected = extractor.extract(image)
        _same_keypoints(result.features, expected, tol=1e-2)
        np.testing.assert_allclose(result.features.descriptors, expected.descriptors, atol=1e-2)
    engine.close()


def test_new_size_captures_a_new_graph_and_stage_times_are_reported(images):
    engine = create_engine(_eager(), max_in_flight=1, drop_policy="block", stage_times=True)
    engine.submit(images[0])
    first = engine.wait(timeout=30)
    engine.submit(np.ascontiguousarray(images[0][:240, :320]))
    second = engine.wait(timeout=30)
    assert engine.graphs.captures == 2
    assert second.features.image_size == (320, 240)
    assert {"gpu_upload", "gpu_compute", "gpu_download", "latency"} <= set(first.timings_ms)
    engine.close()


@pytest.mark.parametrize(
    ("levels", "stages"),
    [(1, ("sobelnet", "nms_topk", "desnet", "sampling")), (2, ("pyramid",))],
)
def test_eager_engine_reports_every_stage(images, levels, stages):
    extractor = _eager()
    extractor.configure(pyramid_levels=levels)
    engine = create_engine(
        extractor, max_in_flight=1, drop_policy="block", use_graphs=False, stage_times=True
    )
    engine.submit(images[0])
    timings = engine.wait(timeout=30).timings_ms
    for stage in ("upload", "preprocess", *stages, "download"):
        assert timings[f"gpu_{stage}"] >= 0
    engine.close()


def test_drops_and_bad_frames_are_counted_in_order(images):
    engine = create_engine(_eager(), max_in_flight=2)
    engine.warm_up()  # 640x480 captured: no frame is dropped for a capture
    for i in range(20):
        engine.submit(images[0], meta=i)
    engine.submit(np.zeros((4, 4), np.uint8), meta="bad")
    results = list(iter(engine.wait, None))  # None once nothing is left to hand back
    stats = engine.stats.snapshot()
    assert stats["submitted"] == 21
    dropped = sum(stats["dropped"].values())
    assert stats["completed"] + dropped + stats["failed"].get("bad_input", 0) == 21
    assert set(stats["dropped"]) <= {"queue_full"}
    metas = [r.meta for r in results]
    assert metas[-2:] == [19, "bad"] and metas == [*sorted(metas[:-1]), "bad"]  # newest wins
    engine.close()


def test_configure_recaptures_with_new_options(images):
    engine = create_engine(_eager(), max_in_flight=2, drop_policy="block")
    engine.submit(images[0])
    engine.wait(timeout=30)
    engine.configure(max_keypoints=100)
    engine.submit(images[0])
    assert len(engine.wait(timeout=30).features) <= 100
    engine.close()


def test_cpu_fallback_copy_gives_the_same_features(images):
    gpu = _eager()
    cpu = gpu.on_cpu()
    assert cpu.device.type == "cpu" and cpu.dtype == torch.float32
    a, b = gpu.extract(images[0]), cpu.extract(images[0])
    # TF32 on the GPU against float32: see test_extractor.test_cuda_matches_cpu.
    matched = np.linalg.norm(a.keypoints[:, None] - b.keypoints[None], axis=-1).min(1) < 0.5
    assert matched.mean() > 0.95


def test_out_of_memory_is_a_clear_error():
    engine = create_engine(_eager(), max_in_flight=1, drop_policy="block")
    free, _ = torch.cuda.mem_get_info()
    hog = torch.empty(int(free * 0.995), dtype=torch.uint8, device="cuda")
    try:
        engine.submit(np.zeros((4320, 7680), np.uint8))
        result = engine.wait(timeout=30)
    finally:
        del hog
    assert result.features is None
    assert "CUDA failure during" in str(result.error) and "7680x4320" in str(result.error)
    assert engine.stats.snapshot()["failed"] == {"cuda_error": 1}
    engine.close()


def test_cpu_engine_is_returned_for_cpu_extractors():
    assert isinstance(create_engine(FeatureExtractor(random_weights=True)), CpuEngine)


@pytest.mark.parametrize("half_dtype", ["float16", "bfloat16"])
def test_graphed_half_matches_eager_half(images, half_dtype):
    extractor = FeatureExtractor(
        random_weights=True, seed=1, device="cuda", half=True, half_dtype=half_dtype
    )
    assert extractor.dtype == getattr(torch, half_dtype)
    engine = create_engine(extractor, max_in_flight=2, drop_policy="block")
    engine.submit(images[0])
    result = engine.wait(timeout=30)
    expected = extractor.extract(images[0])
    _same_keypoints(result.features, expected, tol=1e-2)
    engine.close()


def test_channels_last_on_cuda_gives_the_same_features(images):
    plain = _eager().extract(images[0])
    extractor = FeatureExtractor(random_weights=True, seed=1, device="cuda", channels_last=True)
    assert extractor.memory_format == torch.channels_last
    nhwc = extractor.extract(images[0])
    matched = np.linalg.norm(plain.keypoints[:, None] - nhwc.keypoints[None], axis=-1).min(1)
    assert (matched < 0.5).mean() > 0.95  # other cuDNN kernels: TF32 rounding differs


@pytest.mark.slow  # compiles; engine-bench's agreement columns check it in gpu_check.sh
def test_compiled_step_is_captured_and_matches_eager(images):
    extractor = _eager()
    engine = create_engine(extractor, max_in_flight=1, drop_policy="block", compiled=True)
    engine.submit(images[0])
    result = engine.wait(timeout=600)  # the first frame compiles
    assert result.ok, result.error
    expected = extractor.extract(images[0])
    matched = np.linalg.norm(
        result.features.keypoints[:, None] - expected.keypoints[None], axis=-1
    ).min(1)
    assert (matched < 0.5).mean() > 0.95  # fused kernels round differently
    engine.close()


def test_pending_frame_is_the_newest_on_the_gpu(images):
    engine = create_engine(_eager(), max_in_flight=1)
    engine.warm_up()
    for i in range(10):  # faster than the GPU: each waits pending, replacing the last
        engine.submit(images[i % len(images)], meta=i)
    metas = [r.meta for r in iter(engine.wait, None)]  # wait() is None once idle
    assert metas[-1] == 9 and metas == sorted(metas)
    engine.close()


def test_kernels_per_frame_are_counted(images):
    from sobelnet_ros.inference.profiling import kernels_per_frame

    engine = create_engine(_eager(), max_in_flight=1, drop_policy="block", use_graphs=False)
    counts = kernels_per_frame(engine, images[0], frames=2)
    assert counts["kernels"] > 10 and counts["frames"] == 2
    engine.close()
