"""Batches made ahead in worker processes: the same batches, the same run."""

from __future__ import annotations

import torch
from test_trainer import loop, samplers

from sobelnet_ros.training.detector import DetectorConfig, DetectorTask
from sobelnet_ros.training.loader import step_batches
from sobelnet_ros.training.trainer import run_training


def test_workers_make_the_same_batches_in_order():
    train, _ = samplers(3)
    here = list(step_batches(train, 2, 7, batch_size=3))
    ahead = list(step_batches(train, 2, 7, batch_size=3, workers=2))
    assert len(here) == len(ahead) == 5
    for a, b in zip(here, ahead, strict=True):
        for name in ("image_a", "image_b", "mask_a", "mask_b", "H"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert not torch.equal(here[0].image_a, here[1].image_a)  # one batch per step


def test_a_run_with_workers_is_the_run_without(tmp_path):
    task = DetectorTask(DetectorConfig(target="peaks", peaks=30))
    train, val = samplers(5)
    cpu = torch.device("cpu")
    run_training(task, train, val, loop(4), tmp_path / "here", cpu, {})
    run_training(task, train, val, loop(4, loader_workers=2), tmp_path / "ahead", cpu, {})
    a = torch.load(tmp_path / "here" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "ahead" / "checkpoint.pt", weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
