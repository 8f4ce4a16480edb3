"""sobelnet_ros: a real-time learned keypoint front-end (SobelNet + DesNet) for ROS 2.

The algorithm layer imports no ROS::

    from sobelnet_ros import FeatureExtractor
    features = FeatureExtractor().extract(image)
    tracks = FeatureTracker().track(image)   # persistent IDs across frames
"""

from .inference import BatchFeatures, ExtractorConfig, FeatureExtractor, Features
from .tracking import CameraModel, FeatureTracker, TrackerConfig, Tracks, match

__version__ = "0.1.0"
__all__ = [
    "BatchFeatures",
    "CameraModel",
    "ExtractorConfig",
    "FeatureExtractor",
    "FeatureTracker",
    "Features",
    "TrackerConfig",
    "Tracks",
    "__version__",
    "match",
]
