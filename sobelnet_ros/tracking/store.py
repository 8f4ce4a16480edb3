"""The tracker's memory: every live or recently lost track, as parallel arrays.

A track is *active* when it was seen in the last frame (``lost == 0``) and
*lost* while it waits, up to the memory length, to be found again. Positions
of the last frames are kept per track (``history[:, k]`` is the position
``k + 1`` frames before the frame being tracked, NaN where unseen) so that a
track found again after a gap can be checked against the right pair of frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class TrackStore:
    """Parallel arrays, one row per track; descriptors live on the matching device."""

    ids: np.ndarray  # (T,) int64
    positions: np.ndarray  # (T, 2) float64, where last seen
    predicted: np.ndarray  # (T, 2) float64, expected position in the next frame
    drift: np.ndarray  # (T, 2) float64, the part of the last step the image motion missed
    history: np.ndarray  # (T, L, 2) float64, NaN where unseen
    ages: np.ndarray  # (T,) int64, frames seen
    lost: np.ndarray  # (T,) int64, frames since last seen
    bridged: np.ndarray  # (T,) int64, frames in a row followed without a detection
    stamps: np.ndarray  # (T,) float64, time (or frame index) when last seen
    last: torch.Tensor  # (T, D) descriptor when last seen
    first: torch.Tensor  # (T, D) descriptor when first seen

    @classmethod
    def empty(cls, length: int, dim: int, device: torch.device) -> TrackStore:
        return cls(
            ids=np.zeros(0, np.int64),
            positions=np.zeros((0, 2)),
            predicted=np.zeros((0, 2)),
            drift=np.zeros((0, 2)),
            history=np.zeros((0, length, 2)),
            ages=np.zeros(0, np.int64),
            lost=np.zeros(0, np.int64),
            bridged=np.zeros(0, np.int64),
            stamps=np.zeros(0),
            last=torch.zeros((0, dim), device=device),
            first=torch.zeros((0, dim), device=device),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def lag_position(self, rows: np.ndarray, lag: int) -> np.ndarray:
        """Positions of ``rows`` ``lag`` frames before the frame being tracked (NaN: unseen)."""
        return self.history[rows, lag - 1]

    def last_of(self, rows: np.ndarray) -> np.ndarray:
        """The last descriptors of ``rows`` as float32 numpy."""
        if len(rows) == 0:
            return np.zeros((0, self.last.shape[1]), np.float32)
        if self.last.device.type == "cpu":  # numpy's gather: no tensor round trip
            return np.take(self.last.numpy(), rows, axis=0).astype(np.float32, copy=False)
        index = torch.as_tensor(rows, device=self.last.device)
        return self.last.index_select(0, index).float().cpu().numpy()

    def update(
        self,
        rows: np.ndarray,
        keypoints: np.ndarray,
        descriptors: torch.Tensor,
        stamp: float,
    ) -> None:
        """Tracks ``rows`` were seen at ``keypoints`` with ``descriptors``."""
        self.positions[rows] = keypoints
        self.ages[rows] += 1
        self.lost[rows] = 0
        self.bridged[rows] = 0
        self.stamps[rows] = stamp
        index = torch.as_tensor(rows, device=self.last.device)
        self.last.index_copy_(0, index, descriptors.to(self.last.dtype))

    def follow(self, rows: np.ndarray, positions: np.ndarray, stamp: float) -> None:
        """Tracks ``rows`` were followed to ``positions`` without a detection."""
        self.positions[rows] = positions
        self.ages[rows] += 1
        self.lost[rows] = 0
        self.bridged[rows] += 1
        self.stamps[rows] = stamp

    def append(
        self,
        ids: np.ndarray,
        keypoints: np.ndarray,
        descriptors: torch.Tensor,
        stamp: float,
    ) -> None:
        """New tracks, seen once, at ``keypoints``."""
        count = len(ids)
        self.ids = np.concatenate([self.ids, ids])
        self.positions = np.concatenate([self.positions, keypoints])
        self.predicted = np.concatenate([self.predicted, keypoints])
        self.drift = np.concatenate([self.drift, np.zeros((count, 2))])
        fresh = np.full((count, *self.history.shape[1:]), np.nan)
        self.history = np.concatenate([self.history, fresh])
        self.ages = np.concatenate([self.ages, np.ones(count, np.int64)])
        self.lost = np.concatenate([self.lost, np.zeros(count, np.int64)])
        self.bridged = np.concatenate([self.bridged, np.zeros(count, np.int64)])
        self.stamps = np.concatenate([self.stamps, np.full(count, stamp)])
        self.last = torch.cat([self.last, descriptors])
        self.first = torch.cat([self.first, descriptors])

    def end_frame(self, seen: np.ndarray, memory_frames: int) -> int:
        """Age the unseen, forget those lost too long, shift the history; how many forgotten.

        A point seen once and then missed is forgotten at once: it was most
        likely a detection that does not repeat, and remembering it costs a
        row in every comparison.
        """
        self.lost[~seen] += 1
        latest = np.where(seen[:, None], self.positions, np.nan)[:, None]
        self.history = np.concatenate([latest, self.history[:, :-1]], axis=1)
        keep = (self.lost == 0) | ((self.lost <= memory_frames) & (self.ages >= 2))
        self.select(keep)
        return int((~keep).sum())

    def select(self, keep: np.ndarray) -> None:
        """Keep the rows where ``keep`` is true."""
        if keep.all():
            return
        names = ("ids", "positions", "predicted", "drift", "history", "ages", "lost", "bridged",
                 "stamps")  # fmt: skip
        for name in names:
            setattr(self, name, getattr(self, name)[keep])
        index = torch.as_tensor(np.flatnonzero(keep), device=self.last.device)
        # index_select: several times faster than indexing for a few hundred rows
        self.last, self.first = self.last.index_select(0, index), self.first.index_select(0, index)
