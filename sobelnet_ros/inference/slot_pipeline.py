"""Scheduling of a pipelined engine over slots, apart from what runs in a slot.

A slot is one frame's worth of resources (on CUDA: pinned buffers, a stream,
events, graphs). ``SlotPipeline`` decides which frame goes to which slot,
when, and in which order results come back; a ``SlotBackend`` does the work
of a slot (``gpu_engine.CudaSlots`` on CUDA, ``host_slots.HostSlots`` on
the CPU). The rules:

- Results come back in submission order; every frame ends completed, failed
  (``bad_input``, ``cuda_error``) or dropped (with the reason).
- ``drop_oldest`` (newest frame wins): when every slot is busy, the frame
  waits in the one pending place; a newer frame replaces it (the replaced
  one is dropped as ``queue_full``). ``block``: ``submit`` waits for a slot.
- Nobody polls: waiting for a result blocks on the oldest slot's completion
  (outside the lock), and waiting for a submission on a condition.
- A frame of a size not captured yet is not captured on the caller's thread
  (a camera callback): a capture thread waits until no frame is in flight
  and captures; frames submitted meanwhile are dropped as ``graph_capture``.
  Under ``block`` the capture runs in ``submit`` instead (nothing is dropped).
- A failed launch waits for what it had enqueued before its slot is reused.
- ``configure`` checks options at once; they apply between frames, after
  the frames in flight, and the sizes captured so far are captured again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .engine_lifetime import EngineLifetime
from .engine_types import DROP_POLICIES, EngineStats, FrameResult
from .image_input import validate_image
from .types import Features

logger = logging.getLogger(__name__)


class EngineError(RuntimeError):
    """A device failure in the engine, naming the stage and the frame size."""


class SlotBackend(Protocol):
    """What runs in the slots; the pipeline calls it with its lock held unless noted."""

    slot_count: int

    def input_key(self, image: np.ndarray) -> Hashable:
        """What a capture depends on (size, upload dtype) for a validated image."""

    def needs_capture(self, key: Hashable) -> bool: ...

    def capture(self, key: Hashable) -> None:
        """Prepare every slot for ``key`` (slow). Called without the lock, no frame in flight."""

    def launch(self, slot: int, image: np.ndarray) -> None:
        """Start one frame in ``slot`` and return; raises ``EngineError``."""

    def ready(self, slot: int) -> bool:
        """Whether the frame launched in ``slot`` has finished."""

    def wait_ready(self, slot: int, timeout: float | None) -> None:
        """Block until ``slot`` finishes (called without the lock; may overrun ``timeout``)."""

    def recover(self, slot: int) -> None:
        """After a failed launch: wait for whatever it had started in ``slot``."""

    def collect(self, slot: int, size: tuple[int, int]) -> tuple[Features, dict[str, float]]:
        """The finished frame's features (copied out) and its device stage times (ms)."""

    def reconfigure(self, options: dict[str, Any]) -> None:
        """Apply checked extractor options; no frame in flight. Forgets every capture."""

    def check_options(self, options: dict[str, Any]) -> None:
        """Raise ``ValueError`` if ``options`` cannot be applied at run time."""

    def close(self) -> None:
        """Release what the slots hold (threads); called once, nothing in flight."""


@dataclass
class _Frame:
    meta: Any
    sequence: int
    submitted_at: float
    image: np.ndarray | None = None  # while pending
    size: tuple[int, int] = (0, 0)  # width, height
    slot: int | None = None
    error: Exception | None = None


