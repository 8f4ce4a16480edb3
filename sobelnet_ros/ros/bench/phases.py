"""One graph under test (the detector or the relay): get it answering, then measure phases.

A phase plays a schedule into the graph's input while the monitor matches
its outputs; after the last frame the phase waits for stragglers, then sums
up. The peak search repeats short fixed-rate phases to find the highest rate
with fewer than 1 % drops (ros2_benchmark's peak throughput).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bag_reader import BagFrames
from .latency import StampTracker, latency_series, summarize
from .monitor import Monitor, counts_delta
from .player import Player, make_schedule
from .proc_sampler import ProcessSampler
from .session import BenchSession, wait_for


def image_to_rgb(msg) -> np.ndarray:
    """An 8-bit sensor_msgs/Image (rgb8, bgr8, mono8, rgba8, bgra8) as ``H x W x 3`` RGB."""
    channels = {"mono8": 1, "rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}.get(msg.encoding)
    if channels is None:
        raise ValueError(f"cannot show a {msg.encoding} image")
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    pixels = rows[:, : msg.width * channels].reshape(msg.height, msg.width, channels)
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    rgb = pixels[..., :3] if msg.encoding.startswith("rgb") else pixels[..., 2::-1]
    return np.ascontiguousarray(rgb)


class NoAnswerError(RuntimeError):
    """The graph never produced an output; ``partial`` holds what was measured."""

    def __init__(self, message: str, partial: dict[str, Any]) -> None:
        super().__init__(message)
        self.partial = partial


@dataclass
class Target:
    """A graph under test: where its input and output are, and which process to sample."""

    name: str  # "detector" or "relay"
    input_topic: str
    output_topic: str
    output_type: Any  # the output's message class
    process: Any = None  # ManagedProcess when the bench started it
    pid: int | None = None  # process to sample (CPU, RSS); None: not sampled
    exit_code: int | None = None  # set when the bench stopped the process

    def death(self) -> str | None:
        if self.process is not None and not self.process.alive():
            code = self.process.process.returncode
            return f"{self.name} exited with code {code}; its log:\n{self.process.log_tail()}"
        return None


@dataclass
class PhaseSettings:
    warmup_s: float = 3.0  # frames sent after the first answer before measuring
    startup_timeout_s: float = 90.0  # for the graph to subscribe and advertise its output
    answer_timeout_s: float = 60.0  # for its first output
    drain_s: float = 3.0  # wait for outputs after the last input
    sample_interval_s: float = 1.0  # CPU/RSS sampling
    gpu: bool = False  # sample GPU memory with nvidia-smi
    publisher_reliability: str = "best_effort"
    publisher_depth: int = 5
    drop_threshold_percent: float = 1.0  # peak search: a rate passes below this
    peak_trial_s: float = 5.0
    peak_max_hz: float = 480.0
    peak_min_hz: float = 0.5
    peak_steps: int = 4
    interrupted: bool = field(default=False)


class PhaseRunner:
    """Runs phases against one target through the bench session."""

    def __init__(
        self,
        session: BenchSession,
        monitor: Monitor,
        bag: BagFrames,
        target: Target,
        settings: PhaseSettings,
    ) -> None:
        self.session, self.monitor, self.bag = session, monitor, bag
        self.target, self.settings = target, settings
        publisher = session.image_publisher(
            target.input_topic, settings.publisher_reliability, settings.publisher_depth
        )
        self._publisher = publisher
        self.player = Player(publisher, bag.frames)
        self.interrupted = False

    def close(self) -> None:
        self.monitor.stop_listening()
        self.session.node.destroy_publisher(self._publisher)

    def start(self, rate_hz: float | None) -> None:
        """Wait until the target is up and answering, then warm it up.

        Raises:
            RuntimeError: it never subscribed/advertised, or its process died.
            NoAnswerError: it is up but never answered within the timeout.
        """
        s, t, node = self.settings, self.target, self.session.node
        up = wait_for(
            lambda: (
                self._publisher.get_subscription_count() > 0
                and node.count_publishers(t.output_topic) > 0
            ),
            s.startup_timeout_s,
            abort=t.death,
        )
        if not up:
            raise RuntimeError(
                f"{t.name} did not subscribe to {t.input_topic} and advertise "
                f"{t.output_topic} within {s.startup_timeout_s:.0f} s"
            )
        self.monitor.listen(t.output_topic, t.output_type)
        tracker = StampTracker()
        self.monitor.tracker = tracker
        indices, times = make_schedule(
            self.bag.offsets_s(), rate_hz or 30.0, s.answer_timeout_s + s.warmup_s
        )
        began = time.monotonic()
        first: list[float] = []

        def warm() -> bool:
            now = time.monotonic()
            if tracker.received and not first:
                first.append(now)
            if not first:
                return now - began > s.answer_timeout_s or t.death() is not None
            return now - first[0] >= s.warmup_s

        self.player.play(indices, times, tracker, label=f"{t.name}: warm-up", should_stop=warm)
        if not tracker.received:
            reason = t.death() or (
                f"{t.name} never answered on {t.output_topic} within "
                f"{s.answer_timeout_s:.0f} s of frames on {t.input_topic}"
            )
            raise NoAnswerError(reason, {**summarize(tracker), "partial": True, "reason": reason})
        self._settle(tracker)

    def _settle(self, tracker: StampTracker) -> None:
        """Wait until every frame is answered or outputs stop coming (drops)."""
        deadline = time.monotonic() + self.settings.drain_s
        last = -1
        while time.monotonic() < deadline and tracker.outstanding():
            count = len(tracker.received)
            if count == last:
                break  # nothing arrived for 0.5 s: the rest were dropped
            last = count
            time.sleep(0.5)

    def phase(self, label: str, rate_hz: float | None, duration_s: float | None) -> dict:
        """Play one schedule and sum it up; marked partial when it was cut short."""
        s, t = self.settings, self.target
        indices, times = make_schedule(self.bag.offsets_s(), rate_hz, duration_s)
        tracker = StampTracker()
        self.monitor.tracker = tracker
        before = self.monitor.node_counts()
        sampler = None
        if t.pid is not None:
            sampler = ProcessSampler(t.pid, s.sample_interval_s, gpu=s.gpu).start()
        reason = None
        try:
            self.player.play(
                indices, times, tracker, label=f"{t.name}: {label}", should_stop=t.death
            )
        except KeyboardInterrupt:
            reason = "interrupted by the user"
            self.interrupted = True
        if not self.interrupted:
            self._settle(tracker)
            self._fresh_diagnostics()
        if sampler is not None:
            sampler.stop()
        reason = reason or t.death()
        result: dict[str, Any] = {
            "label": label,
            "rate_requested_hz": rate_hz,
            "partial": reason is not None,
            "reason": reason,
            **summarize(tracker),
            "node_counts": counts_delta(before, self.monitor.node_counts()),
        }
        if sampler is not None:
            result["resources"] = sampler.summary(warmup_s=min(30.0, 0.05 * times[-1]))
            result["resources_series"] = sampler.series()
        send_s, latency_ms = latency_series(tracker)
        result["series"] = {
            "send_s": send_s.round(4).tolist(),
            "latency_ms": latency_ms.round(3).tolist(),
        }
        return result

    def _fresh_diagnostics(self) -> None:
        """Give the node's ~1 Hz diagnostics a chance to include the phase's last frames."""
        if self.monitor.diagnostics_time is None:
            return
        since = time.monotonic()
        wait_for(lambda: (self.monitor.diagnostics_time or 0) > since, 2.5)

    def grab_debug_frame(self, topic: str, timeout_s: float = 10.0):
        """One ``debug_image`` (keypoints drawn by the node) as an RGB array, or None.

        Subscribes only now, so the node draws nothing while it is measured.
        """
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        got: list = []
        qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        sub = self.session.node.create_subscription(Image, topic, got.append, qos)
        try:
            wait_for(lambda: sub.get_publisher_count() > 0, 5.0)
            time.sleep(0.5)  # let the node see its subscriber before the frames come
            indices, times = make_schedule(self.bag.offsets_s(), 5.0, timeout_s)
            self.player.play(indices, times, StampTracker(), label=f"{self.target.name}: "
                             "annotated frame", should_stop=lambda: bool(got))  # fmt: skip
            wait_for(lambda: bool(got), 2.0)
        finally:
            self.session.node.destroy_subscription(sub)
        return image_to_rgb(got[0]) if got else None

    def peak_search(self, start_hz: float) -> dict:
        """The highest fixed rate with < ``drop_threshold_percent`` drops: double, then bisect."""
        s = self.settings
        trials: list[dict] = []

        def passes(rate: float) -> bool:
            result = self.phase(f"peak trial {rate:.1f} Hz", rate, s.peak_trial_s)
            achieved = result["throughput_in_hz"] or 0.0
            result["passed"] = bool(
                not result["partial"]
                and result["drop_percent"] is not None
                and result["drop_percent"] < s.drop_threshold_percent
                and achieved >= 0.95 * rate
            )
            result.pop("series", None)
            result.pop("resources_series", None)
            trials.append(result)
            return result["passed"]

        good, bad = None, None
        rate = start_hz
        while not self.interrupted and rate <= s.peak_max_hz:
            if not passes(rate):
                bad = rate
                break
            good, rate = rate, rate * 2
        rate = start_hz / 2
        while good is None and not self.interrupted and rate >= s.peak_min_hz:
            if passes(rate):
                good = rate
            else:
                bad, rate = rate, rate / 2
        for _ in range(s.peak_steps):
            if good is None or bad is None or self.interrupted or bad - good <= 0.05 * good:
                break
            middle = (good + bad) / 2
            good, bad = (middle, bad) if passes(middle) else (good, middle)
        return {
            "peak_rate_hz": None if good is None else round(good, 2),
            "first_failing_rate_hz": None if bad is None else round(bad, 2),
            "drop_threshold_percent": s.drop_threshold_percent,
            "trial_s": s.peak_trial_s,
            "partial": self.interrupted or any(trial["partial"] for trial in trials),
            "trials": trials,
        }
