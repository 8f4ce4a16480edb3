"""What a benchmark result must say about where and how it was measured."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import sobelnet_ros


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _gpu() -> str | None:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except Exception:  # torch absent or broken CUDA: no GPU to report
        return None
    return None


def _git_commit() -> str | None:
    root = Path(sobelnet_ros.__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def _rmw() -> str | None:
    try:
        from rclpy.utilities import get_rmw_implementation_identifier

        return get_rmw_implementation_identifier()
    except Exception:  # rclpy missing: the result still says everything else
        return os.environ.get("RMW_IMPLEMENTATION")


def collect(config: dict[str, Any]) -> dict[str, Any]:
    """Machine, OS, time, software versions and the run's configuration."""
    return {
        "time_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "hostname": platform.node(),
            "cpu": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "memory_gb": _memory_gb(),
            "gpu": _gpu(),
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        },
        "os": platform.platform(),
        "python": platform.python_version(),
        "ros_distro": os.environ.get("ROS_DISTRO"),
        "rmw": _rmw(),
        "ros_domain_id": os.environ.get("ROS_DOMAIN_ID"),
        "sobelnet_ros_commit": _git_commit(),
        "config": config,
    }
