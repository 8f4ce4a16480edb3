"""DescriptorTracker: persistent IDs for the features of consecutive frames.

Each frame's features are matched to the tracks of the last frames in two
passes, then checked against the epipolar geometry:

1. *Gated descriptor matching.* Every live track, and every track lost in
   the last ``memory_frames`` frames, is compared with each detection by the
   nearer of its last and its first descriptor (the track's history, so a
   slowly drifting appearance still matches). Once the image motion is known,
   only detections within ``gate_px`` of where the motion of the last frame
   predicts the track are candidates (the radius grows while a track is
   lost). Mutual nearest neighbours passing a distance and a ratio test match.
2. *Epipolar check.* A fundamental matrix is fitted (OpenCV USAC, MAGSAC++
   score) to the matches of each frame gap present, and matches farther than
   ``epipolar_px`` from their epipolar line are dropped.
3. *Guided pass.* Live tracks still unmatched are looked for within
   ``guided_px`` of where this frame's motion puts them and on their epipolar
   line, with a looser descriptor bound.

Detections left over start new tracks, spread out (``spread.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..inference.types import Features
from .bridge import flow, followed
from .camera import CameraModel
from .candidates import gate_matches, gated_matches, one_to_one, pair_similarity
from .refine import gray_uint8, refine_steps, refined
from .spatial import pairs_within
from .spread import spread_new
from .store import TrackStore
from .types import TrackerConfig, Tracks
from .verify import (
    apply_motion,
    epipolar_distances,
    fit_fundamental,
    fundamental_inliers,
    image_motion,
)

PRIOR_FAILED_SHARE = 0.25  # fewer live tracks matched in the gate: match again without it


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
        self._gate_failed = False  # the last frame's gate found too little: do without once
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
        gray = None
        if image is not None and self.config.refine_window_px > 0:
            gray = gray_uint8(image)
        previous, self._gray = self._gray, gray
        self._images = None
        if previous is not None and gray is not None and previous.shape == gray.shape:
            self._images = (previous, gray)
        descriptors = torch.as_tensor(features.descriptors, device=self.device).float()
        store = self._store_for(descriptors.shape[1])
        active_before = int((store.lost == 0).sum())
        rows, cols, guided = self._match(store, keypoints, descriptors)
        rows, cols, bridged, bridged_at = self._second_look(store, keypoints, rows, cols, guided)
        seen_rows = np.concatenate([rows, bridged])
        previous = store.positions[seen_rows].copy()
        elapsed = time_now - store.stamps[seen_rows]
        revived = int((store.lost[rows] > 0).sum())
        shown = (
            np.concatenate([keypoints[cols], bridged_at]),
            np.concatenate(
                [
                    np.asarray(features.scores, np.float32)[cols],
                    np.zeros(len(bridged), np.float32),
                ]
            ),
            np.concatenate(
                [
                    np.asarray(features.descriptors, np.float32)[cols],
                    store.last[torch.as_tensor(bridged, device=self.device)].cpu().numpy(),
                ]
            ),
        )
        store.update(rows, keypoints[cols], descriptors[cols], time_now)
        store.follow(bridged, bridged_at, time_now)
        new = self._start_tracks(store, features, keypoints, descriptors, cols, shown[0], time_now)
        seen = np.zeros(len(store), dtype=bool)
        seen[seen_rows] = True
        seen[len(store) - len(new) :] = True
        self._predict(store, seen)
        ids = np.concatenate([store.ids[seen_rows], store.ids[len(store) - len(new) :]])
        ages = np.concatenate([store.ages[seen_rows], np.ones(len(new), np.int64)])
        store.end_frame(seen, self.config.memory_frames)
        self._frame += 1
        continued = len(seen_rows) - revived
        shown = tuple(
            np.concatenate([part, extra])
            for part, extra in zip(
                shown,
                (
                    keypoints[new],
                    np.asarray(features.scores, np.float32)[new],
                    np.asarray(features.descriptors, np.float32)[new],
                ),
                strict=True,
            )
        )
        return self._tracks(
            *shown,
            ids,
            ages,
            previous,
            elapsed,
            counts=(len(new), len(seen_rows), active_before - continued, revived, len(bridged)),
            stamp=stamp,
        )

    # Matching

    def _match(
        self, store: TrackStore, keypoints: np.ndarray, descriptors: torch.Tensor
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Rows of the store and columns of the frame that continue each other, and how
        many of them (the last) the guided pass found."""
        empty = np.zeros(0, dtype=np.int64)
        if len(store) == 0 or len(keypoints) == 0:
            self._motion = None
            return empty, empty, 0
        self._descriptors = descriptors
        detected = keypoints.copy()
        gated = self._motion is not None and not self._gate_failed
        rows, cols = self._first_pass(store, keypoints, gated)
        live = int((store.lost == 0).sum())
        self._gate_failed = gated and len(rows) < PRIOR_FAILED_SHARE * live
        if self._gate_failed:  # the motion changed: look everywhere, and next frame too
            keypoints[:] = detected
            rows, cols = self._first_pass(store, keypoints, gated=False)
        rows, cols, guided = self._guided(store, keypoints, rows, cols)
        return rows, cols, guided

    def _first_pass(
        self, store: TrackStore, keypoints: np.ndarray, gated: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Descriptor matches (inside the motion prior's gates if ``gated``), refined and
        verified."""
        c = self.config
        templates = self._templates(store)
        radius = c.gate_px + c.gate_growth_px * store.lost
        if gated:
            rows, cols = gate_matches(
                templates,
                self._descriptors,
                keypoints,
                store.predicted,
                radius,
                c.max_distance,
                c.ratio,
            )
        else:
            rows, cols = gated_matches(
                store.last @ self._descriptors.T,
                keypoints,
                None,
                radius,
                c.top_k,
                c.max_distance,
                c.ratio,
                (store.first, self._descriptors) if c.history else None,
            )
        agree = self._refine(store, keypoints, rows, cols)
        return self._verify(store, keypoints, rows[agree], cols[agree])

    def _templates(self, store: TrackStore) -> tuple[torch.Tensor, ...]:
        """Each track's descriptors to compare: its last, and its first (``history``)."""
        return (store.last, store.first) if self.config.history else (store.last,)

    def _refine(
        self, store: TrackStore, keypoints: np.ndarray, rows: np.ndarray, cols: np.ndarray
    ) -> np.ndarray:
        """Move the detections that continue a track from the last frame to where
        Lucas-Kanade puts the track's last position (in place).

        Returns which matches to keep: with ``refine_reject``, a match whose
        patch does not follow it (Lucas-Kanade fails or lands more than
        ``refine_max_px`` away) is dropped as a likely wrong match.
        """
        agree = np.ones(len(rows), dtype=bool)
        if self._images is None or len(rows) == 0:
            return agree
        continued = np.flatnonzero(store.lost[rows] == 0)
        c = self.config
        keypoints[cols[continued]], followed = refine_steps(
            *self._images,
            store.positions[rows[continued]],
            keypoints[cols[continued]],
            c.refine_window_px,
            c.refine_max_px,
        )
        if c.refine_reject:
            agree[continued] = followed
        return agree

    def _verify(
        self, store: TrackStore, keypoints: np.ndarray, rows: np.ndarray, cols: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Keep the matches consistent with the epipolar geometry of their frame gap.

        Tracks seen in the last frame are checked by RANSAC; tracks found again
        after a gap by a fundamental matrix fitted to the verified tracks that
        were also seen at the start of that gap.
        """
        c = self.config
        continued = store.lost[rows] == 0
        before = store.positions[rows[continued]]
        after = keypoints[cols[continued]]
        self._fundamental = None
        if continued.sum() < c.min_verify:
            keep = continued  # too few to check: trust the gate
        else:
            F, inliers = fundamental_inliers(before, after, c.epipolar_px, c.verify_method)
            self._fundamental = F
            keep = np.zeros(len(rows), dtype=bool)
            keep[np.flatnonzero(continued)] = inliers
        chain = np.flatnonzero(keep)
        lags = store.lost[rows] + 1
        for lag in np.unique(lags[lags > 1]):
            gap = np.flatnonzero(lags == lag)
            keep[gap] = self._gap_consistent(store, keypoints, rows, cols, chain, gap, int(lag))
        rows, cols = rows[keep], cols[keep]
        continued = store.lost[rows] == 0
        self._motion = image_motion(store.positions[rows[continued]], keypoints[cols[continued]])
        return rows, cols

    def _gap_consistent(
        self,
        store: TrackStore,
        keypoints: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        chain: np.ndarray,
        gap: np.ndarray,
        lag: int,
    ) -> np.ndarray:
        """Which matches in ``gap`` (seen ``lag`` frames ago) fit the epipolar geometry."""
        threshold = self.config.epipolar_px
        before = store.lag_position(rows[chain], lag)
        known = np.isfinite(before).all(axis=1)
        if known.sum() < self.config.min_verify:  # no verified chain: check the gap on its own
            if len(gap) < self.config.min_verify:
                return np.zeros(len(gap), dtype=bool)
            _, inliers = fundamental_inliers(
                store.lag_position(rows[gap], lag),
                keypoints[cols[gap]],
                threshold,
                self.config.verify_method,
            )
            return inliers
        before, after = before[known], keypoints[cols[chain[known]]]
        F = fit_fundamental(before, after)
        if F is not None:  # once more without the tracks that drifted over the gap
            close = epipolar_distances(F, before, after) <= 2.0 * threshold
            F = fit_fundamental(before[close], after[close])
        if F is None:
            return np.zeros(len(gap), dtype=bool)
        distances = epipolar_distances(F, store.lag_position(rows[gap], lag), keypoints[cols[gap]])
        with np.errstate(invalid="ignore"):
            return distances <= threshold

    def _guided(
        self,
        store: TrackStore,
        keypoints: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Look again for live tracks near where this frame's motion puts them; the
        matches with the new ones last, and how many are new."""
        c = self.config
        F, motion = self._fundamental, self._motion
        if c.guided_px <= 0 or F is None or motion is None:
            return rows, cols, 0
        free_rows = np.setdiff1d(np.flatnonzero(store.lost == 0), rows)
        free_cols = np.setdiff1d(np.arange(len(keypoints)), cols)
        if len(free_rows) == 0 or len(free_cols) == 0:
            return rows, cols, 0
        before = store.positions[free_rows]
        near_rows, near_cols = pairs_within(
            apply_motion(motion, before), keypoints[free_cols], c.guided_px
        )
        on_line = (
            epipolar_distances(F, before[near_rows], keypoints[free_cols[near_cols]])
            <= c.epipolar_px
        )
        near_rows, near_cols = near_rows[on_line], near_cols[on_line]
        values = pair_similarity(
            self._templates(store), self._descriptors, free_rows[near_rows], free_cols[near_cols]
        )
        similar = values >= 1.0 - 0.5 * c.guided_max_distance**2
        chosen = one_to_one(near_rows[similar], near_cols[similar], values[similar])
        pairs = np.stack([near_rows[similar][chosen], near_cols[similar][chosen]], axis=1)
        rows = np.concatenate([rows, free_rows[pairs[:, 0]]])
        cols = np.concatenate([cols, free_cols[pairs[:, 1]]])
        return rows, cols, len(pairs)

    def _second_look(
        self,
        store: TrackStore,
        keypoints: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        guided: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One Lucas-Kanade call refines the guided pass's steps and follows the live
        tracks still unmatched (``bridge.py``).

        Returns the matches (wrong guided ones dropped) and the followed rows with
        their positions.
        """
        c = self.config
        empty = np.zeros(0, dtype=np.int64), np.zeros((0, 2))
        if self._images is None:
            return (rows, cols, *empty)
        free = np.zeros(0, dtype=np.int64)
        if c.bridge_frames > 0 and self._fundamental is not None:
            free = np.setdiff1d(np.flatnonzero(store.lost == 0), rows)
            free = free[store.bridged[free] < c.bridge_frames]
        checked = len(rows) - guided
        moving = np.concatenate([rows[checked:], free])
        before = store.positions[moving]
        expected = store.positions[free]
        if self._motion is not None:
            expected = apply_motion(self._motion, expected)
        start = np.concatenate([keypoints[cols[checked:]], expected])
        at, converged = flow(*self._images, before, start, c.refine_window_px)
        keypoints[cols[checked:]], agree = refined(
            keypoints[cols[checked:]], at[:guided], converged[:guided], c.refine_max_px
        )
        keep = np.ones(len(rows), dtype=bool)
        if c.refine_reject:
            keep[checked:] = agree
        found = followed(
            *self._images, before[guided:], at[guided:], converged[guided:], c.refine_window_px
        )
        with np.errstate(invalid="ignore"):
            found &= (
                epipolar_distances(self._fundamental, before[guided:], at[guided:])
                <= c.epipolar_px
            )
        return rows[keep], cols[keep], free[found], at[guided:][found]

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
        free = np.setdiff1d(np.arange(len(keypoints)), taken)
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
        store.append(ids, keypoints[new], descriptors[new], time_now)
        return new

    def _predict(self, store: TrackStore, seen: np.ndarray) -> None:
        """Where each track should be in the next frame: this frame's motion, once more."""
        base = np.where(seen[:, None], store.positions, store.predicted)
        store.predicted = base if self._motion is None else apply_motion(self._motion, base)

    def _tracks(
        self,
        points: np.ndarray,
        scores: np.ndarray,
        descriptors: np.ndarray,
        ids: np.ndarray,
        ages: np.ndarray,
        previous: np.ndarray,
        elapsed: np.ndarray,
        counts: tuple[int, int, int, int, int],
        stamp: float | None,
    ) -> Tracks:
        """The frame's tracks; the first ``len(previous)`` continue a track."""
        keypoints = points.astype(np.float32)
        continued = len(previous)
        # a repeated or earlier stamp (a replayed bag) gives no velocity rather than infinity
        rate = np.where(elapsed > 0, elapsed, np.inf)[:, None]
        velocities = np.zeros((len(keypoints), 2))
        velocities[:continued] = (keypoints[:continued] - previous) / rate
        tracks = Tracks(
            ids=ids.astype(np.int64),
            keypoints=keypoints,
            ages=ages.astype(np.int64),
            scores=scores.astype(np.float32),
            descriptors=descriptors.astype(np.float32),
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