class SlotPipeline(EngineLifetime):
    """The Engine interface (``engine.Engine``) over a ``SlotBackend``.

    Close it (``close()`` or ``with``); otherwise it closes itself at interpreter exit.
    """

    def __init__(self, backend: SlotBackend, drop_policy: str = "drop_oldest") -> None:
        if drop_policy not in DROP_POLICIES:
            raise ValueError(f"drop_policy must be one of {DROP_POLICIES}, got {drop_policy!r}")
        self.backend = backend
        self.drop_policy = drop_policy
        self.stats = EngineStats()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._free: deque[int] = deque(range(backend.slot_count))
        self._frames: deque[_Frame] = deque()  # submission order: pending, launched, failed
        self._done: deque[FrameResult] = deque()
        self._sequence = 0
        self._closing = False
        self._options: dict[str, Any] = {}
        self._captured: list[Hashable] = []  # keys captured so far, captured again on configure
        self._capturing: Hashable | None = None
        self._capture_errors: dict[Hashable, EngineError] = {}
        self._capture_thread: threading.Thread | None = None
        self._close_at_exit()

    # The Engine interface.

    def submit(self, image: np.ndarray, meta: Any = None) -> bool:
        """Start a frame (or keep it pending); False if this frame was dropped."""
        with self._cond:
            self.stats.count("submitted")
            frame = _Frame(meta, self._sequence, time.perf_counter())
            self._sequence += 1
            if self._closing:
                return self._drop(frame, "shutdown")
            self._harvest()
            self._apply_options()
            try:
                validate_image(image)
            except ValueError as error:
                frame.error = error
                self._frames.append(frame)
                self._cond.notify_all()
                return True
            frame.image, frame.size = image, (image.shape[1], image.shape[0])
            key = self.backend.input_key(image)
            if key not in self._capture_errors and not self._ready_for(key):
                return self._drop(frame, "graph_capture")
            if key in self._capture_errors:  # this size cannot be captured: fail, say why
                frame.image, frame.error = None, self._capture_errors[key]
                self._frames.append(frame)
                self._cond.notify_all()
                return True
            if not self._free and not self._make_room():
                return self._drop(frame, "engine_busy")
            self._frames.append(frame)
            self._launch_pending()
            self._cond.notify_all()
            return True

    def completed(self) -> list[FrameResult]:
        """Finished frames, oldest first, without waiting."""
        with self._cond:
            self._harvest()
            out = list(self._done)
            self._done.clear()
            return out

    def wait(self, timeout: float | None = None) -> FrameResult | None:
        """The next finished frame, in order.

        With a timeout, waits up to it (frames submitted meanwhile count; a
        frame already on the device may overrun it by its remaining time);
        without one, waits for the oldest frame in flight and returns None at
        once when none is.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._harvest()
                if self._done:
                    return self._done.popleft()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                head = self._frames[0] if self._frames else None
                if head is not None and head.slot is not None:
                    self._wait_slot(head.slot, remaining)
                elif head is None and (self._closing or deadline is None):
                    return None
                else:  # nothing started: wait for a submission, a slot or a capture
                    self._cond.wait(remaining)

    def in_flight(self) -> int:
        """Frames submitted and not yet finished (pending ones included); finished frames
        not yet handed back are not counted: collect with ``wait()`` until it gives None."""
        with self._cond:
            return len(self._frames)

    def configure(self, **options: Any) -> None:
        """Check options now (``ValueError``); apply them between frames."""
        self.backend.check_options(options)
        with self._cond:
            self._options.update(options)

    def warm_up(self, sizes: list[tuple[int, int]] | None = None) -> None:
        """Capture ``sizes`` (width, height; default 640x480) now and run a frame of each.

        Raises:
            EngineError: the device failed (``create_engine(fallback_to_cpu=True)``
                catches it).
        """
        for width, height in sizes or [(640, 480)]:
            image = np.zeros((height, width), np.uint8)
            with self._cond:
                key = self.backend.input_key(image)
                if self.backend.needs_capture(key):
                    self._capture_now(key)
                    if key in self._capture_errors:
                        raise self._capture_errors[key]
            for _ in range(self.backend.slot_count):  # every slot once
                self.submit(image, meta="warm-up")
            while (result := self.wait()) is not None:
                if isinstance(result.error, EngineError):
                    raise result.error
        self.stats = EngineStats()

    def close(self, drain: bool = True, timeout: float | None = 10.0) -> None:
        """Stop: finish the frames on the device; pending ones too with ``drain``."""
        self._closed()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._closing = True
            if not drain:
                for frame in [f for f in self._frames if f.image is not None and f.slot is None]:
                    self._frames.remove(frame)
                    self.stats.count("dropped", "shutdown")
            self._cond.notify_all()
            thread = self._capture_thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            while self._frames:
                self._harvest()
                head = self._frames[0] if self._frames else None
                remaining = None if deadline is None else deadline - time.monotonic()
                if head is None or (remaining is not None and remaining <= 0):
                    break
                if head.slot is not None:
                    self._wait_slot(head.slot, remaining)
                else:
                    self._cond.wait(remaining)
            for _ in self._frames:
                self.stats.count("dropped", "shutdown")
            self._frames.clear()
            self._cond.notify_all()
            if not self._launched():
                self.backend.close()

    # Internals; all with the lock held.

    def _drop(self, frame: _Frame, reason: str) -> bool:
        self.stats.count("dropped", reason)
        return False

    def _launched(self) -> int:
        return self.backend.slot_count - len(self._free)

    def _wait_slot(self, slot: int, timeout: float | None) -> None:
        """Block on ``slot`` without the lock (submit, results and captures go on)."""
        self._lock.release()
        try:
            self.backend.wait_ready(slot, timeout)
        finally:
            self._lock.acquire()

    def _drain(self) -> None:
        """Wait until no frame is on the device (pending ones stay pending)."""
        while self._launched():
            head = next(f for f in self._frames if f.slot is not None)
            self._wait_slot(head.slot, None)
            self._harvest()

    def _make_room(self) -> bool:
        """A free slot for a new frame, or room for it in the pending place."""
        if self.drop_policy == "block":
            while not self._free and not self._closing:
                head = next(f for f in self._frames if f.slot is not None)
                self._wait_slot(head.slot, None)
                self._harvest()
            return not self._closing
        for frame in [f for f in self._frames if f.image is not None and f.slot is None]:
            self._frames.remove(frame)  # newest frame wins
            self.stats.count("dropped", "queue_full")
        return True

    def _ready_for(self, key: Hashable) -> bool:
        """Whether a frame of ``key`` can start now; starts a capture if it needs one."""
        if self._capturing is not None:
            return False
        if not self.backend.needs_capture(key):
            return True
        if self.drop_policy == "block":
            self._capture_now(key)
            return True
        self._capturing = key
        self._capture_thread = threading.Thread(
            target=self._capture_in_background, args=(key,), name="sobelnet-capture", daemon=True
        )
        self._capture_thread.start()
        return False

    def _capture_now(self, key: Hashable) -> None:
        """Capture ``key`` on this thread once no frame is on the device.

        A failure is kept: frames of that key fail with it until ``configure``.
        """
        self._capturing = key
        try:
            self._drain()
            self._lock.release()
            try:
                self.backend.capture(key)
            finally:
                self._lock.acquire()
            self._captured.append(key)
        except EngineError as error:
            logger.error("%s", error)
            self._capture_errors[key] = error
        finally:
            self._capturing = None
            self._cond.notify_all()

    def _capture_in_background(self, key: Hashable) -> None:
        with self._cond:
            self._capture_now(key)
            self._launch_pending()

    def _apply_options(self) -> None:
        if not self._options or self._capturing is not None:
            return
        self._drain()
        options, self._options = self._options, {}
        self.backend.reconfigure(options)
        keys, self._captured = self._captured, []
        self._capture_errors.clear()
        for frame in [f for f in self._frames if f.image is not None and f.slot is None]:
            self._frames.remove(frame)  # captured for the old options
            self.stats.count("dropped", "graph_capture")
        for key in keys:  # captured again, in the background unless blocking
            if self.backend.needs_capture(key):
                self._ready_for(key)

    def _launch_pending(self) -> None:
        if self._capturing is not None:
            return
        for frame in self._frames:
            if not self._free:
                return
            if frame.image is None or frame.slot is not None:
                continue
            slot = self._free.popleft()
            image, frame.image = frame.image, None
            try:
                self.backend.launch(slot, image)
                frame.slot = slot
            except EngineError as error:  # the frame fails with the reason; the engine lives on
                logger.error("%s", error)
                frame.error = error
                self.backend.recover(slot)
                self._free.append(slot)

    def _harvest(self) -> None:
        """Hand back finished frames at the head, in order; start pending ones in free slots."""
        changed = False
        while self._frames:
            frame = self._frames[0]
            if frame.error is None and (frame.slot is None or not self.backend.ready(frame.slot)):
                break
            self._frames.popleft()
            self._done.append(self._finish(frame))
            changed = True
        self._launch_pending()
        if changed:
            self._cond.notify_all()

    def _finish(self, frame: _Frame) -> FrameResult:
        timings = {"latency": (time.perf_counter() - frame.submitted_at) * 1e3}
        if frame.error is not None:
            reason = "cuda_error" if isinstance(frame.error, EngineError) else "bad_input"
            self.stats.count("failed", reason)
            return FrameResult(frame.meta, None, frame.error, timings, frame.sequence)
        try:
            features, stage_ms = self.backend.collect(frame.slot, frame.size)
        except EngineError as error:
            self.backend.recover(frame.slot)
            self._free.append(frame.slot)
            self.stats.count("failed", "cuda_error")
            return FrameResult(frame.meta, None, error, timings, frame.sequence)
        self._free.append(frame.slot)
        self.stats.count("completed")
        return FrameResult(frame.meta, features, None, timings | stage_ms, frame.sequence)
