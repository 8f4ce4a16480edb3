"""The node's status as a diagnostic_msgs/DiagnosticArray for /diagnostics.

The status is named after the node's full name (``/cam0/sobelnet_detector``),
so detectors of several cameras stay apart in an aggregator; ``hardware_id``
is the device and the camera topic. Its level judges the last few seconds, so
one bad frame long ago does not keep it WARN.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

PROBLEMS = ("failed", "dropped", "rejected")


class RecentCounts:
    """How much running totals grew over about the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._history: deque[tuple[float, dict[str, int]]] = deque([(time.monotonic(), {})])

    def update(self, totals: dict[str, int], now: float | None = None) -> dict[str, int]:
        """Record ``totals`` now; the growth of each since the window's start."""
        now = time.monotonic() if now is None else now
        self._history.append((now, dict(totals)))
        while len(self._history) > 1 and self._history[1][0] <= now - self.window_s:
            self._history.popleft()
        base = self._history[0][1]
        return {key: value - base.get(key, 0) for key, value in totals.items()}


def build_status(
    header_stamp: Any,
    identity: tuple[str, str],
    window: dict[str, float],
    totals: dict[str, Any],
    recent: dict[str, int],
    in_flight: int,
    info: dict[str, str],
) -> DiagnosticArray:
    """One DiagnosticStatus with rates, latency, counts by reason and the model.

    Args:
        identity: (status name, hardware_id).
        window: ``NodeStats.window()`` (recent rates and latency).
        totals: node and engine counts since start (``merged_totals``).
        recent: growth of ``*_total`` counts over the window (``RecentCounts``).
        in_flight: frames queued or running in the engine now.
        info: fixed facts (device, weights, input topic...).

    Level, over the recent window: ERROR when frames failed inside the
    extractor, WARN when frames were dropped or rejected or nothing came out
    although frames came in, else OK. Latencies are left out while no frame
    was published in the window (there is nothing to measure).
    """
    values: dict[str, Any] = {
        **{k: f"{v:.2f}" for k, v in window.items() if not math.isnan(v)},
        "in_flight": in_flight,
        "frames_in": totals["frames_in"],
        "frames_never_received": totals["never_received"],
        "frames_submitted": totals["submitted"],
        "frames_completed": totals["completed"],
        "frames_published": totals["published"],
        "debug_images_published": totals["debug_published"],
        **{f"{kind}_total": sum(totals[kind].values()) for kind in PROBLEMS},
        **{f"{kind}_recent": recent.get(f"{kind}_total", 0) for kind in PROBLEMS},
    }
    for prefix in (*PROBLEMS, "unpublished"):
        values.update({f"{prefix}.{reason}": n for reason, n in sorted(totals[prefix].items())})
    values.update(info)
    level, message = _level(window, values)
    name, hardware_id = identity
    status = DiagnosticStatus(
        level=level,
        name=name,
        message=message,
        hardware_id=hardware_id,
        values=[KeyValue(key=k, value=str(v)) for k, v in values.items()],
    )
    return DiagnosticArray(header=_header(header_stamp), status=[status])


def problem_totals(totals: dict[str, Any]) -> dict[str, int]:
    """The running totals whose recent growth sets the level."""
    return {f"{kind}_total": sum(totals[kind].values()) for kind in PROBLEMS}


def _level(window: dict[str, float], values: dict[str, Any]) -> tuple[bytes, str]:
    summary = f"{window['output_rate_hz']:.1f} Hz out of {window['input_rate_hz']:.1f} Hz in"
    if not math.isnan(window["latency_p50_ms"]):
        summary += f", p50 {window['latency_p50_ms']:.0f} ms"
    if values["failed_recent"]:
        return DiagnosticStatus.ERROR, f"{values['failed_recent']} frames failed; {summary}"
    if window["input_rate_hz"] > 0 and window["output_rate_hz"] == 0:
        return DiagnosticStatus.WARN, f"frames in but no features out; {summary}"
    if values["dropped_recent"] or values["rejected_recent"]:
        lost = f"{values['dropped_recent']} dropped, {values['rejected_recent']} rejected"
        return DiagnosticStatus.WARN, f"{lost} recently; {summary}"
    return DiagnosticStatus.OK, summary


def _header(stamp: Any) -> Any:
    from std_msgs.msg import Header

    return Header(stamp=stamp)
