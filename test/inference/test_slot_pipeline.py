"""Scheduling of the pipelined engine, on the CPU: pending frame, waiting, failures,
options, captures. The backend finishes a slot only when the test says so, so every
queue state is exact; the last tests run the real extractor in host slots."""

import threading
import time

import numpy as np
import pytest

from sobelnet_ros import FeatureExtractor
from sobelnet_ros.inference.host_slots import HostSlots
from sobelnet_ros.inference.slot_pipeline import EngineError, SlotPipeline
from sobelnet_ros.inference.types import ExtractorConfig, Features

SIZE = (16, 16)  # the smallest valid image


class GatedSlots:
    """A SlotBackend whose slots finish when the test opens their gate."""

    def __init__(self, slots: int = 1, captured=(SIZE,)) -> None:
        self.slot_count = slots
        self.config = ExtractorConfig()
        self.finished = [threading.Event() for _ in range(slots)]
        self.values: list[int | None] = [None] * slots
        self.launched: list[int] = []
        self.captured = list(captured)
        self.capture_threads: list[str] = []
        self.capture_started = threading.Event()
        self.capture_gate = threading.Event()
        self.capture_gate.set()
        self.capture_error: EngineError | None = None
        self.fail_launches = 0
        self.recovered: list[int] = []
        self.ready_calls = 0

    checked_options = FeatureExtractor.checked_options  # the real option checks

    def check_options(self, options):
        self.checked_options(**options)

    def input_key(self, image):
        return image.shape[:2]

    def needs_capture(self, key):
        return key not in self.captured

    def capture(self, key):
        self.capture_threads.append(threading.current_thread().name)
        self.capture_started.set()
        assert self.capture_gate.wait(5)
        if self.capture_error is not None:
            raise self.capture_error
        self.captured.append(key)

    def launch(self, slot, image):
        assert self.finished[slot].is_set() or self.values[slot] is None, "slot reused busy"
        self.finished[slot].clear()
        self.values[slot] = int(image[0, 0])
        if self.fail_launches:
            self.fail_launches -= 1
            raise EngineError(f"CUDA failure during graph replay (value {image[0, 0]})")
        self.launched.append(int(image[0, 0]))

    def finish(self, value: int) -> None:
        self.finished[self.values.index(value)].set()

    def ready(self, slot):
        self.ready_calls += 1
        return self.finished[slot].is_set()

    def wait_ready(self, slot, timeout):
        self.finished[slot].wait(timeout)

    def recover(self, slot):
        self.recovered.append(slot)
        self.finished[slot].set()  # what the failed launch enqueued has finished

    def collect(self, slot, size):
        value = self.values[slot]
        return Features(np.full((1, 2), value, np.float32), np.ones(1, np.float32),
                        np.ones((1, 4), np.float32), size), {}  # fmt: skip

    def reconfigure(self, options):
        self.config = self.config.with_options(**options)
        self.captured.clear()

    def close(self):
        pass


def frame(value: int, size=SIZE) -> np.ndarray:
    return np.full(size, value, np.uint8)


def value_of(result) -> int:
    return int(result.features.keypoints[0, 0])


def accounted(stats: dict) -> int:
    return stats["completed"] + sum(stats["failed"].values()) + sum(stats["dropped"].values())


def test_the_newest_frame_replaces_the_pending_one():
    slots = GatedSlots(slots=1)
    engine = SlotPipeline(slots, "drop_oldest")
    assert engine.submit(frame(0))  # starts
    for value in (1, 2, 3):  # each waits in the pending place, replacing the one before
        assert engine.submit(frame(value))
    assert engine.in_flight() == 2 and slots.launched == [0]
    slots.finish(0)
    assert value_of(engine.wait(timeout=5)) == 0
    assert slots.launched == [0, 3]  # the newest, started as the slot came free
    slots.finish(3)
    assert value_of(engine.wait(timeout=5)) == 3
    stats = engine.stats.snapshot()
    assert stats["dropped"] == {"queue_full": 2}
    assert accounted(stats) == stats["submitted"] == 4
    engine.close()


def test_results_come_back_in_submission_order_whatever_finishes_first():
    slots = GatedSlots(slots=3)
    engine = SlotPipeline(slots, "drop_oldest")
    for value in range(3):
        engine.submit(frame(value), meta=value)
    slots.finish(2)
    slots.finish(1)
    assert engine.completed() == []  # frame 0 is not done: nothing overtakes it
    slots.finish(0)
    assert [r.meta for r in (engine.wait(timeout=5) for _ in range(3))] == [0, 1, 2]
    engine.close()


