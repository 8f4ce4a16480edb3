"""Training runs: the loss falls on tiny synthetic data; resume is exact; the weights load."""

from __future__ import annotations

import json

import pytest
import torch

from sobelnet_ros.models import DesNetConfig, SobelNet, load_weights, save_weights
from sobelnet_ros.training.descriptor import DescriptorConfig, DescriptorTask, frozen_detector
from sobelnet_ros.training.detector import DetectorConfig, DetectorTask
from sobelnet_ros.training.pairs import PairConfig, PairSampler
from sobelnet_ros.training.trainer import LoopConfig, run_training

PAIRS = PairConfig(size=64, synthetic_fraction=1.0)
TINY_DESNET = DesNetConfig(widths=(8, 16), extra_convs=(0, 0), dilations=(2,), descriptor_dim=16)


def samplers(seed: int = 0) -> tuple[PairSampler, PairSampler]:
    return PairSampler([], PAIRS, seed), PairSampler([], PAIRS, seed + 1)


def loop(steps: int, **options) -> LoopConfig:
    values = dict(
        steps=steps,
        batch_size=2,
        lr=3e-3,
        warmup=2,
        val_every=steps,
        val_pairs=8,
        checkpoint_every=1000,
        log_every=1,
    )
    return LoopConfig(**{**values, **options})


def fixed_loss(task, model_path, batch) -> float:
    model = task.model()
    load_weights(model, model_path)
    model.train()
    with torch.no_grad():
        return task.loss(model, batch)[0].item()


@pytest.mark.parametrize("target", ["corners", "peaks"])
def test_detector_steps_lower_the_loss(tmp_path, target):
    task = DetectorTask(DetectorConfig(target=target, max_corners=50, peaks=30))
    train, val = samplers()
    torch.manual_seed(0)
    save_weights(task.model(), tmp_path / "start.safetensors")
    result = run_training(task, train, val, loop(30), tmp_path, torch.device("cpu"), {})
    batch = train.batch(10_000, 4)
    before = fixed_loss(task, tmp_path / "start.safetensors", batch)
    after = fixed_loss(task, tmp_path / "sobelnet.safetensors", batch)
    assert after < 0.8 * before
    assert 0.0 <= result["validation"]["repeatability"] <= 1.0
    log = json.loads((tmp_path / "log.json").read_text())
    assert len(log["train"]) == 30 and (tmp_path / "curves.png").stat().st_size > 0
    assert (tmp_path / "train.csv").read_text().startswith("step,loss")


@pytest.fixture(scope="module")
def detector_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("det") / "sobelnet.safetensors"
    return save_weights(SobelNet().eval(), path)


class OneBatch(PairSampler):
    """Always the same small batch: the network must fit it."""

    def batch(self, step, batch_size, rank=0):
        return super().batch(0, batch_size, rank)


@pytest.mark.parametrize("fine_detail", [False, True])
def test_descriptor_steps_lower_the_loss(tmp_path, detector_file, fine_detail):
    task = DescriptorTask(
        DescriptorConfig(candidates=64, gamma=32.0, val_keypoints=32),
        frozen_detector(detector_file, torch.device("cpu")),
        DesNetConfig(**{**vars(TINY_DESNET), "fine_detail": fine_detail}),
    )
    train, val = OneBatch([], PAIRS, 3), PairSampler([], PAIRS, 4)
    torch.manual_seed(0)
    save_weights(task.model(), tmp_path / "start.safetensors")
    result = run_training(task, train, val, loop(30, lr=1e-2), tmp_path, torch.device("cpu"), {})
    batch = train.batch(0, 2)
    before = fixed_loss(task, tmp_path / "start.safetensors", batch)
    after = fixed_loss(task, tmp_path / "desnet.safetensors", batch)
    assert after < 0.9 * before
    assert 0.0 <= result["validation"]["matching_accuracy"] <= 1.0
    if fine_detail:  # the projection starts at zero; training must reach it
        trained = task.model()
        load_weights(trained, tmp_path / "desnet.safetensors")
        assert trained.fine.weight.abs().max() > 1e-3


