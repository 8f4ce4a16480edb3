"""Queueing logic of the CPU engine: order, bounds, drop accounting, shutdown."""

import threading
import time

import numpy as np
import pytest

from sobelnet_ros import FeatureExtractor
from sobelnet_ros.inference.engine import CpuEngine, create_engine
from sobelnet_ros.inference.types import ExtractorConfig, Features


class GatedExtractor:
    """Extracts only when the test opens the gate, so queue states are exact."""

    def __init__(self) -> None:
        self.config = ExtractorConfig()
        self.gate = threading.Semaphore(0)
        self.started = threading.Semaphore(0)
        self.seen: list[int] = []

    def extract(self, image: np.ndarray) -> Features:
        self.started.release()
        assert self.gate.acquire(timeout=5)
        if image.ndim != 2:
            raise ValueError("bad frame")
        self.seen.append(int(image[0, 0]))
        return Features(
            np.zeros((1, 2), np.float32),
            np.ones(1, np.float32),
            np.ones((1, 4), np.float32),
            image.shape[::-1],
        )

    configure = FeatureExtractor.configure  # the real option checks
    checked_options = FeatureExtractor.checked_options


def frame(value: int) -> np.ndarray:
    return np.full((4, 4), value, np.uint8)


def accounted(stats: dict) -> int:
    return stats["completed"] + sum(stats["failed"].values()) + sum(stats["dropped"].values())


def test_results_come_back_in_submission_order_with_meta():
    extractor = GatedExtractor()
    engine = CpuEngine(extractor, max_in_flight=3)
    for value in range(3):
        assert engine.submit(frame(value), meta=f"m{value}")
    for _ in range(3):
        extractor.gate.release()
    results = [engine.wait(timeout=5) for _ in range(3)]
    assert [r.meta for r in results] == ["m0", "m1", "m2"]
    assert [r.sequence for r in results] == [0, 1, 2]
    assert all(r.ok and r.timings_ms["latency"] >= r.timings_ms["extract"] for r in results)
    engine.close()


def test_drop_oldest_keeps_the_newest_frames_and_counts_drops():
    extractor = GatedExtractor()
    engine = CpuEngine(extractor, max_in_flight=2)
    engine.submit(frame(0))
    assert extractor.started.acquire(timeout=5)  # frame 0 is running
    for value in range(1, 5):  # one slot left: each new frame pushes out the queued one
        assert engine.submit(frame(value))
    assert engine.in_flight() == 2
    for _ in range(2):
        extractor.gate.release()
    assert [engine.wait(timeout=5).sequence for _ in range(2)] == [0, 4]
    stats = engine.stats.snapshot()
    assert stats["dropped"] == {"queue_full": 3}
    assert accounted(stats) == stats["submitted"] == 5
    engine.close()


def test_single_slot_drops_the_new_frame_while_one_runs():
    extractor = GatedExtractor()
    engine = CpuEngine(extractor, max_in_flight=1)
    engine.submit(frame(0))
    assert extractor.started.acquire(timeout=5)
    assert not engine.submit(frame(1))
    assert engine.stats.snapshot()["dropped"] == {"engine_busy": 1}
    extractor.gate.release()
    engine.close()


def test_block_policy_waits_for_room():
    extractor = GatedExtractor()
    engine = CpuEngine(extractor, max_in_flight=1, drop_policy="block")
    engine.submit(frame(0))
    submitted = threading.Event()
    threading.Thread(target=lambda: (engine.submit(frame(1)), submitted.set())).start()
    time.sleep(0.1)
    assert not submitted.is_set()
    extractor.gate.release()
    assert submitted.wait(timeout=5)
    extractor.gate.release()
    engine.close()
    assert engine.stats.snapshot()["completed"] == 2