def test_wait_blocks_on_the_slot_and_on_submissions_without_polling():
    slots = GatedSlots(slots=1)
    engine = SlotPipeline(slots, "drop_oldest")
    got = []
    waiter = threading.Thread(target=lambda: got.append(engine.wait(timeout=10)))
    waiter.start()
    time.sleep(0.2)  # nothing in flight: the waiter sleeps on the condition
    engine.submit(frame(5))
    time.sleep(0.3)  # frame in flight: the waiter blocks on the slot
    assert slots.ready_calls < 10  # a polling wait would have asked hundreds of times
    started = time.monotonic()
    slots.finish(5)
    waiter.join(timeout=5)
    assert value_of(got[0]) == 5 and time.monotonic() - started < 1.0
    assert engine.wait(timeout=0.05) is None and engine.wait() is None  # idle: no hang
    engine.close()


def test_a_failed_launch_fails_its_frame_and_recovers_the_slot_before_reuse():
    slots = GatedSlots(slots=1)
    engine = SlotPipeline(slots, "drop_oldest")
    slots.fail_launches = 1
    assert engine.submit(frame(1), meta="bad")
    assert slots.recovered == [0]
    assert engine.submit(frame(2), meta="good")  # the recovered slot takes the next frame
    slots.finish(2)
    failed, good = engine.wait(timeout=5), engine.wait(timeout=5)
    assert isinstance(failed.error, EngineError) and failed.meta == "bad"
    assert good.ok and value_of(good) == 2
    assert engine.stats.snapshot()["failed"] == {"cuda_error": 1}
    engine.close()


def test_bad_input_fails_in_order_with_its_reason():
    slots = GatedSlots(slots=2)
    engine = SlotPipeline(slots, "drop_oldest")
    engine.submit(frame(1), meta=1)
    engine.submit(np.zeros((4, 4), np.uint8), meta="tiny")
    slots.finish(1)
    first, second = engine.wait(timeout=5), engine.wait(timeout=5)
    assert (first.meta, second.meta) == (1, "tiny")
    assert isinstance(second.error, ValueError) and "too small" in str(second.error)
    assert engine.stats.snapshot()["failed"] == {"bad_input": 1}
    engine.close()


def test_configure_checks_at_once_and_applies_between_frames():
    slots = GatedSlots(slots=1)
    engine = SlotPipeline(slots, "block")
    with pytest.raises(ValueError, match="cannot change"):
        engine.configure(half=True)  # fixed at construction: refused now, frames go on
    with pytest.raises(ValueError, match="nms_window"):
        engine.configure(nms_window=4)
    engine.submit(frame(1))
    engine.configure(max_keypoints=7)
    assert slots.config.max_keypoints == 1024  # not while a frame is on the device
    submitted = threading.Thread(target=engine.submit, args=(frame(2),))
    submitted.start()
    time.sleep(0.1)
    assert slots.config.max_keypoints == 1024  # the next frame waits for the one in flight
    slots.finish(1)
    submitted.join(timeout=5)
    assert slots.config.max_keypoints == 7 and SIZE in slots.captured  # captured again
    slots.finish(2)
    assert [value_of(engine.wait(timeout=5)) for _ in range(2)] == [1, 2]
    engine.close()


def test_a_new_size_is_captured_off_the_callers_thread_once_nothing_is_in_flight():
    slots = GatedSlots(slots=1)
    engine = SlotPipeline(slots, "drop_oldest")
    engine.submit(frame(1))
    slots.capture_gate.clear()
    big = (32, 24)
    assert not engine.submit(frame(2, big))  # dropped at once, the capture starts elsewhere
    time.sleep(0.1)
    assert not slots.capture_started.is_set()  # frame 1 is still on the device
    slots.finish(1)
    assert slots.capture_started.wait(5)
    assert slots.capture_threads == ["sobelnet-capture"]
    assert not engine.submit(frame(3))  # every frame is dropped while the capture runs
    slots.capture_gate.set()
    assert value_of(engine.wait(timeout=5)) == 1
    deadline = time.monotonic() + 5
    while slots.needs_capture(big) and time.monotonic() < deadline:
        time.sleep(0.01)
    engine.wait(timeout=0.2)  # the capture thread has finished and signalled
    assert engine.submit(frame(4, big))
    slots.finish(4)
    assert value_of(engine.wait(timeout=5)) == 4
    stats = engine.stats.snapshot()
    assert stats["dropped"] == {"graph_capture": 2}
    assert accounted(stats) == stats["submitted"] == 4
    engine.close()


