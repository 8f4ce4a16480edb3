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


def _run(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | env
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("module", ["cli.main", "ros.detector_main"])
def test_the_command_and_the_node_start_torch_with_sleeping_openmp_threads(module):
    assert _run(CHECK.format(module=module)) == "PASSIVE True"


def test_a_policy_set_by_the_user_is_kept():
    assert _run(CHECK.format(module="cli.main"), OMP_WAIT_POLICY="ACTIVE") == "ACTIVE True"


def test_after_torch_is_loaded_nothing_changes():
    code = (
        "import os, torch; from sobelnet_ros.openmp import prefer_passive_waits; "
        "print(prefer_passive_waits(), os.environ.get('OMP_WAIT_POLICY'))"
    )
    assert _run(code) == "False None"
