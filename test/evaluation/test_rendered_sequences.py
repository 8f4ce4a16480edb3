"""Rendered sequences: panel ray casting, exact poses on disk, and the command."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from sobelnet_ros.cli.main import main
from sobelnet_ros.evaluation.panel_render import (
    Panel,
    PanelScene,
    Textures,
    cast,
    depth_map,
    render,
)
from sobelnet_ros.evaluation.poses import (
    matrix_quaternion,
    poses_for_frames,
    quaternion_matrix,
    read_poses,
)
from sobelnet_ros.evaluation.rendered_sequences import render_sequence, write_sequence
from sobelnet_ros.evaluation.track_eval import read_frame_folder

K = np.array([[200.0, 0.0, 79.5], [0.0, 200.0, 59.5], [0.0, 0.0, 1.0]])


def _wall(z: float, half: float, texture: int = 0) -> Panel:
    """A square facing the camera at depth ``z``, ``2 half`` m wide, centred on the axis."""
    return Panel(np.array([-half, -half, z]), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]),
                 (2 * half, 2 * half), texture, 100.0)  # fmt: skip


def _checker() -> np.ndarray:
    return (np.indices((64, 64)).sum(axis=0) // 8 % 2 * 200 + 20).astype(np.uint8)


def test_rays_hit_the_nearest_panel_at_its_depth():
    scene = PanelScene([_wall(4.0, 1.0), _wall(2.0, 0.2)], Textures([_checker()]), 77.0)
    pixels = np.array([[79.5, 59.5], [79.5 + 30, 59.5], [79.5 + 150, 59.5], [0.0, 0.0]])
    depth, panel = cast(scene, np.eye(4), K, pixels)
    # centre: the small near square; 30 px out (0.3 m at 2 m): past it, the wall behind
    assert depth[0] == pytest.approx(2.0) and panel[0] == 1
    assert depth[1] == pytest.approx(4.0) and panel[1] == 0
    # 150 px out is 3 m at 4 m, past the wall's edge at 1 m, and so is the corner pixel
    assert np.isinf(depth[2:]).all() and (panel[2:] == -1).all()
    image, depths = (
        render(scene, np.eye(4), K, (160, 120)),
        depth_map(scene, np.eye(4), K, (160, 120)),
    )
    assert image.shape == depths.shape == (120, 160)
    assert np.isinf(depths[59, 155]) and image[59, 155] == pytest.approx(77.0)
    assert depths[59, 79] == pytest.approx(2.0)
    # a camera turned away sees nothing: no panel is in front of it
    behind = np.eye(4)
    behind[:3, :3] = cv2.Rodrigues(np.array([0.0, np.pi, 0.0]))[0]
    assert np.isinf(cast(scene, behind, K, pixels)[0]).all()


def test_textures_repeat_without_seams_and_blur_with_distance():
    textures = Textures([_checker()])
    x = np.array([3.0, 3.0 + 128, 3.0 - 128 * 5])  # the mirrored tile is 128 texels wide
    values = textures.sample(0, x, np.full(3, 5.0), np.ones(3))
    np.testing.assert_allclose(values, values[0], atol=1e-3)
    far = textures.sample(0, np.arange(0, 64, 0.5), np.full(128, 4.0), np.full(128, 32.0))
    near = textures.sample(0, np.arange(0, 64, 0.5), np.full(128, 4.0), np.ones(128))
    assert near.std() > 80 and far.std() < 10  # 32 texels per pixel: the checks average out


def test_quaternions_round_trip_including_half_turns():
    rng = np.random.default_rng(3)
    vectors = [np.array([np.pi, 0, 0]), np.array([0, np.pi, 0]), np.zeros(3)]
    vectors += list(rng.normal(size=(50, 3)))
    for vector in vectors:
        R = cv2.Rodrigues(vector)[0]
        q = matrix_quaternion(R)
        assert q[3] >= 0 and np.linalg.norm(q) == pytest.approx(1.0)
        np.testing.assert_allclose(quaternion_matrix(q[None])[0], R, atol=1e-12)


@pytest.fixture(scope="module")
def handheld():
    return render_sequence("handheld", frames=3, seed=4)


def test_rendering_is_seeded(handheld):
    again = render_sequence("handheld", frames=2, seed=4)
    other = render_sequence("handheld", frames=2, seed=5)
    np.testing.assert_array_equal(again.frames[1], handheld.frames[1])
    np.testing.assert_array_equal(again.poses, handheld.poses[:2])
    assert not np.allclose(other.poses[1], handheld.poses[1])
    assert handheld.frames[0].shape == (480, 640) and handheld.frames[0].dtype == np.uint8
    assert handheld.frames[0].std() > 20  # textured, not blank


def test_exposure_blurs_along_the_motion_and_keeps_the_poses(handheld):
    blurred = render_sequence("handheld", frames=2, seed=4, exposure_s=0.05)
    np.testing.assert_array_equal(blurred.poses, handheld.poses[:2])

    def detail(image: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(image.astype(np.float32), cv2.CV_32F)).mean())

    sharp, smooth = handheld.frames[1], blurred.frames[1]
    assert detail(smooth) < 0.95 * detail(sharp)
    assert np.abs(smooth.astype(int) - sharp).mean() < 10  # the same view, blurred
    with pytest.raises(ValueError, match="exposure"):
        render_sequence("handheld", frames=2, exposure_s=0.1)  # a whole frame interval


@pytest.mark.parametrize("shift_m", [0.0, 0.1])
def test_poses_on_disk_carry_pixels_from_frame_to_frame(handheld, tmp_path, shift_m):
    """Points of frame 0 (its depth map), moved into frame 2 by the poses read back from
    poses.txt, land where frame 2 shows the same grey levels; a pose off by 10 cm does not."""
    paths = write_sequence(handheld, tmp_path)
    sequence = read_frame_folder(paths["frames"])
    stamps, poses = read_poses(paths["poses"])
    poses = poses_for_frames(stamps, poses, sequence.stamps)
    fx, fy, cx, cy = (float(v) for v in paths["intrinsics"].read_text().split(","))
    K_file = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
    np.testing.assert_allclose(K_file, handheld.setup.K)
    np.testing.assert_array_equal(sequence.frames[2], handheld.frames[2])
    scene_depth = _depth_of(handheld, 0)
    v, u = np.mgrid[20:460:7, 20:620:7]
    pixels = np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float64)
    depth = scene_depth[v.ravel(), u.ravel()].astype(np.float64)
    points = np.concatenate([(pixels - K_file[:2, 2]) / fx, np.ones((len(pixels), 1))], axis=1)
    world = (points * depth[:, None]) @ poses[0][:3, :3].T + poses[0][:3, 3]
    target = poses[2].copy()
    target[0, 3] += shift_m
    T_cam_world = np.linalg.inv(target)
    in_camera = world @ T_cam_world[:3, :3].T + T_cam_world[:3, 3]
    moved = in_camera[:, :2] / in_camera[:, 2:3] * fx + K_file[:2, 2]
    inside = (moved[:, 0] > 2) & (moved[:, 0] < 637) & (moved[:, 1] > 2) & (moved[:, 1] < 477)
    seen = sequence.frames[2].astype(np.float32)
    at = np.ascontiguousarray(moved[inside].astype(np.float32).T[:, :, None])  # (2, N, 1)
    there = cv2.remap(seen, at[0], at[1], cv2.INTER_LINEAR)
    here = sequence.frames[0][v.ravel(), u.ravel()][inside].astype(np.float32)
    difference = np.median(np.abs(there.ravel() - here))
    if shift_m == 0.0:
        assert inside.mean() > 0.7 and difference < 4.0, difference  # noise, resampling
    else:
        assert difference > 8.0


def _depth_of(sequence, frame: int) -> np.ndarray:
    return depth_map(sequence.scene, sequence.poses[frame], sequence.setup.K, sequence.setup.size)


def test_render_sequence_command(tmp_path, capsys):
    out = tmp_path / "drive"
    code = main(["render-sequence", "--kind", "driving", "--frames", "2", "--seed", "1",
                 "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "sobelnet track-eval --frames" in printed and "--poses" in printed
    frames = sorted((out / "frames").glob("*.png"))
    assert [f.name for f in frames] == ["0.000000.png", "0.100000.png"]
    assert cv2.imread(str(frames[1]), cv2.IMREAD_GRAYSCALE).shape == (376, 1241)
    stamps, poses = read_poses(out / "poses.txt")
    np.testing.assert_allclose(stamps, [0.0, 0.1])
    assert 0.7 < poses[1][2, 3] - poses[0][2, 3] < 1.1  # 8-10 m/s ahead at 10 Hz
    assert main(["render-sequence", "--frames", "2", "--out", str(out)]) == 2  # not over frames
    assert "already holds frames" in capsys.readouterr().err
    empty = tmp_path / "empty"
    assert main(["render-sequence", "--holdout", "0.1", "--out", str(empty)]) == 2
    assert "--holdout needs --photos" in capsys.readouterr().err
    assert main(["render-sequence", "--frames", "1", "--out", str(empty)]) == 2


def test_track_eval_measures_the_true_epipolar_share_on_a_render(tmp_path, capsys):
    """The printed command, run as printed, judges every tracker against the true poses."""
    out = tmp_path / "room"
    assert main(["render-sequence", "--frames", "4", "--out", str(out), "--no-progress"]) == 0
    command = capsys.readouterr().out.splitlines()[-1].split()
    assert command[:2] == ["sobelnet", "track-eval"]
    extra = ["--methods", "ours,klt", "--max-keypoints", "256", "--no-progress"]
    assert main(command[1:] + extra) == 0
    report = json.loads((out / "track_eval" / "tracks.json").read_text())
    sequence = report["sequences"][0]
    assert sequence["ground_truth"] and sequence["frames"] == 4
    for name in ("ours", "klt"):
        figures = sequence["methods"][name]
        assert figures["true_epipolar_within_1px"] > 0.95, name
        assert figures["lengths"]["mean"] >= 3.0, name
