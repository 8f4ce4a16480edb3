"""The launch file, checked where launch_ros is installed (a ROS distro), skipped elsewhere."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

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
    config = Path(__file__).resolve().parents[2] / "config" / "detector.yaml"
    (tmp_path / "share" / "sobelnet_ros" / "config" / "detector.yaml").write_text(
        config.read_text()
    )
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))
    spec = importlib.util.spec_from_file_location("detector_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def _detector_node(description, context, given: dict[str, str]):
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    for entity in description.entities:
        if isinstance(entity, DeclareLaunchArgument):
            entity.visit(context)
    context.launch_configurations.update(given)
    (opaque,) = [e for e in description.entities if isinstance(e, OpaqueFunction)]
    (node,) = opaque.execute(context)
    node._perform_substitutions(context)
    return node


def test_launch_description(monkeypatch, tmp_path):
    description = _description(monkeypatch, tmp_path)  # skips without launch_ros
    from launch import LaunchContext
    from launch.actions import DeclareLaunchArgument

    arguments = {a.name: a for a in description.entities if isinstance(a, DeclareLaunchArgument)}
    assert set(arguments) == {"image", "namespace", "params_file", "device", "use_sim_time"}
    assert all(a.description for a in arguments.values())
    expected_params = tmp_path / "share" / "sobelnet_ros" / "config" / "detector.yaml"
    assert arguments["params_file"].default_value[0].text == str(expected_params)

    context = LaunchContext()
    node = _detector_node(description, context, {"image": "/cam0/image_raw", "namespace": "cam0"})
    assert node.node_executable == "detector" and node.node_package == "sobelnet_ros"
    assert node.node_name.endswith("sobelnet_detector")
    assert ("image", "/cam0/image_raw") in node.expanded_remapping_rules
    assert ("image/compressed", "/cam0/image_raw/compressed") in node.expanded_remapping_rules


def test_launch_arguments_left_out_do_not_override_the_params_file(monkeypatch, tmp_path):
    description = _description(monkeypatch, tmp_path)  # skips without launch_ros
    from launch import LaunchContext

    plain = _detector_node(description, LaunchContext(), {})
    files = [path for path, is_file in plain._Node__expanded_parameter_arguments if is_file]
    assert [Path(f).name for f in files] == ["detector.yaml"]  # the params file alone
    given = _detector_node(description, LaunchContext(), {"device": "cpu"})
    files = [path for path, is_file in given._Node__expanded_parameter_arguments if is_file]
    assert len(files) == 2 and Path(files[0]).name == "detector.yaml"
    override = yaml.safe_load(Path(files[1]).read_text())  # after the file: it wins
    assert [v["ros__parameters"] for v in override.values()] == [{"device": "cpu"}]
