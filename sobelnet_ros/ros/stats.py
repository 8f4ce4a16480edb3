"""The node's running figures: rates, latency percentiles, counts by reason."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

import numpy as np


class NodeStats:
    """Thread-safe counters (image callback, publisher thread, diagnostics timer).

    Rates are over the last ``window_s`` seconds; latency percentiles over the
    frames published in that window (receipt in the callback to publish).
    """

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self.frames_in = 0
        self.published = 0
        self.debug_published = 0
        self.keypoints_total = 0
        self.rejected: Counter = Counter()  # reason -> frames
        self.dropped: Counter = Counter()  # reason -> frames dropped before the engine
        self.missed = 0  # frames a publisher sent that never reached the callback
        self.unpublished: Counter = Counter()  # reason -> finished frames not published
        self._received: deque[float] = deque()
        self._done: deque[tuple[float, float, int]] = deque()  # (time, latency ms, keypoints)
        self._lock = threading.Lock()

    def received(self) -> None:
        with self._lock:
            self.frames_in += 1
            self._received.append(time.monotonic())

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def never_received(self, count: int) -> None:
        with self._lock:
            self.missed += count

    def drop(self, reason: str) -> None:
        with self._lock:
            self.dropped[reason] += 1

    def lost(self, reason: str) -> None:
        with self._lock:
            self.unpublished[reason] += 1

    def published_frame(self, latency_ms: float, keypoints: int, debug: bool) -> None:
        with self._lock:
            self.published += 1
            self.debug_published += int(debug)
            self.keypoints_total += keypoints
            self._done.append((time.monotonic(), latency_ms, keypoints))

    def window(self) -> dict[str, float]:
        """Input/output rate (Hz), latency p50/p99 (ms) and keypoints per frame, recent."""
        now = time.monotonic()
        with self._lock:
            for times, stamp in ((self._received, lambda t: t), (self._done, lambda d: d[0])):
                while times and stamp(times[0]) < now - self.window_s:
                    times.popleft()
            received = list(self._received)
            done = list(self._done)
        span = self.window_s
        latencies = np.array([d[1] for d in done], dtype=np.float64)
        return {
            "input_rate_hz": _rate(received, span, now),
            "output_rate_hz": _rate([d[0] for d in done], span, now),
            "latency_p50_ms": float(np.percentile(latencies, 50)) if len(done) else float("nan"),
            "latency_p99_ms": float(np.percentile(latencies, 99)) if len(done) else float("nan"),
            "keypoints_per_frame": float(np.mean([d[2] for d in done])) if done else 0.0,
        }

    def totals(self) -> dict[str, object]:
        with self._lock:
            return {
                "frames_in": self.frames_in,
                "never_received": self.missed,
                "published": self.published,
                "debug_published": self.debug_published,
                "rejected": dict(self.rejected),
                "dropped": dict(self.dropped),
                "unpublished": dict(self.unpublished),
            }


def _rate(times: list[float], span: float, now: float) -> float:
    """Events per second over the window (over the time seen, while it is shorter)."""
    if len(times) < 2:
        return 0.0
    seen = min(span, now - times[0])
    return (len(times) - 1) / seen if seen > 0 else 0.0


def merged_totals(node: dict[str, object], engine: dict[str, object]) -> dict[str, object]:
    """Node and engine counts together; frames dropped in either place add up by reason."""
    dropped = Counter(node["dropped"]) + Counter(engine["dropped"])  # type: ignore[arg-type]
    return {**node, **engine, "dropped": dict(dropped)}
