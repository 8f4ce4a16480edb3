"""Tracking: persistent feature IDs across frames, undistorted coordinates, a matcher.

No ROS here::

    from sobelnet_ros import FeatureTracker
    tracker = FeatureTracker(max_keypoints=1024)
    tracks = tracker.track(image)   # ids, keypoints, ages, scores, descriptors
"""

from .camera import CameraModel, CameraModelError
from .descriptor_tracker import DescriptorTracker
from .feature_tracker import FeatureTracker
from .matching import descriptor_distances, match, match_distances, match_similarities
from .types import TrackerConfig, Tracks
from .verify import epipolar_distances, fundamental_inliers

__all__ = [
    "CameraModel",
    "CameraModelError",
    "DescriptorTracker",
    "FeatureTracker",
    "TrackerConfig",
    "Tracks",
    "descriptor_distances",
    "epipolar_distances",
    "fundamental_inliers",
    "match",
    "match_distances",
    "match_similarities",
]
