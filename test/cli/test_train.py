"""``sobelnet train``: a tiny detector then descriptor run end to end, and clear errors."""

from __future__ import annotations

import json

import cv2

from sobelnet_ros.cli.main import main
from sobelnet_ros.models import DesNet, DesNetConfig, SobelNet, SobelNetConfig, load_weights
from sobelnet_ros.models.weights import config_from_file
from sobelnet_ros.training.images import synthetic_shapes

TINY = ["--steps", "3", "--batch-size", "2", "--size", "64", "--val-every", "3",
        "--val-pairs", "4", "--threads", "1"]  # fmt: skip


def test_train_detector_then_descriptor(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(4):
        cv2.imwrite(str(images / f"photo{i}.png"), synthetic_shapes(i, 160))
    det, des = tmp_path / "det", tmp_path / "des"
    assert main(["train", "detector", "--images", str(images), "--out", str(det), *TINY]) == 0
    load_weights(SobelNet(), det / "sobelnet.safetensors")
    assert json.loads((det / "log.json").read_text())["settings"]["image_count"] == 4
    args = ["train", "descriptor", "--images", str(images), "--out", str(des), *TINY,
            "--detector", str(det / "sobelnet.safetensors"), "--candidates", "32"]  # fmt: skip
    assert main([*args, "--no-fine-detail"]) == 0
    load_weights(DesNet(DesNetConfig(fine_detail=False)), des / "desnet.safetensors")
    assert "desnet.safetensors" in capsys.readouterr().out
    grown = tmp_path / "grown"
    more = ["--out", str(grown), "--init", str(des / "desnet.safetensors")]
    assert main([*args[:4], *args[6:], *more]) == 0
    assert config_from_file(grown / "desnet.safetensors", DesNetConfig).fine_detail
    load_weights(DesNet(), grown / "desnet.safetensors")


def test_train_descriptor_needs_a_detector(tmp_path, capsys):
    assert main(["train", "descriptor", "--out", str(tmp_path / "x"), *TINY]) == 2
    assert "--detector" in capsys.readouterr().err


def test_train_rejects_a_missing_image_folder(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["train", "detector", "--images", str(missing), "--out", str(tmp_path)]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_train_detector_options_reach_the_saved_model(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(4):
        cv2.imwrite(str(images / f"photo{i}.png"), synthetic_shapes(i, 160))
    raw, default = tmp_path / "raw", tmp_path / "default"
    common = ["train", "detector", "--images", str(images), *TINY, "--sigma", "1.0"]
    legacy = ["--raw-gradients", "--max-exposure", "1"]
    assert main([*common, "--out", str(raw), *legacy]) == 0
    assert main([*common, "--out", str(default), "--max-shade", "0.5"]) == 0
    assert (
        config_from_file(raw / "sobelnet.safetensors", SobelNetConfig).normalize_gradients is False
    )
    assert config_from_file(default / "sobelnet.safetensors", SobelNetConfig).normalize_gradients
    settings = json.loads((raw / "log.json").read_text())["settings"]
    assert settings["task_config"]["sigma"] == 1.0
    assert settings["pairs"]["photometric"]["exposure"] == 1.0
    assert settings["pairs"]["photometric"]["shade"] == 0.0
    shaded = json.loads((default / "log.json").read_text())["settings"]["pairs"]["photometric"]
    assert shaded["shade"] == 0.5
