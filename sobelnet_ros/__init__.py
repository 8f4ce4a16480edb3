"""sobelnet_ros: a real-time learned keypoint front-end (SobelNet + DesNet) for ROS 2.

The algorithm layer imports no ROS::

    from sobelnet_ros import FeatureExtractor
    features = FeatureExtractor().extract(image)
    tracks = FeatureTracker().track(image)   # persistent IDs across frames

The names below load on first use (PEP 562), so importing a submodule such as
the ``detector`` entry point does not load torch before it is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
_HOME = {  # name -> the subpackage that defines it
    **dict.fromkeys(("BatchFeatures", "ExtractorConfig", "FeatureExtractor", "Features"),
                    "inference"),
    **dict.fromkeys(("CameraModel", "FeatureTracker", "TrackerConfig", "Tracks", "match"),
                    "tracking"),
}  # fmt: skip

if TYPE_CHECKING:
    from .inference import BatchFeatures, ExtractorConfig, FeatureExtractor, Features
    from .tracking import CameraModel, FeatureTracker, TrackerConfig, Tracks, match


def __getattr__(name: str) -> Any:
    if name in _HOME:
        from importlib import import_module

        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module 'sobelnet_ros' has no attribute {name!r}")
