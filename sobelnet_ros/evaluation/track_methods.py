"""Trackers under evaluation: ours, KLT the way VINS-Mono does it, and ORB matched frame to frame.

A tracking method has a ``name`` and ``track(gray) -> (ids, keypoints)``
taking a ``H x W`` uint8 image and returning the ``(N,)`` int64 IDs and
``(N, 2)`` x, y pixels of the points it shows in that frame; the same ID in
two frames is the same point. ``reset()`` forgets every track. Each method
keeps at most ``max_features`` points per frame (the same budget for all).
"""

from __future__ import annotations

import time
from typing import Protocol

import cv2
import numpy as np

from ..tracking import DescriptorTracker, TrackerConfig

TRACK_METHODS = ("ours", "klt", "orb")


class TrackingMethod(Protocol):
    name: str

    def track(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def reset(self) -> None: ...


class OursTracking:
    """FeatureExtractor + DescriptorTracker; times extraction and tracking apart, in wall
    time and in the process's CPU time (which other jobs on the machine barely change)."""

    name = "ours"

    def __init__(self, extractor, config: TrackerConfig | None = None) -> None:
        self.extractor = extractor
        self.tracker = DescriptorTracker(
            config, max_tracks=extractor.config.max_keypoints, device=extractor.device
        )
        self.last_split_ms: tuple[float, float] = (0.0, 0.0)
        self.last_split_cpu_ms: tuple[float, float] = (0.0, 0.0)

    def track(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        clocks = [(time.perf_counter(), time.process_time())]
        features = self.extractor.extract(gray)
        clocks.append((time.perf_counter(), time.process_time()))
        tracks = self.tracker.update(features, image=gray)
        clocks.append((time.perf_counter(), time.process_time()))
        (wall0, cpu0), (wall1, cpu1), (wall2, cpu2) = clocks
        self.last_split_ms = ((wall1 - wall0) * 1e3, (wall2 - wall1) * 1e3)
        self.last_split_cpu_ms = ((cpu1 - cpu0) * 1e3, (cpu2 - cpu1) * 1e3)
        return tracks.ids, tracks.keypoints

    def reset(self) -> None:
        self.tracker.reset()


class KLTTracking:
    """VINS-Mono's front-end: Shi-Tomasi corners kept ``min_distance`` apart, pyramidal
    Lucas-Kanade, a backward check, fundamental-matrix RANSAC, new corners masked
    around the tracks (longest-tracked first), topped up to ``max_features``."""

    name = "klt"

    def __init__(
        self,
        max_features: int = 1024,
        min_distance: float = 10.0,  # px; VINS uses 30 with 150 features
        ransac_px: float = 1.0,  # VINS's F_THRESHOLD
        backward_px: float = 0.5,  # VINS's flow-back bound
    ) -> None:
        self.max_features = max_features
        self.min_distance = min_distance
        self.ransac_px = ransac_px
        self.backward_px = backward_px
        self.reset()

    def reset(self) -> None:
        self._previous: np.ndarray | None = None
        self._points = np.zeros((0, 2), np.float32)
        self._ids = np.zeros(0, np.int64)
        self._ages = np.zeros(0, np.int64)
        self._next_id = 0

    def track(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._previous is not None and len(self._points):
            keep, points = self._flow(self._previous, gray, self._points)
            self._points, self._ids = points[keep], self._ids[keep]
            self._ages = self._ages[keep] + 1
        self._mask_and_top_up(gray)
        self._previous = gray
        return self._ids.copy(), self._points.copy()

    def _flow(
        self, previous: np.ndarray, gray: np.ndarray, points: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        window = {"winSize": (21, 21), "maxLevel": 3}
        forward, status, _ = cv2.calcOpticalFlowPyrLK(previous, gray, points, None, **window)
        back, back_status, _ = cv2.calcOpticalFlowPyrLK(gray, previous, forward, None, **window)
        height, width = gray.shape
        keep = (status.ravel() == 1) & (back_status.ravel() == 1)
        keep &= np.linalg.norm(back - points, axis=1) <= self.backward_px
        keep &= (forward[:, 0] >= 1) & (forward[:, 0] < width - 1)
        keep &= (forward[:, 1] >= 1) & (forward[:, 1] < height - 1)
        if keep.sum() >= 8:
            keep[np.flatnonzero(keep)] = ransac_inliers(
                points[keep], forward[keep], self.ransac_px
            )
        return keep, forward

    def _mask_and_top_up(self, gray: np.ndarray) -> None:
        mask = np.full(gray.shape, 255, np.uint8)
        order = np.argsort(-self._ages, kind="stable")  # longest tracks claim space first
        kept = []
        radius = round(self.min_distance)
        height, width = gray.shape
        for index in order:
            x = min(max(round(float(self._points[index, 0])), 0), width - 1)
            y = min(max(round(float(self._points[index, 1])), 0), height - 1)
            if mask[y, x]:
                kept.append(index)
                cv2.circle(mask, (x, y), radius, 0, -1)
        kept = np.sort(np.array(kept, np.int64))
        self._points, self._ids, self._ages = (
            self._points[kept],
            self._ids[kept],
            self._ages[kept],
        )
        wanted = self.max_features - len(kept)
        if wanted <= 0:
            return
        corners = cv2.goodFeaturesToTrack(gray, wanted, 0.01, self.min_distance, mask=mask)
        if corners is None:
            return
        corners = corners.reshape(-1, 2).astype(np.float32)
        ids = np.arange(self._next_id, self._next_id + len(corners), dtype=np.int64)
        self._next_id += len(corners)
        self._points = np.concatenate([self._points, corners])
        self._ids = np.concatenate([self._ids, ids])
        self._ages = np.concatenate([self._ages, np.ones(len(corners), np.int64)])


class ORBTracking:
    """ORB features each frame, brute-force Hamming cross-checked matching to the
    last frame, fundamental-matrix RANSAC; a matched point keeps its ID."""

    name = "orb"

    def __init__(self, max_features: int = 1024, ransac_px: float = 1.0) -> None:
        self.orb = cv2.ORB_create(nfeatures=max_features)
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self.max_features = max_features
        self.ransac_px = ransac_px
        self.reset()

    def reset(self) -> None:
        self._previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._next_id = 0

    def track(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keypoints = self.orb.detect(gray, None)
        keypoints = sorted(keypoints, key=lambda kp: -kp.response)[: self.max_features]
        keypoints, descriptors = self.orb.compute(gray, keypoints)
        points = np.array([kp.pt for kp in keypoints], np.float32).reshape(-1, 2)
        ids = np.full(len(points), -1, np.int64)
        if self._previous is not None and descriptors is not None and len(points):
            last_points, last_descriptors, last_ids = self._previous
            pairs = self.matcher.match(last_descriptors, descriptors)
            query = np.array([m.queryIdx for m in pairs], np.int64)
            train = np.array([m.trainIdx for m in pairs], np.int64)
            if len(pairs) >= 8:
                inliers = ransac_inliers(last_points[query], points[train], self.ransac_px)
                ids[train[inliers]] = last_ids[query[inliers]]
        fresh = ids < 0
        ids[fresh] = np.arange(self._next_id, self._next_id + fresh.sum())
        self._next_id += int(fresh.sum())
        if descriptors is None:
            self._previous = None
        else:
            self._previous = (points, descriptors, ids)
        return ids, points


def ransac_inliers(points0: np.ndarray, points1: np.ndarray, threshold_px: float) -> np.ndarray:
    """VINS-Mono's check: ``cv2.findFundamentalMat`` RANSAC, confidence 0.99; all kept if
    it fails."""
    _, mask = cv2.findFundamentalMat(
        np.asarray(points0, np.float64),
        np.asarray(points1, np.float64),
        cv2.FM_RANSAC,
        threshold_px,
        0.99,
    )
    if mask is None:
        return np.ones(len(points0), dtype=bool)
    return mask.ravel().astype(bool)


def build_track_methods(
    names: list[str], max_features: int, extractor_factory, config: TrackerConfig | None = None
) -> list[TrackingMethod]:
    """Methods from names (``ours``, ``klt``, ``orb``), all with ``max_features`` per frame."""
    methods: list[TrackingMethod] = []
    for name in names:
        if name == "ours":
            methods.append(OursTracking(extractor_factory(), config))
        elif name == "klt":
            methods.append(KLTTracking(max_features))
        elif name == "orb":
            methods.append(ORBTracking(max_features))
        else:
            raise ValueError(f"unknown tracking method {name!r}; choose from {TRACK_METHODS}")
    return methods
