"""``track-eval``: run trackers over ordered frames and gather their figures.

Every method sees the same frames with the same budget of points. Figures per
method: track lengths (``track_metrics``), points tracked per frame, time per
frame (ours also split into extraction and tracking), and the share of track
steps within 1 px of the epipolar line: of the true one where ground-truth
poses and intrinsics are given, and always of a *reference* fundamental
matrix fitted to the *other* methods' tracks (labelled as not ground truth;
with one method alone, to its own) and of one fitted to *every* method's tracks
together. The first is biased against the method judged when the others are
few or noisy (its own tracks, often the most, are left out); the second
favours it (its own tracks help fit it). Read the two side by side.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from ..tracking import CameraModel
from .poses import fundamental_from_poses
from .track_methods import OursTracking, TrackingMethod
from .track_metrics import (
    TrackLog,
    epipolar_errors,
    length_summary,
    pooled_fundamentals,
    share_within,
    step_pairs,
    track_lengths,
    track_steps,
    tracked_per_frame,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pgm", ".ppm", ".bmp", ".tif", ".tiff")
EPIPOLAR_BOUND_PX = 1.0


@dataclass
class FrameSequence:
    """Ordered gray frames with their times (None where unknown)."""

    name: str
    frames: list[np.ndarray]
    stamps: list[float | None]


def read_frame_folder(folder: str | Path, max_frames: int | None = None) -> FrameSequence:
    """Images of ``folder`` in name order, as gray uint8; stamps from numeric file names.

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: it holds fewer than two images, or one cannot be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"frame folder {folder} does not exist")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    paths = paths[:max_frames] if max_frames else paths
    if len(paths) < 2:
        raise ValueError(f"{folder} has {len(paths)} images; tracking needs at least 2")
    frames, stamps = [], []
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError(f"cannot read image {path}")
        frames.append(image)
        stamps.append(_stamp_of(path.stem))
    return FrameSequence(folder.resolve().name, frames, stamps)


def _stamp_of(stem: str) -> float | None:
    try:
        return float(stem)
    except ValueError:
        return None


def evaluate_tracking(
    sequence: FrameSequence,
    methods: list[TrackingMethod],
    poses: list[np.ndarray | None] | None = None,
    camera: CameraModel | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Figures of each method on ``sequence`` (see the module docstring).

    Args:
        poses: ``T_world_cam`` per frame (None where unknown), for the true
            epipolar lines; needs ``camera``.
        camera: intrinsics; with distortion, steps are measured in undistorted pixels.
    """
    if poses is not None and camera is None:
        raise ValueError("ground-truth poses need the camera intrinsics")
    logs, times = {}, {}
    total = len(methods) * len(sequence.frames)
    with tqdm(total=total, desc="track-eval", unit="frame", disable=not progress) as bar:
        for method in methods:
            bar.set_postfix_str(method.name)
            logs[method.name], times[method.name] = _run(method, sequence, bar)
    logs = {name: _undistorted_log(log, camera) for name, log in logs.items()}
    steps = {name: track_steps(log) for name, log in logs.items()}
    truth = _true_fundamentals(poses, camera) if poses is not None else None
    result: dict[str, Any] = {
        "sequence": sequence.name,
        "frames": len(sequence.frames),
        "image_size": list(sequence.frames[0].shape[::-1]),
        "ground_truth": truth is not None,
        "methods": {},
    }
    every_pair = set().union(*(step_pairs(s) for s in steps.values()))
    joint = pooled_fundamentals(list(logs.values()), every_pair, EPIPOLAR_BOUND_PX)
    for method in methods:
        name = method.name
        others = [log for other, log in logs.items() if other != name] or [logs[name]]
        reference = pooled_fundamentals(others, step_pairs(steps[name]), EPIPOLAR_BOUND_PX)
        result["methods"][name] = _figures(
            logs[name], steps[name], times[name], (reference, joint), truth
        )
    return result


def _run(method: TrackingMethod, sequence: FrameSequence, bar: tqdm) -> tuple[TrackLog, dict]:
    method.reset()
    method.track(sequence.frames[0])  # first calls allocate; keep them out of the timing
    method.reset()
    log, total_ms, split_ms, split_cpu_ms = TrackLog(), [], [], []
    for frame in sequence.frames:
        start = time.perf_counter()
        ids, points = method.track(frame)
        total_ms.append((time.perf_counter() - start) * 1e3)
        if isinstance(method, OursTracking):
            split_ms.append(method.last_split_ms)
            split_cpu_ms.append(method.last_split_cpu_ms)
        log.add(ids, points)
        bar.update()
    return log, {"total": total_ms, "split": split_ms, "split_cpu": split_cpu_ms}


def _undistorted_log(log: TrackLog, camera: CameraModel | None) -> TrackLog:
    """The log in undistorted pixels (where epipolar lines are straight)."""
    if camera is None or not camera.D.any():
        return log
    out = TrackLog()
    for ids, points in zip(log.ids, log.points, strict=True):
        normalised = camera.normalise(points)
        out.add(ids, normalised @ camera.K[:2, :2].T + camera.K[:2, 2])
    return out


def _median(errors: np.ndarray) -> float | None:
    finite = errors[np.isfinite(errors)]
    return float(np.median(finite)) if len(finite) else None


def _true_fundamentals(poses: list[np.ndarray | None], camera: CameraModel):
    def fundamental(a: int, b: int) -> np.ndarray | None:
        if poses[a] is None or poses[b] is None:
            return None
        return fundamental_from_poses(poses[a], poses[b], camera.K)

    return fundamental


def _figures(
    log: TrackLog, steps, times: dict, references: tuple[dict, dict], truth
) -> dict[str, Any]:
    """``references``: F per frame pair fitted to the other methods' tracks, and to all."""
    lengths = track_lengths(log)
    tracked = tracked_per_frame(log)
    reference, joint = references
    reference_errors = epipolar_errors(steps, lambda a, b: reference.get((a, b)))
    joint_errors = epipolar_errors(steps, lambda a, b: joint.get((a, b)))
    figures: dict[str, Any] = {
        "lengths": length_summary(lengths),
        "length_values": lengths.tolist(),
        "tracked_per_frame": float(tracked.mean()) if len(tracked) else 0.0,
        "tracked_per_frame_values": tracked.tolist(),
        "points_per_frame": float(np.mean([len(i) for i in log.ids])),
        "steps": len(steps),
        "ms_per_frame_median": float(statistics.median(times["total"])),
        "ms_per_frame_mean": float(np.mean(times["total"])),
        "reference_epipolar_within_1px": share_within(reference_errors, EPIPOLAR_BOUND_PX),
        "reference_epipolar_median_px": _median(reference_errors),
        "joint_reference_epipolar_within_1px": share_within(joint_errors, EPIPOLAR_BOUND_PX),
        "true_epipolar_within_1px": None,
    }
    for key, suffix in (("split", "ms_median"), ("split_cpu", "cpu_ms_median")):
        if times.get(key):
            extract, track = np.array(times[key]).T
            figures[f"extract_{suffix}"] = float(np.median(extract))
            figures[f"track_{suffix}"] = float(np.median(track[1:] if len(track) > 1 else track))
    if truth is not None:
        true_errors = epipolar_errors(steps, truth)
        figures["true_epipolar_within_1px"] = share_within(true_errors, EPIPOLAR_BOUND_PX)
        figures["true_epipolar_steps"] = int(np.isfinite(true_errors).sum())
    return figures
