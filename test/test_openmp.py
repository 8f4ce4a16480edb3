import os
import subprocess
import sys

import pytest

CHECK = (
    "import os, sys; from sobelnet_ros.{module} import main; "
    "sys.argv = ['x', '--help']; "
    "code = None\n"
    "try: main()\n"
    "except SystemExit: pass\n"
    "import torch\n"
    "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
)
USER_CHOICES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def _run(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in USER_CHOICES} | env
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_node_starts_torch_with_sleeping_openmp_threads():
    assert _run(CHECK.format(module="ros.detector_main")) == "PASSIVE True"


def test_the_command_keeps_libgomps_default():
    assert _run(CHECK.format(module="cli.main")) == "None True"


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE True"), ({"GOMP_SPINCOUNT": "300000"}, "None True")],
)
def test_a_choice_made_by_the_user_is_kept(env, expected):
    assert _run(CHECK.format(module="ros.detector_main"), **env) == expected


def test_after_torch_is_loaded_nothing_changes():
    code = (
        "import os, torch; from sobelnet_ros.openmp import prefer_passive_waits; "
        "print(prefer_passive_waits(), os.environ.get('OMP_WAIT_POLICY'))"
    )
    assert _run(code) == "False None"
