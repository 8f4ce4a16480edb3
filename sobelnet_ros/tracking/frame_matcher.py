"""One frame's matching: which tracks the frame's detections continue, and which the
patches follow where nothing was detected.

1. *First pass.* Every live track, and every track lost in the last
   ``memory_frames`` frames, is compared by the nearer of its last and its
   first descriptor (the track's history, so a slowly drifting appearance still
   matches) with the detections inside its gate around where the last frame's
   image motion and the track's drift predict it (``gate_px``, wider while a
   track is lost), or with every detection when there is no prior or the gates
   found too little. The best candidate of each track, if close and clearly
   better than the second (ratio test), matches; each detection goes to one
   track.
2. *Refinement.* Lucas-Kanade from a continued track's last position to its
   match measures the step to sub-pixel accuracy; a match its patch does not
   follow is dropped (``refine.py``).
3. *Epipolar check.* A fundamental matrix (RANSAC, refitted) of the steps from
   the last frame drops steps farther than ``epipolar_px`` from their epipolar
   line; tracks found again after a gap are checked against one fitted to the
   verified tracks that span the same gap. A step that strays from the steps
   around it, beyond the frame's image motion, by more than
   ``consistency_px`` (plus allowances for their spread and the parallax) is
   dropped too (``consistency.py``): a turning camera's epipolar geometry
   hardly constrains a wrong match.
4. *Guided pass* (only with ``guided_px`` > 0; off by default). Live tracks
   still unmatched are looked for within ``guided_px`` of where this frame's
   motion puts them and on their epipolar line, with a looser descriptor bound.
5. *Second look.* One Lucas-Kanade call refines the guided steps and follows
   the live tracks still unmatched (seen in two frames or more) from where
   this frame's motion and their drift put them, for at most
   ``bridge_frames`` frames in a row (``bridge.py``).

A gate is searched through a grid of cells (``spatial.py``) and only its pairs
are compared (``candidates.py``), so the first pass costs in proportion to
the detections near each track rather than tracks x detections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .bridge import flow, followed
from .candidates import (
    gate_matches,
    gated_matches,
    one_to_one,
    pair_similarity,
    similarities,
)
from .consistency import inconsistent_steps
from .refine import refine_steps, refined
from .spatial import pairs_within
from .store import TrackStore
from .types import TrackerConfig
from .verify import (
    apply_motion,
    epipolar_distances,
    fit_fundamental,
    fundamental_inliers,
    image_motion,
)

PRIOR_FAILED_SHARE = 0.25  # fewer live tracks matched in the gate: match again without it
# RANSAC samples for tracks found again with no verified track over their gap: after
# a frame without tracks they are mostly right (a few samples do); a small set with
# few right, as after a sudden turn, would take 300 samples (~14 ms) to find nothing
GAP_ITERATIONS = 20
TRUSTED_SHARE = 0.9  # gated matches within the bound of a least-squares fit: no RANSAC


@dataclass
class FrameMatches:
    """What one frame continues: store ``rows`` matched to detection ``cols``, and the
    ``bridged`` rows followed to ``bridged_at`` without a detection."""

    rows: np.ndarray
    cols: np.ndarray
    bridged: np.ndarray
    bridged_at: np.ndarray


class FrameMatcher:
    """The matching of one frame (the passes above), given the tracker's state.

    Args:
        config: the tracker's options.
        images: (last, this) frame as uint8 gray, or None without images.
        motion: the last frame's 2x3 image motion, or None.
        skip_gate: match without the gates this frame (they failed lately).

    After ``run``, ``motion`` and ``fundamental`` describe this frame, ``gated``
    says whether its gates were tried and ``gate_failed`` whether they found too
    little (the frame was then matched without them).
    """

    def __init__(
        self,
        config: TrackerConfig,
        images: tuple[np.ndarray, np.ndarray] | None,
        motion: np.ndarray | None,
        skip_gate: bool,
    ) -> None:
        self.config = config
        self.images = images
        self.motion = motion
        self.skip_gate = skip_gate
        self.gated = False
        self.gate_failed = False
        self.fundamental: np.ndarray | None = None

    def run(
        self, store: TrackStore, keypoints: np.ndarray, descriptors: torch.Tensor
    ) -> FrameMatches:
        """Match the frame (``keypoints`` are refined in place)."""
        rows, cols, guided = self.match(store, keypoints, descriptors)
        return FrameMatches(*self._second_look(store, keypoints, rows, cols, guided))

    def match(
        self, store: TrackStore, keypoints: np.ndarray, descriptors: torch.Tensor
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Rows of the store and columns of the frame that continue each other, and how
        many of them (the last) the guided pass found."""
        empty = np.zeros(0, dtype=np.int64)
        if len(store) == 0 or len(keypoints) == 0:
            self.motion = None
            return empty, empty, 0
        self.descriptors = descriptors
        detected = keypoints.copy()
        gated = self.gated = self.motion is not None and not self.skip_gate
        rows, cols = self._first_pass(store, keypoints, gated)
        self.gate_failed = gated and self._too_few(store, rows)
        if self.gate_failed:  # the motion changed: look everywhere, and next frame too
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
                self.descriptors,
                keypoints,
                store.predicted,
                radius,
                c.max_distance,
                c.ratio,
            )
        else:
            rows, cols = gated_matches(
                similarities(store.last, self.descriptors),
                keypoints,
                None,
                radius,
                c.top_k,
                c.max_distance,
                c.ratio,
                (templates, self.descriptors),
            )
        if gated and self._too_few(store, rows):  # refining and verifying cannot add any
            return rows[:0], cols[:0]
        agree = self._refine(store, keypoints, rows, cols)
        return self._verify(store, keypoints, rows[agree], cols[agree], gated)

    @staticmethod
    def _too_few(store: TrackStore, rows: np.ndarray) -> bool:
        """Whether ``rows`` are too few matches for the motion prior to have held."""
        return len(rows) < PRIOR_FAILED_SHARE * int((store.lost == 0).sum())

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
        if self.images is None or len(rows) == 0:
            return agree
        continued = np.flatnonzero(store.lost[rows] == 0)
        c = self.config
        keypoints[cols[continued]], followed = refine_steps(
            *self.images,
            store.positions[rows[continued]],
            keypoints[cols[continued]],
            c.refine_window_px,
            c.refine_max_px,
        )
        if c.refine_reject:
            agree[continued] = followed
        return agree

    def _verify(
        self,
        store: TrackStore,
        keypoints: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        gated: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Keep the matches consistent with the epipolar geometry of their frame gap.

        Tracks seen in the last frame are checked by RANSAC (``gated``: a
        trimmed least-squares fit first); tracks found again
        after a gap by a fundamental matrix fitted to the verified tracks that
        were also seen at the start of that gap.
        """
        c = self.config
        lost = store.lost[rows]
        steps = np.flatnonzero(lost == 0)
        before, after = store.positions[rows[steps]], keypoints[cols[steps]]
        self.fundamental = None
        inliers = np.ones(len(steps), dtype=bool)  # too few to check: trust the gate
        if len(steps) >= c.min_verify:
            # matches found in the gates of a motion that held are nearly all right:
            # least squares on all of them, trimmed, unless fewer fit than that
            trusted = TRUSTED_SHARE if gated else None
            self.fundamental, inliers = fundamental_inliers(
                before, after, c.epipolar_px, c.verify_method, trusted_share=trusted
            )
        self.motion = image_motion(before[inliers], after[inliers])
        inliers[inliers] = ~self._inconsistent(store, rows[steps[inliers]], before[inliers],
                                               after[inliers])  # fmt: skip
        keep = np.zeros(len(rows), dtype=bool)
        keep[steps[inliers]] = True
        gaps = np.unique(lost[lost > 0])
        if len(gaps):
            chain = steps[inliers]  # verified, and where they were in the frames before
            chain_history, chain_after = store.history[rows[chain]], keypoints[cols[chain]]
            for gap_frames in gaps.tolist():
                gap = np.flatnonzero(lost == gap_frames)
                lag = gap_frames + 1
                keep[gap] = self._gap_consistent(
                    store.lag_position(rows[gap], lag),
                    keypoints[cols[gap]],
                    chain_history[:, lag - 1],
                    chain_after,
                )
        return rows[keep], cols[keep]

    def _inconsistent(
        self, store: TrackStore, rows: np.ndarray, before: np.ndarray, after: np.ndarray
    ) -> np.ndarray:
        """Which verified steps disagree with their neighbours' (``consistency.py``)."""
        bound = self.config.consistency_px
        if bound <= 0 or self.motion is None:
            return np.zeros(len(rows), dtype=bool)
        residuals = after - apply_motion(self.motion, before)
        stepped_before = (store.ages[rows] >= 2)[:, None]  # else its drift is a neighbour's
        drifts = np.where(stepped_before, store.drift[rows], np.nan)
        return inconsistent_steps(after, residuals, drifts, bound)

    def _gap_consistent(
        self,
        before: np.ndarray,
        after: np.ndarray,
        chain_before: np.ndarray,
        chain_after: np.ndarray,
    ) -> np.ndarray:
        """Which steps ``before`` -> ``after`` of tracks found again after a gap fit the
        epipolar geometry of the verified tracks (the ``chain``, NaN where unseen) over it."""
        threshold = self.config.epipolar_px
        known = np.isfinite(chain_before[:, 0])
        if known.sum() < self.config.min_verify:  # no verified chain: check the gap on its own
            if len(before) < self.config.min_verify:
                return np.zeros(len(before), dtype=bool)
            _, inliers = fundamental_inliers(
                before,
                after,
                threshold,
                self.config.verify_method,
                max_iterations=GAP_ITERATIONS,
            )
            # a model that explains fewer than half of them explains nothing: by chance
            return inliers if inliers.mean() >= 0.5 else np.zeros(len(before), dtype=bool)
        F = fit_fundamental(chain_before[known], chain_after[known])
        if F is None:
            return np.zeros(len(before), dtype=bool)
        with np.errstate(invalid="ignore"):
            return epipolar_distances(F, before, after) <= threshold

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
        F, motion = self.fundamental, self.motion
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
            self._templates(store), self.descriptors, free_rows[near_rows], free_cols[near_cols]
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
        if self.images is None:
            return (rows, cols, *empty)
        free = np.zeros(0, dtype=np.int64)
        if c.bridge_frames > 0 and self.fundamental is not None:
            unmatched = store.lost == 0
            unmatched[rows] = False
            free = np.flatnonzero(unmatched)
            # a point seen once is followed only once detected again: like the memory,
            # which forgets it when missed, this spends no time on detections that
            # do not repeat
            free = free[(store.bridged[free] < c.bridge_frames) & (store.ages[free] >= 2)]
        checked = len(rows) - guided
        moving = np.concatenate([rows[checked:], free])
        before = store.positions[moving]
        expected = store.positions[free]
        if self.motion is not None:
            expected = apply_motion(self.motion, expected)
        start = np.concatenate([keypoints[cols[checked:]], expected + store.drift[free]])
        levels = c.follow_levels
        at, converged = flow(*self.images, before, start, c.refine_window_px, levels)
        keep = np.ones(len(rows), dtype=bool)
        if guided:
            keypoints[cols[checked:]], agree = refined(
                keypoints[cols[checked:]], at[:guided], converged[:guided], c.refine_max_px
            )
            if c.refine_reject:
                keep[checked:] = agree
        # the epipolar check first: the backward flow then runs only where it passed
        on_line = np.zeros(len(free), dtype=bool)
        if self.fundamental is not None:  # else nothing to check the followed steps against
            with np.errstate(invalid="ignore"):
                distances = epipolar_distances(self.fundamental, before[guided:], at[guided:])
                on_line = distances <= c.epipolar_px
        found = followed(
            *self.images,
            before[guided:],
            at[guided:],
            converged[guided:] & on_line,
            c.refine_window_px,
        )
        if guided:
            rows, cols = rows[keep], cols[keep]
        return rows, cols, free[found], at[guided:][found]
