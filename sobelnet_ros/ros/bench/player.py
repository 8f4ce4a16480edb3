"""The player: publishes preloaded frames over DDS on a schedule, stamping each uniquely.

The schedule is the recorded timing of the bag, or a fixed rate, looped until
a duration when one is asked for. Every message gets a fresh, strictly
increasing header stamp (wall clock ns) so that outputs can be matched to
inputs even when the bag loops; its send time (monotonic) goes to the tracker.
"""

from __future__ import annotations

import array
import threading
import time
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from .bag_reader import BagFrame
from .latency import StampTracker


def make_schedule(
    offsets_s: np.ndarray, rate_hz: float | None = None, duration_s: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Which frame to send when: ``(frame indices, send times s from the start)``.

    Args:
        offsets_s: recorded time of each frame from the first (``BagFrames.offsets_s``).
        rate_hz: None replays the recorded timing; a number sends at that fixed rate.
        duration_s: None plays the bag once; a number loops it until that long.
    """
    n = len(offsets_s)
    if n == 0:
        raise ValueError("no frames to play")
    if rate_hz is not None and rate_hz <= 0:
        raise ValueError(f"rate must be > 0 Hz, got {rate_hz}")
    if rate_hz is None:
        periods = np.diff(offsets_s)
        period = float(np.median(periods[periods > 0])) if np.any(periods > 0) else 1 / 30
        lap = float(offsets_s[-1]) + period  # one pass, and the gap before the loop
    else:
        period = 1.0 / rate_hz
        lap = n * period
    if duration_s is None:
        count = n
    else:
        if duration_s <= 0:
            raise ValueError(f"duration must be > 0 s, got {duration_s}")
        laps = int(np.ceil(duration_s / lap))
        count = laps * n
    index = np.arange(count)
    frames = index % n
    base = offsets_s[frames] if rate_hz is None else (index % n) * period
    times = (index // n) * lap + np.asarray(base, dtype=np.float64)
    if duration_s is not None:
        keep = times < duration_s
        frames, times = frames[keep], times[keep]
    return frames.astype(np.int64), times


class Player:
    """Publishes ``sensor_msgs/Image`` messages built once from the preloaded frames."""

    def __init__(self, publisher, frames: list[BagFrame]) -> None:
        from sensor_msgs.msg import Image

        self._publisher = publisher
        self._messages = []
        for frame in frames:
            msg = Image()
            msg.header.frame_id = frame.frame_id
            msg.height, msg.width = frame.height, frame.width
            msg.encoding, msg.is_bigendian, msg.step = (
                frame.encoding,
                frame.is_bigendian,
                frame.step,
            )
            msg.data = array.array("B", frame.data)
            self._messages.append(msg)
        self._last_stamp = 0

    def _next_stamp(self) -> int:
        stamp = max(time.time_ns(), self._last_stamp + 1)
        self._last_stamp = stamp
        return stamp

    def play(
        self,
        frame_indices: np.ndarray,
        send_times_s: np.ndarray,
        tracker: StampTracker,
        stop: threading.Event | None = None,
        label: str = "playing",
        should_stop: Callable[[], bool] | None = None,
    ) -> int:
        """Send the schedule; returns how many frames were sent (fewer when stopped).

        When the player falls behind (a slow machine) it sends late rather than
        skipping; the achieved rate shows as ``throughput_in_hz``.
        """
        start = time.perf_counter()
        sent = 0
        with tqdm(total=len(frame_indices), desc=label, unit="frame", mininterval=0.5) as bar:
            for index, due in zip(frame_indices, send_times_s, strict=True):
                if (stop is not None and stop.is_set()) or (should_stop and should_stop()):
                    break
                delay = start + float(due) - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                msg = self._messages[int(index)]
                stamp = self._next_stamp()
                msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
                tracker.on_sent(stamp, time.monotonic_ns())
                self._publisher.publish(msg)
                sent += 1
                bar.update()
        return sent
