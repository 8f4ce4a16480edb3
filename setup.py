"""Installs sobelnet_ros for colcon (ament_python) and for plain pip."""

import sys
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "sobelnet_ros"
# `ros2 run`/`ros2 launch` find executables in <prefix>/lib/sobelnet_ros. colcon installs
# the console scripts there (setup.cfg's install_scripts); pip, which builds a wheel,
# puts them in <prefix>/bin, so wheels also carry a launcher there that hands over.
WHEEL_BUILD = any(command in sys.argv for command in ("bdist_wheel", "editable_wheel"))
ROS_LAUNCHERS = [(f"lib/{PACKAGE}", ["resource/lib/detector"])] if WHEEL_BUILD else []
TOOLS = ["tqdm>=4.60", "matplotlib>=3.6", "scikit-image>=0.21"]  # progress, plots, sample photos

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml", "LICENSE"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/weights", glob("weights/*.safetensors") + glob("weights/*.md")),
        *ROS_LAUNCHERS,
    ],
    # Exact pins live in requirements.txt; these ranges only say what works. The core
    # (FeatureExtractor, the node) needs install_requires; the tools need an extra.
    install_requires=[
        "setuptools",
        "numpy>=1.24",
        "torch>=2.1",
        "safetensors>=0.4",
        "pyyaml>=6",
        "opencv-python-headless>=4.5,<5",  # 5.0 on PyPI lacks AKAZE (evaluation baseline)
    ],
    extras_require={
        "eval": TOOLS,  # sobelnet eval
        "train": TOOLS,  # sobelnet train
        "bench": [*TOOLS, "rosbags>=0.10"],  # sobelnet demo, bench, bag-bench, make-demo-bag
        "all": [*TOOLS, "rosbags>=0.10"],
    },
    python_requires=">=3.10",
    zip_safe=False,
    maintainer="sobelnet_ros maintainers",
    maintainer_email="sobelnet-ros@users.noreply.github.com",
    description="Real-time learned keypoints (SobelNet + DesNet) for ROS 2",
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "sobelnet = sobelnet_ros.cli.main:main",
            "detector = sobelnet_ros.ros.detector_main:main",
        ],
    },
)