def test_block_policy_captures_in_submit_and_drops_nothing():
    slots = GatedSlots(slots=1, captured=())
    engine = SlotPipeline(slots, "block")
    assert engine.submit(frame(1))
    assert slots.capture_threads == [threading.current_thread().name]
    waiting = threading.Thread(target=engine.submit, args=(frame(2),))
    waiting.start()
    time.sleep(0.1)
    assert slots.launched == [1]  # submit waits for the slot
    slots.finish(1)
    waiting.join(timeout=5)
    slots.finish(2)
    assert [value_of(engine.wait(timeout=5)) for _ in range(2)] == [1, 2]
    assert engine.stats.snapshot()["dropped"] == {}
    engine.close()


def test_a_failed_capture_fails_the_frames_of_that_size_with_its_reason():
    slots = GatedSlots(slots=1, captured=())
    slots.capture_error = EngineError("CUDA failure during graph capture of a 16x16 frame")
    engine = SlotPipeline(slots, "block")
    engine.submit(frame(1), meta="a")
    engine.submit(frame(2), meta="b")
    results = [engine.wait(timeout=5) for _ in range(2)]
    assert all("graph capture" in str(r.error) for r in results)
    assert len(slots.capture_threads) == 1  # not retried for every frame
    assert engine.stats.snapshot()["failed"] == {"cuda_error": 2}
    engine.close()


def test_close_without_drain_drops_the_pending_frame_and_finishes_the_started_one():
    slots = GatedSlots(slots=1)
    engine = SlotPipeline(slots, "drop_oldest")
    engine.submit(frame(1))
    engine.submit(frame(2))
    slots.finish(1)
    engine.close(drain=False)
    assert not engine.submit(frame(3))
    stats = engine.stats.snapshot()
    assert stats["completed"] == 1 and stats["dropped"] == {"shutdown": 2}
    assert accounted(stats) == stats["submitted"] == 3


@pytest.fixture(scope="module")
def host_extractor():
    return FeatureExtractor(random_weights=True, seed=0, cpu_bf16=False)


@pytest.mark.parametrize("policy", ["block", "drop_oldest"])
def test_host_slots_give_the_extractors_features(host_extractor, textured_image, policy):
    engine = SlotPipeline(HostSlots(host_extractor, slots=2), policy)
    engine.warm_up([(160, 120)])
    results = []
    for i in range(3):
        engine.submit(textured_image, meta=i)
        if policy == "drop_oldest":  # one at a time: nothing is dropped
            results.append(engine.wait(timeout=30))
    results += iter(engine.wait, None)  # wait() is None once nothing is left to hand back
    engine.close()
    assert [r.meta for r in results] == [0, 1, 2] and all(r.ok for r in results)
    expected = host_extractor.extract(textured_image)
    result = results[-1]
    np.testing.assert_array_equal(result.features.keypoints, expected.keypoints)
    # descriptors come back in float16: within 2.5e-4 of a unit vector's entries
    np.testing.assert_allclose(result.features.descriptors, expected.descriptors, atol=2.5e-4)
    assert result.timings_ms["host_step"] > 0


def test_host_slots_fail_a_frame_that_fails_in_its_slot(host_extractor):
    extractor = FeatureExtractor(random_weights=True, seed=0, cpu_bf16=False)
    engine = SlotPipeline(HostSlots(extractor, slots=1), "block")
    engine.warm_up([(64, 64)])
    extractor.desnet = None  # the step now fails inside the worker thread
    engine.submit(np.zeros((64, 64), np.uint8))
    result = engine.wait(timeout=30)
    assert isinstance(result.error, EngineError) and "64x64" in str(result.error)
    assert engine.stats.snapshot()["failed"] == {"cuda_error": 1}
    engine.close()


@pytest.mark.slow  # compiles (about half a minute on two cores)
def test_compiled_host_slots_match_the_eager_ones(textured_image):
    extractor = FeatureExtractor(random_weights=True, seed=0, cpu_bf16=False)
    results = []
    for compiled in (False, True):
        engine = SlotPipeline(HostSlots(extractor, slots=1, compiled=compiled), "block")
        engine.submit(textured_image)
        results.append(engine.wait(timeout=600))
        engine.close()
    eager, compiled = results
    assert compiled.ok, compiled.error
    assert len(compiled.features) == len(eager.features)
    # Inductor fuses and reorders float sums: sub-pixel positions move by rounding only.
    np.testing.assert_allclose(compiled.features.keypoints, eager.features.keypoints, atol=1e-3)
    np.testing.assert_allclose(compiled.features.descriptors, eager.features.descriptors,
                               atol=2e-3)  # fmt: skip
