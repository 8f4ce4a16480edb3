import json
import random

import pytest

from sobelnet_ros.cli.main import main

pytest.importorskip("rclpy", reason="rclpy is not installed")


@pytest.mark.ros
@pytest.mark.slow
def test_demo_replays_a_bag_through_node_and_relay(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 200)))
    bag = tmp_path / "bag"
    assert (
        main(["make-demo-bag", "--out", str(bag), "--size", "160x120", "--duration", "0.7"]) == 0
    )
    args = ["demo", "--bag", str(bag), "--no-peak", "--device", "cpu", "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "relay: 21/21 frames out" in out and "detector's own cost" in out
    assert f"annotated frame: {tmp_path / 'demo_keypoints.png'}" in out
    assert (tmp_path / "demo_keypoints.png").stat().st_size > 1000
    result = json.loads((tmp_path / "demo_bag_bench" / "bag_bench.json").read_text())
    assert result["targets"]["detector"]["summary"]["frames_received"] > 0
    assert result["targets"]["detector"]["exit_code"] == 0
