"""Real replays over DDS: bench process, detector and relay processes, no mocks.

Each test runs ``sobelnet bag-bench`` in a subprocess with its own random
ROS_DOMAIN_ID (and so its own Fast DDS profile environment).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rosbags", reason="rosbags is not installed")
from sobelnet_ros.ros.bench.bag_writer import write_image_bag

ROOT = Path(__file__).resolve().parents[3]


def _bench(tmp_path: Path, *args: str, timeout: float = 240) -> tuple[int, str, dict | None]:
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 200)), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    out = tmp_path / "report"
    command = [
        sys.executable,
        "-m",
        "sobelnet_ros.cli.main",
        "bag-bench",
        *args,
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    report = out / "bag_bench.json"
    result = json.loads(report.read_text()) if report.exists() else None
    return done.returncode, done.stdout + done.stderr, result


@pytest.fixture
def small_bag(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    frames = [
        (1_000_000_000 + i * 33_333_333, rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
        for i in range(20)
    ]
    path = tmp_path / "small_bag"
    write_image_bag(path, frames, storage="mcap", image_format="rgb8")
    return path


@pytest.mark.ros
@pytest.mark.slow
def test_replay_through_detector_and_relay(tmp_path, small_bag):
    code, output, result = _bench(
        tmp_path, str(small_bag), "--warmup-s", "1", "--peak-trial-s", "1",
        "--peak-max-hz", "30", "--peak-steps", "1", "--param", "device:=cpu",
    )  # fmt: skip
    assert code == 0, output
    relay, detector = result["targets"]["relay"], result["targets"]["detector"]
    assert relay["summary"]["frames_sent"] == 20
    assert relay["summary"]["frames_received"] == 20, "relay lost frames of a 57 KB image"
    assert relay["summary"]["latency_p50_ms"] > 0
    assert detector["summary"]["frames_received"] > 0
    assert detector["summary"]["latency_p99_ms"] >= detector["summary"]["latency_p50_ms"] > 0
    counts = detector["phases"][0]["node_counts"]
    assert counts["frames_in"] + 0 >= detector["summary"]["frames_received"]
    assert counts.get("rejected_total", 0) == 0
    assert detector["summary"]["resources"]["rss_end_mb"] > 50
    assert detector["peak"]["trials"] and "peak_rate_hz" in detector["peak"]
    assert (relay["exit_code"], detector["exit_code"]) == (0, 0)  # both stopped cleanly
    assert result["node_cost_ms"]["latency_p50_ms"] is not None
    assert not result["partial"]
    assert result["bag"]["frames"] == 20 and len(result["bag"]["sha256"]) == 64
    assert "detector's own cost" in output
    report = tmp_path / "report"
    assert (report / "bag_bench.png").stat().st_size > 10_000
    assert "| latency p99 (ms) |" in (report / "bag_bench.md").read_text()


@pytest.mark.ros
def test_a_node_that_never_appears_times_out_with_partial_figures(tmp_path, small_bag):
    code, output, result = _bench(
        tmp_path, str(small_bag), "--attach", "--input-topic", "/nobody/image",
        "--output-topic", "/nobody/features", "--no-relay", "--startup-timeout", "2",
    )  # fmt: skip
    assert code == 3, output
    assert "did not subscribe to /nobody/image" in output
    assert result["partial"] and result["targets"]["detector"]["partial"]
    assert "PARTIAL" in (tmp_path / "report" / "bag_bench.md").read_text()


def test_missing_topic_is_a_clear_error(tmp_path, small_bag):
    code, output, result = _bench(tmp_path, str(small_bag), "--topic", "/left/image")
    assert code == 2 and result is None
    assert "topic /left/image is not in bag" in output and "/camera/image_raw" in output


def test_make_demo_bag_writes_a_readable_bag(tmp_path):
    from sobelnet_ros.cli.main import main
    from sobelnet_ros.ros.bench.bag_reader import read_image_topic

    path = tmp_path / "demo"
    args = ["make-demo-bag", "--out", str(path), "--size", "96x64", "--duration", "0.3"]
    assert main(args) == 0
    bag = read_image_topic(path)
    assert len(bag.frames) == 9 and bag.frames[0].width == 96
    assert bag.recorded_rate_hz == pytest.approx(30.0, rel=1e-3)
    assert main(args) == 2  # exists: refused without --force
    assert main([*args, "--force"]) == 0
