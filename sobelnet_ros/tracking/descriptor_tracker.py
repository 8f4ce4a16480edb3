"""DescriptorTracker: persistent IDs for the features of consecutive frames.

Each frame is matched to the live and recently lost tracks
(``frame_matcher.py``); matched tracks move on, tracks nothing continued wait
in the memory for ``memory_frames`` frames, and detections left over start
new tracks, spread out (``spread.py``). The image motion of each frame, plus
each track's own drift (the part of its last step that motion did not
explain: the parallax of a camera moving ahead), predicts where every track
will be in the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..inference.types import Features
from .camera import CameraModel
from .frame_matcher import FrameMatcher
from .refine import gray_uint8
from .spatial import pairs_within
from .spread import spread_new
from .store import TrackStore
from .types import TrackerConfig, Tracks
from .verify import apply_motion

GATE_BACKOFF_FRAMES = 8  # most frames matched without the gates after they failed
NEIGHBOUR_PX = 40.0  # px, tracks whose drift a new track starts with


class DescriptorTracker:
    """Tracks features given frame by frame (no extractor; ``FeatureTracker`` adds one).

    Args:
        config: ``TrackerConfig()`` when omitted; keyword ``options`` override fields.
        max_tracks: used when ``config.max_tracks`` is None.
        device: where descriptors are compared ("cpu", "cuda", ...).
        camera: a ``CameraModel`` to add undistorted normalised coordinates.
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        *,
        max_tracks: int = 1024,
        device: str | torch.device = "cpu",
        camera: CameraModel | None = None,
        **options: object,
    ) -> None:
        self.config = (config or TrackerConfig()).with_options(**options)
        self.max_tracks = self.config.max_tracks or max_tracks
        self.device = torch.device(device)
        self.camera = camera
        self.reset()

    def reset(self) -> None:
        """Forget every track; IDs start again from 0."""
        self._store: TrackStore | None = None
        self._next_id = 0
        self._frame = 0
        self._motion: np.ndarray | None = None  # 2x3 image motion of the last frame
        self._gate_skips = 0  # frames left to match without the gates
        self._gate_failures = 0  # tries of the gates in a row that found too little
        self._gray: np.ndarray | None = None  # the last frame, for refinement and bridging
        self._images: tuple[np.ndarray, np.ndarray] | None = None  # last and this frame

    def set_camera(self, camera: CameraModel | None) -> None:
        """Use ``camera`` for normalised coordinates from the next frame on (None: none)."""
        self.camera = camera

    def update(
        self, features: Features, stamp: float | None = None, image: np.ndarray | None = None
    ) -> Tracks:
        """Continue the tracks with one frame's ``features``; the tracks it shows.

        Args:
            features: the frame's features (keypoints in px, unit-norm descriptors).
            stamp: the frame's time in seconds; velocities are per frame without it.
            image: the frame itself (as given to the extractor); with it, steps
                of continued tracks are refined to sub-pixel accuracy (``refine_window_px``).
        """
        time_now = float(self._frame if stamp is None else stamp)
        keypoints = np.array(features.keypoints, np.float64).reshape(-1, 2)
        self._images = self._next_images(image)
        descriptors = torch.as_tensor(features.descriptors, device=self.device).float()
        store = self._store_for(descriptors.shape[1])
        live_before = int((store.lost == 0).sum())
        matcher = FrameMatcher(self.config, self._images, self._motion, self._gate_skips > 0)
        found = matcher.run(store, keypoints, descriptors)
        self._motion = matcher.motion
        self._next_gate(matcher)
        seen_rows = np.concatenate([found.rows, found.bridged])
        previous = store.positions[seen_rows]
        stepped = store.lost[seen_rows] == 0  # seen in the last frame too
        elapsed = time_now - store.stamps[seen_rows]
        revived = int((store.lost[found.rows] > 0).sum())
        bridged_last = store.last_of(found.bridged)
        occupied = np.concatenate([keypoints[found.cols], found.bridged_at])
        continued = _rows_of(descriptors, found.cols)
        store.update(found.rows, keypoints[found.cols], continued, time_now)
        store.follow(found.bridged, found.bridged_at, time_now)
        new = self._start_tracks(
            store, features, keypoints, descriptors, found.cols, occupied, time_now
        )
        self._record_drift(store, seen_rows, previous, stepped)
        _borrow_drift(store, np.arange(len(store) - len(new), len(store)), seen_rows[stepped])
        seen = np.zeros(len(store), dtype=bool)
        seen[seen_rows] = True
        seen[len(store) - len(new) :] = True
        self._predict(store, seen)
        ids = np.concatenate([store.ids[seen_rows], store.ids[len(store) - len(new) :]])
        ages = np.concatenate([store.ages[seen_rows], np.ones(len(new), np.int64)])
        store.end_frame(seen, self.config.memory_frames)
        self._frame += 1
        counts = (len(new), len(seen_rows), live_before - (len(seen_rows) - revived), revived,
                  len(found.bridged))  # fmt: skip
        shown = _Shown.of(features, keypoints, occupied, found.cols, bridged_last, new)
        return self._tracks(shown, ids, ages, previous, elapsed, counts, stamp)

    def _next_images(self, image: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        """(last, this) frame as uint8 gray when both exist at one size, else None."""
        gray = None
        if image is not None and self.config.refine_window_px > 0:
            gray = gray_uint8(image)
        previous, self._gray = self._gray, gray
        if previous is not None and gray is not None and previous.shape == gray.shape:
            return previous, gray
        return None

    def _next_gate(self, matcher: FrameMatcher) -> None:
        """After gates that found too little, match without them for the next frame, and
        for twice as many frames after each further failure in a row (up to
        ``GATE_BACKOFF_FRAMES``): where the motion prior keeps failing (frames far
        apart), trying it costs a gate pass whose matches are thrown away."""
        self._gate_skips = max(self._gate_skips - 1, 0)
        if matcher.gate_failed:
            self._gate_failures += 1
            self._gate_skips = min(2 ** (self._gate_failures - 1), GATE_BACKOFF_FRAMES)
        elif matcher.gated:
            self._gate_failures = 0

    # Book-keeping

    def _store_for(self, dim: int) -> TrackStore:
        if self._store is None:
            self._store = TrackStore.empty(self.config.memory_frames + 1, dim, self.device)
        elif self._store.last.shape[1] != dim:
            raise ValueError(
                f"descriptors of length {dim} after {self._store.last.shape[1]}; "
                "reset() the tracker before changing the descriptor"
            )
        return self._store

    def _start_tracks(
        self,
        store: TrackStore,
        features: Features,
        keypoints: np.ndarray,
        descriptors: torch.Tensor,
        taken: np.ndarray,
        occupied: np.ndarray,
        time_now: float,
    ) -> np.ndarray:
        untaken = np.ones(len(keypoints), dtype=bool)
        untaken[taken] = False
        free = np.flatnonzero(untaken)
        new = spread_new(
            keypoints,
            np.asarray(features.scores),
            free,
            occupied,
            self.config.min_distance_px,
            self.max_tracks - len(occupied),
        )
        ids = np.arange(self._next_id, self._next_id + len(new), dtype=np.int64)
        self._next_id += len(new)
        store.append(ids, keypoints[new], _rows_of(descriptors, new), time_now)
        return new

    def _record_drift(
        self, store: TrackStore, rows: np.ndarray, previous: np.ndarray, stepped: np.ndarray
    ) -> None:
        """Keep what of each step from the last frame (``stepped``) the image motion does
        not explain.

        One affine motion cannot describe the flow of a camera moving ahead: near
        points stream outwards faster than far ones. That parallax changes
        slowly, so each track carries its own into its predictions until it is
        seen again. Tracks found again after a gap carry none.
        """
        moved = previous if self._motion is None else apply_motion(self._motion, previous)
        store.drift[rows] = np.where(stepped[:, None], store.positions[rows] - moved, 0.0)

    def _predict(self, store: TrackStore, seen: np.ndarray) -> None:
        """Where each track should be in the next frame: this frame's motion once more, plus
        the track's own drift."""
        base = np.where(seen[:, None], store.positions, store.predicted)
        if self._motion is not None:
            base = apply_motion(self._motion, base)
        store.predicted = base + store.drift

    def _tracks(
        self,
        shown: _Shown,
        ids: np.ndarray,
        ages: np.ndarray,
        previous: np.ndarray,
        elapsed: np.ndarray,
        counts: tuple[int, int, int, int, int],
        stamp: float | None,
    ) -> Tracks:
        """The frame's tracks; the first ``len(previous)`` continue a track."""
        keypoints = shown.points.astype(np.float32)
        continued = len(previous)
        # a repeated or earlier stamp (a replayed bag) gives no velocity rather than infinity
        rate = np.where(elapsed > 0, elapsed, np.inf)[:, None]
        velocities = np.zeros((len(keypoints), 2))
        velocities[:continued] = (keypoints[:continued] - previous) / rate
        tracks = Tracks(
            ids=ids.astype(np.int64, copy=False),
            keypoints=keypoints,
            ages=ages.astype(np.int64, copy=False),
            scores=shown.scores,
            descriptors=shown.descriptors,
            velocities=velocities.astype(np.float32),
            new=counts[0],
            tracked=counts[1],
            lost=counts[2],
            revived=counts[3],
            bridged=counts[4],
            stamp=stamp,
        )
        if self.camera is not None:
            normalised = self.camera.normalise(keypoints)
            moved = np.zeros_like(normalised)
            moved[:continued] = (normalised[:continued] - self.camera.normalise(previous)) / rate
            tracks.normalised, tracks.normalised_velocities = normalised, moved
        return tracks


def _borrow_drift(store: TrackStore, new_rows: np.ndarray, source_rows: np.ndarray) -> None:
    """Start new tracks with the mean drift of the tracks that stepped within
    ``NEIGHBOUR_PX``: a new track has no step of its own yet, and points near
    each other in the image are mostly at similar depth."""
    if len(new_rows) == 0 or len(source_rows) == 0:
        return
    near_new, near_source = pairs_within(
        store.positions[new_rows], store.positions[source_rows], NEIGHBOUR_PX
    )
    if len(near_new) == 0:
        return
    counts = np.bincount(near_new, minlength=len(new_rows))
    drift = store.drift[source_rows[near_source]]
    sums = [np.bincount(near_new, drift[:, axis], minlength=len(new_rows)) for axis in (0, 1)]
    has = counts > 0
    store.drift[new_rows[has]] = np.stack(sums, axis=1)[has] / counts[has, None]


def _rows_of(values: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
    """``values[rows]`` by ``index_select``: several times faster than indexing on the CPU."""
    return values.index_select(0, torch.as_tensor(rows, device=values.device))


@dataclass
class _Shown:
    """Positions, scores and descriptors of the points a frame shows, in output order."""

    points: np.ndarray
    scores: np.ndarray
    descriptors: np.ndarray

    @classmethod
    def of(
        cls,
        features: Features,
        keypoints: np.ndarray,
        occupied: np.ndarray,
        cols: np.ndarray,
        bridged_last: np.ndarray,
        new: np.ndarray,
    ) -> _Shown:
        """Detections ``cols`` and the bridged tracks (``occupied`` holds where both are;
        score 0 and the last descriptor for the bridged), then the ``new`` detections."""
        points = np.concatenate([occupied, keypoints[new]])
        continued, bridged = len(cols), len(bridged_last)
        scores = np.zeros(len(points), np.float32)
        detected = np.asarray(features.scores, np.float32)
        scores[:continued] = detected[cols]
        scores[continued + bridged :] = detected[new]
        source = np.asarray(features.descriptors, np.float32)
        descriptors = np.empty((len(points), source.shape[1]), np.float32)
        # gathered straight into place ("clip": unbuffered; the indices are valid)
        np.take(source, cols, axis=0, out=descriptors[:continued], mode="clip")
        descriptors[continued : continued + bridged] = bridged_last
        np.take(source, new, axis=0, out=descriptors[continued + bridged :], mode="clip")
        return cls(points, scores, descriptors)
