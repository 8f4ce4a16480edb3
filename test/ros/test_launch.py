"""The launch file, checked where launch_ros is installed (a ROS distro), skipped elsewhere."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

LAUNCH_FILE = Path(__file__).resolve().parents[2] / "launch" / "detector.launch.py"


def _description(monkeypatch, tmp_path):
    pytest.importorskip("launch_ros", reason="launch_ros is not installed (no ROS distro)")
    launch = pytest.importorskip("launch", reason="launch is not installed (no ROS distro)")
    if not hasattr(launch, "LaunchDescription"):  # only this repo's launch/ folder was found
        pytest.skip("the ROS 'launch' package is not installed")
    # A package index with this checkout's config, so the test needs no colcon build.
    index = tmp_path / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True)
    (index / "sobelnet_ros").touch()
    (tmp_path / "share" / "sobelnet_ros" / "config").mkdir(parents=True)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))
    spec = importlib.util.spec_from_file_location("detector_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def test_launch_description(monkeypatch, tmp_path):
    description = _description(monkeypatch, tmp_path)  # skips without launch_ros
    from launch import LaunchContext
    from launch.actions import DeclareLaunchArgument
    from launch_ros.actions import Node

    arguments = {a.name: a for a in description.entities if isinstance(a, DeclareLaunchArgument)}
    assert set(arguments) == {"image", "namespace", "params_file", "device", "use_sim_time"}
    assert all(a.description for a in arguments.values())
    expected_params = tmp_path / "share" / "sobelnet_ros" / "config" / "detector.yaml"
    assert arguments["params_file"].default_value[0].text == str(expected_params)
    (node,) = [e for e in description.entities if isinstance(e, Node)]

    context = LaunchContext()
    for argument in arguments.values():
        argument.visit(context)
    context.launch_configurations.update({"image": "/cam0/image_raw", "namespace": "cam0"})
    node._perform_substitutions(context)
    assert node.node_executable == "detector" and node.node_package == "sobelnet_ros"
    assert node.node_name.endswith("sobelnet_detector")
    assert ("image", "/cam0/image_raw") in node.expanded_remapping_rules
    assert ("image/compressed", "/cam0/image_raw/compressed") in node.expanded_remapping_rules
