import json
import random

import pytest

from sobelnet_ros.cli.main import main

pytest.importorskip("rclpy", reason="rclpy is not installed")


@pytest.mark.ros
@pytest.mark.slow
def test_demo_runs_the_node_and_saves_an_annotated_frame(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 200)))
    args = ["demo", "--duration", "2", "--warmup", "0.5", "--size", "160x120",
            "--rate", "10", "--device", "cpu", "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "keypoints/frame" in out and "annotated frame:" in out
    summary = json.loads((tmp_path / "demo_summary.json").read_text())
    assert summary["frames_received"] > 0 and summary["node_exit_code"] == 0
    assert summary["latency_end_to_end_p50_ms"] > 0
    assert (tmp_path / "demo_keypoints.png").stat().st_size > 1000
    assert (tmp_path / "demo_report.md").read_text().startswith("# sobelnet demo")
    log = (tmp_path / "detector.log").read_text()
    assert "stopped:" in log and "Traceback" not in log
