import json

import cv2
import numpy as np
import pytest

from sobelnet_ros.cli.main import main
from sobelnet_ros.evaluation.cornerness import edge_like_share, eigen_ratio
from sobelnet_ros.evaluation.keypoint_stats import (
    blank_frame_counts,
    blank_frames,
    keypoint_statistics,
    read_image_folder,
)
from sobelnet_ros.evaluation.methods import OpenCVMethod


def _rectangle(height: int = 120, width: int = 160) -> np.ndarray:
    image = np.full((height, width, 3), 50, np.uint8)
    image[30:90, 40:120] = 200
    return image


class FixedPoints:
    """A method returning the same keypoints on every image."""

    name, metric = "fixed", "l2"

    def __init__(self, points):
        self.points = np.asarray(points, np.float32).reshape(-1, 2)

    def extract(self, image):
        return self.points, np.zeros((len(self.points), 4), np.float32)


def test_corner_edge_and_flat_points_of_a_rectangle():
    image = _rectangle()
    corners = [[40, 30], [119, 89]]
    edges = [[80, 30], [40, 60]]
    flat = [[80, 60], [10, 10]]
    assert np.all(eigen_ratio(image, np.array(corners)) > 0.1)
    assert np.all(eigen_ratio(image, np.array(edges)) < 0.1)
    assert np.all(eigen_ratio(image, np.array(flat)) == 0)  # flat counts as edge-like
    assert edge_like_share(image, np.array(corners + edges)) == 0.5
    assert edge_like_share(image, np.zeros((0, 2))) is None


def test_blank_frames_and_their_counts():
    frames = blank_frames((64, 48))
    assert list(frames) == ["black", "white", "grey", "grey_noise"]
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for f in frames.values())
    assert frames["grey"].min() == frames["grey"].max() == 128
    assert 0 < frames["grey_noise"].std() < 2
    assert blank_frame_counts(OpenCVMethod("orb", 100)) == dict.fromkeys(frames, 0)
    assert blank_frame_counts(FixedPoints([[5, 5], [9, 9]])) == dict.fromkeys(frames, 2)


def test_statistics_per_image_and_method():
    images = [("a.png", _rectangle()), ("b.png", np.ascontiguousarray(_rectangle()[::-1]))]
    method = FixedPoints([[40, 30], [80, 30], [80, 60], [119, 89]])  # corner, edge, flat, corner
    result = keypoint_statistics(images, [method], progress=False)
    entry = result["methods"]["fixed"]
    assert entry["images"]["a.png"]["edge_like_share"] == 0.5
    assert entry["images"]["a.png"]["keypoints"] == 4
    assert entry["summary"]["keypoints_per_image"] == 4
    assert entry["blank_frames"]["black"] == 4 and result["images"] == ["a.png", "b.png"]


def test_image_folder_reader(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_image_folder(tmp_path / "none")
    with pytest.raises(ValueError, match="holds no image"):
        read_image_folder(tmp_path)
    cv2.imwrite(str(tmp_path / "b.png"), _rectangle()[..., ::-1])
    cv2.imwrite(str(tmp_path / "a.jpg"), _rectangle())
    (tmp_path / "notes.txt").write_text("not an image")
    images = read_image_folder(tmp_path)
    assert [name for name, _ in images] == ["a.jpg", "b.png"]
    assert images[1][1].shape == (120, 160, 3)
    (tmp_path / "c.png").write_bytes(b"broken")
    with pytest.raises(ValueError, match="cannot read image"):
        read_image_folder(tmp_path)


def test_keypoint_stats_command(tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"{i}.png"), np.roll(_rectangle(), 7 * i, axis=1))
    out = tmp_path / "out"
    args = ["eval", "--keypoint-stats", str(folder), "--methods", "ours,orb", "--out", str(out)]
    assert main([*args, "--random-weights", "--no-progress", "--max-keypoints", "64"]) == 0
    result = json.loads((out / "keypoint_stats.json").read_text())
    assert list(result["methods"]) == ["ours", "orb"] and result["images"] == ["0.png", "1.png"]
    assert result["methods"]["ours"]["blank_frames"] == dict.fromkeys(blank_frames(), 0)
    assert result["methods"]["orb"]["summary"]["keypoints_per_image"] <= 64
    assert (out / "edge_like.png").read_bytes()[:4] == b"\x89PNG"
    assert "| ours |" in (out / "keypoint_stats.md").read_text()
    assert "kpts on grey+noise" in capsys.readouterr().out
