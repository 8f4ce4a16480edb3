"""Two-process DDP training through ``torchrun`` (gloo on the CPU), as users run it on GPUs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch

from sobelnet_ros.models import DesNet, load_weights, save_weights
from sobelnet_ros.models.sobelnet import SobelNet
from sobelnet_ros.training.images import synthetic_shapes

TORCHRUN = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
TINY = ["--steps", "3", "--batch-size", "2", "--size", "64", "--val-every", "3",
        "--val-pairs", "4", "--threads", "1"]  # fmt: skip


@pytest.mark.skipif(not Path(TORCHRUN).exists(), reason="torchrun is not installed")
def test_descriptor_trains_on_two_processes(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(4):
        cv2.imwrite(str(images / f"photo{i}.png"), synthetic_shapes(i, 160))
    torch.manual_seed(0)
    detector = save_weights(SobelNet().eval(), tmp_path / "sobelnet.safetensors")
    out = tmp_path / "des"
    command = [TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", "sobelnet_ros.cli.main",
               "train", "descriptor", "--images", str(images), "--out", str(out), *TINY,
               "--detector", str(detector), "--candidates", "32"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((out / "log.json").read_text())["settings"]["world_size"] == 2
    trained = DesNet()
    load_weights(trained, out / "desnet.safetensors")
    assert trained.fine.weight.abs().max() > 0  # the projection used outside forward learns too
