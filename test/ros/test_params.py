from pathlib import Path

import pytest
import yaml

from sobelnet_ros.ros.params import SPECS, check_value, descriptor

CONFIG = Path(__file__).resolve().parents[2] / "config" / "detector.yaml"


def _flatten(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_config_file_matches_the_declared_defaults():
    values = dict(_flatten(yaml.safe_load(CONFIG.read_text())["/**"]["ros__parameters"]))
    assert set(values) == set(SPECS)
    for name, value in values.items():
        assert value == SPECS[name].default and type(value) is type(SPECS[name].default), name


def test_descriptors_carry_ranges_and_read_only():
    pytest.importorskip("rcl_interfaces", reason="rcl_interfaces is not installed (no ROS)")
    assert descriptor("device").read_only and not descriptor("max_keypoints").read_only
    nms = descriptor("nms_window").integer_range[0]
    assert (nms.from_value, nms.to_value, nms.step) == (1, 31, 2)
    ratio = descriptor("score_ratio").floating_point_range[0]
    assert ratio.step == 0.0 and ratio.to_value < 1.0
    assert "drop_oldest" in descriptor("drop_policy").description


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("max_keypoints", 0, "max_keypoints=0: must be an int in [1, 16384]"),
        ("max_keypoints", 10.0, "max_keypoints=10.0: must be an int in"),
        ("nms_window", 4, "nms_window=4: must be an int in [1, 31] in steps of 2"),
        ("score_ratio", 1.5, "score_ratio=1.5: must be a float in [0.0, 0.999]"),
        ("drop_policy", "newest", "drop_policy='newest': must be one of drop_oldest, block"),
        ("debug_image.enabled", 1, "debug_image.enabled=1: must be true or false"),
        ("tracking.follow_levels", 5, "tracking.follow_levels=5: must be an int in [0, 4]"),
    ],
)
def test_bad_values_are_explained(name, value, problem):
    assert problem in check_value(name, value)
    assert "\n" not in check_value(name, value)


def test_good_values_and_foreign_names_pass():
    assert check_value("nms_window", 7) is None
    assert check_value("score_ratio", 0.0) is None
    assert check_value("use_sim_time", True) is None
