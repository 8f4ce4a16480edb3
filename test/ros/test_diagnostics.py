"""The status message: named per node, levelled by the recent window, no nan when idle."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("diagnostic_msgs", reason="ROS message packages are not installed")

from diagnostic_msgs.msg import DiagnosticStatus

from sobelnet_ros.ros.diagnostics import RecentCounts, build_status, problem_totals

IDLE = {"input_rate_hz": 0.0, "output_rate_hz": 0.0, "latency_p50_ms": math.nan,
        "latency_p99_ms": math.nan, "keypoints_per_frame": 0.0}  # fmt: skip
BUSY = {"input_rate_hz": 10.0, "output_rate_hz": 10.0, "latency_p50_ms": 80.0,
        "latency_p99_ms": 120.0, "keypoints_per_frame": 900.0}  # fmt: skip


def totals(rejected: int = 0, failed: int = 0) -> dict:
    return {"frames_in": 100, "never_received": 0, "submitted": 100,
            "completed": 100 - failed, "published": 90, "debug_published": 0,
            "rejected": {"too_large": rejected} if rejected else {},
            "dropped": {}, "failed": {"bad_input": failed} if failed else {},
            "unpublished": {}}  # fmt: skip


def status(window: dict, count: dict, recent: dict) -> DiagnosticStatus:
    msg = build_status(None, ("/cam0/sobelnet_detector", "cpu /cam0/image_raw"), window, count,
                       recent, 0, {"device": "cpu"})  # fmt: skip
    return msg.status[0]


def test_recent_counts_forget_what_is_older_than_the_window():
    recent = RecentCounts(window_s=5.0)
    start = recent._history[0][0]
    assert recent.update({"rejected_total": 1}, start + 1.0) == {"rejected_total": 1}
    assert recent.update({"rejected_total": 1}, start + 4.0) == {"rejected_total": 1}
    assert recent.update({"rejected_total": 1}, start + 7.0) == {"rejected_total": 0}
    assert recent.update({"rejected_total": 3}, start + 8.0) == {"rejected_total": 2}


def test_one_old_rejected_frame_does_not_keep_the_level_warn():
    count = totals(rejected=1)
    now = status(BUSY, count, {"rejected_total": 1, "failed_total": 0, "dropped_total": 0})
    later = status(BUSY, count, {"rejected_total": 0, "failed_total": 0, "dropped_total": 0})
    assert now.level == DiagnosticStatus.WARN
    assert later.level == DiagnosticStatus.OK
    values = {kv.key: kv.value for kv in later.values}
    assert values["rejected_total"] == "1" and values["rejected_recent"] == "0"
    failing = status(BUSY, totals(failed=2), problem_totals(totals(failed=2)))
    assert failing.level == DiagnosticStatus.ERROR


def test_named_after_the_node_with_device_and_topic():
    done = status(BUSY, totals(), {})
    assert done.name == "/cam0/sobelnet_detector"
    assert done.hardware_id == "cpu /cam0/image_raw"


def test_an_idle_node_reports_no_nan():
    idle = status(IDLE, totals(), {})
    text = idle.message + " ".join(kv.value for kv in idle.values)
    assert "nan" not in text.lower(), text
    assert "latency_p50_ms" not in {kv.key for kv in idle.values}