def test_bad_frames_fail_with_a_reason_and_the_worker_survives():
    extractor = GatedExtractor()
    engine = CpuEngine(extractor, max_in_flight=4)
    engine.submit(np.zeros((4, 4, 3), np.uint8))
    engine.submit(frame(1))
    extractor.gate.release()
    extractor.gate.release()
    bad, good = engine.wait(timeout=5), engine.wait(timeout=5)
    assert isinstance(bad.error, ValueError) and bad.features is None
    assert good.ok
    assert engine.stats.snapshot()["failed"] == {"bad_input": 1}
    engine.close()


def test_close_without_drain_counts_queued_frames_as_shutdown_drops():
    extractor = GatedExtractor()
    engine = CpuEngine(extractor, max_in_flight=3)
    for value in range(3):
        engine.submit(frame(value))
    assert extractor.started.acquire(timeout=5)
    extractor.gate.release()  # the running frame finishes
    engine.close(drain=False)
    assert not engine.submit(frame(9))
    stats = engine.stats.snapshot()
    assert stats["dropped"] == {"shutdown": 3}
    assert accounted(stats) == stats["submitted"] == 4


def test_close_with_drain_finishes_everything():
    extractor = GatedExtractor()
    engine = CpuEngine(extractor, max_in_flight=3)
    for value in range(3):
        engine.submit(frame(value))
    for _ in range(3):
        extractor.gate.release()
    engine.close(drain=True)
    assert len(engine.completed()) == 3
    assert engine.wait(timeout=0.1) is None


def test_configure_checks_now_and_applies_between_frames():
    extractor = GatedExtractor()
    engine = CpuEngine(extractor)
    with pytest.raises(ValueError):
        engine.configure(nms_window=4)
    with pytest.raises(ValueError, match="cannot change"):
        engine.configure(half=True)  # not a run-time option: refused now, not at the next frame
    engine.configure(max_keypoints=7)
    engine.submit(frame(0))
    extractor.gate.release()
    engine.wait(timeout=5)
    assert extractor.config.max_keypoints == 7
    engine.close()


def test_engine_with_the_real_extractor(random_extractor, textured_image):
    engine = create_engine(random_extractor, max_in_flight=2, drop_policy="block")
    for i in range(4):
        engine.submit(textured_image, meta=i)
    results = [engine.wait(timeout=30) for _ in range(4)]
    engine.close()
    assert [r.meta for r in results] == [0, 1, 2, 3]
    direct = random_extractor.extract(textured_image)
    np.testing.assert_array_equal(results[-1].features.keypoints, direct.keypoints)


def test_bad_engine_settings():
    with pytest.raises(ValueError, match="max_in_flight"):
        CpuEngine(GatedExtractor(), max_in_flight=0)
    with pytest.raises(ValueError, match="drop_policy"):
        CpuEngine(GatedExtractor(), drop_policy="newest")


def test_cpu_copy_of_an_extractor_gives_identical_features(random_extractor, textured_image):
    copy = random_extractor.on_cpu()
    a, b = random_extractor.extract(textured_image), copy.extract(textured_image)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.descriptors, b.descriptors)


def test_with_block_closes_the_engine():
    extractor = GatedExtractor()
    with CpuEngine(extractor, max_in_flight=2) as engine:
        engine.submit(frame(1))
        extractor.gate.release()
        assert engine.wait(timeout=5) is not None
    assert not engine._worker.is_alive()
    assert not engine.submit(frame(2))
    assert engine.stats.snapshot()["dropped"] == {"shutdown": 1}


LEAVE_RUNNING = """
import numpy as np
from sobelnet_ros import FeatureExtractor
from sobelnet_ros.inference.engine import create_engine

engine = create_engine(FeatureExtractor(device="cpu"))
image = (np.random.default_rng(0).random((480, 640)) * 255).astype(np.uint8)
engine.submit(image)
engine.submit(image)
print("leaving with frames in flight", flush=True)
"""


@pytest.mark.slow
def test_leaving_python_with_frames_in_flight_exits_cleanly():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for _ in range(3):  # the abort came in most runs, not all
        done = subprocess.run([sys.executable, "-c", LEAVE_RUNNING], cwd=root,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert "terminate called" not in done.stderr
