"""Starting the node under test (or the relay) in its own process group, and stopping it.

Each child gets its own session, so Ctrl-C in the bench's terminal reaches
the bench only, and stopping the child stops everything it started:
SIGINT (a ROS node's clean shutdown), then SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import sobelnet_ros

LOG = logging.getLogger(__name__)

# The detector's console script, started with this interpreter (works from a source
# checkout and from any install; rclpy.init reads the --ros-args that follow).
DETECTOR_MAIN = "import sys; from sobelnet_ros.ros.detector_main import main; sys.exit(main())"
RELAY_MODULE = "sobelnet_ros.ros.bench.relay"


def detector_command(
    namespace: str,
    params_file: str | None = None,
    params: list[str] = (),
    command: str | None = None,
) -> list[str]:
    """The detector's command line in ``namespace``; ``command`` replaces the executable."""
    head = shlex.split(command) if command else [sys.executable, "-c", DETECTOR_MAIN]
    ros_args = ["--ros-args", "-r", f"__ns:={namespace}"]
    if params_file:
        ros_args += ["--params-file", str(params_file)]
    for param in params:
        if ":=" not in param:
            raise ValueError(f"node parameter {param!r} must look like name:=value")
        ros_args += ["-p", param]
    return [*head, *ros_args]


def relay_command(namespace: str, params: list[str] = ()) -> list[str]:
    ros_args = ["--ros-args", "-r", f"__ns:={namespace}"]
    for param in params:
        ros_args += ["-p", param]
    return [sys.executable, "-m", RELAY_MODULE, *ros_args]


def child_environment() -> dict[str, str]:
    """This environment, with this copy of sobelnet_ros first on the children's path."""
    env = dict(os.environ)
    root = str(Path(sobelnet_ros.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class ManagedProcess:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, command: list[str], log_path: Path) -> None:
        self.name = name
        self.command = command
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        LOG.debug("starting %s: %s", name, shlex.join(command))
        try:
            self.process = subprocess.Popen(
                command,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_environment(),
                start_new_session=True,
            )
        except OSError as error:
            self._log.close()
            raise RuntimeError(f"cannot start {name} ({shlex.join(command)}): {error}") from error

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGINT, then SIGTERM, then SIGKILL to the whole group; returns the exit code."""
        try:
            for sig, wait_s in ((signal.SIGINT, timeout_s), (signal.SIGTERM, 5.0)):
                if not self.alive():
                    break
                self._signal_group(sig)
                try:
                    self.process.wait(timeout=wait_s)
                except subprocess.TimeoutExpired:
                    LOG.warning("%s did not stop on %s", self.name, sig.name)
            if self.alive():
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=5.0)
            else:
                # the group may hold children that outlived the leader
                self._signal_group(signal.SIGKILL, quiet=True)
        finally:
            self._log.close()
        return self.process.returncode

    def _signal_group(self, sig: signal.Signals, quiet: bool = False) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError as error:
            if not quiet:
                LOG.warning("cannot signal %s: %s", self.name, error)

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
