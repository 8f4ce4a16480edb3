"""Inference: the FeatureExtractor and its stages."""

from .extractor import FeatureExtractor
from .types import BatchFeatures, ExtractorConfig, Features

__all__ = ["BatchFeatures", "ExtractorConfig", "FeatureExtractor", "Features"]
