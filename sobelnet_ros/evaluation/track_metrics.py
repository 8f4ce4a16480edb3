"""Figures of feature tracks: lengths, points tracked per frame, epipolar consistency.

A run is recorded as a ``TrackLog``: per frame, the IDs and pixel positions a
method showed. A *track* is an ID seen in at least two frames; its length is
the number of frames it was seen in. A *step* joins two consecutive sightings
of one ID (frames ``a < b``, usually ``b = a + 1``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..tracking.verify import epipolar_distances

LENGTH_BOUNDS = (5, 10)


@dataclass
class TrackLog:
    """What one method showed, frame by frame."""

    ids: list[np.ndarray] = field(default_factory=list)  # (N,) int64 per frame
    points: list[np.ndarray] = field(default_factory=list)  # (N, 2) float64 per frame

    def add(self, ids: np.ndarray, points: np.ndarray) -> None:
        self.ids.append(np.asarray(ids, np.int64).reshape(-1))
        self.points.append(np.asarray(points, np.float64).reshape(-1, 2))


@dataclass
class Steps:
    """Every step of every track: frames ``a < b`` and the positions there."""

    frame_a: np.ndarray
    frame_b: np.ndarray
    points_a: np.ndarray
    points_b: np.ndarray

    def __len__(self) -> int:
        return len(self.frame_a)


def track_lengths(log: TrackLog) -> np.ndarray:
    """Frames seen of each ID seen at least twice."""
    if not log.ids:
        return np.zeros(0, np.int64)
    _, counts = np.unique(np.concatenate(log.ids), return_counts=True)
    return counts[counts >= 2]


def length_summary(lengths: np.ndarray) -> dict[str, float | int]:
    """Mean and median length, the share of tracks at least 5 and 10 frames long."""
    if len(lengths) == 0:
        return {"tracks": 0, "mean": 0.0, "median": 0.0, "share_5": 0.0, "share_10": 0.0}
    return {
        "tracks": len(lengths),
        "mean": float(lengths.mean()),
        "median": float(np.median(lengths)),
        **{f"share_{b}": float((lengths >= b).mean()) for b in LENGTH_BOUNDS},
    }


def tracked_per_frame(log: TrackLog) -> np.ndarray:
    """Per frame after the first: points whose ID was seen in an earlier frame."""
    seen: set[int] = set()
    counts = []
    for index, ids in enumerate(log.ids):
        if index:
            counts.append(sum(int(i) in seen for i in ids))
        seen.update(int(i) for i in ids)
    return np.array(counts, np.int64)


def track_steps(log: TrackLog) -> Steps:
    """The steps of all tracks, in frame order."""
    last: dict[int, tuple[int, np.ndarray]] = {}
    frame_a, frame_b, points_a, points_b = [], [], [], []
    for frame, (ids, points) in enumerate(zip(log.ids, log.points, strict=True)):
        for track_id, point in zip(ids.tolist(), points, strict=True):
            if track_id in last:
                before, where = last[track_id]
                frame_a.append(before)
                frame_b.append(frame)
                points_a.append(where)
                points_b.append(point)
            last[track_id] = (frame, point)
    if not frame_a:
        empty = np.zeros((0, 2))
        return Steps(np.zeros(0, np.int64), np.zeros(0, np.int64), empty, empty)
    return Steps(np.array(frame_a), np.array(frame_b), np.array(points_a), np.array(points_b))


def epipolar_errors(
    steps: Steps, fundamental: Callable[[int, int], np.ndarray | None]
) -> np.ndarray:
    """Distance (px) of each step's second point from the epipolar line of its first.

    ``fundamental(a, b)`` gives ``F_atob`` or None where unknown (NaN then).
    """
    errors = np.full(len(steps), np.nan)
    pairs = {(int(a), int(b)) for a, b in zip(steps.frame_a, steps.frame_b, strict=True)}
    for a, b in sorted(pairs):
        F = fundamental(a, b)
        if F is None:
            continue
        chosen = (steps.frame_a == a) & (steps.frame_b == b)
        errors[chosen] = epipolar_distances(F, steps.points_a[chosen], steps.points_b[chosen])
    return errors


def share_within(errors: np.ndarray, bound_px: float = 1.0) -> float | None:
    """Share of the measurable steps (finite error) within ``bound_px``; None if none."""
    finite = errors[np.isfinite(errors)]
    return float((finite <= bound_px).mean()) if len(finite) else None


def pooled_fundamentals(
    logs: list[TrackLog], pairs: set[tuple[int, int]], threshold_px: float = 1.0
) -> dict[tuple[int, int], np.ndarray]:
    """A reference ``F_atob`` per frame pair, estimated from every method's tracks together.

    The correspondences of a pair ``(a, b)`` are the positions, in frames a and
    b, of every ID that a method showed in both (so a step over a gap is
    judged with the points of all tracks that span the gap). USAC MAGSAC++
    with ``threshold_px``, then a least-squares refit to its inliers. This is
    NOT ground truth: it is fitted to the tracks it judges; use it only where
    no true poses exist, and say so.
    """
    out = {}
    for a, b in sorted(pairs):
        p0, p1 = _common_points(logs, a, b)
        if len(p0) < 15:
            continue
        try:
            F, mask = cv2.findFundamentalMat(p0, p1, cv2.USAC_MAGSAC, threshold_px, 0.9999)
        except cv2.error:  # USAC asserts on some point sets (OpenCV 4.13): no reference
            continue
        if F is None or F.shape != (3, 3):
            continue
        inliers = mask.ravel().astype(bool)
        refined, _ = cv2.findFundamentalMat(p0[inliers], p1[inliers], cv2.FM_8POINT)
        out[(a, b)] = refined if refined is not None and refined.shape == (3, 3) else F
    return out


def _common_points(logs: list[TrackLog], a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    first, second = [], []
    for log in logs:
        _, in_a, in_b = np.intersect1d(log.ids[a], log.ids[b], return_indices=True)
        first.append(log.points[a][in_a])
        second.append(log.points[b][in_b])
    return np.concatenate(first), np.concatenate(second)


def step_pairs(steps: Steps) -> set[tuple[int, int]]:
    """The frame pairs ``(a, b)`` the steps join."""
    return {(int(a), int(b)) for a, b in zip(steps.frame_a, steps.frame_b, strict=True)}
