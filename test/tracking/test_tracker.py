"""DescriptorTracker and FeatureTracker on synthetic scenes with known geometry."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scene import K, Scene, camera_poses, project

from sobelnet_ros import CameraModel, Features, FeatureTracker, TrackerConfig
from sobelnet_ros.evaluation.poses import fundamental_from_poses
from sobelnet_ros.tracking import DescriptorTracker, epipolar_distances


@pytest.fixture
def scene() -> Scene:
    return Scene()


def _point_of(tracks, features: Features, keep: np.ndarray) -> dict[int, int]:
    """Track ID -> index of the scene point its keypoint shows."""
    where = {tuple(p): i for i, p in zip(keep, features.keypoints.tolist(), strict=True)}
    return {
        int(t): where[tuple(p)] for t, p in zip(tracks.ids, tracks.keypoints.tolist(), strict=True)
    }


def _run(tracker, scene: Scene, frames, visible=None):
    out = []
    for frame in frames:
        features, keep = scene.features(frame, None if visible is None else visible(frame))
        tracks = tracker.update(features, stamp=0.1 * frame)
        out.append((tracks, _point_of(tracks, features, keep)))
    return out


@pytest.mark.parametrize("options", [{}, {"guided_px": 4.0}], ids=["default", "guided"])
def test_ids_persist_follow_their_point_and_age(scene, options):
    history = _run(DescriptorTracker(**options), scene, range(6))
    first, last = history[0][1], history[-1][1]
    assert len(first) > 300
    survivors = set(first) & set(last)
    assert len(survivors) >= 0.9 * len(first)
    for (_, before), (_, after) in itertools.pairwise(history):
        same = set(before) & set(after)
        assert all(before[i] == after[i] for i in same)  # an ID never jumps to another point
    tracks = history[-1][0]
    ages = dict(zip(tracks.ids.tolist(), tracks.ages.tolist(), strict=True))
    assert all(ages[i] == 6 for i in survivors)
    assert tracks.tracked >= len(survivors) and tracks.lost <= 0.02 * len(first)


def _swap_pairs(scene: Scene, frame: int, count: int) -> np.ndarray:
    """First indices of point pairs (i, i + 1) whose exchange is off the epipolar lines by > 5 px
    (F-verification cannot see an exchange along an epipolar line)."""
    F = fundamental_from_poses(scene.poses[frame - 1], scene.poses[frame], K)
    before = project(scene.points, scene.poses[frame - 1])
    after = project(scene.points, scene.poses[frame])
    even = np.arange(0, len(before) - 1, 2)
    off = np.minimum(
        epipolar_distances(F, before[even], after[even + 1]),
        epipolar_distances(F, before[even + 1], after[even]),
    )
    return even[off > 5.0][:count]


def _exchange(features: Features, first: np.ndarray) -> None:
    descriptors = features.descriptors.copy()
    descriptors[first], descriptors[first + 1] = (
        features.descriptors[first + 1],
        features.descriptors[first],
    )
    features.descriptors = descriptors


@pytest.mark.parametrize("frame", [1, 3])  # 1: no motion prior yet; 3: gated by the prior
def test_swapped_descriptors_do_not_continue_tracks(scene, frame):
    tracker = DescriptorTracker()
    history = _run(tracker, scene, range(frame))
    start = history[-1][1]
    features, keep = scene.features(frame)
    swapped = _swap_pairs(scene, frame, 60)
    _exchange(features, swapped)
    after = _point_of(tracker.update(features), features, keep)
    continued = set(start) & set(after)
    assert len(swapped) == 60 and len(continued) > 200
    assert all(start[i] == after[i] for i in continued)  # no track moved to its swap partner
    exchanged = set(swapped.tolist()) | set((swapped + 1).tolist())
    assert not any(start[i] in exchanged for i in continued)


def test_lost_tracks_come_back_with_their_ids(scene):
    hidden = np.zeros(len(scene.points), dtype=bool)
    hidden[::3] = True
    history = _run(DescriptorTracker(), scene, range(4), lambda f: ~hidden if f == 2 else None)
    before, gap, after = history[1][1], history[2][1], history[3][1]
    back = [i for i in before if hidden[before[i]]]
    assert len(back) > 80 and not any(i in gap for i in back)
    assert sum(i in after and after[i] == before[i] for i in back) >= 0.9 * len(back)
    tracks = history[3][0]
    assert tracks.revived >= 0.9 * len(back)
    ages = dict(zip(tracks.ids.tolist(), tracks.ages.tolist(), strict=True))
    assert all(ages[i] == 3 for i in back if i in after)  # seen in frames 0, 1 and 3


def test_reset_starts_again(scene):
    tracker = DescriptorTracker()
    _run(tracker, scene, range(3))
    tracker.reset()
    tracks = tracker.update(scene.features(3)[0])
    assert tracks.ids.min() == 0 and (tracks.ages == 1).all()
    assert tracks.tracked == 0 and tracks.new == len(tracks)


def test_velocities_and_normalised_coordinates(scene):
    camera = CameraModel.from_intrinsics(K, [0.1, -0.05, 0.001, 0.002, 0.0])
    tracker = DescriptorTracker(camera=camera)
    first, _ = scene.features(0)
    before = tracker.update(first, stamp=10.0)
    second, _ = scene.features(1)
    after = tracker.update(second, stamp=10.05)
    where = dict(zip(before.ids.tolist(), before.keypoints, strict=True))
    continued = after.ages > 1
    assert continued.sum() > 300
    expected = np.array([where[i] for i in after.ids[continued]])
    expected = (after.keypoints[continued] - expected) / 0.05
    np.testing.assert_allclose(after.velocities[continued], expected, rtol=1e-3, atol=1e-2)
    assert (after.velocities[~continued] == 0).all()
    np.testing.assert_allclose(after.normalised, camera.normalise(after.keypoints), atol=1e-9)
    moved = after.normalised[continued] - camera.normalise(
        np.array([where[i] for i in after.ids[continued]])
    )
    np.testing.assert_allclose(after.normalised_velocities[continued], moved / 0.05, atol=1e-6)


def test_budget_and_spacing_of_new_tracks(scene):
    tracker = DescriptorTracker(max_tracks=150, min_distance_px=12.0)
    first = tracker.update(scene.features(0)[0])
    assert len(first) == 150
    cells = np.floor(first.keypoints / 12.0).astype(int)
    assert len({tuple(c) for c in cells}) == len(cells)  # one new track per cell
    second = tracker.update(scene.features(1)[0])
    assert len(second) <= 150
    old, new = second.keypoints[second.ages > 1], second.keypoints[second.ages == 1]
    if len(new):
        gaps = np.linalg.norm(new[:, None] - old[None], axis=2).min(axis=1)
        assert gaps.min() >= 11.0  # 12 px, less the rounding to the mask's pixels


def test_empty_frame_loses_then_finds_tracks(scene):
    tracker = DescriptorTracker()
    _run(tracker, scene, range(2))
    empty = Features(
        np.zeros((0, 2), np.float32),
        np.zeros(0, np.float32),
        np.zeros((0, 128), np.float32),
        (640, 480),
    )
    gone = tracker.update(empty)
    assert len(gone) == 0 and gone.lost > 300
    back = tracker.update(scene.features(3)[0])
    assert back.revived > 0.5 * gone.lost


def test_tracks_found_again_without_a_verified_track_need_most_to_agree(scene):
    """After a frame without tracks, tracks found again are checked on their own: where
    three in four detections moved off their points, none may take an old ID."""
    tracker = DescriptorTracker()
    ids_to_points = _run(tracker, scene, range(2))[-1][1]
    empty = Features(
        np.zeros((0, 2), np.float32),
        np.zeros(0, np.float32),
        np.zeros((0, 128), np.float32),
        (640, 480),
    )
    tracker.update(empty)
    visible = np.zeros(len(scene.points), dtype=bool)
    visible[:40] = True
    features, keep = scene.features(3, visible)
    rng = np.random.default_rng(2)
    moved = np.arange(len(keep)) % 4 != 0
    offsets = rng.uniform(30, 80, (moved.sum(), 2)) * rng.choice([-1, 1], (moved.sum(), 2))
    features.keypoints[moved] += offsets.astype(np.float32)
    back = tracker.update(features)
    shown = {tuple(p): j for j, p in enumerate(features.keypoints.tolist())}
    for track_id, point in zip(back.ids.tolist(), back.keypoints.tolist(), strict=True):
        if track_id in ids_to_points:  # an old ID: it must show its own point, unmoved
            j = shown[tuple(point)]
            assert keep[j] == ids_to_points[track_id] and not moved[j]


def test_changing_descriptor_length_is_an_error(scene):
    tracker = DescriptorTracker()
    tracker.update(scene.features(0)[0])
    features = Features(
        np.zeros((1, 2), np.float32),
        np.ones(1, np.float32),
        np.ones((1, 64), np.float32),
        (640, 480),
    )
    with pytest.raises(ValueError, match="reset"):
        tracker.update(features)


def test_config_is_checked():
    with pytest.raises(ValueError, match="unknown tracker options"):
        TrackerConfig().with_options(gate=3)
    with pytest.raises(ValueError, match="ratio"):
        TrackerConfig(ratio=1.5)
    with pytest.raises(ValueError, match="verify_method"):
        TrackerConfig(verify_method="lmeds")
    with pytest.raises(ValueError, match="follow_levels"):
        TrackerConfig(follow_levels=5)


def test_projection_helper_agrees_with_the_scene(scene):
    features, keep = scene.features(2)
    np.testing.assert_allclose(
        features.keypoints, project(scene.points[keep], scene.poses[2]), atol=1e-3
    )


def _translated_photo(frames: int, step_px: float) -> list[np.ndarray]:
    from sobelnet_ros.data.samples import load_sample

    photo = load_sample("astronaut")
    images = []
    for index in range(frames):
        shift = np.array([[1.0, 0.0, -40 + step_px * index], [0.0, 1.0, -30.0]])
        images.append(
            np.ascontiguousarray(
                __import__("cv2").warpAffine(
                    photo, shift, (320, 240), flags=__import__("cv2").INTER_LINEAR
                )
            )
        )
    return images


def test_feature_tracker_follows_a_moving_photo():
    tracker = FeatureTracker(max_keypoints=256)
    history = [tracker.track(image) for image in _translated_photo(5, 3.0)]
    start = dict(zip(history[0].ids.tolist(), history[0].keypoints, strict=True))
    end = dict(zip(history[-1].ids.tolist(), history[-1].keypoints, strict=True))
    kept = [i for i in start if i in end]
    assert len(kept) >= 0.5 * len(start)
    moved = np.array([end[i] - start[i] for i in kept])
    assert (np.abs(moved - [12.0, 0.0]).max(axis=1) <= 1.0).mean() >= 0.95
    ages = history[-1].ages[np.isin(history[-1].ids, kept)]
    assert (ages == 5).mean() >= 0.9 and ages.min() >= 3  # some were missed in one frame
    tracker.reset()
    assert tracker.track(_translated_photo(1, 0.0)[0]).ids.min() == 0


@pytest.fixture(scope="module")
def photo_features():
    from sobelnet_ros import FeatureExtractor

    extractor = FeatureExtractor(max_keypoints=256)
    images = _translated_photo(5, 3.3)
    return images, [extractor.extract(image) for image in images]


def _steps(history) -> np.ndarray:
    """Per-frame displacement of every ID seen in two consecutive frames."""
    out = []
    for before, after in itertools.pairwise(history):
        where = dict(zip(before.ids.tolist(), before.keypoints, strict=True))
        out += [
            p - where[i]
            for i, p in zip(after.ids.tolist(), after.keypoints, strict=True)
            if i in where
        ]
    return np.array(out)


def test_refinement_measures_steps_below_the_detector_noise(photo_features):
    images, features = photo_features
    errors = {}
    for window in (0, 17):
        tracker = DescriptorTracker(refine_window_px=window, bridge_frames=0)
        history = [tracker.update(f, image=i) for f, i in zip(features, images, strict=True)]
        errors[window] = np.abs(_steps(history) - [3.3, 0.0]).max(axis=1)
    assert np.median(errors[17]) < 0.05
    assert np.median(errors[17]) < 0.5 * np.median(errors[0])


def test_bridging_follows_points_the_detector_missed(photo_features):
    images, features = photo_features
    tracker = DescriptorTracker()
    history = [tracker.update(f, image=i) for f, i in zip(features[:3], images[:3], strict=True)]
    thinned = _every_other(features[3])
    tracks = tracker.update(thinned, image=images[3])
    assert tracks.bridged > 20
    followed = tracks.scores == 0
    assert followed.sum() == tracks.bridged
    where = dict(zip(history[-1].ids.tolist(), history[-1].keypoints, strict=True))
    moved = np.array(
        [
            p - where[i]
            for i, p in zip(tracks.ids[followed], tracks.keypoints[followed], strict=True)
        ]
    )
    error = np.abs(moved - [3.3, 0.0]).max(axis=1)
    assert (error < 0.2).mean() >= 0.95 and error.max() < 0.8
    again = tracker.update(features[4], image=images[4])  # detected again: same IDs
    assert np.isin(tracks.ids[followed], again.ids).mean() > 0.8
    unbridged = DescriptorTracker(bridge_frames=0)
    for f, i in zip(features[:3], images[:3], strict=True):
        unbridged.update(f, image=i)
    assert unbridged.update(thinned, image=images[3]).bridged == 0
    young = DescriptorTracker()  # tracks seen once continue only where detected again
    young.update(features[0], image=images[0])
    assert young.update(_every_other(features[1]), image=images[1]).bridged == 0


def _every_other(features: Features) -> Features:
    """The features with every other point missed by the detector."""
    keep = np.arange(len(features.keypoints)) % 2 == 0
    return Features(features.keypoints[keep], features.scores[keep],
                    features.descriptors[keep], features.image_size)  # fmt: skip


@pytest.mark.cuda
def test_cuda_tracks_like_the_cpu():
    results = {}
    for device in ("cpu", "cuda"):
        scene = Scene()  # the same noise for both
        tracker = DescriptorTracker(device=device)
        results[device] = [tracker.update(scene.features(f)[0]) for f in range(4)]
    for cpu, cuda in zip(results["cpu"], results["cuda"], strict=True):
        np.testing.assert_array_equal(cpu.ids, cuda.ids)
        np.testing.assert_allclose(cpu.keypoints, cuda.keypoints)


def test_a_repeated_stamp_gives_no_velocity(scene):
    tracker = DescriptorTracker()
    tracker.update(scene.features(0)[0], stamp=5.0)
    tracks = tracker.update(scene.features(1)[0], stamp=5.0)
    assert tracks.tracked > 300 and np.isfinite(tracks.velocities).all()
    assert (tracks.velocities == 0).all()


def test_too_few_points_to_verify_still_track_with_images():
    few = Scene(count=10)
    tracker = DescriptorTracker()
    image = np.random.default_rng(0).integers(0, 255, (480, 640), dtype=np.uint8)
    first = tracker.update(few.features(0)[0], image=image)
    second = tracker.update(few.features(1)[0], image=image)  # under min_verify: no F
    assert len(first) == 10 and second.tracked > 0


def _street_points(rng, count: int, depth: tuple[float, float], rows: tuple[int, int]):
    """Points ahead of a camera at the origin, seen between 60 and 580 px across and
    between ``rows``."""
    pixels = rng.uniform([60, rows[0]], [580, rows[1]], (count, 2))
    z = rng.uniform(*depth, count)
    return (
        np.concatenate([(pixels - K[:2, 2]) / K[0, 0], np.ones((count, 1))], axis=1) * z[:, None]
    )


def test_tracks_of_a_camera_moving_ahead_keep_near_points():
    """Driving ahead, near points stream outwards much faster than far ones: one image
    motion fits the far ones, and the near ones need their own drift to stay in their
    gates. Near points that appear later start with their neighbours' drift."""
    rng = np.random.default_rng(2)
    far = _street_points(rng, 150, (40.0, 80.0), (40, 240))  # the far end of the street
    near = _street_points(rng, 60, (6.0, 9.0), (300, 440))  # the road and cars nearby
    late = _street_points(rng, 60, (6.0, 9.0), (300, 440))  # shown from frame 2 on
    points = np.concatenate([far, near, late])
    descriptors = rng.normal(size=(len(points), 128))
    descriptors /= np.linalg.norm(descriptors, axis=1, keepdims=True)
    tracker, id_of = DescriptorTracker(), {}  # frame -> {point: track ID}
    for frame in range(6):
        pose = np.eye(4)
        pose[2, 3] = 0.5 * frame  # 0.5 m a frame: near points move 20-60 px, far ones 1-4
        pixels = project(points, pose).astype(np.float32)
        shown = np.flatnonzero((pixels > 0).all(axis=1) & (pixels < [640, 480]).all(axis=1))
        shown = shown[(shown < len(far) + len(near)) | (frame >= 2)]
        features = Features(pixels[shown], np.ones(len(shown), np.float32),
                            descriptors[shown].astype(np.float32), (640, 480))  # fmt: skip
        tracks = tracker.update(features, stamp=0.1 * frame)
        point_at = {tuple(p): i for i, p in zip(shown, pixels[shown].tolist(), strict=True)}
        pairs = zip(tracks.ids.tolist(), tracks.keypoints.tolist(), strict=True)
        id_of[frame] = {point_at[tuple(p)]: i for i, p in pairs}

    def kept(group: range, start: int) -> float:
        """Share of the group's points shown in frame 5 with the ID they had at ``start``."""
        last = [i for i in group if i in id_of[5]]
        assert len(last) >= 20
        return float(np.mean([id_of[start].get(i) == id_of[5][i] for i in last]))

    assert kept(range(len(far)), 0) > 0.95
    assert kept(range(len(far), len(far) + len(near)), 0) > 0.9  # 0.4 without the drift
    assert kept(range(len(far) + len(near), len(points)), 2) > 0.9  # 0.7 without borrowing


