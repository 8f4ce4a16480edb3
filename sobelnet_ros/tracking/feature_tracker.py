"""FeatureTracker: extract features from each image and give them persistent IDs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..inference import ExtractorConfig, FeatureExtractor
from .camera import CameraModel
from .descriptor_tracker import DescriptorTracker
from .types import TrackerConfig, Tracks


class FeatureTracker:
    """SobelNet + DesNet features tracked across frames.

    Args:
        device: "cpu", "cuda", "cuda:N" or "auto", for extraction and matching.
        max_keypoints: features per frame, and the most tracks shown per frame.
        tracker: ``TrackerConfig`` (matching, memory, gates, spread).
        camera: ``CameraModel`` for undistorted normalised coordinates.
        sobelnet_weights, desnet_weights, random_weights: as for ``FeatureExtractor``.
        options: other extractor options (``score_ratio=...``, ``pyramid_levels=...``).

    Example:
        >>> tracker = FeatureTracker(max_keypoints=1024)
        >>> for image in frames:
        ...     tracks = tracker.track(image)   # tracks.ids persist across frames
    """

    def __init__(
        self,
        device: str = "cpu",
        max_keypoints: int = 1024,
        *,
        tracker: TrackerConfig | None = None,
        camera: CameraModel | None = None,
        sobelnet_weights: str | Path | None = None,
        desnet_weights: str | Path | None = None,
        random_weights: bool = False,
        **options: Any,
    ) -> None:
        config = ExtractorConfig(device=device, max_keypoints=max_keypoints).with_options(
            **options
        )
        self.extractor = FeatureExtractor(
            config,
            sobelnet_weights=sobelnet_weights,
            desnet_weights=desnet_weights,
            random_weights=random_weights,
        )
        self.tracker = DescriptorTracker(
            tracker, max_tracks=max_keypoints, device=self.extractor.device, camera=camera
        )

    @property
    def camera(self) -> CameraModel | None:
        return self.tracker.camera

    def set_camera(self, camera: CameraModel | None) -> None:
        """Add (or with None, stop) normalised coordinates from the next frame on."""
        self.tracker.set_camera(camera)

    def track(self, image: np.ndarray, stamp: float | None = None) -> Tracks:
        """Features of ``image`` with persistent IDs (see ``Tracks``).

        Args:
            image: as for ``FeatureExtractor.extract``.
            stamp: the frame's time in seconds (velocities per second), or None.
        """
        return self.tracker.update(self.extractor.extract(image), stamp, image)

    def reset(self) -> None:
        """Forget every track; the next frame starts new IDs from 0."""
        self.tracker.reset()
