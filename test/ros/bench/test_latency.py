"""Matching outputs to inputs by stamp, the figures from synthetic timestamps, the schedule."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from sobelnet_ros.ros.bench.latency import StampTracker, latency_series, stamp_key, summarize
from sobelnet_ros.ros.bench.monitor import parse_stamp
from sobelnet_ros.ros.bench.player import make_schedule

MS = 1_000_000


def _tracker(latencies_ms: list[float | None], period_ms: float = 10.0) -> StampTracker:
    tracker = StampTracker()
    for i, latency in enumerate(latencies_ms):
        sent = int(i * period_ms * MS)
        tracker.on_sent(key=1000 + i, t_ns=sent)
        if latency is not None:
            tracker.on_received(1000 + i, sent + int(latency * MS))
    return tracker


def test_latency_percentiles_and_drops():
    latencies = [float(v) for v in range(1, 101)]  # 1..100 ms
    latencies[10] = latencies[20] = None  # two frames never answered
    s = summarize(_tracker(latencies))
    assert (s["frames_sent"], s["frames_received"], s["frames_dropped"]) == (100, 98, 2)
    assert s["drop_percent"] == pytest.approx(2.0)
    kept = np.array([v for v in latencies if v is not None])
    assert s["latency_p50_ms"] == pytest.approx(np.percentile(kept, 50), abs=1e-3)
    assert s["latency_p99_ms"] == pytest.approx(np.percentile(kept, 99), abs=1e-3)
    assert (s["latency_min_ms"], s["latency_max_ms"]) == (1.0, 100.0)
    assert s["throughput_in_hz"] == pytest.approx(100.0)


def test_outputs_matched_by_stamp_not_by_arrival_order():
    tracker = StampTracker()
    tracker.on_sent(1, 0)
    tracker.on_sent(2, 10 * MS)
    tracker.on_received(2, 15 * MS)  # the second frame overtakes the first
    tracker.on_received(1, 30 * MS)
    tracker.on_received(1, 40 * MS)  # duplicate: the first arrival counts
    tracker.on_received(99, 41 * MS)  # never sent (another publisher, a warm-up frame)
    s = summarize(tracker)
    assert s["latency_min_ms"] == 5.0 and s["latency_max_ms"] == 30.0
    assert (s["duplicates"], s["unmatched_outputs"]) == (1, 1)
    send_s, latency_ms = latency_series(tracker)
    np.testing.assert_allclose(send_s, [0.0, 0.01])
    np.testing.assert_allclose(latency_ms, [30.0, 5.0])


def test_jitter_is_zero_for_a_steady_stream_and_sees_a_hiccup():
    steady = summarize(_tracker([20.0] * 50))
    assert steady["jitter_mean_ms"] == 0.0 and steady["jitter_max_ms"] == 0.0
    assert steady["throughput_out_hz"] == pytest.approx(100.0)
    hiccup = summarize(_tracker([20.0] * 25 + [27.0] + [20.0] * 24))
    # one frame 7 ms late: its interval grows by 7 ms and the next shrinks by 7 ms
    assert hiccup["jitter_max_ms"] == pytest.approx(14.0)


def test_nothing_received_gives_none_not_errors():
    s = summarize(_tracker([None, None, None]))
    assert s["frames_dropped"] == 3 and s["drop_percent"] == 100.0
    assert s["latency_p50_ms"] is None and s["throughput_out_hz"] is None


def test_a_stamp_sent_twice_is_refused():
    tracker = StampTracker()
    tracker.on_sent(5, 0)
    with pytest.raises(ValueError, match="sent twice"):
        tracker.on_sent(5, 1)


def test_parse_stamp_reads_cdr_headers_of_both_byte_orders():
    little = b"\x00\x01\x00\x00" + struct.pack("<iI", 1700000000, 123456789) + b"rest"
    big = b"\x00\x00\x00\x00" + struct.pack(">iI", 12, 34) + b"rest"
    assert parse_stamp(little) == stamp_key(1700000000, 123456789)
    assert parse_stamp(big) == 12 * 1_000_000_000 + 34
    with pytest.raises(ValueError):
        parse_stamp(b"\x00\x01")


def test_parse_stamp_of_a_real_serialized_image():
    rclpy_serialization = pytest.importorskip("rclpy.serialization")
    from sensor_msgs.msg import Image

    msg = Image(height=2, width=2, encoding="mono8", step=2, data=bytes(4))
    msg.header.stamp.sec, msg.header.stamp.nanosec = 42, 999
    assert parse_stamp(rclpy_serialization.serialize_message(msg)) == stamp_key(42, 999)


def test_schedule_recorded_fixed_and_looped():
    offsets = np.array([0.0, 0.1, 0.2, 0.3])
    frames, times = make_schedule(offsets)
    np.testing.assert_array_equal(frames, [0, 1, 2, 3])
    np.testing.assert_allclose(times, offsets)
    frames, times = make_schedule(offsets, rate_hz=20.0)
    np.testing.assert_allclose(times, [0.0, 0.05, 0.1, 0.15])
    frames, times = make_schedule(offsets, duration_s=1.0)  # 0.4 s per lap, looped
    np.testing.assert_array_equal(frames, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
    np.testing.assert_allclose(times, np.arange(10) * 0.1, atol=1e-9)
    frames, times = make_schedule(offsets, rate_hz=30.0, duration_s=600.0)
    assert len(frames) == 18000 and times[-1] < 600.0 and np.all(np.diff(times) > 0)
    with pytest.raises(ValueError):
        make_schedule(offsets, rate_hz=0.0)


def test_repeated_phases_are_combined_by_median():
    from sobelnet_ros.ros.bench.bench import _combine

    phases = [
        {"latency_p50_ms": v, "frames_sent": 10, "partial": False, "label": "x"} for v in (5, 9, 7)
    ]
    phases[1]["partial"] = True
    combined = _combine(phases)
    assert combined["latency_p50_ms"] == 7 and combined["frames_sent"] == 10
    assert combined["partial"] is True and "label" not in combined
