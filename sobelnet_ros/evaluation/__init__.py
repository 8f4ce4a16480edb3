"""Evaluation on the HPatches protocol: metrics, datasets, baselines, reports.

The metric functions are pure numpy and import nothing heavy, so training can
use them for validation; ``evaluate`` runs the whole protocol.
"""

from .metrics import (
    homography_corner_error,
    match_accuracy,
    mutual_nearest_neighbours,
    repeatability,
)

__all__ = [
    "homography_corner_error",
    "match_accuracy",
    "mutual_nearest_neighbours",
    "repeatability",
]
