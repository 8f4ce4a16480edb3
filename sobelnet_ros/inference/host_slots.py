"""The slot pipeline on the CPU: each slot a worker thread, as a CUDA slot has a stream.

It runs the same packed step as the CUDA engine (eager, or through
``torch.compile``), with a "capture" that runs the step once per new input
size (and compiles it there). It lets the scheduling of ``slot_pipeline.py``
and the engine benchmark run on a machine without a GPU; the CPU engine of
``engine.py`` remains the one the node uses on the CPU.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import torch

from .extractor import FeatureExtractor
from .graphed_step import packed_step
from .image_input import gray_into, gray_scale_factor, upload_dtype
from .packed import unpack_features
from .slot_pipeline import EngineError
from .types import Features


class _Worker:
    """One slot: a thread running its jobs in order (the CPU's stand-in for a stream)."""

    def __init__(self, name: str) -> None:
        self.jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self.done = threading.Event()
        self.done.set()
        self.error: BaseException | None = None
        self.buffer: np.ndarray | None = None  # the slot's input (a pinned buffer on CUDA)
        self.output: np.ndarray | None = None
        self.step_ms = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def enqueue(self, job: Callable[[], None]) -> None:
        self.done.clear()
        self.error = None
        self.jobs.put(job)

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                job()
            except Exception as error:  # handed to collect() as the frame's failure
                self.error = error
            self.done.set()

    def stop(self) -> None:
        self.jobs.put(None)
        self._thread.join(timeout=10)


class HostSlots:
    """``SlotBackend`` on the CPU: the extractor's packed step on one thread per slot."""

    def __init__(self, extractor: FeatureExtractor, slots: int = 2, compiled: bool = False):
        if slots < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {slots}")
        self.extractor = extractor
        self.slot_count = slots
        self.step = packed_step(extractor, compiled)
        self._workers = [_Worker(f"sobelnet-slot-{i}") for i in range(slots)]
        self._prepared: set[Hashable] = set()

    def input_key(self, image: np.ndarray) -> Hashable:
        return (image.shape[0], image.shape[1], upload_dtype(image.dtype).str)

    def needs_capture(self, key: Hashable) -> bool:
        return key not in self._prepared

    def capture(self, key: Hashable) -> None:
        height, width, dtype = key
        try:
            with torch.inference_mode():
                self.step(torch.zeros((height, width), dtype=_torch_dtype(dtype)), 1.0)
        except RuntimeError as error:
            message = f"failure while preparing {width}x{height} frames: {error}"
            raise EngineError(message) from error
        self._prepared.add(key)

    def launch(self, slot: int, image: np.ndarray) -> None:
        worker = self._workers[slot]
        shape, dtype = image.shape[:2], upload_dtype(image.dtype)
        if worker.buffer is None or worker.buffer.shape != shape or worker.buffer.dtype != dtype:
            worker.buffer = np.empty(shape, dtype)
        gray_into(image, worker.buffer)
        buffer, scale = worker.buffer, gray_scale_factor(worker.buffer)

        def job() -> None:
            start = time.perf_counter()
            with torch.inference_mode():
                worker.output = self.step(torch.from_numpy(buffer), scale).numpy()
            worker.step_ms = (time.perf_counter() - start) * 1e3

        worker.enqueue(job)

    def ready(self, slot: int) -> bool:
        return self._workers[slot].done.is_set()

    def wait_ready(self, slot: int, timeout: float | None) -> None:
        self._workers[slot].done.wait(timeout)

    def recover(self, slot: int) -> None:
        self._workers[slot].done.wait()

    def collect(self, slot: int, size: tuple[int, int]) -> tuple[Features, dict[str, float]]:
        worker = self._workers[slot]
        if worker.error is not None:
            width, height = size
            raise EngineError(f"failure in the step of a {width}x{height} frame: {worker.error}")
        dim = self.extractor.descriptor_dim
        keypoints = (len(worker.output) - 1) // (3 + dim // 2)
        features = unpack_features(worker.output, keypoints, dim, size)
        return features, {"host_step": worker.step_ms}

    def reconfigure(self, options: dict[str, Any]) -> None:
        self.extractor.configure(**options)
        self._prepared.clear()

    def check_options(self, options: dict[str, Any]) -> None:
        self.extractor.checked_options(**options)

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()


def _torch_dtype(numpy_dtype: str) -> torch.dtype:
    return torch.from_numpy(np.empty(0, np.dtype(numpy_dtype))).dtype
