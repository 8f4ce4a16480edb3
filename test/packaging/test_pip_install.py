"""`pip install .` into a fresh venv: `ros2 run`/`ros2 launch` find and start the detector.

They find a package through the ament index under AMENT_PREFIX_PATH, then run
``<prefix>/lib/<package>/<executable>``; this test does the same with
ament_index_python, the library they use. The venv reuses this environment's
dependencies through a .pth file (installing torch again would take minutes),
and the package itself is built from a copy of the tracked sources.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _source_copy(dest: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)  # keeps the launcher's executable bit
    return dest


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # after the venv's own site-packages: what pip installs there comes first
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture(scope="module")
def pip_prefix(tmp_path_factory) -> Path:
    pytest.importorskip("pip", reason="pip is not installed")
    work = tmp_path_factory.mktemp("pip")
    source = _source_copy(work / "src")
    python = _venv(work / "venv")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-build-isolation", "--no-cache-dir", str(source)],
        check=True, cwd=work, timeout=600,
    )  # fmt: skip
    return work / "venv"


def _executable_as_ros2_run_finds_it(prefix: Path, monkeypatch) -> Path:
    packages = pytest.importorskip("ament_index_python.packages")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    found = Path(packages.get_package_prefix("sobelnet_ros"))
    executable = found / "lib" / "sobelnet_ros" / "detector"
    assert executable.is_file() and os.access(executable, os.X_OK), executable
    return executable


def test_pip_install_gives_ros2_run_its_executable(pip_prefix, monkeypatch):
    executable = _executable_as_ros2_run_finds_it(pip_prefix, monkeypatch)
    done = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("usage: detector"), done
    assert (pip_prefix / "share" / "sobelnet_ros" / "launch" / "detector.launch.py").is_file()
    assert (pip_prefix / "share" / "sobelnet_ros" / "LICENSE").is_file()


@pytest.mark.ros
def test_the_pip_installed_node_starts_and_stops(pip_prefix, monkeypatch, tmp_path):
    pytest.importorskip("rclpy", reason="rclpy is not installed")
    executable = _executable_as_ros2_run_finds_it(pip_prefix, monkeypatch)
    env = dict(os.environ, ROS_DOMAIN_ID=str(100 + os.getpid() % 100), PYTHONPATH="")
    log_path = tmp_path / "node.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [executable, "--ros-args", "-p", "device:=cpu"], stdout=log,
            stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while "listening on" not in log_path.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(60)
    text = log_path.read_text()
    assert code == 0 and "stopped:" in text, text
    # weights and code from the install, not from this checkout
    assert str(pip_prefix) in text and str(ROOT) not in text, text


def test_a_colcon_style_install_keeps_the_console_script_in_lib(tmp_path):
    """colcon runs setup.py install; its lib/sobelnet_ros/detector is the console script."""
    source = _source_copy(tmp_path / "src")
    prefix = tmp_path / "install"
    subprocess.run(
        [sys.executable, "setup.py", "--quiet", "egg_info", "--egg-base", str(tmp_path),
         "build", "--build-base", str(tmp_path / "build"), "install", "--prefix", str(prefix),
         "--record", str(tmp_path / "record.txt"), "--single-version-externally-managed"],
        cwd=source, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    script = (prefix / "lib" / "sobelnet_ros" / "detector").read_text()
    assert script.startswith("#!") and "python" in script.splitlines()[0], script[:200]
    assert "console_scripts" in script or "detector_main" in script, script
    assert not (prefix / "bin").exists()  # no launcher pointing at a bin/ that is not there
