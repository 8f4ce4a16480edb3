"""The pipelined CUDA engine: pinned slots, one stream per slot, CUDA graphs, events.

A CUDA failure (out of memory included) fails that frame with an
``EngineError`` naming the stage and size in ``FrameResult.error``, counted
as ``cuda_error``; the engine itself keeps running. ``submit`` copies the
frame into the pinned host buffer of a free slot and
enqueues upload -> (captured) step -> download on that slot's stream, then
returns; nothing waits on the GPU. ``completed`` and ``wait`` hand back
finished frames in submission order with per-stage GPU times from CUDA
events. Frames in flight are bounded by the number of slots; when all are
busy, ``drop_oldest`` drops the new frame (every frame in flight has already
started on the GPU, and none is waiting) and ``block`` waits for the oldest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .engine_types import DROP_POLICIES, EngineStats, FrameResult
from .extractor import FeatureExtractor
from .graphed_step import GraphCache, GraphedStep, capture_step, run_step, step_stages
from .image_input import gray_scale_factor, to_gray, validate_image
from .types import BatchFeatures, Features

logger = logging.getLogger(__name__)
POLL_S = 50e-6  # sleep between event polls in wait(timeout) while a frame is on the GPU
IDLE_POLL_S = 1e-3  # the same while no frame is in flight


class EngineError(RuntimeError):
    """A CUDA failure in the engine, naming the stage and the frame size."""


@dataclass
class _Slot:
    stream: torch.cuda.Stream
    events: dict[str, torch.cuda.Event] = field(default_factory=dict)
    host_input: torch.Tensor | None = None
    host_output: BatchFeatures | None = None

    def event(self, name: str) -> torch.cuda.Event:
        if name not in self.events:
            self.events[name] = torch.cuda.Event(enable_timing=True)
        return self.events[name]


@dataclass
class _Frame:
    meta: Any
    sequence: int
    submitted_at: float
    size: tuple[int, int] = (0, 0)  # width, height
    slot: _Slot | None = None
    stages: tuple[str, ...] = ()
    error: Exception | None = None


class CudaEngine:
    """Pipelined extraction on one CUDA device.

    Args:
        extractor: a FeatureExtractor on a CUDA device.
        max_in_flight: frames on the GPU at once (one slot each).
        drop_policy: ``drop_oldest`` or ``block`` (see module docstring).
        use_graphs: capture each input size once and replay it.
        concurrent: run DesNet on a forked stream beside SobelNet.
        cudnn_benchmark: let cuDNN time its algorithms for each shape (global flag).
    """

    def __init__(
        self,
        extractor: FeatureExtractor,
        max_in_flight: int = 2,
        drop_policy: str = "drop_oldest",
        use_graphs: bool = True,
        concurrent: bool = False,
        cudnn_benchmark: bool = True,
        graph_cache_size: int = 8,
    ) -> None:
        if extractor.device.type != "cuda":
            raise ValueError(f"CudaEngine needs a CUDA extractor, got device {extractor.device}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        if drop_policy not in DROP_POLICIES:
            raise ValueError(f"drop_policy must be one of {DROP_POLICIES}, got {drop_policy!r}")
        if cudnn_benchmark:
            torch.backends.cudnn.benchmark = True
        self.extractor = extractor
        self.drop_policy = drop_policy
        self.use_graphs = use_graphs
        self.concurrent = concurrent
        self.stats = EngineStats()
        self.graphs = GraphCache(graph_cache_size * max_in_flight)
        self._slots = [
            _Slot(torch.cuda.Stream(device=extractor.device)) for _ in range(max_in_flight)
        ]
        self._free: deque[_Slot] = deque(self._slots)
        self._in_flight: deque[_Frame] = deque()
        self._done: deque[FrameResult] = deque()
        self._sequence = 0
        self._closing = False
        self._options: dict[str, Any] = {}
        self._lock = threading.RLock()

    # The Engine interface.

    def submit(self, image: np.ndarray, meta: Any = None) -> bool:
        """Enqueue a frame on the GPU; False if this frame was dropped."""
        with self._lock:
            self.stats.count("submitted")
            frame = _Frame(meta, self._sequence, time.perf_counter())
            self._sequence += 1
            if self._closing:
                self.stats.count("dropped", "shutdown")
                return False
            self._harvest()
            if not self._free and not self._wait_for_slot():
                self.stats.count("dropped", "engine_busy")
                return False
            self._apply_options()
            try:
                gray = to_gray(validate_image(image))
            except ValueError as error:
                frame.error = error
                self._in_flight.append(frame)
                return True
            try:
                self._launch(frame, gray)
            except EngineError as error:  # the frame fails with the reason; the engine lives on
                logger.error("%s", error)
                frame.error = error
            self._in_flight.append(frame)
            return True

    def completed(self) -> list[FrameResult]:
        with self._lock:
            self._harvest()
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
        while True:
            with self._lock:
                self._harvest()
                if self._done:
                    return self._done.popleft()
                head = self._in_flight[0] if self._in_flight else None
            if head is None:  # nothing in flight: wait for a submission until the deadline
                if self._closing or deadline is None or time.monotonic() >= deadline:
                    return None
                time.sleep(IDLE_POLL_S)
                continue
            if deadline is None and head.slot is not None:
                head.slot.event("done").synchronize()
            elif deadline is not None and time.monotonic() >= deadline:
                return None
            else:
                time.sleep(POLL_S)

    def in_flight(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def configure(self, **options: Any) -> None:
        """Check options now; apply them before the next frame (graphs are re-captured)."""
        self.extractor.config.with_options(**options)
        with self._lock:
            self._options.update(options)

    def close(self, drain: bool = True, timeout: float | None = 10.0) -> None:
        with self._lock:
            self._closing = True
            if not drain:
                torch.cuda.synchronize(self.extractor.device)
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.in_flight():
            if deadline is not None and time.monotonic() > deadline:
                break
            with self._lock:
                head = self._in_flight[0]
            if head.slot is not None:
                head.slot.event("done").synchronize()
            with self._lock:
                self._harvest()
        with self._lock:
            for _ in self._in_flight:
                self.stats.count("dropped", "shutdown")
            self._in_flight.clear()

    def warm_up(self, size: tuple[int, int] = (640, 480)) -> None:
        """Run (and capture) one frame of ``size`` = (width, height) on every slot."""
        for _ in self._slots:
            self.submit(np.zeros(size[::-1], np.uint8), meta="warm-up")
            result = self.wait()
            if result is not None and isinstance(result.error, EngineError):
                raise result.error  # create_engine(fallback_to_cpu=True) catches this
        self.stats = EngineStats()

    # Internals.

    def _wait_for_slot(self) -> bool:
        if self.drop_policy != "block":
            return False
        head = self._in_flight[0]
        if head.slot is not None:
            head.slot.event("done").synchronize()
        self._harvest()
        return bool(self._free)

    def _apply_options(self) -> None:
        if not self._options:
            return
        while self._in_flight:  # graphs of frames in flight must outlive them
            head = self._in_flight[0]
            if head.slot is not None:
                head.slot.event("done").synchronize()
            self._harvest()
        self.extractor.configure(**self._options)
        self._options = {}
        self.graphs.clear()
        for slot in self._slots:
            slot.host_output = None

    def _launch(self, frame: _Frame, gray: np.ndarray) -> None:
        slot = self._free.popleft()
        frame.slot = slot
        frame.size = (gray.shape[1], gray.shape[0])
        stage = "upload"
        try:
            host = self._host_input(slot, gray)
            with torch.cuda.stream(slot.stream):
                slot.event("start").record()
                if self.use_graphs:
                    stage = "graph capture"
                    step = self._graphed(slot, host)
                    stage = "upload"
                    step.static_input.copy_(host, non_blocking=True)
                    slot.event("upload").record()
                    stage = "graph replay"
                    step.replay()
                    slot.event("compute").record()
                    outputs, frame.stages = step.outputs, ("upload", "compute")
                else:
                    outputs = self._eager(slot, host)
                    stages = step_stages(self.extractor, gray.shape, self.concurrent)
                    frame.stages = ("upload", *stages)
                stage = "download"
                self._download(slot, outputs)
                slot.event("done").record()
        except (RuntimeError, torch.cuda.OutOfMemoryError) as error:
            self._free.append(slot)
            frame.slot = None
            width, height = frame.size
            raise EngineError(
                f"CUDA failure during {stage} of a {width}x{height} frame: {error}"
            ) from error

    def _host_input(self, slot: _Slot, gray: np.ndarray) -> torch.Tensor:
        # uint16 and float64 travel as float32 (torch's uint16 support is partial).
        array = gray if gray.dtype in (np.uint8, np.float32) else gray.astype(np.float32)
        if gray.dtype == np.uint16:
            array = array / 65535.0
        buffer = slot.host_input
        if (
            buffer is None
            or tuple(buffer.shape) != array.shape
            or buffer.numpy().dtype != array.dtype
        ):
            buffer = torch.from_numpy(np.empty_like(array)).pin_memory()
            slot.host_input = buffer
        np.copyto(buffer.numpy(), array)
        return buffer

    def _graphed(self, slot: _Slot, host: torch.Tensor) -> GraphedStep:
        key = (self._slots.index(slot), *host.shape, host.dtype)
        scale = _scale_of(host)
        return self.graphs.get(
            key,
            lambda: capture_step(
                self.extractor, tuple(host.shape), host.dtype, scale, self.concurrent
            ),
        )

    def _eager(self, slot: _Slot, host: torch.Tensor) -> BatchFeatures:
        raw = host.to(self.extractor.device, non_blocking=True)
        slot.event("upload").record()
        with torch.inference_mode():
            return run_step(
                self.extractor,
                raw,
                _scale_of(host),
                self.concurrent,
                lambda name: slot.event(name).record(),
            )

    def _download(self, slot: _Slot, outputs: BatchFeatures) -> None:
        if slot.host_output is None or slot.host_output.keypoints.shape != outputs.keypoints.shape:
            slot.host_output = BatchFeatures(
                *(torch.empty(t.shape, dtype=t.dtype).pin_memory() for t in outputs.tensors())
            )
        for host, device in zip(slot.host_output.tensors(), outputs.tensors(), strict=True):
            host.copy_(device, non_blocking=True)

    def _harvest(self) -> None:
        while self._in_flight:
            frame = self._in_flight[0]
            if frame.slot is not None and not frame.slot.event("done").query():
                return
            self._in_flight.popleft()
            self._done.append(self._finish(frame))

    def _finish(self, frame: _Frame) -> FrameResult:
        timings = {"latency": (time.perf_counter() - frame.submitted_at) * 1e3}
        if frame.error is not None:
            reason = "cuda_error" if isinstance(frame.error, EngineError) else "bad_input"
            self.stats.count("failed", reason)
            return FrameResult(frame.meta, None, frame.error, timings, frame.sequence)
        slot = frame.slot
        previous = "start"
        for name in (*frame.stages, "download"):
            end = "done" if name == "download" else name
            timings[f"gpu_{name}"] = slot.event(previous).elapsed_time(slot.event(end))
            previous = end
        features = _copy_features(slot.host_output, frame.size)
        self._free.append(slot)
        self.stats.count("completed")
        return FrameResult(frame.meta, features, None, timings, frame.sequence)


def _scale_of(host: torch.Tensor) -> float:
    return gray_scale_factor(np.empty(0, dtype=host.numpy().dtype))


def _copy_features(host: BatchFeatures, size: tuple[int, int]) -> Features:
    # The pinned buffers belong to the slot and are reused: copy the rows out.
    features = host.unpad(0, size)
    return Features(
        features.keypoints.copy(), features.scores.copy(), features.descriptors.copy(), size
    )
