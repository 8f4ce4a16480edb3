"""Matching outputs to inputs by header stamp, and the figures computed from the matches.

Pure Python/numpy so the logic is tested on synthetic timestamps. Definitions
follow ros2_benchmark's basic performance calculator: latency is receive time
minus send time of the same stamp; jitter is the absolute change between
consecutive output intervals; throughput is (count - 1) / span.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np


def stamp_key(sec: int, nanosec: int) -> int:
    """One integer per header stamp (nanoseconds), the key that outputs are matched on."""
    return int(sec) * 1_000_000_000 + int(nanosec)


@dataclass
class StampTracker:
    """Send and receive times (monotonic ns) keyed by stamp; safe across threads.

    Outputs whose stamp was never sent (another publisher, a warm-up frame) are
    counted as ``unmatched``; a second output for a stamp counts as a duplicate
    and keeps the first receive time.
    """

    sent: dict[int, int] = field(default_factory=dict)
    received: dict[int, int] = field(default_factory=dict)
    duplicates: int = 0
    unmatched: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_sent(self, key: int, t_ns: int) -> None:
        with self._lock:
            if key in self.sent:
                raise ValueError(f"stamp {key} was sent twice; stamps must be unique")
            self.sent[key] = t_ns

    def on_received(self, key: int, t_ns: int) -> None:
        with self._lock:
            if key not in self.sent:
                self.unmatched += 1
            elif key in self.received:
                self.duplicates += 1
            else:
                self.received[key] = t_ns

    def outstanding(self) -> int:
        with self._lock:
            return len(self.sent) - len(self.received)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(send_ns, receive_ns)`` int64 arrays in send order; receive -1 where missing."""
        with self._lock:
            items = sorted(self.sent.items(), key=lambda item: item[1])
            send = np.array([t for _, t in items], dtype=np.int64)
            recv = np.array([self.received.get(k, -1) for k, _ in items], dtype=np.int64)
        return send, recv


def _rate_hz(times_ns: np.ndarray) -> float | None:
    if len(times_ns) < 2:
        return None
    span = float(times_ns.max() - times_ns.min())
    return (len(times_ns) - 1) / (span / 1e9) if span > 0 else None


def _ms(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def summarize(tracker: StampTracker) -> dict[str, float | int | None]:
    """Counts, latency percentiles, throughput and jitter of one run.

    Returns:
        Unit-carrying keys: ``frames_sent``, ``frames_received``, ``frames_dropped``,
        ``drop_percent``, ``latency_{min,mean,p50,p90,p99,max}_ms``,
        ``throughput_in_hz``, ``throughput_out_hz``, ``jitter_{mean,std,max}_ms``, ...
        Figures that need more samples than there are are None.
    """
    send, recv = tracker.pairs()
    matched = recv >= 0
    latency_ms = (recv[matched] - send[matched]) / 1e6
    arrivals = np.sort(recv[matched])
    sent = len(send)
    out: dict[str, float | int | None] = {
        "frames_sent": sent,
        "frames_received": int(matched.sum()),
        "frames_dropped": int(sent - matched.sum()),
        "drop_percent": round(100.0 * (sent - matched.sum()) / sent, 3) if sent else None,
        "duplicates": tracker.duplicates,
        "unmatched_outputs": tracker.unmatched,
        "duration_s": round(float(send[-1] - send[0]) / 1e9, 3) if sent > 1 else None,
        "throughput_in_hz": _ms(_rate_hz(send)),
        "throughput_out_hz": _ms(_rate_hz(arrivals)),
    }
    for name, q in (("min", 0), ("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)):
        value = np.percentile(latency_ms, q) if len(latency_ms) else None
        out[f"latency_{name}_ms"] = _ms(value)
    out["latency_mean_ms"] = _ms(latency_ms.mean()) if len(latency_ms) else None
    jitter = np.abs(np.diff(np.diff(arrivals))) / 1e6 if len(arrivals) > 2 else np.array([])
    out["jitter_mean_ms"] = _ms(jitter.mean()) if len(jitter) else None
    out["jitter_std_ms"] = _ms(jitter.std()) if len(jitter) else None
    out["jitter_max_ms"] = _ms(jitter.max()) if len(jitter) else None
    return out


def latency_series(tracker: StampTracker) -> tuple[np.ndarray, np.ndarray]:
    """``(send time s from the first send, latency ms)`` of every matched frame (for plots)."""
    send, recv = tracker.pairs()
    if not len(send):
        return np.zeros(0), np.zeros(0)
    matched = recv >= 0
    return (send[matched] - send[0]) / 1e9, (recv[matched] - send[matched]) / 1e6
