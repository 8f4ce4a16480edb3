"""Tracker options and the tracks of one frame."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TrackerConfig:
    """Options of the tracker; the values are ours, tuned on hand-held indoor video."""

    max_tracks: int | None = None  # tracks per frame; None: the extractor's max_keypoints
    max_distance: float = 1.0  # largest descriptor L2 distance of a match (unit norm: 0..2)
    ratio: float | None = 0.95  # Lowe's ratio on the two nearest in the gate; None: off
    top_k: int = 4  # most similar detections per track looked at without a motion prior
    memory_frames: int = 3  # frames a lost track waits to be found again
    gate_px: float = 16.0  # px, search radius around the predicted position
    gate_growth_px: float = 5.0  # px added to the radius per frame a track was lost
    guided_px: float = 0.0  # px, radius of a guided pass for missed live tracks; 0: none
    guided_max_distance: float = 1.2  # descriptor distance allowed in the guided pass
    epipolar_px: float = 0.8  # px, largest distance of a step from its epipolar line
    consistency_px: float = 3.0  # px, farthest a step's residual from its neighbours'; 0: off
    verify_method: str = "ransac"  # "ransac" or "magsac" (OpenCV USAC MAGSAC++, slower)
    min_verify: int = 15  # matches needed to estimate a fundamental matrix
    refine_window_px: int = 11  # px, Lucas-Kanade window refining steps (images given); 0: off
    refine_max_px: float = 1.5  # px, farthest a refinement may move a detection
    refine_reject: bool = True  # drop a match whose refinement fails or goes farther
    bridge_frames: int = 10  # frames in a row a track may be followed without a detection
    follow_levels: int = 2  # pyramid levels above the image when following (2: ~60 px off)
    min_distance_px: float = 10.0  # px, spacing of new tracks from each other and old ones
    history: bool = True  # match against each track's first descriptor as well as its last

    def __post_init__(self) -> None:
        check_config(self)

    def with_options(self, **options: Any) -> TrackerConfig:
        """A copy with ``options`` changed; unknown names raise ``ValueError``."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown tracker options {unknown}; known: {sorted(known)}")
        return replace(self, **options)


def check_config(config: TrackerConfig) -> None:
    """Raise ``ValueError`` naming the first option out of range."""
    if config.max_tracks is not None and (
        not isinstance(config.max_tracks, int) or config.max_tracks < 1
    ):
        raise ValueError(f"max_tracks must be a positive int or None, got {config.max_tracks!r}")
    if not 0.0 < config.max_distance <= 2.0 or not 0.0 < config.guided_max_distance <= 2.0:
        raise ValueError("max_distance and guided_max_distance must be in (0, 2]")
    if config.ratio is not None and not 0.0 < config.ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1] or None, got {config.ratio!r}")
    if not isinstance(config.memory_frames, int) or not 0 <= config.memory_frames <= 30:
        raise ValueError(f"memory_frames must be an int in [0, 30], got {config.memory_frames!r}")
    if not isinstance(config.top_k, int) or not 1 <= config.top_k <= 64:
        raise ValueError(f"top_k must be an int in [1, 64], got {config.top_k!r}")
    for name in ("gate_px", "epipolar_px", "refine_max_px"):
        if not getattr(config, name) > 0.0:
            raise ValueError(f"{name} must be positive, got {getattr(config, name)!r}")
    for name in ("gate_growth_px", "guided_px", "min_distance_px", "consistency_px"):
        if not getattr(config, name) >= 0.0:
            raise ValueError(f"{name} must not be negative, got {getattr(config, name)!r}")
    if not isinstance(config.refine_window_px, int) or not (
        config.refine_window_px == 0 or 3 <= config.refine_window_px <= 31
    ):
        raise ValueError(
            f"refine_window_px must be 0 or an int in [3, 31], got {config.refine_window_px!r}"
        )
    if config.verify_method not in ("ransac", "magsac"):
        raise ValueError(
            f"verify_method must be 'ransac' or 'magsac', got {config.verify_method!r}"
        )
    if not isinstance(config.bridge_frames, int) or not 0 <= config.bridge_frames <= 30:
        raise ValueError(f"bridge_frames must be an int in [0, 30], got {config.bridge_frames!r}")
    if not isinstance(config.follow_levels, int) or not 0 <= config.follow_levels <= 4:
        raise ValueError(f"follow_levels must be an int in [0, 4], got {config.follow_levels!r}")
    if not isinstance(config.min_verify, int) or config.min_verify < 8:
        raise ValueError(f"min_verify must be an int >= 8, got {config.min_verify!r}")


@dataclass
class Tracks:
    """The tracks seen in one frame, continued ones first.

    Attributes:
        ids: ``(N,)`` int64, persistent across frames until ``reset``.
        keypoints: ``(N, 2)`` float32 x, y px (the extractor's convention).
        ages: ``(N,)`` int64, frames in which this ID has been seen (1: new).
        scores: ``(N,)`` float32 detector scores.
        descriptors: ``(N, D)`` float32, unit norm.
        velocities: ``(N, 2)`` float32 px per second (per frame without time
            stamps) since the ID was last seen; 0 for new IDs.
        normalised: ``(N, 2)`` float64 undistorted normalised x, y, or None
            without a camera model.
        normalised_velocities: ``(N, 2)`` float64, the same per second, or None.
        new, tracked, lost, revived, bridged: how many IDs are new this frame,
            were continued, were not found this frame, came back from the
            memory, and were followed by their patch without a detection
            (their score is 0 and their descriptor the last one detected).
        stamp: the frame's time in seconds, or None.
    """

    ids: np.ndarray
    keypoints: np.ndarray
    ages: np.ndarray
    scores: np.ndarray
    descriptors: np.ndarray
    velocities: np.ndarray
    normalised: np.ndarray | None = None
    normalised_velocities: np.ndarray | None = None
    new: int = 0
    tracked: int = 0
    lost: int = 0
    revived: int = 0
    bridged: int = 0
    stamp: float | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def mean_age(self) -> float:
        """Mean age of the IDs in this frame (0 without any)."""
        return float(self.ages.mean()) if len(self.ages) else 0.0
