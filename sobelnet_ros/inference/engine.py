"""Asynchronous extraction: ``submit`` returns at once, results come back in order.

The engine bounds the frames in flight (queued plus running). When full, the
``drop_oldest`` policy discards the oldest frame not yet started (a real-time
consumer wants the newest), ``block`` makes ``submit`` wait. Every frame ends
as completed, failed (with its reason) or dropped (with its reason).

On the CPU one worker thread runs the extractor; on CUDA the GPU engine in
``gpu_engine.py`` pipelines frames on streams behind the same interface (its
scheduling, in ``slot_pipeline.py``, keeps one pending frame that the newest
replaces).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .engine_lifetime import EngineLifetime
from .engine_types import DROP_POLICIES, EngineStats, FrameResult
from .extractor import FeatureExtractor

logger = logging.getLogger(__name__)


class Engine(Protocol):
    """The interface the node and benchmarks use, on the CPU and on CUDA."""

    stats: EngineStats

    def submit(self, image: np.ndarray, meta: Any = None) -> bool: ...
    def completed(self) -> list[FrameResult]: ...
    def wait(self, timeout: float | None = None) -> FrameResult | None: ...
    def in_flight(self) -> int: ...
    def configure(self, **options: Any) -> None: ...
    def close(self, drain: bool = True, timeout: float | None = 10.0) -> None: ...
    def __enter__(self) -> Engine: ...
    def __exit__(self, *exc_info: object) -> None: ...


@dataclass
class _Pending:
    image: np.ndarray
    meta: Any
    sequence: int
    submitted_at: float


class CpuEngine(EngineLifetime):
    """Runs the extractor on one worker thread (the networks use torch's CPU threads).

    Close it (``close()`` or ``with``); otherwise it closes itself at interpreter exit.
    """

    def __init__(
        self, extractor: FeatureExtractor, max_in_flight: int = 2, drop_policy: str = "drop_oldest"
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        if drop_policy not in DROP_POLICIES:
            raise ValueError(f"drop_policy must be one of {DROP_POLICIES}, got {drop_policy!r}")
        self.extractor = extractor
        self.max_in_flight = max_in_flight
        self.drop_policy = drop_policy
        self.stats = EngineStats()
        self._pending: deque[_Pending] = deque()
        self._done: deque[FrameResult] = deque()
        self._running = 0
        self._sequence = 0
        self._closing = False
        self._options: dict[str, Any] = {}
        self._cond = threading.Condition()
        self._worker = threading.Thread(target=self._work, name="sobelnet-engine", daemon=True)
        self._worker.start()
        self._close_at_exit()

    def submit(self, image: np.ndarray, meta: Any = None) -> bool:
        """Queue a frame; returns False if this frame itself was dropped."""
        with self._cond:
            self.stats.count("submitted")
            sequence = self._sequence
            self._sequence += 1
            if self._closing:
                self.stats.count("dropped", "shutdown")
                return False
            if not self._make_room():
                self.stats.count("dropped", "engine_busy")
                return False
            self._pending.append(_Pending(image, meta, sequence, time.perf_counter()))
            self._cond.notify_all()
            return True

    def _make_room(self) -> bool:
        while len(self._pending) + self._running >= self.max_in_flight:
            if self.drop_policy == "block":
                self._cond.wait()
                if self._closing:
                    return False
            elif self._pending:
                self._pending.popleft()
                self.stats.count("dropped", "queue_full")
            else:
                return False  # the only frame in flight is running: drop the new one
        return True

    def completed(self) -> list[FrameResult]:
        """Finished frames, oldest first, without waiting."""
        with self._cond:
            out = list(self._done)
            self._done.clear()
            return out

    def wait(self, timeout: float | None = None) -> FrameResult | None:
        """The next finished frame, in order.

        With a timeout, waits up to it (frames submitted meanwhile count);
        without one, waits for the oldest frame in flight and returns None at
        once when none is.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._done:
                idle = not self._pending and not self._running
                if idle and (self._closing or timeout is None):
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._done.popleft()

    def in_flight(self) -> int:
        with self._cond:
            return len(self._pending) + self._running

    def configure(self, **options: Any) -> None:
        """Change extractor options; checked now (``ValueError``), applied between frames."""
        self.extractor.checked_options(**options)  # raises before anything changes
        with self._cond:
            self._options.update(options)

    def close(self, drain: bool = True, timeout: float | None = 10.0) -> None:
        """Stop: finish queued frames (``drain``) or count them as dropped."""
        self._closed()
        with self._cond:
            self._closing = True
            if not drain:
                while self._pending:
                    self._pending.popleft()
                    self.stats.count("dropped", "shutdown")
            self._cond.notify_all()
        self._worker.join(timeout)
        with self._cond:  # frames left after the timeout are accounted as dropped
            while self._pending:
                self._pending.popleft()
                self.stats.count("dropped", "shutdown")

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                frame = self._pending.popleft()
                self._running = 1
                options, self._options = self._options, {}
            if options:
                self.extractor.configure(**options)
            result = self._run(frame)
            with self._cond:
                self._running = 0
                self._done.append(result)
                self._cond.notify_all()

    def _run(self, frame: _Pending) -> FrameResult:
        started = time.perf_counter()
        features, error = None, None
        try:
            features = self.extractor.extract(frame.image)
            self.stats.count("completed")
        except ValueError as exc:
            error = exc
            self.stats.count("failed", "bad_input")
        except Exception as exc:
            error = exc
            self.stats.count("failed", type(exc).__name__)
        done = time.perf_counter()
        timings = {
            "queue": (started - frame.submitted_at) * 1e3,
            "extract": (done - started) * 1e3,
            "latency": (done - frame.submitted_at) * 1e3,
        }
        return FrameResult(frame.meta, features, error, timings, frame.sequence)


def create_engine(
    extractor: FeatureExtractor,
    max_in_flight: int = 2,
    drop_policy: str = "drop_oldest",
    fallback_to_cpu: bool = False,
    **cuda_options: Any,
) -> Engine:
    """The engine for the extractor's device: pipelined on CUDA, a worker thread on the CPU.

    Args:
        fallback_to_cpu: on CUDA, warm the engine up now and, if CUDA fails
            (no usable GPU, out of memory), log why and return a CPU engine
            with the same networks instead of raising.
        cuda_options: passed to ``CudaEngine`` (use_graphs, concurrent, compiled,
            stage_times, ...).
    """
    if extractor.device.type != "cuda":
        return CpuEngine(extractor, max_in_flight=max_in_flight, drop_policy=drop_policy)
    from .gpu_engine import CudaEngine

    try:
        engine = CudaEngine(extractor, max_in_flight, drop_policy, **cuda_options)
        if fallback_to_cpu:
            engine.warm_up()
        return engine
    except RuntimeError as error:  # EngineError and torch's CUDA errors, OOM included
        if not fallback_to_cpu:
            raise
        logger.error("CUDA engine failed (%s); falling back to the CPU", error)
        return CpuEngine(extractor.on_cpu(), max_in_flight=max_in_flight, drop_policy=drop_policy)
