"""One line naming what is missing when an optional piece is not installed.

The core (``FeatureExtractor`` and the node's algorithms) needs numpy, torch,
safetensors, OpenCV and PyYAML. ROS 2 (rclpy and the message packages) comes
from a sourced distro or the wheels of ``requirements-ros.txt``; the tools
(evaluation, training, benchmarks, the demo) need the extras of ``setup.py``.
"""

from __future__ import annotations

ROS_MODULES = frozenset(
    {"rclpy", "rcl_interfaces", "sensor_msgs", "std_msgs", "diagnostic_msgs",
     "builtin_interfaces", "ament_index_python", "rosidl_runtime_py"}
)  # fmt: skip
# module -> PyPI name, for the modules of the extras (eval, train, bench: all four)
EXTRA_MODULES = {"matplotlib": "matplotlib", "skimage": "scikit-image", "tqdm": "tqdm",
                 "rosbags": "rosbags"}  # fmt: skip


def missing_piece(error: ModuleNotFoundError) -> str:
    """What the module ``error`` could not find is and how to get it, in one line."""
    module = (error.name or "").split(".")[0]
    if module == "sobelnet_ros":
        return f"this install of sobelnet_ros is incomplete: {error.name} is missing; reinstall it"
    if module in ROS_MODULES:
        return (
            f"needs ROS 2, but {module} is not importable: source a ROS 2 distro "
            "(source /opt/ros/jazzy/setup.bash) or pip install -r requirements-ros.txt"
        )
    if module in EXTRA_MODULES:
        return (
            f"needs {EXTRA_MODULES[module]}, which is not installed: "
            "pip install 'sobelnet_ros[all]' (or the extra of the command: eval, train, bench)"
        )
    return f"needs the Python module {module or error}, which is not installed"
