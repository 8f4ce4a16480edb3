"""Evaluation on the HPatches protocol: metrics, datasets, baselines, reports.

The metric functions are pure numpy; ``evaluate`` runs the whole protocol on
sequences from ``load_dataset`` or ``synthetic_sequences`` and is what
training calls for validation.
"""

from .datasets import DatasetError, Sequence, load_dataset, read_sequence
from .methods import Method, OpenCVMethod, OursMethod, build_methods
from .metrics import (
    homography_corner_error,
    match_accuracy,
    mutual_nearest_neighbours,
    repeatability,
)
from .runner import PartialEvaluation, ProtocolConfig, evaluate
from .synthetic import synthetic_sequences

__all__ = [
    "DatasetError",
    "Method",
    "OpenCVMethod",
    "OursMethod",
    "PartialEvaluation",
    "ProtocolConfig",
    "Sequence",
    "build_methods",
    "evaluate",
    "homography_corner_error",
    "load_dataset",
    "match_accuracy",
    "mutual_nearest_neighbours",
    "read_sequence",
    "repeatability",
    "synthetic_sequences",
]