def test_resume_reproduces_the_same_state_bit_for_bit(tmp_path):
    task = DetectorTask(DetectorConfig(target="peaks", peaks=30))
    train, val = samplers(5)
    straight, staged = tmp_path / "straight", tmp_path / "staged"
    run_training(task, train, val, loop(6), straight, torch.device("cpu"), {})
    first = run_training(task, train, val, loop(6, stop_at=3), staged, torch.device("cpu"), {})
    assert first["step"] == 3
    second = run_training(task, train, val, loop(6), staged, torch.device("cpu"), {})
    assert second["step"] == 6
    a = torch.load(straight / "checkpoint.pt", weights_only=False)
    b = torch.load(staged / "checkpoint.pt", weights_only=False)
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    for key, state in a["optimizer"]["state"].items():
        for name, tensor in state.items():
            assert torch.equal(tensor, b["optimizer"]["state"][key][name])
    assert a["scheduler"] == b["scheduler"]
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
    train_a = json.loads((straight / "log.json").read_text())["train"]
    train_b = json.loads((staged / "log.json").read_text())["train"]
    assert [r["loss"] for r in train_a] == [r["loss"] for r in train_b]


def test_init_seeds_a_new_run_with_given_weights(tmp_path):
    task = DetectorTask(DetectorConfig(target="corners", max_corners=30))
    torch.manual_seed(123)
    start = save_weights(task.model(), tmp_path / "start.safetensors")
    train, val = samplers(7)
    config = loop(1, lr=1e-12, weight_decay=0.0, val_pairs=2)
    run_training(task, train, val, config, tmp_path / "run", torch.device("cpu"), {}, init=start)
    expected, got = task.model(), task.model()
    load_weights(expected, start)
    load_weights(got, tmp_path / "run" / "sobelnet.safetensors")
    weight = "learnable.layers.0.0.weight"
    assert torch.allclose(expected.state_dict()[weight], got.state_dict()[weight], atol=1e-6)


class _Payload:
    """Any pickled object beyond tensors and plain values."""


def test_checkpoints_are_loaded_without_unpickling_objects(tmp_path):
    from sobelnet_ros.training.checkpoint import load_checkpoint

    path = tmp_path / "checkpoint.pt"
    torch.save({"step": 1, "model": {}, "payload": _Payload()}, path)
    model = SobelNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
    with pytest.raises(ValueError, match="checkpoint.pt"):
        load_checkpoint(path, model, optimizer, scheduler)


def test_corner_tested_candidates_are_those_the_extractor_keeps(detector_file):
    """With the corner test on, every candidate passes the extractor's mask, and
    the test leaves out the flat and straight-edge peaks that it finds without."""
    from sobelnet_ros.inference.cornerness import corner_mask

    detector = frozen_detector(detector_file, torch.device("cpu"))
    batch = PairSampler([], PAIRS, 5).batch(0, 4)
    plain, tested = (
        DescriptorTask(DescriptorConfig(candidates=64, **test), detector).candidates(batch)
        for test in ({}, {"min_gradient": 1.0, "min_corner_ratio": 0.1})
    )
    mask = corner_mask(batch.image_a, 1.0, 0.1)[:, 0]
    for i, (a_tested, b_tested) in enumerate(tested):
        x, y = a_tested.long().unbind(1)
        assert (mask[i, y, x] == 1).all() and len(a_tested) == len(b_tested)
    x, y = torch.cat([a for a, _ in plain]).long().unbind(1)
    images = torch.cat([torch.full((len(a),), i) for i, (a, _) in enumerate(plain)])
    rejected = int((mask[images, y, x] == 0).sum())
    assert rejected > 0  # the untested candidates include points the test removes


def test_corner_tested_peak_targets_are_fewer_and_the_loss_trains():
    batch = PairSampler([], PAIRS, 6).batch(0, 4)
    torch.manual_seed(0)
    model = SobelNet()
    counts = []
    for test in ({}, {"min_gradient": 1.0, "min_corner_ratio": 0.1}):
        task = DetectorTask(DetectorConfig(target="peaks", peaks=200, **test))
        loss, info = task.loss(model, batch)
        loss.backward()
        counts.append(info["targets"])
    assert 0 < counts[1] < counts[0]
