"""sobelnet_ros: a real-time learned keypoint front-end (SobelNet + DesNet) for ROS 2.

The algorithm layer imports no ROS::

    from sobelnet_ros import FeatureExtractor
    features = FeatureExtractor().extract(image)
"""

from .inference import BatchFeatures, ExtractorConfig, FeatureExtractor, Features

__version__ = "0.1.0"
__all__ = ["BatchFeatures", "ExtractorConfig", "FeatureExtractor", "Features", "__version__"]
