"""Default `features` messages over stock Fast DDS to a best-effort subscriber.

Messages over Fast DDS's 512 KiB shared-memory segment go over UDP in
fragments, and a best-effort reader loses whole messages when one fragment is
late (float32 descriptors of 1024 keypoints, 537 KB, lost about half). The
publisher is another process, as a camera driver or the node would be.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from sobelnet_ros.ros.params import SPECS

from .conftest import ROOT

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_default_features_reach_a_best_effort_subscriber():
    form = SPECS["descriptor_format"].default
    keypoints = SPECS["max_keypoints"].default
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "dds_delivery.py"), "features",
         "--descriptor-format", form, "--keypoints", str(keypoints), "--count", "50",
         "--rate", "10", "--publisher", "reliable", "--subscriber", "best_effort"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bytes"] < 256 * 1024, result  # well under the 512 KiB segment
    assert result["received"] >= 0.96 * result["sent"], result