@pytest.mark.parametrize("consistency_px", [0.0, 3.0])
def test_wrong_matches_a_turning_camera_passes_are_dropped(consistency_px):
    """A camera that only turns: its epipolar geometry hardly constrains a step, so
    detections put 6 px off their point (where a similar patch would lure a
    track) pass the epipolar check; they do not pass the check of the steps
    around them."""
    scene = Scene(seed=1)
    scene.poses = camera_poses(6, np.zeros(3), np.array([0.004, 0.012, 0.002]))
    tracker = DescriptorTracker(consistency_px=consistency_px)
    lured = 0
    for frame in range(6):
        features, _ = scene.features(frame)
        moved = np.zeros(len(features.keypoints), dtype=bool)
        if frame >= 3:
            rng = np.random.default_rng(frame)
            moved[rng.choice(len(moved), 25, replace=False)] = True
            angle = rng.uniform(0, 2 * np.pi, 25)
            offset = 6.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
            features.keypoints[moved] += offset.astype(np.float32)
        tracks = tracker.update(features)
        at = {tuple(p): i for i, p in enumerate(features.keypoints.tolist())}
        shown = [at[tuple(p)] for p in tracks.keypoints.tolist()]
        lured += int((moved[shown] & (tracks.ages > 1)).sum())
        assert frame == 0 or tracks.tracked > 300
    if consistency_px:
        assert lured == 0
    else:
        assert lured >= 8  # what the check is for
