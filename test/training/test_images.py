"""Training image sources: evaluation data is excluded by name; fallback photos load."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sobelnet_ros.training.images import (
    is_evaluation_path,
    list_images,
    load_folder,
    skimage_photos,
    split_holdout,
    synthetic_shapes,
)


@pytest.mark.parametrize(
    "path",
    [
        "oxford/graf/img1.png",
        "boat/img2.ppm",
        "hpatches/v_churchill/1.ppm",
        "x/i_ajuntament/2.ppm",
        "rgbd_dataset_freiburg2_desk/rgb/1.png",
        "TUM/frame.png",
        "kitti/000001.png",
        "EVD/a.png",
        "icl_nuim/0.png",
        "Graf.png",
    ],
)
def test_evaluation_names_are_recognised(path):
    assert is_evaluation_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "bsds500/train_12003.jpg",
        "coco128/val2017_000000000139.jpg",
        "kodak/kodim01.jpg",
        "wallpaper/sunset.jpg",
        "autumn.png",
    ],
)
def test_ordinary_names_are_kept(path):
    assert not is_evaluation_path(path)


def test_folder_loading_excludes_evaluation_images(tmp_path):
    image = synthetic_shapes(0, 128)
    (tmp_path / "graf").mkdir()
    cv2.imwrite(str(tmp_path / "graf" / "img1.png"), image)
    cv2.imwrite(str(tmp_path / "street.png"), image)
    (tmp_path / "notes.txt").write_text("not an image")
    kept, excluded = list_images(tmp_path)
    assert [p.name for p in kept] == ["street.png"]
    assert [p.name for p in excluded] == ["img1.png"]
    images, names = load_folder(tmp_path)
    assert names == ["street.png"] and images[0].dtype == np.uint8


def test_bad_folders_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        list_images(tmp_path / "missing")
    with pytest.raises(ValueError, match="no usable image"):
        list_images(tmp_path)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png"):
        load_folder(tmp_path)


def test_skimage_fallback_avoids_synthetic_eval_photos_and_holdout_is_stable():
    from sobelnet_ros.data import SAMPLE_NAMES

    images, names = skimage_photos(max_side=128)
    assert len(images) >= 2 and all(max(i.shape) <= 128 for i in images)
    assert not {n.split(":")[1].rsplit(".", 1)[0] for n in names} & set(SAMPLE_NAMES)
    train, held = split_holdout(names, 0.3)
    assert sorted(train + held) == list(range(len(names)))
    assert split_holdout(names, 0.3) == (train, held)
