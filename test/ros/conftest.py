"""DDS fixtures: a detector node in its own process and a peer node in this one.

Every fixture picks its own random ROS_DOMAIN_ID so parallel test runs on the
same machine never see each other's topics.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

try:
    import rclpy
except ImportError:  # the DDS test modules skip themselves
    rclpy = None

ROOT = Path(__file__).resolve().parents[2]


class NodeProcess:
    """The ``detector`` executable's code in its own process group, output to a log."""

    def __init__(
        self, log_path: Path, domain: int, ros_args: list[str], args: tuple[str, ...] = ()
    ) -> None:
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain), PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sobelnet_ros.ros.detector_main",
                *args,
                "--ros-args",
                *ros_args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
        if self.alive():
            os.killpg(self.process.pid, sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            code = self.process.wait()
        self._log.close()
        return code


class RosPeer:
    """A node with its own context and executor, spun by the test."""

    def __init__(self, domain: int, name: str = "sobelnet_test_peer") -> None:
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return done()

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def random_domain() -> int:
    return random.SystemRandom().randint(1, 200)
